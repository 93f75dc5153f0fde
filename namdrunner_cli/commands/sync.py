"""``namdrunner sync``, ``discover`` and ``watch``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from namdrunner_cli.context import AppContext

if TYPE_CHECKING:
    from namdrunner_core.jobs.events import Event


@click.command()
@click.pass_obj
def sync(app: AppContext) -> None:
    """Update every active job from Slurm (a constant number of remote commands).

    \b
    Examples:
      namdrunner sync
      namdrunner --profile alpine sync --json
    """
    from namdrunner_cli.render.sync import print_sync
    from namdrunner_core.jobs.sync import profiles_to_sync, sync_jobs

    names = [app.profile_option] if app.profile_option else profiles_to_sync(app.store, app.profile)
    reports = {name: sync_jobs(app.store, app.session(name)) for name in names}
    changed = [app.store.get_job(j) for r in reports.values() for j in r.changed]
    print_sync(app.json, reports, changed)


@click.command()
@click.pass_obj
def discover(app: AppContext) -> None:
    """Rebuild the local store from the cluster's job_info.json files.

    \b
    Examples:
      namdrunner discover          # after the local store was lost, or on a new laptop
    """
    from namdrunner_cli.render.sync import print_discover
    from namdrunner_core.jobs.discover import discover_jobs

    print_discover(app.json, discover_jobs(app.store, app.session()))


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
    """A live table of the active jobs until they finish; tells you when one finishes or a campaign needs you.

    A line on stderr, a desktop notification where the machine shows them, and the profile's notify_urls.

    \b
    Examples:
      namdrunner watch
      namdrunner watch --max-interval 300 --timeout 3600
    """
    from namdrunner_cli.render.job import live_view, print_watch_result
    from namdrunner_core.jobs.watch import watch_jobs
    from namdrunner_core.notify import tell

    session = app.session()

    def told(events: list[Event]) -> None:
        for e in events:
            app.note(f"{e.title}: {e.text}")
        for problem in tell(events, session.profile.notify_urls, show_desktop=not app.json):
            app.note(f"warning: {problem}")

    with live_view(enabled=not app.json) as show:
        final = watch_jobs(session, app.store, show, max_interval=max_interval, timeout=timeout, on_event=told)
    print_watch_result(app.json, final)
