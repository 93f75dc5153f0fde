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
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import re
import shutil
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources as package_data
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import cattrs

from namdrunner_core.errors import NamdRunnerError, ValidationError, ValidationErrors, under
from namdrunner_core.files import write_text_atomic
from namdrunner_core.jobs.prepare import Planned, plan_ahead, resolve_template
from namdrunner_core.profile import cache_dir, config_dir
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.workflow.replicas import create_planned_workflows
from namdrunner_core.workflow.scaling import scale_bond_line
from namdrunner_core.workflow.workflow import (
    StageSpec,
    Workflow,
    WorkflowPlan,
    parse_stage_assignments,
    plan_workflow,
)

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.store import JobStore

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

_converter = cattrs.Converter(forbid_extra_keys=True)


def _structure_stage(d: Any, _: Any) -> StageEntry:
    if not isinstance(d, dict):
        raise ValidationError("stages", "each [[stages]] entry must be a table")
    known = {"name", "template", "values", "resources", "files", "continue", "velocities", "scaled"}
    where = f"stage {d.get('name', '?')}"
    extra = sorted(set(d) - known)
    if extra:
        raise ValidationError(f"{where}: {extra[0]}", f"unknown key; a stage has {', '.join(sorted(known))}")
    kwargs = {("continue_" if k == "continue" else k): v for k, v in d.items()}
    if "scaled" in kwargs:
        try:
            kwargs["scaled"] = _converter.structure(kwargs["scaled"], list[ScaledEntry])
        except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
            parts = cattrs.transform_error(exc, path="scaled") if isinstance(exc, cattrs.BaseValidationError) else []
            raise ValidationError(
                f"{where}: scaled",
                "; ".join(parts or [str(exc)]) + " (each entry: variable, input or file, k or factor)",
            ) from None
    return StageEntry(**kwargs)


_converter.register_structure_hook(StageEntry, _structure_stage)


def read_workflow_file(path: Path) -> WorkflowFile:
    """Parse a workflow file; a file that is not TOML, or not of this shape, is one error naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("--file", f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("--file", f"{path}: not valid TOML ({exc})") from None
    try:
        wf = _converter.structure(data, WorkflowFile)
    except ValidationError as exc:
        raise under(path.name, exc) from None
    except (cattrs.BaseValidationError, TypeError, KeyError, ValueError) as exc:
        parts = cattrs.transform_error(exc, path="$") if isinstance(exc, cattrs.BaseValidationError) else [str(exc)]
        raise ValidationError("--file", f"{path}: " + "; ".join(parts)) from None
    if not wf.stages:
        raise ValidationError("--file", f"{path}: a workflow needs at least one [[stages]] entry")
    return wf


def _substitute(
    value: Any,
    prev: Mapping[str, Any],
    shared: Mapping[str, Any],
    where: str,
    earlier: Mapping[str, Mapping[str, Any]] | None = None,
    names: Sequence[str] = (),
    first: bool = False,
) -> Any:
    """A stage's value with its references filled in: ``{{prev.KEY}}`` (the previous stage's value),
    ``{{shared.KEY}}`` (the file's) and ``{{stages.NAME.KEY}}`` (an EARLIER stage's: stages run in
    order, so a reference to the stage itself or a later one would be a cycle)."""
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        ref = m.group(1)
        scope, _, rest = ref.partition(".")
        if scope == "stages":
            stage, _, key = rest.rpartition(".")
            if stage not in names:
                raise ValidationError(where, f"{{{{{ref}}}}}: no stage {stage!r}; the stages are {', '.join(names)}")
            if stage not in (earlier or {}):
                raise ValidationError(
                    where,
                    f"{{{{{ref}}}}}: stage {stage!r} runs at or after this one (a cycle); refer to earlier stages",
                )
            source: Mapping[str, Any] = (earlier or {})[stage]
        elif scope in ("prev", "shared"):
            key = rest
            source = prev if scope == "prev" else shared
            stage = ""
            if scope == "prev" and first:
                raise ValidationError(where, f"{{{{{ref}}}}}: the first stage has no previous stage")
        else:
            raise ValidationError(where, f"{{{{{ref}}}}}: not a reference; use prev.KEY, shared.KEY or stages.NAME.KEY")
        if not _KEY.fullmatch(key):
            raise ValidationError(where, f"{{{{{ref}}}}}: {key!r} is not a value's key")
        if key not in source:
            owner = {"prev": "the previous stage", "shared": "the file"}.get(scope, f"stage {stage!r}")
            raise ValidationError(where, f"{{{{{ref}}}}}: {owner} has no value {key!r}")
        return str(source[key])

    return _REF.sub(one, value)


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


def stages_from_file(
    wf: WorkflowFile,
    base_dir: Path,
    store: Any = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    inputs: Mapping[str, Path] | None = None,
    workdir: Path | None = None,
) -> tuple[list[StageSpec], list[Path]]:
    """The stages and shared files of a workflow file, every problem found at once
    (:class:`ValidationErrors`, each naming the file, stage and key) before anything is planned.

    ``inputs`` are the files given for the file's ``[inputs]``; the stages' scaled restraint copies are
    written into ``workdir`` (default: a cache under the user's cache dir, reused while unchanged)."""
    given = {k: Path(v) for k, v in (inputs or {}).items()}
    problems: list[tuple[str, str]] = check_inputs(wf, given)
    names = [s.name for s in wf.stages]
    for name in {n for n in names if names.count(n) > 1}:
        problems.append((f"{wf.name}: stages", f"stage name {name!r} is used twice"))
    for name in overrides or {}:
        if name not in names:
            problems.append(("--set", f"no stage {name!r} in {wf.name!r}; its stages are {', '.join(names)}"))
    shared_files = [(base_dir / f).resolve() for f in wf.files]
    for f, p in zip(wf.files, shared_files, strict=True):
        if not p.is_file():
            problems.append((f"{wf.name}: files", f"{f} not found (looked at {p})"))
    present = {k: v.resolve() for k, v in given.items() if k in wf.inputs and v.is_file()}
    input_values: dict[str, Any] = {}
    for name, inp in wf.inputs.items():
        if name in present and inp.upload:
            shared_files.append(present[name])
        target = inp.target(name)
        if name in present and target:
            input_values[target] = present[name].name
    shared_values = {**wf.values, **input_values}
    stages: list[StageSpec] = []
    prev: dict[str, Any] = {}
    earlier: dict[str, dict[str, Any]] = {}
    missing_resources: list[str] | None = None
    for i, entry in enumerate(wf.stages):
        where = f"stage {entry.name}"
        try:
            template = resolve_template(store, entry.template)
        except NamdRunnerError as exc:
            problems.append((f"{where}: template", exc.message))
            continue
        values: dict[str, Any] = {}
        for key, value in {**shared_values, **entry.values, **(overrides or {}).get(entry.name, {})}.items():
            try:
                values[key] = _substitute(value, prev, shared_values, f"{where}: {key}", earlier, names, i == 0)
            except ValidationError as exc:
                problems.append((exc.field, exc.reason))
        files = [(base_dir / f).resolve() for f in entry.files]
        for f, p in zip(entry.files, files, strict=True):
            if not p.is_file():
                problems.append((f"{where}: files", f"{f} not found (looked at {p})"))
        for sc in entry.scaled:
            why = _bad_scaled(sc, wf.inputs)
            if why:
                problems.append((f"{where}: scaled.{sc.variable}", why))
                continue
            source = present.get(sc.input) if sc.input else (base_dir / (sc.file or "")).resolve()
            if source is None:  # an optional input not given: no copy of it
                continue
            if not source.is_file():
                problems.append((f"{where}: scaled.{sc.variable}", f"{sc.file} not found (looked at {source})"))
                continue
            copy = scaled_copy(source, sc, workdir)
            files.append(copy)
            values[sc.variable] = copy.name
        keys = set(template.keys())
        canonical = template.canonical(values)
        for key in sorted(set(canonical) - keys):
            problems.append((f"{where}: {key}", f"template {template.id!r} has no variable {key!r}"))
        if wf.seeded and "seed" not in keys:
            why = f"template {template.id!r} has no variable 'seed': the replicas would not differ; give it one"
            problems.append((f"{where}: seed", why + " (`seed {{ seed }}`, as the builtins have)"))
        elif wf.replicas > 1 and "seed" in canonical:
            why = "a fixed seed would make every replica the same run; set the file's own `seed` instead"
            problems.append((f"{where}: seed", why + " (stage i of replica r runs with seed + 1000 r + i)"))
        if i == 0 and not entry.continue_ and entry.velocities:
            problems.append((f"{where}: velocities", "nothing to carry: the first stage has no previous stage"))
        asked = {**wf.resources, **entry.resources}
        missing = [k for k in _NEEDED_RESOURCES if k not in asked]
        if missing:
            if missing_resources is None:  # named once: the file gives them to every stage
                missing_resources = missing
            continue
        try:
            resources = Resources(**asked)
        except (TypeError, ValueError, NamdRunnerError) as exc:
            problems.append((f"{where}: resources", str(getattr(exc, "message", exc))))
            continue
        stages.append(
            StageSpec(
                entry.name,
                template,
                values,
                resources,
                files,
                continue_from_previous=entry.continue_ and i > 0,
                use_velocities=entry.velocities,
            )
        )
        prev = {**template.defaults(), **canonical}
        earlier[entry.name] = prev
    if missing_resources:
        options = ", ".join("--" + _RESOURCE_OPTIONS.get(k, k) for k in missing_resources)
        problems.append((f"{wf.name}: resources", f"{', '.join(missing_resources)} needed: give them in the file's "
                         f"[resources] (or a stage's), or when creating ({options})"))  # fmt: skip
    if problems:
        raise ValidationErrors(problems)
    return stages, shared_files


def scaled_copy(source: Path, entry: ScaledEntry, workdir: Path | None = None) -> Path:
    """The stage's copy of ``source`` with its spring constants scaled (see :class:`ScaledEntry`),
    streamed line by line (any size) and written whole or not at all. Without ``workdir`` it goes
    into a cache keyed by the source's bytes (the copy's name carries the scaling), reused while they
    are unchanged (a review page and the later Create see the same file); copies unused for 30 days
    are removed."""
    name = entry.copy_name(source)
    if workdir is None:
        st = source.stat()
        workdir = _cache_for(cache_dir() / "scaled", source.resolve(), st.st_size, st.st_mtime_ns)
    target = workdir / name
    if target.is_file():
        os.utime(target)
        return target
    workdir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
    try:
        with (
            source.open(encoding="utf-8", errors="replace", newline=None) as src,
            tmp.open("w", encoding="utf-8") as out,
        ):
            for line in src:
                out.write(scale_bond_line(line.rstrip("\n"), k=entry.k, factor=entry.factor) + "\n")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


@functools.lru_cache(maxsize=64)
def _cache_for(root: Path, source: Path, size: int, mtime_ns: int) -> Path:
    """The cache folder of one source's scaled copies, keyed by its bytes (the copies' names carry
    their scaling): the source is hashed once per content, not once per stage that scales it."""
    del size, mtime_ns  # the memo's key: a changed file is hashed again
    digest = hashlib.sha256()
    with source.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    _prune(root, days=30)
    return root / digest.hexdigest()[:20]


def _prune(root: Path, *, days: int) -> None:
    if not root.is_dir():
        return
    cutoff = dt.datetime.now().timestamp() - days * 86400
    for d in root.iterdir():
        with contextlib.suppress(OSError):
            if d.is_dir() and all(f.stat().st_mtime < cutoff for f in d.iterdir()):
                shutil.rmtree(d)


def workflow_file_schema() -> dict[str, Any]:
    """The JSON Schema of a workflow file, from the classes above (docs/workflow-file.schema.json)."""
    value = {"type": ["string", "number", "boolean"]}
    resources = {
        "type": "object",
        "properties": {
            f.name: {
                "type": "integer" if f.type in ("int", int) else "number" if f.type in ("float", float) else "string"
            }
            for f in attrs.fields(Resources)
        },
        "additionalProperties": False,
    }
    scaled = {
        "type": "object",
        "description": "a copy of an extra-bonds file for this stage, its spring constants set to k or scaled",
        "required": ["variable"],
        "properties": {
            "variable": {"type": "string", "description": "the template variable that names the copy"},
            "input": {"type": "string", "description": "the source: one of the file's inputs"},
            "file": {"type": "string", "description": "the source: a path relative to the workflow file"},
            "k": {"type": "number", "minimum": 0},
            "factor": {"type": "number", "minimum": 0},
        },
        "oneOf": [{"required": ["input"]}, {"required": ["file"]}],
        "additionalProperties": False,
    }
    inputs = {
        "type": "object",
        "description": "files given when creating (--input NAME=PATH), uploaded to every stage in this order",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "help": {"type": "string"},
                "required": {"type": "boolean", "default": True},
                "variable": {"type": "string", "description": "the template variable (default: the input's name)"},
                "upload": {"type": "boolean", "default": True},
            },
            "additionalProperties": False,
        },
    }
    stage = {
        "type": "object",
        "required": ["name", "template"],
        "properties": {
            "name": {"type": "string"},
            "template": {"type": "string", "description": "a builtin or user template id"},
            "values": {"type": "object", "additionalProperties": value},
            "resources": resources,
            "files": {"type": "array", "items": {"type": "string"}},
            "continue": {"type": "boolean", "default": True},
            "velocities": {"type": "boolean"},
            "scaled": {"type": "array", "items": scaled},
        },
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "namdrunner workflow file",
        "type": "object",
        "required": ["name", "stages"],
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "files": {"type": "array", "items": {"type": "string"}},
            "values": {"type": "object", "additionalProperties": value},
            "resources": resources,
            "stages": {"type": "array", "minItems": 1, "items": stage},
            "replicas": {"type": "integer", "minimum": 1, "maximum": MAX_REPLICAS, "default": 1},
            "inputs": inputs,
            "seed": {
                "type": "integer",
                "minimum": 1,
                "description": "stage i of replica r (from 0) runs with seed + 1000 r + i",
            },
        },
        "additionalProperties": False,
    }


def plan_workflow_file(
    profile: ClusterProfile,
    store: JobStore | None,
    path: Path,
    *,
    assignments: Sequence[str] = (),
    name: str | None = None,
    resources: Mapping[str, Any] | None = None,
    base_dir: Path | None = None,
    inputs: Mapping[str, Path] | None = None,
    values: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    template_id: str | None = None,
    workdir: Path | None = None,
) -> Planned[list[WorkflowPlan]]:
    """A workflow file planned before login: read, every stage checked (all problems at once), rendered
    and planned, one plan per replica (``--dry-run`` prints them; :func:`create_planned_workflows`
    creates them, each stage over the replicas as one job array).

    ``inputs`` are the files for the file's ``[inputs]`` (``--input NAME=PATH``); ``values`` override
    the file's shared values and ``overrides`` (and ``assignments``, ``STAGE.KEY=VALUE``) a stage's;
    ``resources`` (e.g. ``--cores``) override the file's defaults. The file's relative paths are read
    from ``base_dir`` (default: the file's own directory); scaled restraint copies go to ``workdir``
    (default: the cache, see :func:`scaled_copy`)."""
    wf = read_workflow_file(path)
    limit = min(MAX_REPLICAS, profile.max_array_size)
    if not 1 <= wf.replicas <= limit:
        raise ValidationError(
            f"{path.name}: replicas",
            f"{wf.replicas}: give 1 to {limit} replicas (each stage runs them as one job array; the cluster's "
            f"MaxArraySize is {profile.max_array_size})",
        )
    wf = wf.overridden(resources, values)
    merged = {k: dict(v) for k, v in parse_stage_assignments(assignments).items()}
    for stage, changes in (overrides or {}).items():
        merged.setdefault(stage, {}).update(changes)
    stages, shared = stages_from_file(wf, base_dir or path.parent, store, merged, inputs=inputs, workdir=workdir)
    title = name or wf.name

    def make(user: str, now: dt.datetime) -> list[WorkflowPlan]:
        base = wf.seed if wf.seed is not None else int(now.timestamp()) % 2_000_000
        plans = []
        for r in range(wf.replicas):
            label = title if wf.replicas == 1 else f"{title} [replica {r + 1}/{wf.replicas}]"
            at = now + dt.timedelta(milliseconds=r)
            own = stages if not wf.seeded else [
                attrs.evolve(s, values={**s.values, "seed": base + SEED_REPLICA_STRIDE * r + i})
                for i, s in enumerate(stages)
            ]  # fmt: skip
            plans.append(plan_workflow(profile, user, store, name=label, stages=own, shared_files=shared,
                                       template_id=template_id or f"file:{path.name}", now=at))  # fmt: skip
        return plans

    return plan_ahead(profile, make)


#: values a chained stage gets from the chain itself (never written into a file)
_CHAIN_KEYS = ("restart_coordinates", "restart_velocities", "restart_xsc", "first_timestep")


def _non_default(obj: InputEntry | ScaledEntry) -> dict[str, Any]:
    """An attrs entry as a TOML table of the fields that differ from their defaults."""
    out = {}
    for f in attrs.fields(type(obj)):
        value = getattr(obj, f.name)
        if f.default is attrs.NOTHING or value != f.default:
            out[f.name] = value
    return out


def workflow_file_text(wf: WorkflowFile) -> str:
    """A workflow file's TOML text (what :func:`read_workflow_file` reads back)."""
    import tomli_w

    data: dict[str, Any] = {"name": wf.name}
    if wf.description:
        data["description"] = wf.description
    if wf.replicas != 1:
        data["replicas"] = wf.replicas
    if wf.seed is not None:
        data["seed"] = wf.seed
    for key in ("files", "values", "resources"):
        if getattr(wf, key):
            data[key] = getattr(wf, key)
    if wf.inputs:
        data["inputs"] = {name: _non_default(inp) for name, inp in wf.inputs.items()}
    stages = []
    for s in wf.stages:
        entry: dict[str, Any] = {"name": s.name, "template": s.template}
        for key, default in (("values", {}), ("resources", {}), ("files", []), ("velocities", None)):
            if getattr(s, key) != default:
                entry[key] = getattr(s, key)
        if not s.continue_:
            entry["continue"] = False
        if s.scaled:
            entry["scaled"] = [_non_default(sc) for sc in s.scaled]
        stages.append(entry)
    data["stages"] = stages
    return tomli_w.dumps(data)


def export_workflow(store: JobStore, workflow_id: str) -> WorkflowFile:
    """A workflow as it ran, back as a reusable workflow file: each stage's template, its own values
    (what the chain fills in left out) and resources. Input files are named as they were uploaded
    (``files``: those every stage had; a stage's own others in its ``files``); put them beside the file."""
    group = store.get_workflow(workflow_id)
    if group.kind != "workflow":
        raise ValidationError("WORKFLOW_ID", f"{workflow_id} is a {group.kind}; only workflows export as a file")
    records = {r.job_id: r for r in store.list_jobs(workflow_id=workflow_id)}
    chain = [records[j] for j in group.stages if j in records]
    if not chain:
        raise ValidationError("WORKFLOW_ID", f"{workflow_id} has no stages left to export")
    staged = [{str(r.template_values.get(k)) for k in _CHAIN_KEYS[:3] if r.template_values.get(k)} for r in chain]
    inputs = [sorted(set(r.input_files) - s) for r, s in zip(chain, staged, strict=True)]
    shared = sorted(set.intersection(*(set(i) for i in inputs)))
    res = [{k: v for k, v in attrs.asdict(r.resources).items() if v not in (None, 0)} for r in chain]
    common_res = res[0] if all(r == res[0] for r in res) else {}
    stages = []
    for i, (r, own, rs) in enumerate(zip(chain, inputs, res, strict=True)):
        values = {k: v for k, v in r.template_values.items() if k not in _CHAIN_KEYS and v is not None}
        continues = i > 0 and bool(r.template_values.get("restart_coordinates"))
        velocities = None if not continues else bool(r.template_values.get("restart_velocities"))
        stages.append(StageEntry(name=group.stage_names[i] if i < len(group.stage_names) else r.job_name,
                                 template=r.template_id, values=values, resources={} if common_res else rs,
                                 files=[f for f in own if f not in shared], continue_=continues or i == 0,
                                 velocities=velocities))  # fmt: skip
    return WorkflowFile(name=group.name, stages=stages, description=f"exported from {group.id}", files=shared,
                        resources=common_res)  # fmt: skip


def workflows_from_file(
    session: Session,
    store: JobStore,
    path: Path,
    *,
    assignments: Sequence[str] = (),
    submit: bool = False,
    inputs: Mapping[str, Path] | None = None,
    **options: Any,
) -> list[Workflow]:
    """Create (and with ``submit`` submit) the workflows of a file: one, or one per replica. Every stage
    of every replica is validated before the first upload (what ``workflow create --file`` runs); the
    other options are :func:`plan_workflow_file`'s."""
    planned = plan_workflow_file(session.profile, store, path, assignments=assignments, inputs=inputs, **options)
    return create_planned_workflows(session, store, planned.for_session(session), submit)


def validate_workflow_file(
    profile: ClusterProfile,
    path: Path,
    store: JobStore | None = None,
    *,
    inputs: Mapping[str, Path] | None = None,
    assignments: Sequence[str] = (),
    **options: Any,
) -> list[WorkflowPlan]:
    """Check a workflow file without a cluster: every stage rendered and preflighted; its plans (one per
    replica), or :class:`ValidationErrors` naming every problem. The other options are
    :func:`plan_workflow_file`'s (``resources``, ``values``, ...)."""
    return plan_workflow_file(profile, store, path, inputs=inputs, assignments=assignments, **options).plan


# -- the library of workflow files: builtin (package data) and the user's own ---------------------------


@attrs.frozen(slots=True)
class WorkflowFileInfo:
    """One row of ``workflow template list``."""

    id: str
    name: str
    builtin: bool
    stages: int
    replicas: int
    description: str
    path: str


def _builtin_dir() -> Path:
    return Path(str(package_data.files("namdrunner_core.workflow.files")))


def user_workflow_dir() -> Path:
    """``<config dir>/workflows``: the user's own workflow files (one ``<id>.toml`` each)."""
    return config_dir() / "workflows"


def _library() -> dict[str, tuple[Path, bool]]:
    found = {p.stem: (p, True) for p in sorted(_builtin_dir().glob("*.toml"))}
    d = user_workflow_dir()
    if d.is_dir():
        found.update({p.stem: (p, False) for p in sorted(d.glob("*.toml")) if p.stem not in found})
    return found


def list_workflow_files() -> list[WorkflowFileInfo]:
    """Builtin workflow files, then the user's (a file that no longer reads is listed with its error)."""
    rows = []
    for wid, (path, builtin) in _library().items():
        try:
            wf = read_workflow_file(path)
            rows.append(WorkflowFileInfo(wid, wf.name, builtin, len(wf.stages), wf.replicas, wf.description, str(path)))
        except ValidationError as exc:
            rows.append(WorkflowFileInfo(wid, wid, builtin, 0, 0, f"cannot be read: {exc.message}", str(path)))
    return rows


def workflow_file_path(workflow_template: str) -> Path:
    """The file of a library entry by id (builtins first; a close id is suggested)."""
    library = _library()
    if workflow_template not in library:
        import difflib

        close = difflib.get_close_matches(workflow_template, list(library), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ValidationError(
            "--from", f"no workflow template {workflow_template!r}{hint} (`namdrunner workflow template list`)"
        )
    return library[workflow_template][0]


def import_workflow_file(path: Path, *, workflow_id: str | None = None) -> WorkflowFileInfo:
    """Copy a workflow file into the user's library after reading it (a file that does not read, or
    would replace a builtin, is refused); written atomically."""
    wf = read_workflow_file(path)
    wid = workflow_id or re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem).strip("_") or "workflow"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,80}", wid):
        raise ValidationError("--id", f"{wid!r}: letters, digits, '-' and '_' only")
    if (_builtin_dir() / f"{wid}.toml").exists():
        raise ValidationError("--id", f"{wid!r} is a builtin workflow template; give yours another id (--id)")
    d = user_workflow_dir()
    d.mkdir(parents=True, exist_ok=True)
    target = write_text_atomic(d / f"{wid}.toml", path.read_text(encoding="utf-8"))
    return WorkflowFileInfo(wid, wf.name, False, len(wf.stages), wf.replicas, wf.description, str(target))


def export_workflow_template(workflow_template: str, output: Path) -> Path:
    """Copy a library workflow file to ``output``, atomically (a temporary name, then renamed)."""
    return write_text_atomic(output, workflow_file_path(workflow_template).read_text(encoding="utf-8"))
