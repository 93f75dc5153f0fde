"""Rendering: rich tables with coloured statuses, humanised times, progress bars, and ``--json``.

Only presentation lives here; every value comes from :mod:`namdrunner_core`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from namdrunner_core.diagnostics import Check, Detection
    from namdrunner_core.jobs.job import JobOutputs, SlurmLogs
    from namdrunner_core.jobs.prepare import PreparedJob
    from namdrunner_core.jobs.sync import DiscoverReport, SyncReport
    from namdrunner_core.models import JobRecord
    from namdrunner_core.namd.config import Template
    from namdrunner_core.profile import ClusterProfile, ProfileInfo
    from namdrunner_core.templates import TemplateInfo, TemplatePreview
    from namdrunner_core.transport.transfer import TreeTransferReport
    from namdrunner_core.usage import UsageReport
    from namdrunner_core.workflow import GroupSummary, Workflow, WorkflowFileInfo, WorkflowPlan

STATUS_STYLE = {
    "Created": "cyan",
    "Pending": "yellow",
    "Running": "bold blue",
    "Completed": "bold green",
    "Failed": "bold red",
    "Cancelled": "magenta",
    "Unknown": "dim",
}


#: The width of output that goes to a pipe or a file: wide enough that no line is ever wrapped
#: (a path a user copies from ``job show | grep`` must be whole); tables take their natural width.
PIPE_WIDTH = 100_000


def console(*, err: bool = False) -> Console:
    """A rich console on stdout (or stderr). On a terminal it fits the terminal's width; into a pipe
    or a file nothing wraps (rich would otherwise assume 80 columns and cut paths mid-word)."""
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    width = None if tty or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(stderr=err, highlight=False, soft_wrap=False, width=width)


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
    from namdrunner_core.models import job_to_dict

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


@dataclasses.dataclass(frozen=True)
class Column:
    """One table column: ``key`` columns (id, name, status: what a person reads and types) are never
    cut; others drop out, lowest ``priority`` first, when the terminal is too narrow."""

    title: str
    key: bool = False
    priority: int = 0
    wrap: bool = False
    #: ids: shortened to their shortest unique prefix (at least 12 characters) when nothing else fits
    shorten: bool = False


def _plain(cell: str) -> str:
    from rich.text import Text

    return Text.from_markup(cell).plain if "[" in cell else cell


def build_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], *, title: str | None, width: int) -> Any:
    """A rich Table for ``width`` columns: key columns whole; others dropped lowest-priority first
    until the rest fits; wrapping only in a column marked ``wrap``."""
    from rich.table import Table

    plain = [[_plain(c) for c in row] for row in rows]
    natural = [max([len(col.title), *(len(r[i]) for r in plain)]) for i, col in enumerate(columns)]
    keep = list(range(len(columns)))

    def needed(idx: list[int]) -> int:
        # a wrapping column may fold down to 12 characters; every column costs 3 for borders and padding
        return sum(min(natural[i], 12) if columns[i].wrap else natural[i] for i in idx) + 3 * len(idx) + 1

    for i in sorted((i for i, c in enumerate(columns) if not c.key), key=lambda i: columns[i].priority):
        if needed(keep) <= width:
            break
        keep.remove(i)
    cells: list[list[str]] = [list(r) for r in rows]
    for i in keep:
        if columns[i].shorten and needed(keep) > width:
            short = shortest_unique_prefixes([r[i] for r in plain], minimum=12)
            for r, p in zip(cells, plain, strict=True):
                r[i] = p[i] = short[p[i]]
            natural[i] = max([len(columns[i].title), *(len(p[i]) for p in plain)])
    if needed(keep) > width:
        return _stacked(columns, cells, plain, title=title, width=width)
    table = Table(title=title, header_style="bold", show_lines=False)
    for i in keep:
        col = columns[i]
        if col.key and not col.wrap:
            table.add_column(col.title, no_wrap=True, min_width=natural[i])
        elif col.key:  # a name: wraps in its own column, never narrower than 16 characters
            table.add_column(col.title, overflow="fold", min_width=min(natural[i], 16))
        else:
            table.add_column(col.title, overflow="fold" if col.wrap else "ellipsis", no_wrap=not col.wrap)
    for row in cells:
        table.add_row(*(row[i] for i in keep))
    return table


def print_table(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], *, title: str | None = None, empty: str = "nothing"
) -> None:
    """Rows as a table that fits the terminal, or - when stdout is not a terminal - as plain
    tab-separated lines with a header (``namdrunner job list | grep ...`` works); ``empty`` is said in
    a sentence when there are no rows."""
    if not rows:
        click.echo(empty)
        return
    if not sys.stdout.isatty() and os.environ.get("NAMDRUNNER_FORCE_TABLE") != "1":
        lines = ["\t".join(c.title.upper() for c in columns)]
        lines += ["\t".join(_plain(cell).replace("\t", " ").replace("\n", " ") for cell in row) for row in rows]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    c = console()
    c.print(build_table(columns, rows, title=title, width=c.width))


def plural(n: int, word: str) -> str:
    """``1 job``, ``2 jobs``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def shortest_unique_prefixes(ids: Sequence[str], *, minimum: int = 12) -> dict[str, str]:
    """Each id's shortest prefix (of at least ``minimum`` characters) that no other id starts with."""
    out: dict[str, str] = {}
    for a in ids:
        n = min(len(a), minimum)
        while n < len(a) and any(b != a and b.startswith(a[:n]) for b in ids):
            n += 1
        out[a] = a[:n]
    return out


def _stacked(
    columns: Sequence[Column],
    cells: Sequence[Sequence[str]],
    plain: Sequence[Sequence[str]],
    *,
    title: str | None,
    width: int,
) -> Any:
    """Too narrow for even the key columns side by side: each row as lines, nothing cut. The first
    line holds the short key columns (id, status), the wrapping ones (name) follow, indented."""
    import textwrap

    from rich.console import Group
    from rich.text import Text

    keys = [i for i, c in enumerate(columns) if c.key]
    inline = [i for i in keys if not columns[i].wrap]
    wrapped = [i for i in keys if columns[i].wrap]
    lines: list[Any] = [Text(title, style="bold")] if title else []
    for row, flat in zip(cells, plain, strict=True):
        head = Text()
        for n, i in enumerate(inline):
            head.append_text(Text.from_markup(row[i]) if "[" in row[i] else Text(row[i]))
            if n < len(inline) - 1:
                head.append("  ")
        lines.append(head)
        for i in wrapped:
            for part in textwrap.wrap(flat[i], width=max(10, width - 4)) or [""]:
                lines.append(Text("    " + part))
    return Group(*lines)


# -- one printer per command result: JSON or a table, nothing decided here ----------------------------


def print_job(as_json: bool, record: JobRecord) -> None:
    """A job as ``job show`` prints it (every job-returning command prints through here)."""
    from namdrunner_core.listing import job_details

    details = job_details(record)
    if as_json:
        print_json(details)
    else:
        job_detail(details)


def print_job_list(as_json: bool, rows: Sequence[dict[str, Any]], total: int) -> None:
    """``job list``: the rows (newest first) and how many the store holds in all."""
    if as_json:
        from namdrunner_core.listing import row_to_json

        print_json([row_to_json(r) for r in rows])
        return
    title = plural(total, "job") if total == len(rows) else f"newest {len(rows)} of {total} jobs (--limit 0 shows all)"
    jobs_table(rows, title=title)


def print_plan(as_json: bool, group_id: str, prepared: Sequence[PreparedJob], extra: dict[str, str]) -> None:
    """A workflow or sweep dry run: every member's config and script, and ``extra`` texts."""
    if as_json:
        from namdrunner_core.models import job_to_dict

        stages = [{"job": job_to_dict(p.record), "config": p.config_text, "sbatch": p.sbatch_text} for p in prepared]
        print_json({"id": group_id, "stages": stages} | {k.split(" ")[0]: v for k, v in extra.items()})
        return
    for p in prepared:
        click.echo(f"# ==== {p.record.job_name} ({p.record.job_id}) ====")
        echo_prepared(p)
    for title, text in extra.items():
        click.echo(f"# ==== {title} ====")
        click.echo(text, nl=False)


def print_group(as_json: bool, wf: Workflow) -> None:
    """A workflow or sweep with every stage's job."""
    data = wf.to_dict()
    if as_json:
        print_json(data)
        return
    cols = [Column("#", priority=1), Column("Stage", key=True, wrap=True), Column("Job", key=True, shorten=True),
            Column("Status", key=True), Column("Slurm", priority=3), Column("Progress", priority=2),
            Column("Note", priority=0, wrap=True)]  # fmt: skip
    cells = [
        [
            str(i),
            str(st["stage"]),
            st["id"],
            status_markup(st["status"]),
            st["slurm_job_id"] or "-",
            _progress_cell(st["progress"]),
            st["error"] or "",
        ]
        for i, st in enumerate(data["stages"])
    ]
    print_table(cols, cells, title=f"{data['kind']} {wf.id} ({wf.name}): {data['status']}", empty="no stages")


def print_groups(as_json: bool, summaries: Sequence[GroupSummary]) -> None:
    """``workflow list``."""
    rows = [s.to_dict() for s in summaries]
    if as_json:
        print_json(rows)
        return
    cols = [Column("ID", key=True, shorten=True), Column("Name", key=True, wrap=True), Column("Kind", priority=2),
            Column("Status", key=True), Column("Jobs", priority=3), Column("Created", priority=1)]  # fmt: skip
    cells = [
        [r["id"], str(r["name"]), r["kind"], status_markup(r["status"]), str(r["jobs"]), humanize_age(r["created_at"])]
        for r in rows
    ]
    print_table(cols, cells, empty="no workflows or sweeps")


def print_templates(as_json: bool, infos: Sequence[TemplateInfo]) -> None:
    """``template list``."""
    if as_json:
        print_json([dataclasses_asdict(t) for t in infos])
        return
    cols = [Column("ID", key=True), Column("Name", key=True, wrap=True), Column("Kind", priority=2),
            Column("Description", priority=1, wrap=True)]  # fmt: skip
    cells = [[t.id, t.name, "builtin" if t.builtin else "user", t.description] for t in infos]
    print_table(cols, cells, empty="no templates")


def print_template(as_json: bool, t: Template) -> None:
    """``template show``: the variables with type, default, bounds and help."""
    if as_json:
        from namdrunner_core.serde import unstructure

        print_json(unstructure(t))
        return
    click.echo(f"{t.id}  {t.name}\n{t.description}")
    cols = [Column("Variable", key=True), Column("Type", priority=4), Column("Default", priority=3),
            Column("Range / choices", priority=2, wrap=True), Column("Help", priority=1, wrap=True)]  # fmt: skip
    cells = []
    for v in t.variables:
        if v.type.value == "file":
            rng = " ".join(v.extensions)
        elif v.choices:
            rng = ", ".join(v.choices)
        else:
            rng = f"{'' if v.min is None else f'{v.min:g}'} .. {'' if v.max is None else f'{v.max:g}'}".strip()
        default = "" if v.default is None else str(v.default)
        cells.append([v.key + ("" if v.required else " (optional)"), v.type.value, default, rng, v.help])
    print_table(cols, cells, empty="no variables")


def print_preview(as_json: bool, preview: TemplatePreview) -> None:
    """``template preview``: the rendered config (warnings on stderr)."""
    if as_json:
        print_json(preview.to_dict())
        return
    click.echo(preview.config, nl=False)
    for note in preview.warnings:
        click.echo(f"warning: not checked: {note}", err=True)


def print_profiles(as_json: bool, infos: Sequence[ProfileInfo]) -> None:
    """``cluster list``: a broken profile is one row naming its error."""
    if as_json:
        print_json([p.to_dict() for p in infos])
        return
    cols = [Column("Profile", key=True), Column("Host", priority=3), Column("Source", priority=1, wrap=True),
            Column("Description", priority=2, wrap=True)]  # fmt: skip
    cells = [[p.name, p.host or "-", p.source, f"[red]cannot be read: {p.error}[/]" if p.error else p.description]
             for p in infos]  # fmt: skip
    print_table(cols, cells, empty="no profiles")


def print_profile(as_json: bool, p: ClusterProfile) -> None:
    """``cluster show``: host, roots, modules, partitions and QOS."""
    if as_json:
        from namdrunner_core.serde import unstructure

        print_json(unstructure(p))
        return
    from rich.table import Table

    c = console()
    c.print(f"[bold]{p.name}[/]  {p.description}")
    c.print(f"host {p.host}:{p.port or 22}  user {p.user or '(from ssh config or local user)'}")
    purge = f" (purged after {p.scratch_purge_days} days)" if p.scratch_purge_days else ""
    c.print(f"jobs root {p.jobs_root}\nscratch root {p.scratch_root}{purge}")
    c.print(f"modules {' '.join(p.modules) or '-'}" + (f"\nslurm module {p.slurm_module}" if p.slurm_module else ""))
    t = Table("Partition", "Cores/node", "Max nodes", "GB/core", "GPUs", "Default QOS", header_style="bold")
    for part in p.partitions:
        gpus = f"{part.gpus_per_node} x {part.gpu_type}" if part.is_gpu else "-"
        t.add_row(part.name + (" *" if part.default else ""), str(part.cores_per_node), str(part.max_nodes),
                  f"{part.memory_per_core_gb:g}", gpus, part.default_qos or "-")  # fmt: skip
    c.print(t)
    q = Table("QOS", "Max wall (h)", "Partitions", header_style="bold")
    for qos in p.qos:
        q.add_row(qos.name + (" *" if qos.default else ""), f"{qos.max_walltime_hours:g}", ", ".join(qos.partitions))
    c.print(q)


def print_checks(as_json: bool, results: Sequence[Check]) -> None:
    """``cluster check``: one line per check."""
    if as_json:
        print_json([dataclasses_asdict(r) for r in results])
        return
    from rich.markup import escape

    c = console()
    for r in results:
        mark = "[red]FAIL[/]" if not r.ok else "[yellow]WARN[/]" if r.warning else "[green]ok[/]  "
        c.print(f"{mark} {r.name:12s} {escape(r.detail)}", highlight=False)


def print_detection(as_json: bool, found: Detection, written: Path | None) -> None:
    """``cluster detect``: partitions, QOS, accounts, NAMD builds and where the profile differs."""
    if as_json:
        print_json({**found.to_dict(), "written": str(written) if written else None})
        return
    from rich.markup import escape

    inv = found.inventory
    cols = [Column("Partition", key=True), Column("Cores/node", priority=5), Column("GB/core", priority=4),
            Column("Nodes", priority=2), Column("Max wall", priority=3), Column("GPUs", priority=3),
            Column("QOS allowed", priority=1, wrap=True)]  # fmt: skip
    rows = []
    for p in inv.partitions:
        cores = (
            str(p.cpus_per_node)
            if p.cpus_per_node_min == p.cpus_per_node
            else f"{p.cpus_per_node_min}-{p.cpus_per_node}"
        )
        gpus = ", ".join(f"{g.count} x {g.type or g.name}" for g in p.gres if g.name == "gpu") or "-"
        rows.append([p.name + (" *" if p.default else ""), cores, f"{p.memory_per_core_mb_min / 1024:.2f}",
                     str(p.node_limit), p.max_walltime, gpus, ",".join(p.allow_qos)])  # fmt: skip
    print_table(cols, rows, empty="no partitions")
    named = {"max_jobs_per_user": "jobs", "max_submit_per_user": "submitted"}
    qos_rows = []
    for qos in inv.qos:
        parts = [f"{k}={v}" for k, v in qos.limits.get("max_tres_per_user", {}).items()]
        parts += [f"{named.get(k, k)} {v}" for k, v in qos.limits.items() if k != "max_tres_per_user"]
        qos_rows.append([qos.name, qos.max_walltime or "-", ", ".join(parts) or "-"])
    qos_cols = [
        Column("QOS", key=True),
        Column("Max wall", priority=2),
        Column("Per-user limits", priority=1, wrap=True),
    ]
    print_table(qos_cols, qos_rows, empty="no QOS")
    c = console()
    for a in inv.accounts:
        c.print(f"account {a.account}: QOS {', '.join(a.qos) or '-'} (default {a.default_qos or '-'})", highlight=False)
    for m in inv.namd_modules:
        needs = f" after {' '.join(m.needs)}" if m.needs else ""
        c.print(f"NAMD {m.name} ({m.kind}, {m.program or 'does not load'}){needs}", highlight=False)
    for e in inv.errors:
        c.print(f"[yellow]could not read:[/] {e}", highlight=False)
    if not found.differences:
        c.print(f"[green]profile {found.profile} matches the cluster[/]")
    for d in found.differences:
        c.print(f"[yellow]differs[/] {escape(d.field)}: {escape(d.message)}", highlight=False)
    if written:
        c.print(f"wrote {written} (use it with --profile {written.stem})", highlight=False)


def print_usage(as_json: bool, report: UsageReport) -> None:
    """``usage``: SUs and efficiencies per job, storage, purge warnings, pending start estimates."""
    if as_json:
        print_json(report.to_dict())
        return
    from rich.markup import escape

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x * 100:.0f} %"

    cols = [Column("Job", key=True, shorten=True), Column("Stage", priority=6, wrap=True), Column("Slurm", priority=3),
            Column("State", key=True), Column("Elapsed", priority=5), Column("Cores", priority=4),
            Column("GPUs", priority=0), Column("SU", key=True), Column("CPU eff", priority=7),
            Column("Mem eff", priority=2), Column("ns/day", priority=1)]  # fmt: skip
    rows = [[j.id, j.stage or "-", j.slurm_job_id, j.state, humanize_duration(j.elapsed_s), str(j.cores),
             str(j.gpus or "-"), f"{j.su:.3g}", pct(j.cpu_efficiency), pct(j.memory_efficiency),
             "-" if j.ns_per_day is None else f"{j.ns_per_day:.3g}"] for j in report.jobs]  # fmt: skip
    print_table(cols, rows, empty="no submitted jobs to account for")
    c = console()
    if report.jobs:
        c.print(f"total {report.total_su:.4g} SU over {len(report.jobs)} job(s)", highlight=False)
    for j in report.jobs:
        if j.hint:
            c.print(f"[yellow]hint[/] {j.id}: {j.hint}", highlight=False)
    if report.missing:
        c.print(f"sacct does not know (yet): {', '.join(report.missing)}", highlight=False)
    for s in report.quota:
        if s.lines:
            c.print(f"[bold]{s.source}[/]\n" + escape("\n".join(s.lines)), highlight=False)
        elif s.size_bytes is not None:
            used = (
                f"{humanize_bytes(s.used_bytes or 0)} of {humanize_bytes(s.size_bytes)} used ({s.percent or 0:.0f} %)"
            )
            free = f"{humanize_bytes(s.available_bytes or 0)} free"
            c.print(escape(f"{s.path}: {used}, {free} [{s.source}]"), highlight=False)
    for w in report.purge_warnings:
        safe = "results are safe on project storage" if w.results_safe else "[red]results are NOT on project storage[/]"
        when = f"in {w.purge_in_days:.0f} days" if w.purge_in_days > 0 else "now (past the purge age)"
        age = f"oldest scratch file {w.oldest_file_age_days:.0f} days old"
        c.print(f"[yellow]purge[/] {w.id}: {age}, purged {when}; {safe}", highlight=False)
    for p in report.pending:
        who = p.id or "(not a namdrunner job)"
        c.print(
            f"pending {p.slurm_job_id} {who}: expected start {p.expected_start or 'unknown'} ({escape(p.reason)})",
            highlight=False,
        )


def print_outputs(as_json: bool, record: JobRecord, out: JobOutputs) -> None:
    """``job outputs``: files on project and on scratch storage."""
    if as_json:
        print_json({"project": [dataclasses_asdict(o) for o in out.project],
                    "scratch": [dataclasses_asdict(o) for o in out.scratch]})  # fmt: skip
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
        print_json({"id": job_id, "to": str(target), "files": list(report.files_sent),
                    "unchanged": list(report.files_unchanged), "bytes": report.payload_bytes,
                    "resumed_bytes": report.resumed_bytes})  # fmt: skip
        return
    sent, same = len(report.files_sent), len(report.files_unchanged)
    resumed = f" ({humanize_bytes(report.resumed_bytes)} resumed)" if report.resumed_bytes else ""
    click.echo(f"{plural(sent, 'file')} fetched{resumed}, {same} unchanged -> {target}")


def print_logs(as_json: bool, job_id: str, kind: str, text: str) -> None:
    """``job logs``: the text (with --json: in an object)."""
    if as_json:
        print_json({"id": job_id, "kind": kind, "text": text})
    else:
        click.echo(text, nl=False)


def print_sync(as_json: bool, reports: dict[str, SyncReport], changed: Sequence[JobRecord]) -> None:
    """``sync``: how many active jobs were checked, and the ones that changed."""
    if as_json:
        print_json({name: dataclasses_asdict(r) for name, r in reports.items()})
        return
    from namdrunner_core.listing import record_to_row

    checked = sum(r.checked for r in reports.values())
    for report in reports.values():
        for line in report.warnings:
            click.echo(f"warning: {line}", err=True)
    click.echo(f"checked {plural(checked, 'active job')}, {len(changed)} changed")
    if changed:
        jobs_table([record_to_row(r) for r in changed])


def print_discover(as_json: bool, report: DiscoverReport) -> None:
    """``discover``: jobs added, updated and refused (with why, on stderr)."""
    if as_json:
        print_json(dataclasses_asdict(report))
        return
    click.echo(
        f"{plural(len(report.added), 'job')} added, {len(report.updated)} updated, {len(report.refused)} refused"
    )
    for name, why in report.refused:
        click.echo(f"  refused {name}: {why}", err=True)


def watch_table(records: Sequence[JobRecord]) -> Any:
    """The live table ``watch`` redraws."""
    from namdrunner_core.listing import record_to_row

    title = f"watching {plural(len(records), 'job')} (Ctrl-C stops watching, not the jobs)"
    rows = [job_cells(record_to_row(r), False)[:5] for r in records]
    return build_table(job_columns(False)[:5], rows, title=title, width=console().width)


def dataclasses_asdict(obj: Any) -> dict[str, Any]:
    """An attrs instance as plain JSON values."""
    import attrs

    out: dict[str, Any] = attrs.asdict(obj)
    return out


@contextmanager
def live_view(*, enabled: bool) -> Iterator[Callable[[list[JobRecord]], None]]:
    """A live-redrawn :func:`watch_table` (nothing when ``enabled`` is false, e.g. with --json)."""
    if not enabled:
        yield lambda records: None
        return
    from rich.live import Live

    with Live(watch_table([]), console=console(), refresh_per_second=4, transient=False) as live:
        yield lambda records: live.update(watch_table(records))


def print_watch_result(as_json: bool, final: Sequence[JobRecord]) -> None:
    """What ``watch`` ends with: the jobs (--json) or how many finished."""
    if as_json:
        from namdrunner_core.models import job_to_dict

        print_json([job_to_dict(r) for r in final])
        return
    done = sum(1 for r in final if r.status.is_terminal)
    click.echo(f"{done} of {plural(len(final), 'job')} finished")


def print_imported(as_json: bool, t: Template) -> None:
    """``template import``: the id and the variables recognised."""
    if as_json:
        print_json({"id": t.id, "imported": True, "variables": [v.key for v in t.variables]})
    else:
        click.echo(f"imported template {t.id}: {', '.join(v.key for v in t.variables) or 'no variables'}")


def print_deleted(as_json: bool, job_ids: Sequence[str], group_id: str | None = None) -> None:
    """``job delete`` / ``workflow delete``: what went."""
    if as_json:
        print_json({"id": group_id or job_ids[0], "deleted": True} | ({"jobs": list(job_ids)} if group_id else {}))
    elif group_id:
        click.echo(f"deleted {group_id} and its {plural(len(job_ids), 'job')}")
    else:
        click.echo(f"deleted {job_ids[0]}")


def print_slurm_logs(as_json: bool, job_id: str, logs: SlurmLogs) -> None:
    """``job logs``: stdout and stderr, each under its own label, saying so when one is empty."""
    if as_json:
        print_json({"id": job_id, "kind": "slurm", "stdout": logs.stdout, "stderr": logs.stderr,
                    "stdout_name": logs.stdout_name, "stderr_name": logs.stderr_name,
                    "text": logs.stdout + logs.stderr})  # fmt: skip
        return
    for label, name, text in (("stdout", logs.stdout_name, logs.stdout), ("stderr", logs.stderr_name, logs.stderr)):
        click.echo(f"==> {label} ({name}) <==")
        click.echo(text if text.endswith("\n") or not text else text + "\n", nl=False)
        if not text:
            click.echo("(empty)")


def print_session(as_json: bool, profile: str, info: Any) -> None:
    """``session start|status``: the broker's state, or that none runs."""
    if as_json:
        print_json({"profile": profile, "running": info is not None} | (info.to_dict() if info else {}))
        return
    if info is None:
        click.echo(f"no session runs for {profile} (`namdrunner session start {profile}`)")
        return
    import time

    left = humanize_duration(max(0.0, info.expires_at - time.time()))
    since = humanize_age(dt.datetime.fromtimestamp(info.started_at, dt.UTC))
    click.echo(
        f"session for {profile}: {info.user}@{info.host}, since {since}, "
        f"{left} left; {plural(info.commands, 'command')} served, {plural(info.authentications, 'authentication')}; "
        f"rate limit {info.rate_limit_per_s:g}/s (pid {info.pid})"
    )


def print_plans(as_json: bool, plans: WorkflowPlan | Sequence[WorkflowPlan], arrays: Sequence[str] = ()) -> None:
    """A workflow dry run: one plan, or one per replica (then ``arrays``: each stage's job-array script,
    as submitted)."""
    many = list(plans) if isinstance(plans, Sequence) else [plans]
    if as_json and len(many) > 1:
        from namdrunner_core.models import job_to_dict

        print_json([{"id": p.id, "stages": [{"job": job_to_dict(j.record), "config": j.config_text,
                                             "sbatch": j.sbatch_text} for j in p.prepared],
                     "arrays": list(arrays)} for p in many])  # fmt: skip
        return
    for p in many:
        print_plan(as_json, p.id, p.prepared, {})
    for i, script in enumerate(arrays):
        after = f", each task after the same task of stage {i} (sbatch --dependency=aftercorr)" if i else ""
        click.echo(
            f"# ---- stage {i + 1}: ONE job array over the {len(many)} replicas (task r = replica r+1){after} ----"
        )
        click.echo(script, nl=False)


def print_groups_made(as_json: bool, made: Sequence[Workflow]) -> None:
    """What ``workflow create`` made: one group, or one per replica."""
    if as_json and len(made) > 1:
        print_json([wf.to_dict() for wf in made])
        return
    for wf in made:
        print_group(as_json, wf)


def print_validated(as_json: bool, path: Path, plan: WorkflowPlan, *, replicas: int = 1) -> None:
    """``workflow validate``: the file is fine - its stages and the steps each runs."""
    rows = [{"stage": n, "job_name": p.record.job_name, "steps": p.record.total_steps}
            for n, p in zip(plan.stage_names, plan.prepared, strict=True)]  # fmt: skip
    if as_json:
        print_json({"file": str(path), "valid": True, "replicas": replicas, "stages": rows})
        return
    click.echo(
        f"{path}: valid, {plural(len(rows), 'stage')}: " + ", ".join(f"{r['stage']} ({r['steps']} steps)" for r in rows)
    )


def print_workflow_files(as_json: bool, infos: Sequence[WorkflowFileInfo]) -> None:
    """``workflow template list|import``."""
    if as_json:
        print_json([dataclasses_asdict(i) for i in infos])
        return
    cols = [Column("ID", key=True), Column("Name", key=True, wrap=True), Column("Kind", priority=2),
            Column("Stages", priority=3), Column("Description", priority=1, wrap=True)]  # fmt: skip

    def stages(i: WorkflowFileInfo) -> str:
        return str(i.stages) + (f" x {i.replicas}" if i.replicas > 1 else "")

    cells = [[i.id, i.name, "builtin" if i.builtin else "user", stages(i), i.description] for i in infos]
    print_table(cols, cells, empty="no workflow files")
