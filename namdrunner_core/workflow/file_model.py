"""Workflows of your own, written down: a TOML file of ordered stages, validated whole before anything
is uploaded.

A workflow file names its stages in order; each stage names a template (builtin or yours), its values
and, when it differs, its resources; it continues from the previous stage's ``.coor``/``.vel``/``.xsc``
(copied on the cluster) unless ``continue = false``, with ``firsttimestep`` carried automatically::

    name = "protein equilibration"
    description = "minimize, heat, NPT, production"
    replicas = 3                                             # three independent chains
    files = ["sys.psf", "sys.pdb", "par_all36m_prot.prm"]   # every stage's inputs (paths: relative to this file)
    values = { temperature = 310 }                           # every stage's values, overridable per stage

    [resources]
    cores = 8
    memory_gb = 8
    walltime = "02:00:00"

    [[stages]]
    name = "minimize"
    template = "explicit_solvent_npt_v1"
    values = { execution_command = "minimize", steps = 2400 }

    [[stages]]
    name = "production"
    template = "explicit_solvent_npt_v1"
    values = { steps = 240000, output_name = "prod_after_{{prev.output_name}}" }
    resources = { walltime = "24:00:00" }

String values may refer to the previous stage's values (``{{prev.KEY}}``), an earlier stage's
(``{{stages.NAME.KEY}}``) and the file's shared values (``{{shared.KEY}}``). Files given when creating
are ``[inputs.NAME]``; a stage's ``scaled`` list makes its own copies of restraint files (see
:class:`ScaledEntry`); ``replicas``/``seed`` make independent chains, each stage one job array.
:func:`workflow_file_schema` is the file's JSON Schema (docs/ carries it, generated from these classes).

This module is the file's model and reader; planning is :mod:`.file_plan`, the schema
:mod:`.file_schema`, writing one back :mod:`.file_export`, the library :mod:`.file_library`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import cattrs

from namdrunner_core.errors import ValidationError, under
from namdrunner_core.serde import converter

if TYPE_CHECKING:
    pass


#: ``{{prev.KEY}}``, ``{{shared.KEY}}``, ``{{stages.NAME.KEY}}`` (NAME may hold dots: the key is the last part)
_REF = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen(slots=True)
class InputEntry:
    """One ``[inputs.NAME]`` table: a file the person gives when creating (``--input NAME=PATH``)."""

    help: str = ""
    required: bool = True
    #: the template variable every stage gets the file's name in (default: the input's own name, or
    #: none when the file is not uploaded); ``""``: none
    variable: str | None = None
    #: upload it to every stage (``false``: a source only, e.g. of a stage's scaled copy)
    upload: bool = True

    def target(self, name: str) -> str | None:
        """The template variable this input fills, if any."""
        if self.variable is not None:
            return self.variable or None
        return name if self.upload else None


@attrs.frozen(slots=True)
class ScaledEntry:
    """One entry of a stage's ``scaled``: a copy of an extra-bonds (restraint) file with its spring
    constants set to ``k`` or multiplied by ``factor``, uploaded to that stage only and named in its
    ``variable`` (e.g. the ENM ladder's k = 0.5 -> 0.1 -> 0.01)."""

    variable: str
    #: the source: an input's name ...
    input: str | None = None
    #: ... or a path relative to the workflow file
    file: str | None = None
    k: float | None = None
    factor: float | None = None

    def copy_name(self, source: Path) -> str:
        """``<stem>_k0.1.exb`` / ``<stem>_x0.5.exb``: the copy's file name (the stem before the first dot)."""
        stem = source.name.split(".")[0]
        return f"{stem}_k{self.k:g}.exb" if self.k is not None else f"{stem}_x{self.factor:g}.exb"


@attrs.frozen(slots=True)
class StageEntry:
    """One ``[[stages]]`` table."""

    name: str
    template: str
    values: dict[str, Any] = attrs.Factory(dict)
    resources: dict[str, Any] = attrs.Factory(dict)
    files: list[str] = attrs.Factory(list)
    #: continue from the previous stage's final coordinates, velocities and cell (on the cluster)
    continue_: bool = True
    #: carry the previous stage's velocities (default: unless it was a minimisation)
    velocities: bool | None = None
    #: scaled copies of restraint files for this stage only
    scaled: list[ScaledEntry] = attrs.Factory(list)
    #: the last stage only: run it as a campaign to this simulated time, in ns (``job create --target-ns``)
    target_ns: float | None = None


@attrs.frozen(slots=True)
class WorkflowFile:
    """A whole workflow file."""

    name: str
    stages: list[StageEntry]
    description: str = ""
    files: list[str] = attrs.Factory(list)
    values: dict[str, Any] = attrs.Factory(dict)
    resources: dict[str, Any] = attrs.Factory(dict)
    #: independent copies of the whole chain, each stage submitted as ONE job array over the replicas
    #: (each continues its own replica; a failed stage stops only its own replica's later stages)
    replicas: int = 1
    #: files the person gives when creating (``--input NAME=PATH``), in upload order
    inputs: dict[str, InputEntry] = attrs.Factory(dict)
    #: the random seed: stage i of replica r (both from 0) runs with ``seed + 1000 r + i``. Without it,
    #: replicas get one from the creation time (printed in the plan, kept by ``workflow export``) and a
    #: single chain leaves NAMD to pick its own
    seed: int | None = None

    def overridden(
        self, resources: Mapping[str, Any] | None = None, values: Mapping[str, Any] | None = None
    ) -> WorkflowFile:
        """This file with ``resources`` and shared ``values`` given when creating over its own."""
        return attrs.evolve(self, resources={**self.resources, **(resources or {})},
                            values={**self.values, **(values or {})})  # fmt: skip

    @property
    def seeded(self) -> bool:
        """Whether its runs get seeds of their own (replicas, or a seed given)."""
        return self.replicas > 1 or self.seed is not None


#: more replicas than this in one file is a mistake (as for sweeps)
MAX_REPLICAS = 1000


#: what every stage must ask for, and the option that gives it when creating
_NEEDED_RESOURCES = ("cores", "memory_gb", "walltime")


_RESOURCE_OPTIONS = {"memory_gb": "memory"}


#: how a stage's seed follows from the file's: ``seed + SEED_REPLICA_STRIDE * replica + stage``
SEED_REPLICA_STRIDE = 1000


def _structure_stage(d: Any, _: Any) -> StageEntry:
    if not isinstance(d, dict):
        raise ValidationError("stages", "each [[stages]] entry must be a table")
    known = {"name", "template", "values", "resources", "files", "continue", "velocities", "scaled", "target_ns"}
    where = f"stage {d.get('name', '?')}"
    extra = sorted(set(d) - known)
    if extra:
        raise ValidationError(f"{where}: {extra[0]}", f"unknown key; a stage has {', '.join(sorted(known))}")
    kwargs = {("continue_" if k == "continue" else k): v for k, v in d.items()}
    if "scaled" in kwargs:
        try:
            kwargs["scaled"] = converter.structure(kwargs["scaled"], list[ScaledEntry])
        except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
            parts = cattrs.transform_error(exc, path="scaled") if isinstance(exc, cattrs.BaseValidationError) else []
            raise ValidationError(
                f"{where}: scaled",
                "; ".join(parts or [str(exc)]) + " (each entry: variable, input or file, k or factor)",
            ) from None
    return StageEntry(**kwargs)


converter.register_structure_hook(StageEntry, _structure_stage)


def read_workflow_file(path: Path) -> WorkflowFile:
    """Parse a workflow file; a file that is not TOML, or not of this shape, is one error naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("--file", f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("--file", f"{path}: not valid TOML ({exc})") from None
    try:
        wf = converter.structure(data, WorkflowFile)
    except ValidationError as exc:
        raise under(path.name, exc) from None
    except (cattrs.BaseValidationError, TypeError, KeyError, ValueError) as exc:
        parts = cattrs.transform_error(exc, path="$") if isinstance(exc, cattrs.BaseValidationError) else [str(exc)]
        raise ValidationError("--file", f"{path}: " + "; ".join(parts)) from None
    if not wf.stages:
        raise ValidationError("--file", f"{path}: a workflow needs at least one [[stages]] entry")
    return wf


def _bad_scaled(sc: ScaledEntry, inputs: Mapping[str, InputEntry]) -> str | None:
    """Why a ``scaled`` entry cannot be made, or None."""
    if (sc.input is None) == (sc.file is None):
        return "give exactly one source: input = NAME or file = PATH"
    if (sc.k is None) == (sc.factor is None):
        return "give exactly one of k (set every spring constant) or factor (multiply them)"
    if sc.input is not None and sc.input not in inputs:
        return f"no input {sc.input!r}; the file's inputs are {', '.join(inputs) or 'none'}"
    if (sc.k is not None and sc.k < 0) or (sc.factor is not None and sc.factor < 0):
        return "a spring constant cannot be negative"
    return None


def check_inputs(wf: WorkflowFile, given: Mapping[str, Path]) -> list[tuple[str, str]]:
    """Every problem with the files given for a workflow file's inputs: unknown, missing, not there."""
    problems = []
    for name in given:
        if name not in wf.inputs:
            known = ", ".join(wf.inputs) or "none"
            problems.append((f"--input {name}", f"{wf.name!r} has no input {name!r}; its inputs are {known}"))
    for name, inp in wf.inputs.items():
        if not inp.upload and inp.variable:
            problems.append((f"{wf.name}: inputs.{name}", f"variable = {inp.variable!r} with upload = false would "
                             "name a file the stages never get; drop one of them"))  # fmt: skip
        path = given.get(name)
        if path is None and inp.required:
            problems.append((f"--input {name}", f"needed: {inp.help or 'a file'} (--input {name}=PATH)"))
        elif path is not None and not Path(path).is_file():
            problems.append((f"--input {name}", f"{path} not found"))
    return problems
