"""`namdrunner cluster ...`: profiles, checks and what `cluster detect` found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from namdrunner_cli.render.base import (
    Column,
    console,
    print_json,
    print_table,
)
from namdrunner_core.serde import to_data

if TYPE_CHECKING:
    from pathlib import Path

    from namdrunner_core.diagnostics import Check, Detection
    from namdrunner_core.profile import ClusterProfile, ProfileInfo


def print_profiles(as_json: bool, infos: Sequence[ProfileInfo]) -> None:
    """``cluster list``: a broken profile is one row naming its error."""
    if as_json:
        print_json(infos)
        return
    cols = [Column("Profile", key=True), Column("Host", priority=3), Column("Source", priority=1, wrap=True),
            Column("Description", priority=2, wrap=True)]  # fmt: skip
    cells = [[p.name, p.host or "-", p.source, f"[red]cannot be read: {p.error}[/]" if p.error else p.description]
             for p in infos]  # fmt: skip
    print_table(cols, cells, empty="no profiles")


def print_profile(as_json: bool, p: ClusterProfile) -> None:
    """``cluster show``: host, roots, modules, partitions, QOS and resource presets."""
    if as_json:
        print_json(p)
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
    if p.presets:  # `job create --preset NAME`
        _print_presets(p)


def _print_presets(p: ClusterProfile) -> None:
    """The presets, each on one line; their descriptions beside them on a wide terminal, under the table
    (a line each) on a narrow one - never a column a word wide."""
    from rich.markup import escape
    from rich.padding import Padding
    from rich.table import Table

    c = console()
    beside = c.width >= 120
    r = Table(title="presets (job create --preset NAME)", header_style="bold")
    for head in ("Preset", "Cores", "GB", "Wall time", "Partition", "QOS", "GPUs"):
        r.add_column(head, no_wrap=True)
    if beside:
        r.add_column("")
    for x in p.presets:
        row = [x.name, str(x.cores), f"{x.memory_gb:g}", x.walltime, x.partition, x.qos or "-", str(x.gpus or "-")]
        r.add_row(*row, *([x.description] if beside else []))
    c.print(r)
    if not beside:
        for x in p.presets:
            if x.description:
                c.print(
                    Padding(f"[bold]{escape(x.name)}[/]: {escape(x.description)}", (0, 0, 0, 2), expand=False),
                    highlight=False,
                )


def print_checks(as_json: bool, results: Sequence[Check]) -> None:
    """``cluster check``: one line per check."""
    if as_json:
        print_json(results)
        return
    from rich.markup import escape

    c = console()
    for r in results:
        mark = "[red]FAIL[/]" if not r.ok else "[yellow]WARN[/]" if r.warning else "[green]ok[/]  "
        c.print(f"{mark} {r.name:12s} {escape(r.detail)}", highlight=False)


def print_detection(as_json: bool, found: Detection, written: Path | None) -> None:
    """``cluster detect``: partitions, QOS, accounts, NAMD builds and where the profile differs."""
    if as_json:
        print_json({**to_data(found), "written": str(written) if written else None})
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


def print_analysis_env(as_json: bool, profile: str, python: str) -> None:
    """``cluster analysis-env``: the Python made, and the two profile lines that use it."""
    if as_json:
        print_json({"profile": profile, "analysis_python": python, "analysis_modules": []})
        return
    click.echo(f"ready: {python}")
    click.echo(f"in profile {profile!r} (a user profile that extends it):")
    click.echo(f'  analysis_python = "{python}"')
    click.echo("  analysis_modules = []")
