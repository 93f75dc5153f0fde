"""`namdrunner job ...`, `watch`: jobs as tables, details, logs, outputs and downloads."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from namdrunner_cli.render.base import (
    Column,
    build_table,
    console,
    humanize_age,
    humanize_bytes,
    humanize_duration,
    plural,
    print_json,
    print_table,
    status_markup,
)

if TYPE_CHECKING:
    from pathlib import Path

    from namdrunner_core.analysis.report import Analysis
    from namdrunner_core.analysis.stats import SeriesVerdict
    from namdrunner_core.answers import StartView
    from namdrunner_core.jobs.prepare import PreparedJob
    from namdrunner_core.jobs.script_output import JobOutputs, SlurmLogs
    from namdrunner_core.models import JobRecord
    from namdrunner_core.transport.transfer import TreeTransferReport


def _progress_cell(progress: dict[str, Any] | None) -> str:
    if not progress or progress.get("percent") is None:
        return "-"
    text = f"{progress['percent']:.0f}%"
    if progress.get("ns_per_day"):
        text += f" {progress['ns_per_day']:.2f} ns/d"
    if progress.get("eta_s") and progress.get("outcome") == "running":
        text += f" ETA {humanize_duration(progress['eta_s'])}"
    return text


def _plain_jobs(rows: Sequence[dict[str, Any]], title: str | None) -> None:
    # Thousands of rows: aligned plain text, written at once (a rich table would take seconds).
    cells = [("ID", "NAME", "STATUS", "SLURM", "PROGRESS", "CREATED")]
    cells += [
        (
            r["job_id"],
            r["job_name"],
            r["status"],
            r.get("slurm_job_id") or "-",
            _progress_cell(r.get("progress")),
            humanize_age(r.get("created_at")),
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(6)]
    out = [title] if title else []
    out += ["  ".join(c[i].ljust(widths[i]) for i in range(6)).rstrip() for c in cells]
    sys.stdout.write("\n".join(out) + "\n")


def job_columns(grouped: bool) -> list[Column]:
    """The job table's columns: id, name and status always; the rest as the width allows."""
    cols = [
        Column("ID", key=True, shorten=True),
        Column("Name", key=True, wrap=True),
        Column("Status", key=True),
        Column("Slurm", priority=3),
        Column("Progress", priority=4),
        Column("Created", priority=2),
    ]
    return [*cols, Column("Workflow/sweep", priority=1)] if grouped else cols


def job_cells(row: dict[str, Any], grouped: bool) -> list[str]:
    """One job's cells for :func:`job_columns`."""
    slurm = row.get("slurm_job_id") or "-"
    state = row.get("slurm_state")
    if state and state.split(" ")[0] not in ("PENDING", "RUNNING", "COMPLETED", "CANCELLED"):
        slurm += f" ({state})"
    cells = [
        row["job_id"],
        row["job_name"],
        status_markup(row["status"])
        + (" [red](scratch only)[/]" if row.get("copy_back") in ("failed", "pending") else ""),
        slurm,
        _progress_cell(row.get("progress")),
        humanize_age(row.get("created_at")),
    ]
    return [*cells, row.get("workflow_id") or ""] if grouped else cells


def jobs_table(rows: Sequence[dict[str, Any]], *, title: str | None = None) -> None:
    """The job list: id, name, status (never cut), then Slurm id/state, progress, created as they fit;
    tab-separated when piped."""
    if len(rows) > 200 and sys.stdout.isatty():
        _plain_jobs(rows, title)
        return
    grouped = any(row.get("workflow_id") for row in rows)
    print_table(job_columns(grouped), [job_cells(r, grouped) for r in rows], title=title, empty="no jobs")


def _steps_text(prog: dict[str, Any]) -> str:
    """``  12000/24000 steps`` (this job's own steps; NAMD's timestep too when it starts later)."""
    if prog.get("step") is None:
        return ""
    done, total, step = prog.get("steps_done"), prog.get("total_steps"), prog["step"]
    if done is None:  # a summary an older namdrunner stored
        return f"  step {step}/{total}"
    return f"  {done}/{total} steps" + (f" (timestep {step})" if step != done else "")


def campaign_rows(c: dict[str, Any]) -> list[tuple[str, str]]:
    """A campaign's line, then its newest attempts, newest first (the lineage `--json` has whole)."""
    rows = [("Campaign", str(c["line"]))]
    for a in reversed(c["attempts"][-5:]):
        ended = a.get("outcome") or "running"
        why = f" ({a['reason']})" if a.get("reason") else ""
        steps = f"steps {a['start_step']} -> {a.get('end_step') or '...'}"
        rows.append((f"  segment {a['segment']}.{a['attempt']}", f"Slurm {a['slurm_id']}: {steps}, {ended}{why}"))
    return rows


def job_detail(job: dict[str, Any]) -> None:
    """``job show``: every field a user looks for, grouped."""
    from rich.table import Table

    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    res = job["resources"]
    prog = job.get("progress") or {}
    rows: list[tuple[str, str]] = [
        ("ID", job["id"]),
        ("Name", job["name"]),
        ("Status", status_markup(job["status"])),
        ("Profile", job["profile"]),
        (
            "Slurm job",
            f"{job['slurm_job_id'] or '-'}  state {job['slurm_state'] or '-'}"
            + (f"  reason {job['slurm_reason']}" if job.get("slurm_reason") else "")
            + (f"  exit {job['exit_code']}" if job.get("exit_code") else ""),
        ),
        ("Template", job["template_id"]),
        (
            "Resources",
            f"{res['cores']} cores, {res['memory_gb']:g} GB, {res['walltime']}, partition "
            f"{res['partition']}, QOS {res['qos']}" + (f", {res['gpus']} GPUs" if res.get("gpus") else ""),
        ),
        ("Created", f"{job['created_at']} ({humanize_age(job['created_at'])})"),
        ("Submitted", job["submitted_at"] or "-"),
        ("Completed", job["completed_at"] or "-"),
        (
            "Progress",
            _progress_cell(prog) + _steps_text(prog),
        ),
        ("Project dir", job["project_dir"]),
        ("Scratch dir", job["scratch_dir"]),
        ("Inputs", ", ".join(job["input_files"]) or "-"),
    ]
    if job.get("campaign"):
        rows[5:5] = campaign_rows(job["campaign"])
    if job.get("copy_back") is not None or job["status"] in ("Completed", "Failed", "Cancelled"):
        rows.append(("Copy-back", copy_back_text(job)))
    for note in job.get("preflight_notes") or []:
        rows.append(("Not checked", note))
    if job.get("parent_job_id"):
        rows.append(("Parent job", job["parent_job_id"]))
    if job.get("workflow_id"):
        rows.append(("Workflow", job["workflow_id"]))
    if job.get("error"):
        rows.append(("Error", f"[red]{job['error']}[/]"))
    for key, value in rows:
        t.add_row(key, value)
    values = Table("Variable", "Value", header_style="bold", title="Template values")
    for k, v in sorted(job["template_values"].items()):
        if v is not None:
            values.add_row(k, str(v))
    c = console()
    c.print(t)
    c.print(values)


def print_dry_run(as_json: bool, prepared: PreparedJob) -> None:
    """What a dry run would submit: the job's NAMD config and sbatch script, as text or as JSON."""
    if as_json:
        from namdrunner_core.answers import PreparedView

        print_json(PreparedView.of(prepared))
        return
    echo_prepared(prepared, f"config.namd ({prepared.record.job_id})")


def print_start_estimate(as_json: bool, view: StartView) -> None:
    """``job create --estimate-start``: when Slurm would start the job (nothing submitted) and what it
    would cost at most."""
    if as_json:
        return print_json(view)
    est = view.estimate
    walltime = view.job["resources"]["walltime"]
    click.echo(f"Cost:  at most {view.su_at_most:.1f} SU ({view.su_per_hour:g} SU an hour by the profile's "
               f"billing, for its whole wall time of {walltime}; less if it ends sooner)")  # fmt: skip
    if est.refused:
        click.echo(f"Queue: Slurm would refuse it as it is: {est.refused}")
    elif est.start is None or (est.wait_s or 0) < 60:
        click.echo(f"Queue: Slurm would start it at once, on {est.nodes} ({est.partition}).")
    else:
        click.echo(f"Queue: Slurm expects it to start in about {humanize_duration(est.wait_s)}, at "
                   f"{est.start:%Y-%m-%d %H:%M} cluster time, on {est.nodes} ({est.partition}).")  # fmt: skip
    click.echo(f"       Asked at {est.asked_at:%H:%M:%S} cluster time; nothing was submitted.")


def echo_prepared(prepared: PreparedJob, config_title: str = "config.namd") -> None:
    """A prepared job's NAMD config and batch script, each under a ``# ----`` title line."""
    click.echo(f"# ---- {config_title} ----")
    click.echo(prepared.config_text, nl=False)
    click.echo("# ---- job.sbatch ----")
    click.echo(prepared.sbatch_text, nl=False)


def copy_back_text(job: dict[str, Any]) -> str:
    """How safe a finished job's results are: verified on project storage, or on scratch only."""
    state = job.get("copy_back")
    if state == "verified":
        return "verified (project copy matches scratch, sha256)"
    if state == "none":
        return "nothing on scratch"
    why = f": {job['copy_back_error']}" if job.get("copy_back_error") else ""
    purge = job.get("scratch_purge_days")
    left = ""
    if purge and job.get("completed_at"):
        done = dt.datetime.fromisoformat(str(job["completed_at"]).replace("Z", "+00:00"))
        days = purge - (dt.datetime.now(dt.UTC) - done).days
        left = f", purge in {max(days, 0)} days"
    what = "failed" if state == "failed" else "pending"
    return f"{what}{why} - results on scratch only{left}; `namdrunner sync` retries it"


def print_job(as_json: bool, record: JobRecord) -> None:
    """A job as ``job show`` prints it (every job-returning command prints through here)."""
    from namdrunner_core.store.listing import job_details

    details = job_details(record)
    if as_json:
        print_json(details)
    else:
        job_detail(details)


def print_job_list(as_json: bool, rows: Sequence[dict[str, Any]], total: int) -> None:
    """``job list``: the rows (newest first) and how many the store holds in all."""
    if as_json:
        from namdrunner_core.store.listing import row_to_json

        print_json([row_to_json(r) for r in rows])
        return
    title = plural(total, "job") if total == len(rows) else f"newest {len(rows)} of {total} jobs (--limit 0 shows all)"
    jobs_table(rows, title=title)


def print_outputs(as_json: bool, record: JobRecord, out: JobOutputs) -> None:
    """``job outputs``: files on project and on scratch storage."""
    if as_json:
        print_json(out)
        return
    if not record.slurm_job_id and not out.scratch:
        click.echo(
            f"no outputs yet: job {record.job_id} has not been submitted (`namdrunner job submit {record.job_id}`)"
        )
        return
    cols = [Column("File", key=True, wrap=True), Column("Size", priority=2), Column("Modified", priority=1)]
    for title, files in (("project", out.project), ("scratch", out.scratch)):
        rows = [[f.name, humanize_bytes(f.size), f.modified_at or "-"] for f in files]
        print_table(cols, rows, title=f"{title} ({plural(len(files), 'file')})", empty=f"{title}: no files")


def print_download(as_json: bool, job_id: str, target: Path, report: TreeTransferReport) -> None:
    """``job download``: what was fetched and what was already there."""
    if as_json:
        from namdrunner_core.answers import Downloaded

        print_json(Downloaded.of(job_id, str(target), report))
        return
    sent, same = len(report.files_sent), len(report.files_unchanged)
    resumed = f" ({humanize_bytes(report.resumed_bytes)} resumed)" if report.resumed_bytes else ""
    click.echo(f"{plural(sent, 'file')} fetched{resumed}, {same} unchanged -> {target}")


def print_logs(as_json: bool, job_id: str, kind: str, text: str) -> None:
    """``job logs``: the text (with --json: in an object)."""
    if as_json:
        from namdrunner_core.answers import LogText

        print_json(LogText(job_id, kind, text))
    else:
        click.echo(text, nl=False)


def watch_table(records: Sequence[JobRecord]) -> Any:
    """The live table ``watch`` redraws."""
    from namdrunner_core.store.listing import record_to_row

    title = f"watching {plural(len(records), 'job')} (Ctrl-C stops watching, not the jobs)"
    rows = [job_cells(record_to_row(r), False)[:5] for r in records]
    return build_table(job_columns(False)[:5], rows, title=title, width=console().width)


@contextmanager
def live_view(*, enabled: bool) -> Iterator[Callable[[list[JobRecord]], None]]:
    """A live-redrawn :func:`watch_table` (nothing when ``enabled`` is false, e.g. with --json)."""
    if not enabled:
        yield lambda records: None
        return
    from rich.live import Live

    with Live(watch_table([]), console=console(), refresh_per_second=4, transient=False) as live:
        yield lambda records: live.update(watch_table(records))
    if not console().is_terminal:  # piped or logged: rich writes the last table without its line's end
        console().line()


def print_watch_result(as_json: bool, final: Sequence[JobRecord]) -> None:
    """What ``watch`` ends with: the jobs (--json) or how many finished."""
    if as_json:
        from namdrunner_core.models import job_json

        print_json([job_json(r) for r in final])
        return
    if not final:
        click.echo("No job was queued or running: nothing to watch.")
        return
    done = sum(1 for r in final if r.status.is_terminal)
    click.echo(f"{done} of {plural(len(final), 'job')} finished")


def print_deleted(as_json: bool, job_ids: Sequence[str], group_id: str | None = None) -> None:
    """``job delete`` / ``workflow delete``: what went."""
    if as_json:
        from namdrunner_core.answers import Deleted

        print_json(Deleted(group_id, jobs=list(job_ids)) if group_id else Deleted(job_ids[0]))
    elif group_id:
        click.echo(f"deleted {group_id} and its {plural(len(job_ids), 'job')}")
    else:
        click.echo(f"deleted {job_ids[0]}")


def print_slurm_logs(as_json: bool, job_id: str, logs: SlurmLogs) -> None:
    """``job logs``: stdout and stderr, each under its own label, saying so when one is empty."""
    if as_json:
        from namdrunner_core.answers import LogText

        print_json(LogText.of_slurm(job_id, logs))
        return
    for label, name, text in (("stdout", logs.stdout_name, logs.stdout), ("stderr", logs.stderr_name, logs.stderr)):
        click.echo(f"==> {label} ({name}) <==")
        click.echo(text if text.endswith("\n") or not text else text + "\n", nl=False)
        if not text:
            click.echo("(empty)")


def print_analysis(as_json: bool, analysis: Analysis, plots: Sequence[Path] = ()) -> None:
    """``job analyze``: one row per series - equilibrated from, mean +/- error, drift, verdict; the
    structure series' selection and largest RMSF; the plots written."""
    if as_json:
        from namdrunner_core.serde import to_data

        print_json({**to_data(analysis), "plots": [str(p) for p in plots]})
        return
    cols = [Column("Series", key=True), Column("From step", priority=4), Column("Mean +/- error", key=True),
            Column("g", priority=1), Column("N eff", priority=2), Column("Drift / ns (95 %)", priority=3),
            Column("Verdict", key=True)]  # fmt: skip

    def drift(s: SeriesVerdict) -> str:
        if s.drift_low is None or s.drift_high is None:
            return "-"
        return f"{s.drift_per_ns:.3g} ({s.drift_low:.3g} .. {s.drift_high:.3g})"

    def mean(s: SeriesVerdict) -> str:
        return f"{s.mean:.6g} +/- {s.error:.2g}" if s.error is not None else f"{s.mean:.6g}"

    rows = [[s.name, "-" if s.equilibrated_from is None else str(s.equilibrated_from), mean(s), f"{s.g:.3g}",
             f"{s.n_eff:.0f}", drift(s), status_markup_for(s.verdict)] for s in analysis.series]  # fmt: skip
    stride = f", every {analysis.stride}th row" if analysis.stride > 1 else ""
    title = f"{analysis.source}: {analysis.rows} ENERGY rows{stride}, {analysis.timestep_fs:g} fs"
    print_table(cols, rows, title=title, empty="no series vary in this log")
    for s in analysis.series:
        if s.verdict != "equilibrated":
            console(err=True).print(f"{s.name}: {s.verdict}: {s.why}", highlight=False)
    st = analysis.structure
    if st is not None:
        top = sorted(st.rmsf, key=lambda a: -a.rmsf)[:3]
        most = ", ".join(f"{a.segid}:{a.resname}{a.resid}:{a.name} {a.rmsf:.2f} Å" for a in top)
        click.echo(f"{st.dcd}: {st.frames} frames, '{st.selection}' ({st.atoms} atoms), RMSD to the {st.reference}; "
                    f"largest RMSF: {most}")  # fmt: skip
    for p in plots:
        click.echo(f"plot: {p}")


def status_markup_for(verdict: str) -> str:
    """A verdict, coloured as a status is."""
    return {"equilibrated": "[green]equilibrated[/]", "drifting": "[yellow]drifting[/]"}.get(
        verdict, f"[dim]{verdict}[/]"
    )
