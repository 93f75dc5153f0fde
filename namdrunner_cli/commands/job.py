"""``namdrunner job create|submit|list|show|logs|analyze|outputs|download|restart|rerun|cancel|delete``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from namdrunner_cli import complete
from namdrunner_cli.context import AppContext
from namdrunner_cli.options import pop_resources, resource_options

if TYPE_CHECKING:
    from namdrunner_core.jobs.job import Job


@click.group()
def job() -> None:
    """Create, submit, follow and fetch NAMD jobs.

    A JOB_ID may be any unique prefix of the id for commands that only read (show, logs, outputs,
    download); commands that change a job (submit, restart, rerun, cancel, delete) take the exact id, or a
    prefix of at least 6 characters that you confirm at a terminal.
    """


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


@job.command("create")
@click.option("--name", required=True, help="Display name (any printable text; the id is derived from it).")
@click.option(
    "--template",
    "template_id",
    required=True,
    shell_complete=complete.template_ids,
    help="Template id (`namdrunner template list`).",
)
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="A template value (repeatable).")
@click.option("--file", "files", multiple=True, type=click.Path(path_type=Path), help="An input file (repeatable).")
@resource_options(required=True)
@click.option(
    "--target-ns",
    type=float,
    metavar="NS",
    help="Run the config's `run` until this simulated time, over as many jobs (segments) as it takes: "
    "each sized to the wall time, continued after time limits, preemption and node failures (a campaign).",
)
@click.option(
    "--su-budget",
    type=float,
    metavar="SU",
    help="With --target-ns: the most SUs the campaign may use (by the profile's billing rule); it pauses "
    "before a segment that could exceed it.",
)
@click.option("--dry-run", is_flag=True, help="Print the NAMD config and sbatch script; touch nothing.")
@click.option(
    "--estimate-start",
    is_flag=True,
    help="Ask Slurm when this job would start (sbatch --test-only) and say what it would cost at most; "
    "nothing is created or submitted.",
)
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
    target_ns: float | None,
    su_budget: float | None,
    dry_run: bool,
    estimate_start: bool,
    submit_now: bool,
    no_preflight: bool,
    **resource_kw: Any,
) -> None:
    """Validate, upload and store a job (optionally submit it). Everything is checked before the
    cluster is asked for a password: bad input costs no Duo push.

    \b
    Examples:
      namdrunner job create --name "hextube min" --template vacuum_optimization_v1 \\
          --file hextube.psf --file hextube.pdb --file par_all36_na.prm \\
          --cores 24 --memory 16GB --walltime 04:00:00 --submit
      namdrunner job create ... --dry-run     # print config.namd and job.sbatch, touch nothing
      namdrunner job create ... --estimate-start   # when Slurm would start it, and its SUs at most
      namdrunner job create --name prod --template explicit_solvent_npt_v1 ... \
          --walltime 24:00:00 --target-ns 500 --submit   # a campaign: 500 ns over ~20 jobs, unattended
    """
    from namdrunner_cli.render.base import transfer_progress
    from namdrunner_cli.render.job import print_dry_run, print_job, print_start_estimate
    from namdrunner_core.answers import StartView
    from namdrunner_core.jobs.job import Job
    from namdrunner_core.jobs.prepare import plan_job
    from namdrunner_core.profile import load_profile

    store = app.existing_store if _creates_nothing(dry_run, estimate_start, submit_now) else app.store
    planned = plan_job(load_profile(app.profile), store, name=name, template=template_id, files=list(files),
                       assignments=list(assignments), resources=pop_resources(resource_kw, profile=app.profile),
                       run_preflight=not no_preflight, target_ns=target_ns, su_budget=su_budget)  # fmt: skip
    app.warn_not_checked(planned.plan.record.preflight_notes)
    if dry_run:
        return print_dry_run(app.json, planned.plan)
    session = app.session()
    if estimate_start:
        return print_start_estimate(app.json, StartView.ask(session, planned.for_session(session)))
    with transfer_progress("upload", enabled=not app.json) as progress:
        j = Job.create_prepared(session, app.store, planned.for_session(session), progress=progress)
    print_job(app.json, j.submit().record if submit_now else j.record)


def _creates_nothing(dry_run: bool, estimate_start: bool, submit_now: bool) -> bool:
    """Whether ``job create`` only shows (a dry run or a start estimate): no job, not even a database."""
    if estimate_start and (dry_run or submit_now):
        raise click.UsageError("--estimate-start creates nothing: leave out --dry-run and --submit")
    return dry_run or estimate_start


@job.command("submit")
@click.argument("job_id", shell_complete=complete.job_ids)
@click.option(
    "--force", is_flag=True, help="Submit although its last submission is uncertain (you know it was not queued)."
)
@click.pass_obj
def submit(app: AppContext, job_id: str, force: bool) -> None:
    """Submit a created (or failed/cancelled) job.

    A job whose last submission is uncertain (sbatch gave no answer, Slurm could not be asked) is
    looked up by its token first: found, it is adopted; not yet known, submitting again is refused.

    \b
    Examples:
      namdrunner job submit hextube_min_20261201_101500_123456
    """
    from namdrunner_cli.render.job import print_job

    print_job(app.json, _load_for_change(app, job_id).submit(force=force).record)


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
    """Jobs in the local store (run `namdrunner sync` to refresh), newest first. Piped, the list is
    tab-separated with a header line.

    \b
    Examples:
      namdrunner job list --status running
      namdrunner job list --limit 0 | grep "toy npt"
      namdrunner job list --json
    """
    from namdrunner_cli.render.job import print_job_list
    from namdrunner_core.slurm.states import JobStatus
    from namdrunner_core.store.listing import job_count, job_rows

    # The fast read path: no SQLAlchemy import, so a 10,000-job store lists in well under 300 ms.
    wanted = JobStatus(status.capitalize()) if status else None
    rows = job_rows(status=wanted, limit=limit or None)
    total = job_count(status=wanted) if limit and len(rows) == limit else len(rows)
    print_job_list(app.json, rows, total)


@job.command("show")
@click.argument("job_id", shell_complete=complete.job_ids)
@click.pass_obj
def show(app: AppContext, job_id: str) -> None:
    """Everything about one job (from the local store; `namdrunner sync` refreshes it).

    \b
    Examples:
      namdrunner job show hextube_min      # a unique prefix is enough
      namdrunner job show hextube_min --json
    """
    from namdrunner_cli.render.job import print_job
    from namdrunner_core.store.listing import find_job

    record, match = find_job(job_id)  # the fast read path: no SQLAlchemy import
    app.note(match.note)
    print_job(app.json, record)


@job.command("logs")
@click.argument("job_id", shell_complete=complete.job_ids)
@click.option("--slurm", "kind", flag_value="slurm", default=True, help="Slurm's stdout and stderr (default).")
@click.option("--namd", "kind", flag_value="namd", help="The NAMD log.")
@click.option("--tail", type=int, help="Only the last N lines.")
@click.pass_obj
def logs(app: AppContext, job_id: str, kind: str, tail: int | None) -> None:
    """Show a job's Slurm output or NAMD log.

    \b
    Examples:
      namdrunner job logs hextube_min --tail 40
      namdrunner job logs hextube_min --namd
    """
    from namdrunner_cli.render.job import print_logs, print_slurm_logs

    j = _load(app, job_id)
    if kind == "slurm":
        return print_slurm_logs(app.json, j.id, j.slurm_logs(tail=tail))
    print_logs(app.json, j.id, kind, j.logs("namd", tail=tail))


@job.command("analyze")
@click.argument("job_id", required=False, shell_complete=complete.job_ids)
@click.option("--log", "log_file", type=click.Path(path_type=Path), help="Analyze this NAMD log (no job, no cluster).")
@click.option("--xst", "xst_file", type=click.Path(path_type=Path), help="With --log: its .xst (the cell, volume).")
@click.option(
    "--psf", "psf_file", type=click.Path(path_type=Path), help="The PSF (mass: the density; atoms: --select)."
)
@click.option(
    "--dcd", "dcd_file", type=click.Path(path_type=Path), help="A DCD on this machine (with --psf, --select)."
)
@click.option("--select", "--rmsd", "selection", metavar="SEL",
              help="RMSD, RMSF, radius of gyration of these atoms (MDAnalysis selection: nucleic).")  # fmt: skip
@click.option("--reference", type=click.Path(path_type=Path), help="RMSD to this PDB or .coor (default: frame 1).")
@click.option("--where", type=click.Choice(["auto", "local", "cluster"]), default="auto", show_default=True,
              help="Read the DCD here (fetched) or on the cluster (a small Slurm job); auto: by size.")  # fmt: skip
@click.option("--series", "names", multiple=True, metavar="NAME", help="Only this series (TEMP, TOTAL, PRESSURE...).")
@click.option("--plot", "plot_dir", type=click.Path(path_type=Path), help="Write a PNG and an SVG per series here.")
@click.option("--dark", is_flag=True, help="With --plot: the dark theme.")
@click.pass_obj
def analyze(app: AppContext, job_id: str | None, log_file: Path | None, xst_file: Path | None, psf_file: Path | None,
            dcd_file: Path | None, selection: str | None, reference: Path | None, where: str,
            names: tuple[str, ...], plot_dir: Path | None, dark: bool) -> None:  # fmt: skip
    """Is it equilibrated? Every series of a run, judged.

    Each ENERGY column of the NAMD log (and the cell of its .xst): where it is equilibrated from, its mean
    +/- error after that, its drift per ns, and a verdict (equilibrated, drifting, too short). With
    --select, the RMSD, radius of gyration and RMSF of those atoms from the run's DCD (fetched once).

    \b
    Examples:
      namdrunner job analyze prod_20261201_101500_123456
      namdrunner job analyze prod_20261201_101500_123456 --select nucleic --plot plots/
      namdrunner job analyze prod_20261201_101500_123456 --select "name P" --where cluster
      namdrunner job analyze --log namd_output.log --xst outputs/prod.xst --psf sys.psf --series TEMP
      namdrunner job analyze --dcd prod.dcd --psf sys.psf --select "name P"
    """
    from namdrunner_cli.render.job import print_analysis
    from namdrunner_core.analysis.plot import plot_analysis
    from namdrunner_core.analysis.report import analyze_files

    if job_id is not None and log_file is None and dcd_file is None:
        result = _load(app, job_id).analysis(select=selection, reference=reference, where=where)
    else:
        result = analyze_files(log_file, xst=xst_file, psf=psf_file, dcd=dcd_file, selection=selection,
                               reference=reference)  # fmt: skip
    result = result.only(names) if names else result
    written = plot_analysis(result, plot_dir, dark=dark) if plot_dir is not None else []
    print_analysis(app.json, result, written)


@job.command("outputs")
@click.argument("job_id", shell_complete=complete.job_ids)
@click.pass_obj
def outputs(app: AppContext, job_id: str) -> None:
    """Files on project and scratch storage.

    \b
    Examples:
      namdrunner job outputs hextube_min
    """
    from namdrunner_cli.render.job import print_outputs

    j = _load(app, job_id)
    print_outputs(app.json, j.record, j.outputs())


@job.command("download")
@click.argument("job_id", shell_complete=complete.job_ids)
@click.option(
    "--to", "dest", type=click.Path(file_okay=False, path_type=Path), help="Directory: files go to DIR/<id>/."
)
@click.option("--flat", is_flag=True, help="Put the files straight into --to DIR (no <id> subdirectory).")
@click.option("--include", multiple=True, metavar="GLOB", help="Only files matching (repeatable), e.g. 'outputs/*'.")
@click.pass_obj
def download(app: AppContext, job_id: str, dest: Path | None, flat: bool, include: tuple[str, ...]) -> None:
    """Fetch a job's files, verified; unchanged files are skipped.

    \b
    Examples:
      namdrunner job download hextube_min                 # into ./<id>/
      namdrunner job download hextube_min --to results/   # into results/<id>/
      namdrunner job download hextube_min --include 'outputs/*.dcd'
    """
    from namdrunner_cli.render.base import transfer_progress
    from namdrunner_cli.render.job import print_download
    from namdrunner_core.paths import download_dir

    j = _load(app, job_id)
    target = download_dir(j.id, dest, flat=flat)
    with transfer_progress("download", enabled=not app.json) as progress:
        report = j.download(target, include=list(include) or None, progress=progress)
    print_download(app.json, j.id, target, report)


@job.command("restart")
@click.argument("job_id", shell_complete=complete.job_ids)
@click.option("--steps", type=int, help="Steps to run (default: what the job had left).")
@resource_options(required=False)
@click.option("--submit", "submit_now", is_flag=True, help="Submit right after creating.")
@click.pass_obj
def restart(app: AppContext, /, job_id: str, steps: int | None, submit_now: bool, **resource_kw: Any) -> None:
    """Continue a finished, failed (such as TIMEOUT) or cancelled job from its newest checkpoint,
    on the same resources or others (another partition, QOS, GPUs).

    \b
    Examples:
      namdrunner job restart long_npt_20261201_101500_123456 --submit
      namdrunner job restart long_npt_20261201_101500_123456 --steps 480000 --partition aa100 --gpus 1
    """
    from namdrunner_cli.render.job import print_job

    parent = _load_for_change(app, job_id)
    child = parent.restart(
        steps=steps,
        resources=pop_resources(resource_kw, parent.record.resources, profile=app.profile),
        submit=submit_now,
    )
    print_job(app.json, child.record)


@job.command("rerun")
@click.argument("job_id", shell_complete=complete.job_ids)
@click.option("--steps", type=int, help="Steps to run (default: the job's own).")
@resource_options(required=False)
@click.option("--submit", "submit_now", is_flag=True, help="Submit right after creating.")
@click.pass_obj
def rerun(app: AppContext, /, job_id: str, steps: int | None, submit_now: bool, **resource_kw: Any) -> None:
    """Run a finished, failed or cancelled job again from its start: its template, values and input
    files (copied on the cluster), on the same resources or others. The way on for a job that failed
    before it wrote a checkpoint.

    \b
    Examples:
      namdrunner job rerun hextube_min_20261201_101500_123456 --submit
      namdrunner job rerun hextube_min_20261201_101500_123456 --memory 8 --submit
      namdrunner job rerun hextube_min_20261201_101500_123456 --steps 2400 --submit
    """
    from namdrunner_cli.render.job import print_job

    parent = _load_for_change(app, job_id)
    child = parent.rerun(resources=pop_resources(resource_kw, parent.record.resources, profile=app.profile),
                         steps=steps, submit=submit_now)  # fmt: skip
    print_job(app.json, child.record)


@job.command("cancel")
@click.argument("job_id", shell_complete=complete.job_ids)
@click.pass_obj
def cancel(app: AppContext, job_id: str) -> None:
    """Cancel a pending or running job.

    \b
    Examples:
      namdrunner job cancel hextube_min_20261201_101500_123456
    """
    from namdrunner_cli.render.job import print_job

    print_job(app.json, _load_for_change(app, job_id).cancel().record)


@job.command("delete")
@click.argument("job_id", shell_complete=complete.job_ids)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--force",
    is_flag=True,
    help="Delete even if the results are on scratch only (copy-back not verified) or its submission is uncertain.",
)
@click.pass_obj
def delete(app: AppContext, job_id: str, yes: bool, force: bool) -> None:
    """Cancel if active, delete the job's remote directories and its local record (through the
    delete safety check). Asks first, naming both directories; --yes in scripts.

    \b
    Examples:
      namdrunner job delete hextube_min_20261201_101500_123456
      namdrunner job delete hextube_min_20261201_101500_123456 --yes --json
    """
    from namdrunner_cli.render.job import print_deleted
    from namdrunner_core.jobs.job import Job

    record = app.select_job_to_delete(job_id, yes=yes)
    Job(app.session(record.profile), app.store, record).delete(force=force)
    print_deleted(app.json, [record.job_id])
