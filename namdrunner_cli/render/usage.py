"""`namdrunner usage`: the bill, storage, purge warnings and the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from namdrunner_cli.render.base import (
    Column,
    console,
    humanize_bytes,
    humanize_duration,
    print_json,
    print_table,
)

if TYPE_CHECKING:
    from namdrunner_core.usage import JobUsage, UsageReport


def print_usage(as_json: bool, report: UsageReport) -> None:
    """``usage``: SUs and efficiencies per job, storage, purge warnings, pending start estimates."""
    if as_json:
        print_json(report)
        return
    from rich.markup import escape

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x * 100:.0f} %"

    cols = [Column("Job", key=True, shorten=True), Column("Stage", priority=6, wrap=True), Column("Slurm", priority=3),
            Column("State", key=True), Column("Elapsed", priority=5), Column("Cores", priority=4),
            Column("GPUs", priority=0), Column("SU", key=True), Column("CPU eff", priority=7),
            Column("Mem eff", priority=2), Column("ns/day", priority=1)]  # fmt: skip

    def stage(j: JobUsage) -> str:
        return j.stage or (f"segment {j.segment}" if j.segment else "-")

    rows = [[j.id, stage(j), j.slurm_job_id, j.state, humanize_duration(j.elapsed_s), str(j.cores),
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
