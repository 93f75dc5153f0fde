"""A workflow file planned: every stage of every replica rendered and preflighted before the first upload,
then created (:func:`workflows_from_file`) or only checked (:func:`validate_workflow_file`); scaled
restraint copies (:func:`scaled_copy`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.errors import NamdRunnerError, ValidationError, ValidationErrors
from namdrunner_core.jobs.prepare import Planned, plan_ahead, resolve_template
from namdrunner_core.paths import cache_dir
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.workflow.file_model import (
    _KEY,
    _NEEDED_RESOURCES,
    _REF,
    _RESOURCE_OPTIONS,
    MAX_REPLICAS,
    SEED_REPLICA_STRIDE,
    ScaledEntry,
    WorkflowFile,
    _bad_scaled,
    check_inputs,
    read_workflow_file,
)
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


def stages_from_file(  # noqa: C901 - a stage's values, files, scaled copies and chaining in file order
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
        stages.append(StageSpec(entry.name, template, values, resources, files, entry.continue_ and i > 0,
                                entry.velocities, entry.target_ns))  # fmt: skip
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


def workflows_from_file(
    session: Session,
    store: JobStore,
    path: str | Path,
    *,
    assignments: Sequence[str] = (),
    submit: bool = False,
    inputs: Mapping[str, str | Path] | None = None,
    **options: Any,
) -> list[Workflow]:
    """Create (and with ``submit`` submit) the workflows of a file: one, or one per replica. Every stage
    of every replica is validated before the first upload (what ``workflow create --file`` runs).
    ``inputs`` are the files of its ``[inputs]``; the other options are :func:`plan_workflow_file`'s
    (``name``, ``resources``, ``values``, ...)."""
    given = {k: Path(v) for k, v in (inputs or {}).items()}
    planned = plan_workflow_file(session.profile, store, Path(path), assignments=assignments, inputs=given, **options)
    return create_planned_workflows(session, store, planned.for_session(session), submit)


def validate_workflow_file(
    profile: ClusterProfile,
    path: str | Path,
    store: JobStore | None = None,
    *,
    inputs: Mapping[str, str | Path] | None = None,
    assignments: Sequence[str] = (),
    **options: Any,
) -> list[WorkflowPlan]:
    """Check a workflow file without a cluster: every stage rendered and preflighted; its plans (one per
    replica), or :class:`ValidationErrors` naming every problem. The other options are
    :func:`plan_workflow_file`'s (``resources``, ``values``, ...)."""
    given = {k: Path(v) for k, v in (inputs or {}).items()}
    return plan_workflow_file(profile, store, Path(path), inputs=given, assignments=assignments, **options).plan
