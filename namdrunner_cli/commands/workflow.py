"""``namdrunner workflow ...`` and ``namdrunner sweep create``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from namdrunner_cli.main import AppContext
from namdrunner_cli.options import pop_resources, resource_options

if TYPE_CHECKING:
    from namdrunner_core.jobs.job import PreparedJob
    from namdrunner_core.workflow import Workflow


def _group_dict(wf: Workflow) -> dict[str, Any]:
    from namdrunner_core.jobs.record import job_to_dict

    jobs = wf.jobs()
    return {
        "id": wf.id,
        "name": wf.name,
        "kind": wf.data.get("kind", "workflow"),
        "status": wf.status.value,
        "template_id": wf.data.get("template_id"),
        "stages": [
            {"stage": n, **job_to_dict(j.record)} for n, j in zip(wf.data.get("stage_names", []), jobs, strict=False)
        ],
    }


def _print_group(app: AppContext, wf: Workflow) -> None:
    data = _group_dict(wf)
    if app.json:
        from namdrunner_cli.render import print_json

        print_json(data)
        return
    from rich.table import Table

    from namdrunner_cli.render import _progress_cell, console, status_markup

    t = Table(
        "#",
        "Stage",
        "Job",
        "Status",
        "Slurm",
        "Progress",
        "Note",
        header_style="bold",
        title=f"{data['kind']} {wf.id} ({wf.name}): {data['status']}",
    )
    for i, st in enumerate(data["stages"]):
        t.add_row(
            str(i),
            st["stage"],
            st["id"],
            status_markup(st["status"]),
            st["slurm_job_id"] or "-",
            _progress_cell(st["progress"]),
            st["error"] or "",
        )
    console().print(t)


def _print_plan(
    app: AppContext, workflow_id: str, prepared: list[PreparedJob], *, extra: dict[str, str] | None = None
) -> None:
    if app.json:
        from namdrunner_cli.render import print_json
        from namdrunner_core.jobs.record import job_to_dict

        print_json(
            {
                "id": workflow_id,
                "stages": [
                    {"job": job_to_dict(p.record), "config": p.config_text, "sbatch": p.sbatch_text} for p in prepared
                ],
            }
            | {k.split(" ")[0]: v for k, v in (extra or {}).items()}
        )
        return
    from namdrunner_cli.render import echo_prepared

    for p in prepared:
        click.echo(f"# ==== {p.record.job_name} ({p.record.job_id}) ====")
        echo_prepared(p)
    for title, text in (extra or {}).items():
        click.echo(f"# ==== {title} ====")
        click.echo(text, nl=False)


@click.group()
def workflow() -> None:
    """Multi-stage runs chained on the cluster (and sweeps, which are listed here too)."""


@workflow.command("create")
@click.option("--name", required=True, help="Display name of the workflow.")
@click.option(
    "--template",
    "template_id",
    type=click.Choice(["dna_origami_equilibration"]),
    default="dna_origami_equilibration",
    show_default=True,
    help="Workflow template.",
)
@click.option("--structure", type=click.Path(path_type=Path), required=True, help="PSF of the solvated system.")
@click.option("--coordinates", type=click.Path(path_type=Path), required=True, help="PDB of the solvated system.")
@click.option(
    "--parameters",
    type=click.Path(path_type=Path),
    multiple=True,
    required=True,
    help="CHARMM parameter file (once or twice).",
)
@click.option(
    "--enm",
    type=click.Path(path_type=Path),
    required=True,
    help="Elastic-network extra-bonds file; each stage gets a copy with its spring constant.",
)
@click.option("--extra-bonds", type=click.Path(path_type=Path), help="Extra bonds kept in every stage (e.g. MGHH).")
@click.option(
    "--cell", type=float, nargs=3, default=(124.0, 114.0, 323.0), show_default=True, help="Periodic cell edges in Å."
)
@click.option(
    "--steps",
    "stage_steps",
    multiple=True,
    metavar="STAGE=N",
    help="Steps of a stage (minimize, npt_k0.5, npt_k0.1, npt_k0.01, production).",
)
@click.option("--set", "assignments", multiple=True, metavar="STAGE.KEY=VALUE", help="Override a stage's value.")
@resource_options(required=True)
@click.option("--dry-run", is_flag=True, help="Print every stage's config and script; touch nothing.")
@click.option("--submit", "submit_now", is_flag=True, help="Submit right after creating.")
@click.pass_obj
def create(
    app: AppContext,
    /,
    name: str,
    template_id: str,
    structure: Path,
    coordinates: Path,
    parameters: tuple[Path, ...],
    enm: Path,
    extra_bonds: Path | None,
    cell: tuple[float, float, float],
    stage_steps: tuple[str, ...],
    assignments: tuple[str, ...],
    dry_run: bool,
    submit_now: bool,
    **resource_kw: Any,
) -> None:
    """Create a workflow from a template (validated before anything is uploaded)."""
    import getpass
    import tempfile

    from namdrunner_core.cluster import load_profile
    from namdrunner_core.errors import ValidationError
    from namdrunner_core.namd.config import parse_assignments
    from namdrunner_core.workflow import Workflow, origami_stages, plan_workflow

    steps = {k: int(v) for k, v in parse_assignments(list(stage_steps), option="--steps").items()}
    overrides: dict[str, dict[str, str]] = {}
    for key, value in parse_assignments(list(assignments)).items():
        stage, sep, var = key.partition(".")
        if not sep:
            raise ValidationError("--set", f"{key!r} is not STAGE.KEY (e.g. --set production.temperature=310)")
        overrides.setdefault(stage, {})[var] = value
    workdir = Path(tempfile.mkdtemp(prefix="namdrunner-wf-"))
    stages, shared = origami_stages(
        structure=structure,
        coordinates=coordinates,
        parameters=list(parameters),
        enm=enm,
        extra_bonds=extra_bonds,
        cell=cell,
        steps=steps,
        overrides=overrides,
        resources=pop_resources(resource_kw),
        workdir=workdir,
    )
    profile = load_profile(app.profile)
    # Validate every stage before connecting.
    store = app.existing_store if dry_run else app.store  # a dry run creates nothing, not even a database
    workflow_id, prepared = plan_workflow(
        profile, profile.user or getpass.getuser(), store, name=name, stages=stages, shared_files=shared
    )
    if dry_run:
        _print_plan(app, workflow_id, prepared)
        return
    wf = Workflow.create(
        app.session(), app.store, name=name, stages=stages, shared_files=shared, template_id=template_id
    )
    if submit_now:
        wf.submit()
    _print_group(app, wf)


@workflow.command("submit")
@click.argument("workflow_id")
@click.pass_obj
def submit(app: AppContext, workflow_id: str) -> None:
    """Submit every stage (workflows: chained with afterok; sweeps: one job array)."""
    from namdrunner_core.workflow import load_group

    data = app.store.select_workflow_for_change(workflow_id, confirm=app.confirm_full_id("workflow"))
    _print_group(app, load_group(app.session(data.get("profile")), app.store, data["id"]).submit())


@workflow.command("show")
@click.argument("workflow_id")
@click.pass_obj
def show(app: AppContext, workflow_id: str) -> None:
    """A workflow's stages and aggregate status (run `namdrunner sync` to refresh)."""
    from namdrunner_core.workflow import load_group

    data, match = app.store.find_workflow(workflow_id)
    app.note(match.note)
    _print_group(app, load_group(app.session(data.get("profile")), app.store, data["id"]))


@workflow.command("list")
@click.pass_obj
def list_groups(app: AppContext) -> None:
    """Workflows and sweeps with their aggregate status."""
    from namdrunner_core.workflow import aggregate_status

    rows = []
    for data in app.store.list_workflows():
        records = app.store.list_jobs(workflow_id=data["id"])
        rows.append(
            {
                "id": data["id"],
                "name": data.get("name"),
                "kind": data.get("kind", "workflow"),
                "status": aggregate_status([r.status for r in records]).value,
                "jobs": len(records),
                "created_at": data["created_at"],
            }
        )
    if app.json:
        from namdrunner_cli.render import print_json

        print_json(rows)
        return
    from namdrunner_cli.render import Column, humanize_age, print_table, status_markup

    cols = [Column("ID", key=True), Column("Name", key=True, wrap=True), Column("Kind", priority=2),
            Column("Status", key=True), Column("Jobs", priority=3), Column("Created", priority=1)]  # fmt: skip
    cells = [
        [r["id"], str(r["name"]), r["kind"], status_markup(r["status"]), str(r["jobs"]), humanize_age(r["created_at"])]
        for r in rows
    ]
    print_table(cols, cells, empty="no workflows or sweeps")


@workflow.command("cancel")
@click.argument("workflow_id")
@click.pass_obj
def cancel(app: AppContext, workflow_id: str) -> None:
    """Cancel every stage still queued or running."""
    from namdrunner_core.workflow import load_group

    data = app.store.select_workflow_for_change(workflow_id, confirm=app.confirm_full_id("workflow"))
    _print_group(app, load_group(app.session(data.get("profile")), app.store, data["id"]).cancel())


@click.group()
def sweep() -> None:
    """Parameter sweeps: one template over a grid of values, run as one Slurm job array."""


@sweep.command("create")
@click.option("--name", required=True, help="Display name of the sweep.")
@click.option("--template", "template_id", required=True, help="Template id.")
@click.option(
    "--grid",
    "grid_items",
    multiple=True,
    required=True,
    metavar="KEY=V1,V2,...",
    help="A variable and its values (repeatable; the grid is every combination).",
)
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="A value shared by every point.")
@click.option("--file", "files", multiple=True, type=click.Path(path_type=Path), help="An input file (repeatable).")
@resource_options(required=True)
@click.option(
    "--dry-run", is_flag=True, help="Print every point's config and script and the array script; touch nothing."
)
@click.option("--submit", "submit_now", is_flag=True, help="Submit right after creating.")
@click.pass_obj
def sweep_create(
    app: AppContext,
    /,
    name: str,
    template_id: str,
    grid_items: tuple[str, ...],
    assignments: tuple[str, ...],
    files: tuple[Path, ...],
    dry_run: bool,
    submit_now: bool,
    **resource_kw: Any,
) -> None:
    """Create one job per grid point, such as --grid temperature=290,300,310 --grid seed=1,2."""
    import getpass

    from namdrunner_core.cluster import load_profile
    from namdrunner_core.namd.config import parse_assignments
    from namdrunner_core.workflow import Sweep, array_script, plan_sweep

    grid = {
        k: [x.strip() for x in v.split(",") if x.strip()]
        for k, v in parse_assignments(list(grid_items), option="--grid").items()
    }
    kwargs: dict[str, Any] = {
        "name": name,
        "template": template_id,
        "grid": grid,
        "values": parse_assignments(list(assignments)),
        "files": list(files),
        "resources": pop_resources(resource_kw),
    }
    profile = load_profile(app.profile)
    # Validate every point before connecting.
    store = app.existing_store if dry_run else app.store  # a dry run creates nothing, not even a database
    sweep_id, prepared, _points = plan_sweep(profile, profile.user or getpass.getuser(), store, **kwargs)
    if dry_run:
        script = array_script(sweep_id, [p.record for p in prepared], profile)
        _print_plan(app, sweep_id, prepared, extra={"array.sbatch (what is submitted)": script})
        return
    sw = Sweep.create_sweep(app.session(), app.store, **kwargs)
    if submit_now:
        sw.submit()
    _print_group(app, sw)
