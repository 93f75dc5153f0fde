"""The DNA-origami equilibration: a workflow file shipped with the package
(``workflow/files/dna_origami_equilibration.toml``: minimisation, NPT while the elastic network is
softened k = 0.5 -> 0.1 -> 0.01, production), planned through the general workflow-file path. The
functions here only turn ``workflow create --template dna_origami_equilibration``'s options (and the
web page's form) into that file's inputs, values and stage overrides."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources as package_data
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.errors import ValidationError
from namdrunner_core.jobs.prepare import Planned
from namdrunner_core.serde import to_data
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.workflow.file_model import read_workflow_file
from namdrunner_core.workflow.file_plan import plan_workflow_file, stages_from_file
from namdrunner_core.workflow.workflow import StageSpec, Workflow, WorkflowPlan

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.store import JobStore

ORIGAMI_TEMPLATE_ID = "dna_origami_equilibration"


def origami_file() -> Path:
    """The shipped workflow file of the DNA-origami ladder."""
    return Path(str(package_data.files("namdrunner_core.workflow.files"))) / f"{ORIGAMI_TEMPLATE_ID}.toml"


def _ladder() -> tuple[tuple[str, float | None, str, int], ...]:
    wf = read_workflow_file(origami_file())
    return tuple(
        (s.name, s.scaled[0].k if s.scaled else None, str(s.values["execution_command"]), int(s.values["steps"]))
        for s in wf.stages
    )


#: (stage, ENM spring constant or None, minimize/run, default steps), as the shipped file says
ORIGAMI_STAGES: tuple[tuple[str, float | None, str, int], ...] = _ladder()


def _file_arguments(
    *,
    structure: str | Path,
    coordinates: str | Path,
    parameters: Sequence[str | Path],
    enm: str | Path,
    extra_bonds: str | Path | None = None,
    cell: tuple[float, float, float] = (124, 114, 323),
    steps: Mapping[str, int] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The template's arguments as the shipped file's inputs, shared values and stage overrides."""
    if not Path(enm).is_file():
        raise ValidationError("enm", f"elastic-network file not found: {enm}")
    params = [Path(p) for p in parameters]
    if not 1 <= len(params) <= 2:
        raise ValidationError("parameters", "give one or two parameter files")
    inputs = {"structure": Path(structure), "coordinates": Path(coordinates), "parameters": params[0],
              "enm": Path(enm)}  # fmt: skip
    if len(params) > 1:
        inputs["parameters_2"] = params[1]
    if extra_bonds:
        inputs["extra_bonds"] = Path(extra_bonds)
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (overrides or {}).items()}
    for stage, n in (steps or {}).items():
        merged.setdefault(stage, {}).setdefault("steps", n)
    values = {"cell_x": cell[0], "cell_y": cell[1], "cell_z": cell[2]}
    return {"inputs": inputs, "values": values, "overrides": merged}


def origami_stages(
    *, resources: Resources, workdir: Path | None = None, **kwargs: Any
) -> tuple[list[StageSpec], list[Path]]:
    """The stages (and shared files) of the DNA-origami ladder from its shipped file: ``structure``,
    ``coordinates``, one or two ``parameters``, the ``enm`` file (each stage gets a copy with its k),
    optional ``extra_bonds`` (kept in every stage), ``cell``, ``steps`` and ``overrides`` by stage
    name. The scaled ENM copies are written into ``workdir`` (default: the cache)."""
    args = _file_arguments(**kwargs)
    wf = read_workflow_file(origami_file()).overridden(to_data(resources), args["values"])
    return stages_from_file(wf, origami_file().parent, None, args["overrides"], inputs=args["inputs"], workdir=workdir)


_OPTION = {"memory_gb": "--memory", "extra_bonds": "--extra-bonds"}


def origami_inputs(
    *,
    name: str | None,
    structure: Path | None,
    coordinates: Path | None,
    parameters: Sequence[Path],
    enm: Path | None,
    extra_bonds: Path | None = None,
    cell: tuple[float, float, float] = (124, 114, 323),
    stage_steps: Sequence[str] = (),
    assignments: Sequence[str] = (),
    **resource_options: Any,
) -> dict[str, Any]:
    """``workflow create``'s options as :func:`origami_plan`'s arguments: every missing one named at
    once (``--structure``, ``--cores``, ...), ``--steps STAGE=N`` and ``--set STAGE.KEY=VALUE`` parsed."""
    from namdrunner_core.errors import ValidationErrors
    from namdrunner_core.workflow.workflow import parse_stage_assignments, parse_stage_steps

    required = {"name": name, "structure": structure, "coordinates": coordinates, "parameters": parameters,
                "enm": enm, **{k: resource_options.get(k) for k in ("cores", "memory_gb", "walltime")}}  # fmt: skip
    missing = [k for k, v in required.items() if v in (None, (), [])]
    if missing:
        raise ValidationErrors(
            [(_OPTION.get(k, "--" + k.replace("_", "-")), "needed (or give --file)") for k in missing]
        )
    res = {k: v for k, v in resource_options.items() if v is not None and k in attrs.fields_dict(Resources)}
    return {"name": name, "structure": structure, "coordinates": coordinates, "parameters": list(parameters),
            "enm": enm, "extra_bonds": extra_bonds, "cell": cell, "steps": parse_stage_steps(stage_steps),
            "overrides": parse_stage_assignments(assignments), "resources": Resources(**res)}  # fmt: skip


def origami_problems(
    profile: ClusterProfile,
    store: JobStore | None,
    *,
    cell: Sequence[float | None],
    steps: Mapping[str, int | None],
    resources: Resources | None,
) -> list[tuple[str, str]]:
    """What :func:`origami_plan` would refuse that needs none of the files - the cell (``cell_x``...) and
    each stage's steps (``steps.<stage>``) by the stages' template, the resources by the profile's rules -
    so that a form shows them in the same round trip as a file not chosen yet. None: not given."""
    from namdrunner_core.errors import problems_of
    from namdrunner_core.namd.config import coerce_value
    from namdrunner_core.slurm.resources import resolve_resources
    from namdrunner_core.template_library import get_template

    wf = read_workflow_file(origami_file())
    template = get_template(store, str(wf.stages[0].template))
    variables = {v.key: v for v in template.variables}
    checks = [(f"cell_{a}", variables[f"cell_{a}"], value) for a, value in zip("xyz", cell, strict=True)]
    checks += [(f"steps.{stage}", variables["steps"], n) for stage, n in steps.items()]
    problems: list[tuple[str, str]] = []
    for field, variable, value in checks:
        try:
            if value is not None:
                coerce_value(variable, value)
        except ValidationError as exc:
            problems.append((field, exc.reason))
    if resources is not None:
        try:
            resolve_resources(resources, profile)
        except ValidationError as exc:
            problems += problems_of(exc)
    return problems


@contextlib.contextmanager
def origami_plan(
    profile: ClusterProfile, store: JobStore | None, *, name: str, workdir: Path | None = None, **kwargs: Any
) -> Iterator[Planned[WorkflowPlan]]:
    """The DNA-origami workflow planned before login (validated, rendered, nothing uploaded), for the
    ``with`` block: ``planned.plan`` is what a dry run prints, ``planned.for_session(session)`` what
    :meth:`Workflow.create_planned` creates (the same ids). The shipped file planned through
    :func:`~namdrunner_core.workflow.file_plan.plan_workflow_file`.

    The stages' scaled ``.exb`` files are written into a temporary directory that lives exactly as
    long as the block (nothing is left behind), or into ``workdir`` when given: then the caller keeps
    them for as long as the plan may be created (a review page, then Create). The other arguments are
    :func:`origami_stages`'s.
    """
    resources: Resources = kwargs.pop("resources")
    args = _file_arguments(**kwargs)
    with tempfile.TemporaryDirectory(prefix="namdrunner-wf-") as tmp:
        planned = plan_workflow_file(profile, store, origami_file(), name=name, resources=to_data(resources),
                                     template_id=ORIGAMI_TEMPLATE_ID, workdir=workdir or Path(tmp), **args)  # fmt: skip
        yield Planned(planned.plan[0], planned.user, lambda user: planned.replan(user)[0])


def dna_origami_equilibration(session: Session, store: JobStore, *, name: str, **kwargs: Any) -> Workflow:
    """Create the DNA-origami equilibration workflow; the arguments are :func:`origami_stages`'s
    (without ``workdir``: the scaled ENM files live in a temporary directory until they are uploaded)."""
    with origami_plan(session.profile, store, name=name, **kwargs) as planned:
        return Workflow.create_planned(session, store, planned.for_session(session))


WORKFLOW_TEMPLATES = {ORIGAMI_TEMPLATE_ID: dna_origami_equilibration}
