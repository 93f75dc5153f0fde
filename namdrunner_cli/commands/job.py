"""``namdrunner job create|submit|list|show|logs|outputs|download|cancel|delete``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from namdrunner_cli.main import AppContext
from namdrunner_cli.options import pop_resources, resource_options

if TYPE_CHECKING:
    from namdrunner_core.jobs.job import Job
    from namdrunner_core.jobs.record import JobRecord


@click.group()
def job() -> None:
    """Create, submit, follow and fetch NAMD jobs."""


def _load(app: AppContext, job_id: str) -> Job:
    """A job for a command that only reads: exact id or unique prefix (reported)."""
    from namdrunner_core.jobs.job import Job

    record, match = app.store.find_job(job_id)
    app.note(match.note)
    return Job(app.session(record.profile), app.store, record)


def _load_for_change(app: AppContext, job_id: str) -> Job:
    """A job for a command that changes it: the exact id, or a long prefix a person confirms."""
    from namdrunner_core.jobs.job import Job

    record = app.store.select_job_for_change(job_id, confirm=app.confirm_full_id("job"))
    return Job(app.session(record.profile), app.store, record)


def _with_purge(job: dict[str, Any], profile: str) -> dict[str, Any]:
    """A job's dict with its profile's scratch purge period (how long results on scratch only last)."""
    from namdrunner_core.cluster import load_profile
    from namdrunner_core.errors import NamdRunnerError

    try:
        return {**job, "scratch_purge_days": load_profile(profile).scratch_purge_days}
    except NamdRunnerError:
        return job


def _print_job(app: AppContext, j: Job) -> None:
    _print_record(app, j.record)


def _print_record(app: AppContext, record: JobRecord) -> None:
    from namdrunner_core.jobs.record import job_to_dict

    if app.json:
        from namdrunner_cli.render import print_json

        print_json(job_to_dict(record))
    else:
        from namdrunner_cli.render import job_detail

        job_detail(_with_purge(job_to_dict(record), record.profile))


@job.command("create")
@click.option("--name", required=True, help="Display name (any printable text; the id is derived from it).")
@click.option("--template", "template_id", required=True, help="Template id (`namdrunner template list`).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="A template value (repeatable).")
@click.option("--file", "files", multiple=True, type=click.Path(path_type=Path), help="An input file (repeatable).")
@resource_options(required=True)
@click.option("--dry-run", is_flag=True, help="Print the NAMD config and sbatch script; touch nothing.")
@click.option("--submit", "submit_now", is_flag=True, help="Submit right after creating.")
@click.option(
    "--no-preflight",
    is_flag=True,
    help="Create the job even if preflight says NAMD would refuse the config (recorded in the job).",
)
@click.pass_obj
def create(
    app: AppContext,
    /,
    name: str,
    template_id: str,
    assignments: tuple[str, ...],
    files: tuple[Path, ...],
    dry_run: bool,
    submit_now: bool,
    no_preflight: bool,
    **resource_kw: Any,
) -> None:
    """Validate, upload and store a job (optionally submit it)."""
    import getpass

    from namdrunner_core.cluster import load_profile
    from namdrunner_core.jobs.job import Job, PreparedJob, prepare_job
    from namdrunner_core.namd.config import parse_assignments

    values = parse_assignments(list(assignments))
    resources = pop_resources(resource_kw)
    # Validate everything before connecting: bad input never costs a password or a Duo push.
    profile = load_profile(app.profile)
    store = app.existing_store if dry_run else app.store  # a dry run creates nothing, not even a database

    def prepare(user: str) -> PreparedJob:
        return prepare_job(
            profile,
            user,
            store,
            name=name,
            template=template_id,
            values=values,
            files=list(files),
            resources=resources,
            run_preflight=not no_preflight,
        )

    prepared = prepare(profile.user or getpass.getuser())
    for note in prepared.record.preflight_notes:
        click.echo(f"warning: not checked: {note}", err=True)
    if dry_run:
        from namdrunner_cli.render import print_dry_run

        print_dry_run(app.json, prepared)
        return
    from namdrunner_cli.render import transfer_progress

    session = app.session()
    if session.user != prepared.record.remote_user:  # the ssh config named another user: its paths differ
        prepared = prepare(session.user)
    with transfer_progress("upload", enabled=not app.json) as progress:
        j = Job.create_prepared(session, app.store, prepared, progress=progress)
    if submit_now:
        j.submit()
    _print_job(app, j)


@job.command("submit")
@click.argument("job_id")
@click.pass_obj
def submit(app: AppContext, job_id: str) -> None:
    """Submit a created (or failed/cancelled) job."""
    j = _load_for_change(app, job_id).submit()
    _print_job(app, j)


@job.command("list")
@click.option(
    "--status",
    type=click.Choice(
        ["Created", "Pending", "Running", "Completed", "Failed", "Cancelled", "Unknown"], case_sensitive=False
    ),
    help="Only jobs with this status.",
)
@click.option("--limit", type=int, default=50, show_default=True, help="Newest N jobs; 0 shows all.")
@click.pass_obj
def list_jobs(app: AppContext, status: str | None, limit: int) -> None:
    """Jobs in the local store (run `namdrunner sync` to refresh), newest first."""
    from namdrunner_core.store_read import count_jobs, default_db_path, list_job_rows

    # The fast read path: no SQLAlchemy import, so a 10,000-job store lists in well under 300 ms.
    wanted = status.capitalize() if status else None
    db = default_db_path()
    rows = list_job_rows(db, status=wanted, limit=limit or None)
    if app.json:
        from namdrunner_cli.render import print_json

        print_json(
            [
                {
                    "id": r["job_id"],
                    "name": r["job_name"],
                    "status": r["status"],
                    "profile": r["profile"],
                    "slurm_job_id": r["slurm_job_id"],
                    "slurm_state": r["slurm_state"],
                    "created_at": r["created_at"],
                    "progress": r["progress"],
                    "workflow_id": r["workflow_id"],
                    "copy_back": r["copy_back"],
                }
                for r in rows
            ]
        )
        return
    from namdrunner_cli.render import jobs_table, plural

    total = count_jobs(db, status=wanted) if limit and len(rows) == limit else len(rows)
    title = plural(total, "job") if total == len(rows) else f"newest {len(rows)} of {total} jobs (--limit 0 shows all)"
    jobs_table(rows, title=title)


@job.command("show")
@click.argument("job_id")
@click.pass_obj
def show(app: AppContext, job_id: str) -> None:
    """Everything about one job (from the local store)."""
    record, match = app.store.find_job(job_id)
    app.note(match.note)
    _print_record(app, record)


@job.command("logs")
@click.argument("job_id")
@click.option("--slurm", "kind", flag_value="slurm", default=True, help="Slurm's stdout and stderr (default).")
@click.option("--namd", "kind", flag_value="namd", help="The NAMD log.")
@click.option("--tail", type=int, help="Only the last N lines.")
@click.pass_obj
def logs(app: AppContext, job_id: str, kind: str, tail: int | None) -> None:
    """Show a job's Slurm output or NAMD log."""
    text = _load(app, job_id).logs("namd" if kind == "namd" else "slurm", tail=tail)
    if app.json:
        from namdrunner_cli.render import print_json

        print_json({"id": job_id, "kind": kind, "text": text})
    else:
        click.echo(text, nl=False)


@job.command("outputs")
@click.argument("job_id")
@click.pass_obj
def outputs(app: AppContext, job_id: str) -> None:
    """Files on project and scratch storage."""
    import attrs

    j = _load(app, job_id)
    out = j.outputs()
    if app.json:
        from namdrunner_cli.render import print_json

        print_json(
            {"project": [attrs.asdict(o) for o in out.project], "scratch": [attrs.asdict(o) for o in out.scratch]}
        )
        return
    from namdrunner_cli.render import Column, humanize_bytes, plural, print_table

    if not j.record.slurm_job_id and not out.scratch:
        click.echo(f"no outputs yet: job {j.id} has not been submitted (`namdrunner job submit {j.id}`)")
        return
    cols = [Column("File", key=True, wrap=True), Column("Size", priority=2), Column("Modified", priority=1)]
    for title, files in (("project", out.project), ("scratch", out.scratch)):
        rows = [[f.name, humanize_bytes(f.size), f.modified_at or "-"] for f in files]
        print_table(cols, rows, title=f"{title} ({plural(len(files), 'file')})", empty=f"{title}: no files")


@job.command("download")
@click.argument("job_id")
@click.option("--to", "dest", type=click.Path(file_okay=False, path_type=Path), help="Directory (default ./<id>).")
@click.option("--include", multiple=True, metavar="GLOB", help="Only files matching (repeatable), e.g. 'outputs/*'.")
@click.pass_obj
def download(app: AppContext, job_id: str, dest: Path | None, include: tuple[str, ...]) -> None:
    """Fetch a job's files, verified; unchanged files are skipped."""
    from namdrunner_cli.render import transfer_progress

    j = _load(app, job_id)
    target = dest or Path(j.id)
    with transfer_progress("download", enabled=not app.json) as progress:
        report = j.download(target, include=list(include) or None, progress=progress)
    if app.json:
        from namdrunner_cli.render import print_json

        print_json(
            {
                "id": j.id,
                "to": str(target),
                "files": list(report.files_sent),
                "unchanged": list(report.files_unchanged),
                "bytes": report.payload_bytes,
            }
        )
    else:
        click.echo(f"{len(report.files_sent)} files fetched, {len(report.files_unchanged)} unchanged -> {target}")


@job.command("restart")
@click.argument("job_id")
@click.option("--steps", type=int, help="Steps to run (default: what the job had left).")
@resource_options(required=False)
@click.option("--submit", "submit_now", is_flag=True, help="Submit right after creating.")
@click.pass_obj
def restart(app: AppContext, /, job_id: str, steps: int | None, submit_now: bool, **resource_kw: Any) -> None:
    """Continue a finished, failed (such as TIMEOUT) or cancelled job from its newest checkpoint,
    on the same resources or others (another partition, QOS, GPUs)."""
    parent = _load_for_change(app, job_id)
    child = parent.restart(steps=steps, resources=pop_resources(resource_kw, parent.record.resources))
    if submit_now:
        child.submit()
    _print_job(app, child)


@job.command("cancel")
@click.argument("job_id")
@click.pass_obj
def cancel(app: AppContext, job_id: str) -> None:
    """Cancel a pending or running job."""
    j = _load_for_change(app, job_id).cancel()
    _print_job(app, j)


@job.command("delete")
@click.argument("job_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Delete even if the results are on scratch only (copy-back not verified).")
@click.pass_obj
def delete(app: AppContext, job_id: str, yes: bool, force: bool) -> None:
    """Cancel if active, delete the job's remote directories and its local record."""
    from namdrunner_core.errors import ValidationError

    asked: list[str] = []

    def ask(full_id: str) -> bool:  # one prompt naming the job and every directory that goes
        r = app.store.get_job(full_id)
        asked.append(full_id)
        return click.confirm(
            f"Delete job {r.job_id} ({r.job_name}): its local record, {r.project_dir} and {r.scratch_dir}?", err=True
        )

    interactive = app.person_answers(yes=yes)
    record = app.store.select_job_for_change(job_id, confirm=ask if interactive else None)
    if not yes and not asked:
        if not interactive:
            raise ValidationError("--yes", "deleting needs confirmation: pass --yes when not at a terminal")
        if not ask(record.job_id):
            click.echo("nothing deleted", err=True)
            raise click.exceptions.Exit(1)
    from namdrunner_core.jobs.job import Job

    Job(app.session(record.profile), app.store, record).delete(force=force)
    if app.json:
        from namdrunner_cli.render import print_json

        print_json({"id": record.job_id, "deleted": True})
    else:
        click.echo(f"deleted {record.job_id}")
