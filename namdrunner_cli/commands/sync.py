"""``namdrunner sync``, ``discover`` and ``watch``."""

from __future__ import annotations

from typing import Any

import click

from namdrunner_cli.main import AppContext


def _profiles_to_sync(app: AppContext) -> list[str]:
    if app.profile_option:
        return [app.profile_option]
    names = sorted(
        {r.profile for r in app.store.list_jobs(active_only=True)}
        | {r.profile for r in app.store.list_jobs() if r.slurm_job_id and not r.finalized}
    )
    return names or [app.profile]


@click.command()
@click.pass_obj
def sync(app: AppContext) -> None:
    """Update every active job from Slurm (a constant number of remote commands)."""
    reports = {}
    for name in _profiles_to_sync(app):
        reports[name] = app.store.sync(app.session(name))
    if app.json:
        import attrs

        from namdrunner_cli.render import print_json

        print_json({name: attrs.asdict(r) for name, r in reports.items()})
        return
    from namdrunner_cli.render import jobs_table, record_row

    changed = [app.store.get_job(j) for r in reports.values() for j in r.changed]
    checked = sum(r.checked for r in reports.values())
    click.echo(f"checked {checked} active jobs, {len(changed)} changed")
    if changed:
        jobs_table([record_row(r) for r in changed])


@click.command()
@click.pass_obj
def discover(app: AppContext) -> None:
    """Rebuild the local store from the cluster's job_info.json files."""
    report = app.store.discover(app.session())
    if app.json:
        import attrs

        from namdrunner_cli.render import print_json

        print_json(attrs.asdict(report))
        return
    click.echo(f"{len(report.added)} jobs added, {len(report.updated)} updated, {len(report.refused)} refused")
    for name, why in report.refused:
        click.echo(f"  refused {name}: {why}", err=True)


@click.command()
@click.option(
    "--max-interval",
    type=float,
    default=60.0,
    show_default=True,
    help="Longest pause between polls (seconds); polls back off from 2 s to this.",
)
@click.option("--timeout", type=float, help="Stop watching after this many seconds.")
@click.pass_obj
def watch(app: AppContext, max_interval: float, timeout: float | None) -> None:
    """A live table of the active jobs until they finish."""
    from namdrunner_core.jobs.record import job_to_dict
    from namdrunner_core.jobs.watch import watch_jobs

    session = app.session()
    if app.json:
        from namdrunner_cli.render import print_json

        final = watch_jobs(session, app.store, lambda records: None, max_interval=max_interval, timeout=timeout)
        print_json([job_to_dict(r) for r in final])
        return
    from rich.live import Live

    from namdrunner_cli.render import build_table, console, job_cells, job_columns, plural, record_row

    def table(records: list[Any]) -> Any:
        title = f"watching {plural(len(records), 'job')} (Ctrl-C stops watching, not the jobs)"
        rows = [job_cells(record_row(r), False)[:5] for r in records]
        return build_table(job_columns(False)[:5], rows, title=title, width=console().width)

    with Live(table([]), console=console(), refresh_per_second=4, transient=False) as live:
        final = watch_jobs(
            session, app.store, lambda records: live.update(table(records)), max_interval=max_interval, timeout=timeout
        )
    done = sum(1 for r in final if r.status.is_terminal)
    click.echo(f"{done} of {len(final)} jobs finished")
