"""The DNA-origami equilibration template: minimisation, NPT with a softening elastic network, production."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.errors import ValidationError
from namdrunner_core.jobs.prepare import Planned, plan_ahead
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.workflow.workflow import StageSpec, Workflow, WorkflowPlan, plan_workflow

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.store import JobStore


# -- the DNA-origami equilibration template ------------------------------------------------------------

_BOND = re.compile(r"^(\s*bond\s+\d+\s+\d+\s+)(\S+)(\s+\S+.*)$", re.IGNORECASE)


def scale_extrabonds(text: str, k: float) -> str:
    """An extra-bonds file with every ``bond i j k r0`` spring constant set to ``k`` (other lines kept)."""
    out = []
    for line in text.splitlines():
        m = _BOND.match(line)
        out.append(f"{m.group(1)}{k:g}{m.group(3)}" if m else line)
    return "\n".join(out) + "\n"


ORIGAMI_STAGES: tuple[tuple[str, float | None, str, int], ...] = (
    ("minimize", 0.5, "minimize", 4800),
    ("npt_k0.5", 0.5, "run", 2_400_000),
    ("npt_k0.1", 0.1, "run", 2_400_000),
    ("npt_k0.01", 0.01, "run", 2_400_000),
    ("production", None, "run", 2_400_000),
)


ORIGAMI_TEMPLATE_ID = "dna_origami_equilibration"


def origami_stages(
    *,
    structure: str | Path,
    coordinates: str | Path,
    parameters: Sequence[str | Path],
    enm: str | Path,
    resources: Resources,
    extra_bonds: str | Path | None = None,
    cell: tuple[float, float, float] = (124, 114, 323),
    steps: Mapping[str, int] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    workdir: Path,
) -> tuple[list[StageSpec], list[Path]]:
    """The stages (and shared files) of the explicit-solvent equilibration of the Aksimentiev-lab protocol:
    minimisation, NPT with elastic-network spring constants 0.5, 0.1, 0.01, then production.

    The ENM file's ``bond`` lines are rewritten with each stage's k (NAMD has no scaling keyword);
    ``extra_bonds`` (e.g. ``mghh_extrabonds``) stays on in every stage. ``steps`` and ``overrides``
    change any stage's values by stage name. The scaled ENM files are written into ``workdir``
    (see :func:`origami_plan`, which gives them a temporary one).
    """
    enm_path = Path(enm)
    if not enm_path.is_file():
        raise ValidationError("enm", f"elastic-network file not found: {enm_path}")
    params = [Path(p) for p in parameters]
    if not 1 <= len(params) <= 2:
        raise ValidationError("parameters", "give one or two parameter files")
    out_dir = workdir
    out_dir.mkdir(parents=True, exist_ok=True)
    base_text = enm_path.read_text(encoding="utf-8", errors="replace")
    stem = enm_path.name.split(".")[0]
    stages = []
    shared = [Path(structure), Path(coordinates), *params] + ([Path(extra_bonds)] if extra_bonds else [])
    for stage_name, k, mode, default_steps in ORIGAMI_STAGES:
        files: list[Path] = []
        values: dict[str, Any] = {
            "output_name": stage_name.replace(".", "p"),
            "execution_command": mode,
            "steps": (steps or {}).get(stage_name, default_steps),
            "cell_x": cell[0],
            "cell_y": cell[1],
            "cell_z": cell[2],
            "structure": Path(structure).name,
            "coordinates": Path(coordinates).name,
            "parameters": params[0].name,
        }
        if len(params) > 1:
            values["parameters_2"] = params[1].name
        if k is not None:
            scaled = out_dir / f"{stem}_k{k:g}.exb"
            scaled.write_text(scale_extrabonds(base_text, k), encoding="utf-8")
            files.append(scaled)
            values["extrabonds"] = scaled.name
        if extra_bonds:
            values["extrabonds_2"] = Path(extra_bonds).name
        values.update((overrides or {}).get(stage_name, {}))
        stages.append(StageSpec(stage_name, "explicit_solvent_npt_v1", values, resources, files))
    return stages, shared


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


@contextlib.contextmanager
def origami_plan(
    profile: ClusterProfile, store: JobStore | None, *, name: str, workdir: Path | None = None, **kwargs: Any
) -> Iterator[Planned[WorkflowPlan]]:
    """The DNA-origami workflow planned before login (validated, rendered, nothing uploaded), for the
    ``with`` block: ``planned.plan`` is what a dry run prints, ``planned.for_session(session)`` what
    :meth:`Workflow.create_planned` creates (the same ids).

    The stages' scaled ``.exb`` files are written into a temporary directory that lives exactly as
    long as the block (nothing is left behind), or into ``workdir`` when given: then the caller keeps
    them for as long as the plan may be created (a review page, then Create). The other arguments are
    :func:`origami_stages`'s.
    """
    with tempfile.TemporaryDirectory(prefix="namdrunner-wf-") as tmp:
        stages, shared = origami_stages(workdir=workdir or Path(tmp), **kwargs)

        def make(user: str, now: dt.datetime) -> WorkflowPlan:
            return plan_workflow(profile, user, store, name=name, stages=stages, shared_files=shared,
                                 template_id=ORIGAMI_TEMPLATE_ID, now=now)  # fmt: skip

        yield plan_ahead(profile, make)


def dna_origami_equilibration(session: Session, store: JobStore, *, name: str, **kwargs: Any) -> Workflow:
    """Create the DNA-origami equilibration workflow; the arguments are :func:`origami_stages`'s
    (without ``workdir``: the scaled ENM files live in a temporary directory until they are uploaded)."""
    with origami_plan(session.profile, store, name=name, **kwargs) as planned:
        return Workflow.create_planned(session, store, planned.for_session(session))


WORKFLOW_TEMPLATES = {ORIGAMI_TEMPLATE_ID: dna_origami_equilibration}
