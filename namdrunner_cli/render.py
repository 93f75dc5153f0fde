"""Rendering: rich tables with coloured statuses, humanised times, progress bars, and ``--json``.

Only presentation lives here; every value comes from :mod:`namdrunner_core`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

    from namdrunner_core.jobs.job import PreparedJob
    from namdrunner_core.jobs.record import JobRecord

STATUS_STYLE = {
    "Created": "cyan",
    "Pending": "yellow",
    "Running": "bold blue",
    "Completed": "bold green",
    "Failed": "bold red",
    "Cancelled": "magenta",
    "Unknown": "dim",
}


def console(*, err: bool = False) -> Console:
    """A rich console on stdout (or stderr)."""
    from rich.console import Console

    return Console(stderr=err, highlight=False, soft_wrap=False)


def print_json(obj: Any) -> None:
    """Stable, machine-readable output on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def humanize_age(when: dt.datetime | str | None, now: dt.datetime | None = None) -> str:
    """``3 min ago``, ``2 h ago``, ``5 d ago``."""
    if when is None:
        return "-"
    if isinstance(when, str):
        try:
            parsed = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            return when
        when = parsed
    now = now or dt.datetime.now(dt.UTC)
    seconds = max(0.0, (now - when).total_seconds())
    if seconds < 60:
        return f"{int(seconds)} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h ago"
    return f"{int(seconds // 86400)} d ago"


def humanize_duration(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``3.2 h``, ``2.1 d``."""
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def humanize_bytes(n: int) -> str:
    """``1.2 MiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def status_markup(status: str) -> str:
    """A status word coloured for rich."""
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


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


def jobs_table(rows: Sequence[dict[str, Any]], *, title: str | None = None) -> None:
    """The job list: id, name, status (coloured), Slurm id/state, progress, created."""
    if len(rows) > 200:
        _plain_jobs(rows, title)
        return
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    grouped = any(row.get("workflow_id") for row in rows)
    table.add_column("ID", no_wrap=True)
    table.add_column("Name", overflow="fold")
    for col in ("Status", "Slurm", "Progress", "Created"):
        table.add_column(col, no_wrap=True)
    if grouped:
        table.add_column("Workflow/sweep", overflow="fold")
    for row in rows:
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
        if grouped:
            cells.append(row.get("workflow_id") or "")
        table.add_row(*cells)
    console().print(table)


def record_row(record: JobRecord) -> dict[str, Any]:
    """A job record in the shape :func:`jobs_table` takes."""
    import attrs

    from namdrunner_core.jobs.record import to_rfc3339

    return {
        "job_id": record.job_id,
        "job_name": record.job_name,
        "status": record.status.value,
        "slurm_job_id": record.slurm_job_id,
        "slurm_state": record.slurm_state,
        "progress": attrs.asdict(record.progress) if record.progress else None,
        "created_at": to_rfc3339(record.created_at),
    }


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
            _progress_cell(prog)
            + (f"  step {prog.get('step')}/{prog.get('total_steps')}" if prog.get("step") is not None else ""),
        ),
        ("Project dir", job["project_dir"]),
        ("Scratch dir", job["scratch_dir"]),
        ("Inputs", ", ".join(job["input_files"]) or "-"),
    ]
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


@contextmanager
def transfer_progress(description: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar fed by a (done, total) callback; silent when not ``enabled``."""
    if not enabled:
        yield lambda done, total: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console(err=True),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


def print_dry_run(as_json: bool, prepared: PreparedJob, *, extra: dict[str, str] | None = None) -> None:
    """What a dry run would submit: the job's NAMD config and sbatch script (and ``extra`` texts, e.g.
    a sweep's array script), as text or as JSON."""
    from namdrunner_core.jobs.record import job_to_dict

    if as_json:
        print_json(
            {"job": job_to_dict(prepared.record), "config": prepared.config_text, "sbatch": prepared.sbatch_text}
            | (extra or {})
        )
        return
    echo_prepared(prepared, f"config.namd ({prepared.record.job_id})")
    for title, text in (extra or {}).items():
        click.echo(f"# ---- {title} ----")
        click.echo(text, nl=False)


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
