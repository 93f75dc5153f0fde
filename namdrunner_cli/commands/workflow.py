"""``namdrunner workflow ...`` and ``namdrunner sweep create``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from namdrunner_cli import complete
from namdrunner_cli.context import AppContext
from namdrunner_cli.options import RESOURCE_KEYS, pop_resources, preset_into, resource_options

if TYPE_CHECKING:
    from namdrunner_core.jobs.prepare import Planned
    from namdrunner_core.models import GroupRecord
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.workflow import Workflow, WorkflowPlan


def _group(app: AppContext, group: GroupRecord) -> Workflow:
    """The group as a Workflow (or Sweep), bound to a session on its own profile."""
    from namdrunner_core.workflow import load_group

    return load_group(app.session(group.profile), app.store, group.id)


def _for_change(app: AppContext, workflow_id: str) -> Workflow:
    """A group a changing command may act on: the exact id, or a long prefix a person confirms."""
    return _group(app, app.store.select_workflow_for_change(workflow_id, confirm=app.confirm_full_id("workflow")))


#: ``--input NAME=PATH`` of ``workflow create`` and ``workflow validate``
input_option = click.option(
    "--input", "inputs", multiple=True, metavar="NAME=PATH", help="A file for one of the workflow file's [inputs]."
)


@click.group()
def workflow() -> None:
    """Multi-stage runs chained on the cluster (and sweeps, which are listed here too).

    A WORKFLOW_ID may be any unique prefix for `show`; `submit`, `cancel` and `delete` take the exact
    id, or a prefix of at least 6 characters that you confirm at a terminal.
    """


@workflow.command("create")
@click.option("--file", "workflow_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A workflow file (TOML: your own stages; see the guide). Without it: --template.")  # fmt: skip
@click.option("--from", "from_library", metavar="ID", help="A workflow file of the library (`workflow template list`).")
@click.option("--name", help="Display name of the workflow (a file's own name by default).")
@click.option(
    "--template",
    "template_id",
    type=click.Choice(["dna_origami_equilibration"]),
    default="dna_origami_equilibration",
    show_default=True,
    help="Workflow template (when no --file is given).",
)
@click.option("--structure", type=click.Path(path_type=Path), help="PSF of the solvated system (template).")
@click.option("--coordinates", type=click.Path(path_type=Path), help="PDB of the solvated system (template).")
@click.option(
    "--parameters", type=click.Path(path_type=Path), multiple=True, help="CHARMM parameter file (once or twice)."
)
@click.option(
    "--enm",
    type=click.Path(path_type=Path),
    help="Elastic-network extra-bonds file; each stage gets a copy with its spring constant (template).",
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
@input_option
@resource_options(required=False)
@click.option("--dry-run", is_flag=True, help="Print every stage's config and script; touch nothing.")
@click.option("--submit", "submit_now", is_flag=True, help="Submit right after creating.")
@click.pass_obj
def create(app: AppContext, /, workflow_file: Path | None, from_library: str | None, name: str | None,
           template_id: str, dry_run: bool, submit_now: bool, **kw: Any) -> None:  # fmt: skip
    """Create a workflow (validated before anything is uploaded): from your own workflow file, or from
    the DNA-origami equilibration template (minimisation, NPT with the elastic network at k = 0.5,
    0.1, 0.01, then production).

    \b
    Examples:
      namdrunner workflow create --file protein_eq.toml --set production.temperature=310 --submit
      namdrunner workflow create --from solvated_equilibration --cores 32 --submit   # inputs in this dir
      namdrunner workflow create --from dna_origami_equilibration --input structure=hextube.psf \\
          --input coordinates=hextube.pdb --input parameters=par_all36_na.prm --input enm=hextube_enm.exb \\
          --cores 64 --memory 120 --walltime 24:00:00 --submit
      namdrunner workflow create --name hextube --structure hextube.psf --coordinates hextube.pdb \\
          --parameters par_all36_na.prm --enm hextube_enm.exb --cores 64 --walltime 24:00:00 --submit
      namdrunner workflow create ... --steps production=4800000 --dry-run
    """
    from namdrunner_core.profile import load_profile
    from namdrunner_core.workflow import origami_inputs, origami_plan, plan_workflow_file, workflow_file_path

    store = app.existing_store if dry_run else app.store  # a dry run creates nothing, not even a database
    profile = load_profile(app.profile)
    preset_into(kw, profile)
    workflow_file = workflow_file_path(from_library) if from_library else workflow_file
    if workflow_file is not None:
        overrides = {k: kw[k] for k in RESOURCE_KEYS if kw.get(k) is not None}
        base = Path.cwd() if from_library else None  # a library file's inputs are where you run it
        from_file = plan_workflow_file(profile, store, workflow_file, assignments=kw["assignments"], name=name,
                                       resources=overrides, base_dir=base, inputs=_inputs(kw["inputs"]))  # fmt: skip
        return _create(app, from_file, profile, dry_run=dry_run, submit_now=submit_now)
    if kw.pop("inputs"):
        raise click.UsageError(
            "--input belongs to a workflow file (--file or --from); the template takes --structure ..."
        )
    with origami_plan(profile, store, **origami_inputs(name=name, **kw)) as planned:  # validated here
        return _create(app, planned, profile, dry_run=dry_run, submit_now=submit_now)


def _inputs(items: tuple[str, ...]) -> dict[str, Path]:
    """``--input NAME=PATH`` items as a mapping (a bad item names ``--input``)."""
    from namdrunner_core.namd.config import parse_assignments

    return {k: Path(v).expanduser() for k, v in parse_assignments(list(items), option="--input").items()}


def _create(
    app: AppContext,
    planned: Planned[WorkflowPlan] | Planned[list[WorkflowPlan]],
    profile: ClusterProfile,
    *,
    dry_run: bool,
    submit_now: bool,
) -> None:
    """Print the plans (a dry run) or create exactly them, for the session's user; then the groups."""
    from namdrunner_cli.render.workflow import print_groups_made, print_plans
    from namdrunner_core.workflow import create_planned_workflows

    if dry_run:
        from namdrunner_core.workflow import replica_array_scripts

        plans = planned.plan if isinstance(planned.plan, list) else [planned.plan]
        return print_plans(app.json, planned.plan, replica_array_scripts(plans, profile))
    session = app.session()
    print_groups_made(app.json, create_planned_workflows(session, app.store, planned.for_session(session), submit_now))


@workflow.command("export")
@click.argument("workflow_id", shell_complete=complete.workflow_ids)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.pass_obj
def export(app: AppContext, workflow_id: str, output: Path | None) -> None:
    """A workflow as it ran, back as a reusable workflow file (TOML): put its input files beside it.

    \b
    Examples:
      namdrunner workflow export wf_protein_eq_20261201_101500_123456 > protein_eq.toml
    """
    from namdrunner_core.files import write_text_atomic
    from namdrunner_core.workflow import export_workflow, workflow_file_text

    group, match = app.store.find_workflow(workflow_id)
    app.note(match.note)
    text = workflow_file_text(export_workflow(app.store, group.id))
    if output is None:
        return click.echo(text, nl=False)
    write_text_atomic(output, text)
    click.echo(f"exported {group.id} to {output}", err=True)


@workflow.command("validate")
@click.argument("workflow_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--set", "assignments", multiple=True, metavar="STAGE.KEY=VALUE", help="Override a stage's value.")
@input_option
@click.pass_obj
def validate(app: AppContext, workflow_file: Path, assignments: tuple[str, ...], inputs: tuple[str, ...]) -> None:
    """Check a workflow file without touching the cluster: every stage rendered and preflighted with
    its files; every problem at once, each naming the stage and key (exit 1).

    \b
    Examples:
      namdrunner workflow validate protein_eq.toml
    """
    from namdrunner_cli.render.workflow import print_validated
    from namdrunner_core.profile import load_profile
    from namdrunner_core.workflow import plan_workflow_file

    planned = plan_workflow_file(load_profile(app.profile), app.existing_store, workflow_file, assignments=assignments,
                                 inputs=_inputs(inputs))  # fmt: skip
    print_validated(app.json, workflow_file, planned.plan[0], replicas=len(planned.plan))


@workflow.command("submit")
@click.argument("workflow_id", shell_complete=complete.workflow_ids)
@click.pass_obj
def submit(app: AppContext, workflow_id: str) -> None:
    """Submit every stage (workflows: chained with afterok; sweeps: one job array).

    \b
    Examples:
      namdrunner workflow submit wf_hextube_20261201_101500_123456
    """
    from namdrunner_cli.render.workflow import print_group

    print_group(app.json, _for_change(app, workflow_id).submit())


@workflow.command("show")
@click.argument("workflow_id", shell_complete=complete.workflow_ids)
@click.pass_obj
def show(app: AppContext, workflow_id: str) -> None:
    """Every stage of a workflow or sweep, with its status (run `namdrunner sync` to refresh).

    \b
    Examples:
      namdrunner workflow show wf_hextube
    """
    from namdrunner_cli.render.workflow import print_group

    group, match = app.store.find_workflow(workflow_id)
    app.note(match.note)
    print_group(app.json, _group(app, group))


@workflow.command("analyze")
@click.argument("workflow_ids", nargs=-1, required=True, shell_complete=complete.workflow_ids)
@click.pass_obj
def analyze(app: AppContext, workflow_ids: tuple[str, ...]) -> None:
    """Judge every stage of workflows; given several (replicas), compare them stage by stage.

    Every stage's run is judged as `job analyze` does; given more than one workflow, each stage's series
    are compared across them (the error-weighted mean, a chi-square test at 95 %, the replica that is off).

    \b
    Examples:
      namdrunner workflow analyze wf_hextube_eq
      namdrunner workflow analyze wf_prod_r1 wf_prod_r2 wf_prod_r3 --json
    """
    from namdrunner_cli.render.workflow import print_workflows_analysis
    from namdrunner_core.workflow.equilibration import analyze_workflows

    groups = [app.store.find_workflow(w)[0] for w in workflow_ids]
    profiles = {g.profile for g in groups}
    session = app.session(next(iter(profiles)) if len(profiles) == 1 else None)
    print_workflows_analysis(app.json, analyze_workflows(session, app.store, [g.id for g in groups]))


@workflow.command("list")
@click.pass_obj
def list_groups(app: AppContext) -> None:
    """Workflows and sweeps with their aggregate status.

    \b
    Examples:
      namdrunner workflow list
    """
    from namdrunner_cli.render.workflow import print_groups
    from namdrunner_core.workflow import list_groups as groups

    print_groups(app.json, groups(app.store))


@workflow.command("cancel")
@click.argument("workflow_id", shell_complete=complete.workflow_ids)
@click.pass_obj
def cancel(app: AppContext, workflow_id: str) -> None:
    """Cancel every stage still queued or running.

    \b
    Examples:
      namdrunner workflow cancel wf_hextube_20261201_101500_123456
    """
    from namdrunner_cli.render.workflow import print_group

    print_group(app.json, _for_change(app, workflow_id).cancel())


@workflow.command("delete")
@click.argument("workflow_id", shell_complete=complete.workflow_ids)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Delete even stages whose results are on scratch only.")
@click.pass_obj
def delete(app: AppContext, workflow_id: str, yes: bool, force: bool) -> None:
    """Cancel what still runs, then delete every stage (remote directories and records, through the
    delete safety check) and the group itself.

    \b
    Examples:
      namdrunner workflow delete wf_hextube_20261201_101500_123456
      namdrunner workflow delete sw_temps_20261201_101500_123456 --yes
    """
    from namdrunner_cli.render.job import print_deleted

    group = app.select_group_to_delete(workflow_id, yes=yes)
    print_deleted(app.json, _group(app, group).delete(force=force), group.id)


@workflow.group("template")
def workflow_template() -> None:
    """The library of workflow files: builtin ones and your own (`<config dir>/workflows`)."""


@workflow_template.command("list")
@click.pass_obj
def template_list(app: AppContext) -> None:
    """Builtin and your own workflow files.

    \b
    Examples:
      namdrunner workflow template list
    """
    from namdrunner_cli.render.workflow import print_workflow_files
    from namdrunner_core.workflow import list_workflow_files

    print_workflow_files(app.json, list_workflow_files())


@workflow_template.command("show")
@click.argument("workflow_template_id")
@click.pass_obj
def template_show(app: AppContext, workflow_template_id: str) -> None:
    """A library workflow file's text (TOML).

    \b
    Examples:
      namdrunner workflow template show solvated_equilibration > mine.toml
    """
    from namdrunner_core.workflow import workflow_file_path

    click.echo(workflow_file_path(workflow_template_id).read_text(encoding="utf-8"), nl=False)


@workflow_template.command("export")
@click.argument("workflow_template_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
@click.pass_obj
def template_export(app: AppContext, workflow_template_id: str, output: Path | None) -> None:
    """Copy a library workflow file out (to edit it, or to share it); without -o, to stdout.

    \b
    Examples:
      namdrunner workflow template export solvated_equilibration -o my_protocol.toml
      namdrunner workflow template export solvated_equilibration > my_protocol.toml
    """
    from namdrunner_core.workflow import export_workflow_template, workflow_file_path

    if output is None:
        click.echo(workflow_file_path(workflow_template_id).read_text(encoding="utf-8"), nl=False)
        return
    export_workflow_template(workflow_template_id, output)
    click.echo(f"exported {workflow_template_id} to {output}", err=True)


@workflow_template.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "workflow_template_id", help="Its id in the library (default: the file name).")
@click.pass_obj
def template_import(app: AppContext, file: Path, workflow_template_id: str | None) -> None:
    """Add a workflow file to your library (checked first), so that `workflow create --from ID` runs it.

    \b
    Examples:
      namdrunner workflow template import protein_eq.toml --id protein_eq
    """
    from namdrunner_cli.render.workflow import print_workflow_files
    from namdrunner_core.workflow import import_workflow_file

    print_workflow_files(app.json, [import_workflow_file(file, workflow_id=workflow_template_id)])


@click.group()
def sweep() -> None:
    """Parameter sweeps: one template over a grid of values, run as one Slurm job array."""


@sweep.command("create")
@click.option("--name", required=True, help="Display name of the sweep.")
@click.option("--template", "template_id", required=True, shell_complete=complete.template_ids, help="Template id.")
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
    """Create one job per grid point, such as --grid temperature=290,300,310 --grid seed=1,2.

    \b
    Examples:
      namdrunner sweep create --name temps --template explicit_solvent_npt_v1 \\
          --grid temperature=290,300,310 --file sys.psf --file sys.pdb --file par.prm \\
          --cores 8 --walltime 02:00:00 --submit
    """
    from namdrunner_cli.render.workflow import print_group, print_plan
    from namdrunner_core.profile import load_profile
    from namdrunner_core.workflow import Sweep, plan_sweep_ahead

    store = app.existing_store if dry_run else app.store  # a dry run creates nothing, not even a database
    resources, profile = pop_resources(resource_kw, profile=app.profile), load_profile(app.profile)
    planned = plan_sweep_ahead(profile, store, name=name, template=template_id, grid_items=grid_items,
                               assignments=assignments, files=list(files), resources=resources)  # fmt: skip
    if dry_run:
        extra = {"array.sbatch (what is submitted)": planned.plan.array_script}
        return print_plan(app.json, planned.plan.id, planned.plan.prepared, extra)
    session = app.session()
    sw = Sweep.create_planned_sweep(session, app.store, planned.for_session(session))
    print_group(app.json, sw.submit() if submit_now else sw)
