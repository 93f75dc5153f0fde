"""Resources a job asks for, validated against the cluster profile BEFORE anything touches a cluster."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.errors import NotFoundError, ValidationError, ValidationErrors

if TYPE_CHECKING:
    from namdrunner_core.profile import ClusterProfile, Partition, Qos

_WALLTIME = re.compile(r"^(?:(\d+)-)?(\d{1,3}):([0-5]\d):([0-5]\d)$")
# Names Slurm accepts for partitions, QOS, accounts and constraints; anything else is refused.
SLURM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
SLURM_CONSTRAINT = re.compile(r"^[A-Za-z0-9_.\-&|,\[\]*]{1,128}$")


def parse_walltime(text: str) -> int:
    """Seconds in ``HH:MM:SS`` or ``D-HH:MM:SS``; raises :class:`ValidationError` naming ``walltime``."""
    m = _WALLTIME.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValidationError("walltime", f"{text!r} is not HH:MM:SS or D-HH:MM:SS (e.g. 04:00:00)")
    days, h, mi, s = (int(g) if g else 0 for g in m.groups())
    total = ((days * 24 + h) * 60 + mi) * 60 + s
    if total <= 0:
        raise ValidationError("walltime", "must be longer than 00:00:00")
    return total


def format_walltime(seconds: int) -> str:
    """``HH:MM:SS`` (hours may exceed 24, as sbatch accepts)."""
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


@attrs.frozen(slots=True)
class Resources:
    """What a job asks Slurm for. ``memory_gb`` is per node (Slurm's ``--mem``).

    The same model serves every kind of job: single, restart, workflow stage, sweep point, replica.
    ``gpu_type`` picks one of the partition's GRES types (e.g. a MIG slice); by default the QOS's or
    the partition's first.
    """

    cores: int
    memory_gb: float
    walltime: str
    partition: str | None = None
    qos: str | None = None
    gpus: int = 0
    account: str | None = None
    constraint: str | None = None
    gpu_type: str | None = None

    def overridden(self, **changes: object) -> Resources:
        """These resources with ``changes`` (a restart that moves on). A new partition drops the old
        one's QOS, GRES type and constraint unless they are given too, since they belong to it."""
        moved = "partition" in changes and changes["partition"] != self.partition
        keep = {} if not moved else {k: None for k in ("qos", "gpu_type", "constraint") if k not in changes}
        return attrs.evolve(self, **{**keep, **changes})  # type: ignore[arg-type]


def preset_resources(profile: ClusterProfile, name: str) -> Resources:
    """The profile's preset ``name`` (case does not matter) as :class:`Resources`; a name the profile
    does not have is refused with the ones it has."""
    for p in profile.presets:
        if p.name.lower() == name.strip().lower():
            problem = profile.preset_problem(p)
            if problem:
                raise ValidationError("preset", f"{p.name!r} cannot be used: {problem}; fix it in the profile")
            return Resources(cores=p.cores, memory_gb=p.memory_gb, walltime=p.walltime, partition=p.partition,
                             qos=p.qos, gpus=p.gpus)  # fmt: skip
    have = ", ".join(repr(p.name) for p in profile.usable_presets) or "none (add [[presets]] to the profile)"
    raise ValidationError("preset", f"{name!r} is not a preset of profile {profile.name}: it has {have}")


#: the text fields a form gives for :class:`Resources`, and the type each must parse as
RESOURCE_TEXT_FIELDS: dict[str, type] = {
    "cores": int, "memory_gb": float, "walltime": str, "partition": str, "qos": str, "gpus": int,
    "account": str, "constraint": str, "gpu_type": str,
}  # fmt: skip


def _form_values(fields: Mapping[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The resource fields a form filled in, parsed (blanks left out), and one problem per field that is
    not the number it must be."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, kind in RESOURCE_TEXT_FIELDS.items():
        text = str(fields.get(key, "")).strip()
        if not text:
            continue
        if kind is str:
            values[key] = text
            continue
        shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "..."
        try:
            number = kind(text)
        except ValueError:
            problems.append((key, f"{shown} is not a{'n integer' if kind is int else ' number'}"))
            continue
        if kind is float and not math.isfinite(number):
            problems.append((key, f"{shown} is not a finite number"))
            continue
        if abs(number) >= 1e9:  # beyond any cluster (and past what a float division holds, for 400 digits)
            problems.append((key, f"{shown} is too large"))
            continue
        values[key] = number
    return values, problems


def resources_from_text(fields: Mapping[str, str]) -> Resources:
    """:class:`Resources` from a form's text fields (the web page's wizard): blanks are "not given"
    (``gpus`` 0), numbers must be numbers. Every field that is not is named at once
    (:class:`ValidationErrors`, one problem per field, in the form's own names); the resource rules
    themselves are :func:`resolve_resources`'s."""
    values, problems = _form_values(fields)
    for key in ("cores", "memory_gb", "walltime"):
        if key not in values and not any(k == key for k, _ in problems):
            problems.append((key, "required"))
    if problems:
        raise ValidationErrors(problems)
    return Resources(**values)


def resources_over(base: Resources, fields: Mapping[str, str]) -> Resources:
    """``base`` (a job's own resources) with what a form changed: a field left blank or as ``base`` has
    it keeps ``base``'s value, so a new partition drops the old one's QOS, GRES type and constraint unless
    they were changed too (:meth:`Resources.overridden`, as ``job restart --partition`` does). Every field
    that is not the number it must be is named at once (:class:`ValidationErrors`)."""
    values, problems = _form_values(fields)
    if problems:
        raise ValidationErrors(problems)
    return base.overridden(**{k: v for k, v in values.items() if v != getattr(base, k)})


@attrs.frozen(slots=True)
class ResolvedResources:
    """Resources after validation: every name resolved, nodes computed, memory with its unit."""

    cores: int
    nodes: int
    memory_gb: float
    walltime: str
    walltime_s: int
    partition: Partition
    qos: Qos
    gpus: int
    account: str | None
    constraint: str | None
    gpu_type: str | None = None

    @property
    def mem_arg(self) -> str:
        """``--mem`` value, always with a unit (a bare number means MB to Slurm)."""
        if float(self.memory_gb).is_integer():
            return f"{int(self.memory_gb)}GB"
        return f"{math.ceil(self.memory_gb * 1024)}MB"

    @property
    def gres(self) -> str | None:
        """``--gres`` value for GPU jobs, e.g. ``gpu:a100-40gb:1`` or a MIG slice ``gpu:a100_3g.20gb:1``."""
        if not self.gpus:
            return None
        kind = f"{self.gpu_type}:" if self.gpu_type else ""
        return f"gpu:{kind}{self.gpus}"


#: The least memory a job may ask for: less than NAMD itself needs to start (Slurm's --mem is in MB).
MIN_MEMORY_GB = 0.1


def _duration(hours: float) -> str:
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} h"


def _memory_gb(value: object) -> tuple[float, str]:
    """The memory asked for, in GB, and why it cannot be used ('' if it can; then 0 GB)."""
    try:
        memory = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0, f"{value!r} is not a number of GB"
    if not math.isfinite(memory):
        return 0.0, f"{value!r} is not a number of GB (e.g. 2, 0.5)"
    if memory <= 0:
        return 0.0, f"{value!r} must be more than 0 GB (e.g. 2, 0.5)"
    if memory < MIN_MEMORY_GB:
        return memory, (f"{memory:g} GB is below {MIN_MEMORY_GB:g} GB ({MIN_MEMORY_GB * 1024:.0f} MB), less than "
                        "NAMD itself needs; give at least 0.1 (GB)")  # fmt: skip
    return memory, ""


def resolve_resources(resources: Resources, profile: ClusterProfile) -> ResolvedResources:  # noqa: C901 - the resource rules in Slurm's own order
    """Validate ``resources`` against ``profile``. Every problem of the request is reported at once
    (:class:`ValidationErrors`), each naming the field, the value, the limit and the fix the profile
    knows (another QOS, a GPU partition, a GRES type)."""
    r = resources
    problems: list[tuple[str, str]] = []

    def bad(field: str, message: str) -> None:
        problems.append((field, message))

    cores_ok = isinstance(r.cores, int) and not isinstance(r.cores, bool) and r.cores >= 1
    if not cores_ok:
        bad("cores", f"{r.cores!r} is not a positive whole number")
    memory, why = _memory_gb(r.memory_gb)
    if why:
        bad("memory_gb", why)
    for field in ("partition", "qos", "account", "gpu_type"):
        value = getattr(r, field)
        if value is not None and not SLURM_NAME.match(value):
            bad(field, f"{value!r} is not a valid Slurm name (letters, digits, _ . -)")
    if r.constraint is not None and not SLURM_CONSTRAINT.match(r.constraint):
        bad("constraint", f"{r.constraint!r} is not a valid Slurm constraint")
    seconds = 0
    try:
        seconds = parse_walltime(r.walltime)
    except ValidationError as exc:
        bad("walltime", exc.message.split(": ", 1)[1])
    gpus_ok = isinstance(r.gpus, int) and not isinstance(r.gpus, bool) and r.gpus >= 0
    if not gpus_ok:
        bad("gpus", f"{r.gpus!r} is not a whole number >= 0")
    try:
        partition = profile.partition(r.partition)
    except NotFoundError:
        bad(
            "partition",
            f"{r.partition!r} is not a partition of profile {profile.name!r}; "
            f"use one of {', '.join(p.name for p in profile.partitions)}",
        )
        raise ValidationErrors(problems) from None
    valid_qos = [q for q in profile.qos if partition.name in q.partitions]
    if r.qos is None:
        qos = profile.default_qos_for(partition)
    else:
        try:
            qos = profile.qos_named(r.qos)
        except NotFoundError:
            bad(
                "qos",
                f"{r.qos!r} is not a QOS of profile {profile.name!r}; use one of "
                f"{', '.join(q.name for q in valid_qos)}",
            )
            raise ValidationErrors(problems) from None
    if partition.name not in qos.partitions:
        bad(
            "qos",
            f"QOS {qos.name!r} is not valid on partition {partition.name!r}; use one of "
            f"{', '.join(q.name for q in valid_qos)}",
        )
    cores = r.cores if cores_ok else 1
    nodes = -(-cores // partition.cores_per_node)  # whole numbers: exact for any size (a float overflows)
    if cores_ok and cores > partition.max_cores:
        bad("cores", f"{cores} exceeds partition {partition.name!r} maximum of {partition.max_cores} cores")
    if qos.max_nodes_per_user is not None and nodes > qos.max_nodes_per_user:
        most = qos.max_nodes_per_user * partition.cores_per_node
        bad(
            "cores",
            f"{cores} cores need {nodes} nodes; QOS {qos.name!r} allows {qos.max_nodes_per_user} nodes per user "
            f"(at most {most} cores on {partition.name!r})",
        )
    if qos.max_cores_per_user is not None and cores > qos.max_cores_per_user:
        bad("cores", f"{cores} exceeds QOS {qos.name!r} maximum of {qos.max_cores_per_user} cores per user")
    if memory > 0:
        max_memory = min(cores, partition.cores_per_node) * partition.memory_per_core_gb
        if memory > max_memory + 1e-9:
            bad(
                "memory_gb",
                f"{memory:g} GB exceeds {max_memory:g} GB ({min(cores, partition.cores_per_node)} cores x "
                f"{partition.memory_per_core_gb:g} GB per core on {partition.name!r}); ask for less memory or "
                "more cores",
            )
        if qos.min_memory_gb is not None and memory < qos.min_memory_gb:
            bad("memory_gb", f"{memory:g} GB is below QOS {qos.name!r} minimum of {qos.min_memory_gb:g} GB")
    if seconds and seconds > qos.max_walltime_hours * 3600:
        longer = sorted(
            (q for q in valid_qos if q.max_walltime_hours * 3600 >= seconds), key=lambda q: q.max_walltime_hours
        )
        fix = f"; use --qos {longer[0].name} (up to {_duration(longer[0].max_walltime_hours)})" if longer else ""
        if not longer:
            longest = max((q.max_walltime_hours for q in valid_qos), default=qos.max_walltime_hours)
            fix = f"; the longest QOS on {partition.name!r} allows {_duration(longest)}: split the run and restart it"
        bad(
            "walltime",
            f"{r.walltime} exceeds QOS {qos.name!r} maximum of "
            f"{format_walltime(int(qos.max_walltime_hours * 3600))}{fix}",
        )
    gpus = r.gpus if gpus_ok else 0
    gpu_type: str | None = None
    if partition.is_gpu:
        if gpus == 0:
            bad(
                "gpus",
                f"partition {partition.name!r} is a GPU partition: ask for 1 to {partition.gpus_per_node} GPUs "
                "(--gpus N)",
            )
        if gpus > partition.gpus_per_node * nodes:
            bad("gpus", f"{gpus} exceeds {partition.gpus_per_node} GPUs per node on partition {partition.name!r}")
        if qos.max_gpus is not None and gpus > qos.max_gpus:
            bad("gpus", f"{gpus} exceeds QOS {qos.name!r} maximum of {qos.max_gpus} GPUs")
        if partition.max_cores_per_gpu and gpus and cores > partition.max_cores_per_gpu * gpus:
            bad(
                "cores",
                f"{cores} exceeds {partition.max_cores_per_gpu} cores per GPU on {partition.name!r} "
                f"({partition.max_cores_per_gpu * gpus} for {gpus} GPUs)",
            )
        offered = partition.all_gpu_types
        by_qos = [t for t in qos.gpu_types if t in offered]
        allowed = by_qos or offered
        if r.gpu_type is not None:
            if offered and r.gpu_type not in allowed:
                why = f"QOS {qos.name!r} on {partition.name!r} runs on" if by_qos else f"{partition.name!r} offers"
                bad("gpu_type", f"{r.gpu_type!r} is not a GPU type here; {why} {', '.join(allowed)}")
            gpu_type = r.gpu_type
        else:
            gpu_type = allowed[0] if allowed else None
    elif gpus:
        gpu_parts = [p.name for p in profile.partitions if p.is_gpu]
        bad(
            "gpus",
            f"partition {partition.name!r} has no GPUs; use a GPU partition "
            f"(--partition {' | '.join(gpu_parts) or 'none in profile'})",
        )
    elif r.gpu_type is not None:
        bad("gpu_type", f"partition {partition.name!r} has no GPUs; --gpu-type needs a GPU partition")
    if problems:
        raise ValidationErrors(problems)
    constraint = r.constraint or partition.constraint or (partition.multinode_constraint if nodes > 1 else None)
    return ResolvedResources(
        cores=cores,
        nodes=nodes,
        memory_gb=memory,
        walltime=format_walltime(seconds),
        walltime_s=seconds,
        partition=partition,
        qos=qos,
        gpus=gpus,
        account=r.account or profile.account,
        constraint=constraint,
        gpu_type=gpu_type,
    )
