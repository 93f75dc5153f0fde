"""``namdrunner cluster list|show|check``."""

from __future__ import annotations

import click

from namdrunner_cli.main import AppContext


@click.group()
def cluster() -> None:
    """Cluster profiles: list, show, check against the real cluster."""


@cluster.command("list")
@click.pass_obj
def list_profiles(app: AppContext) -> None:
    """Every profile, bundled and yours."""
    from namdrunner_core.cluster import bundled_profile_names, load_profile, profile_names, user_profile_names

    rows = []
    users = set(user_profile_names())
    bundled = set(bundled_profile_names())
    for name in profile_names():
        p = load_profile(name)
        source = "user" if name in users else "bundled"
        if name in users and name in bundled:
            source = "user (overrides bundled)"
        rows.append({"name": name, "host": p.host, "description": p.description, "source": source})
    if app.json:
        from namdrunner_cli.render import print_json

        print_json(rows)
        return
    from namdrunner_cli.render import Column, print_table

    cols = [Column("Profile", key=True), Column("Host", priority=3), Column("Source", priority=1, wrap=True),
            Column("Description", priority=2, wrap=True)]  # fmt: skip
    print_table(cols, [[r["name"], r["host"], r["source"], r["description"]] for r in rows], empty="no profiles")


@cluster.command("show")
@click.argument("name")
@click.pass_obj
def show(app: AppContext, name: str) -> None:
    """A profile's host, storage roots, modules, partitions and QOS."""
    from namdrunner_core.cluster import load_profile
    from namdrunner_core.serde import unstructure

    p = load_profile(name)
    if app.json:
        from namdrunner_cli.render import print_json

        print_json(unstructure(p))
        return
    from rich.table import Table

    from namdrunner_cli.render import console

    c = console()
    c.print(f"[bold]{p.name}[/]  {p.description}")
    c.print(f"host {p.host}:{p.port or 22}  user {p.user or '(from ssh config or local user)'}")
    c.print(
        f"jobs root {p.jobs_root}\nscratch root {p.scratch_root}"
        + (f" (purged after {p.scratch_purge_days} days)" if p.scratch_purge_days else "")
    )
    c.print(f"modules {' '.join(p.modules) or '-'}" + (f"\nslurm module {p.slurm_module}" if p.slurm_module else ""))
    t = Table("Partition", "Cores/node", "Max nodes", "GB/core", "GPUs", "Default QOS", header_style="bold")
    for part in p.partitions:
        gpus = f"{part.gpus_per_node} x {part.gpu_type}" if part.is_gpu else "-"
        t.add_row(
            part.name + (" *" if part.default else ""),
            str(part.cores_per_node),
            str(part.max_nodes),
            f"{part.memory_per_core_gb:g}",
            gpus,
            part.default_qos or "-",
        )
    c.print(t)
    q = Table("QOS", "Max wall (h)", "Partitions", header_style="bold")
    for qos in p.qos:
        q.add_row(qos.name + (" *" if qos.default else ""), f"{qos.max_walltime_hours:g}", ", ".join(qos.partitions))
    c.print(q)


@cluster.command("check")
@click.argument("name")
@click.pass_obj
def check(app: AppContext, name: str) -> None:
    """Log in and check: Slurm answers, partitions exist, the NAMD module loads, roots are writable."""
    from namdrunner_core.diagnostics import check_cluster

    results = check_cluster(app.session(name))
    if app.json:
        import attrs

        from namdrunner_cli.render import print_json

        print_json([attrs.asdict(r) for r in results])
    else:
        from namdrunner_cli.render import console

        c = console()
        for r in results:
            mark = "[green]ok[/]  " if r.ok else "[red]FAIL[/]"
            c.print(f"{mark} {r.name:12s} {r.detail}")
    if not all(r.ok for r in results):
        raise click.exceptions.Exit(3)
