"""Resources a job asks for, validated against the cluster profile BEFORE anything touches a cluster."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import attrs

from namdrunner_core.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from namdrunner_core.cluster import ClusterProfile, Partition, Qos

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
    """What a job asks Slurm for. ``memory_gb`` is per node (Slurm's ``--mem``)."""

    cores: int
    memory_gb: float
    walltime: str
    partition: str | None = None
    qos: str | None = None
    gpus: int = 0
    account: str | None = None
    constraint: str | None = None


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

    @property
    def mem_arg(self) -> str:
        """``--mem`` value, always with a unit (a bare number means MB to Slurm)."""
        if float(self.memory_gb).is_integer():
            return f"{int(self.memory_gb)}GB"
        return f"{math.ceil(self.memory_gb * 1024)}MB"

    @property
    def gres(self) -> str | None:
        """``--gres`` value for GPU jobs, e.g. ``gpu:a100-40gb:1``."""
        if not self.gpus:
            return None
        kind = f"{self.partition.gpu_type}:" if self.partition.gpu_type else ""
        return f"gpu:{kind}{self.gpus}"

    @property
    def su_estimate(self) -> float:
        """Service units if the job ran its full wall time (cores plus GPU weight)."""
        hours = self.walltime_s / 3600
        return hours * (self.cores + self.gpus * self.partition.gpu_su_weight)


def resolve_resources(resources: Resources, profile: ClusterProfile) -> ResolvedResources:
    """Validate ``resources`` against ``profile``; each error names the field, value and limit."""
    r = resources
    if not isinstance(r.cores, int) or isinstance(r.cores, bool) or r.cores < 1:
        raise ValidationError("cores", f"{r.cores!r} is not a positive whole number")
    try:
        memory = float(r.memory_gb)
    except (TypeError, ValueError):
        raise ValidationError("memory_gb", f"{r.memory_gb!r} is not a number of GB") from None
    if not memory > 0:
        raise ValidationError("memory_gb", f"{r.memory_gb!r} must be more than 0 GB")
    for field in ("partition", "qos", "account"):
        value = getattr(r, field)
        if value is not None and not SLURM_NAME.match(value):
            raise ValidationError(field, f"{value!r} is not a valid Slurm name (letters, digits, _ . -)")
    if r.constraint is not None and not SLURM_CONSTRAINT.match(r.constraint):
        raise ValidationError("constraint", f"{r.constraint!r} is not a valid Slurm constraint")
    seconds = parse_walltime(r.walltime)
    try:
        partition = profile.partition(r.partition)
    except NotFoundError:
        raise ValidationError(
            "partition",
            f"{r.partition!r} is not a partition of profile {profile.name!r}; "
            f"use one of {', '.join(p.name for p in profile.partitions)}",
        ) from None
    if r.qos is None:
        qos = profile.default_qos_for(partition)
    else:
        try:
            qos = profile.qos_named(r.qos)
        except NotFoundError:
            raise ValidationError(
                "qos",
                f"{r.qos!r} is not a QOS of profile {profile.name!r}; use one of "
                f"{', '.join(q.name for q in profile.qos if partition.name in q.partitions)}",
            ) from None
    if partition.name not in qos.partitions:
        valid = [q.name for q in profile.qos if partition.name in q.partitions]
        raise ValidationError(
            "qos",
            f"QOS {qos.name!r} is not valid on partition {partition.name!r}; use one of {', '.join(valid)}",
        )
    if r.cores > partition.max_cores:
        raise ValidationError(
            "cores", f"{r.cores} exceeds partition {partition.name!r} maximum of {partition.max_cores} cores"
        )
    nodes = math.ceil(r.cores / partition.cores_per_node)
    max_memory = min(r.cores, partition.cores_per_node) * partition.memory_per_core_gb
    if memory > max_memory + 1e-9:
        raise ValidationError(
            "memory_gb",
            f"{memory:g} GB exceeds {max_memory:g} GB ({min(r.cores, partition.cores_per_node)} cores x "
            f"{partition.memory_per_core_gb:g} GB per core on {partition.name!r}); ask for less memory or more cores",
        )
    if qos.min_memory_gb is not None and memory < qos.min_memory_gb:
        raise ValidationError(
            "memory_gb", f"{memory:g} GB is below QOS {qos.name!r} minimum of {qos.min_memory_gb:g} GB"
        )
    if seconds > qos.max_walltime_hours * 3600:
        raise ValidationError(
            "walltime",
            f"{r.walltime} exceeds QOS {qos.name!r} maximum of {format_walltime(int(qos.max_walltime_hours * 3600))}",
        )
    if not isinstance(r.gpus, int) or r.gpus < 0:
        raise ValidationError("gpus", f"{r.gpus!r} is not a whole number >= 0")
    if partition.is_gpu:
        if r.gpus == 0:
            raise ValidationError(
                "gpus",
                f"partition {partition.name!r} is a GPU partition: ask for 1 to {partition.gpus_per_node} GPUs",
            )
        if r.gpus > partition.gpus_per_node * nodes:
            raise ValidationError(
                "gpus",
                f"{r.gpus} exceeds {partition.gpus_per_node} GPUs per node on partition {partition.name!r}",
            )
        if qos.max_gpus is not None and r.gpus > qos.max_gpus:
            raise ValidationError("gpus", f"{r.gpus} exceeds QOS {qos.name!r} maximum of {qos.max_gpus} GPUs")
        if partition.max_cores_per_gpu and r.cores > partition.max_cores_per_gpu * r.gpus:
            raise ValidationError(
                "cores",
                f"{r.cores} exceeds {partition.max_cores_per_gpu} cores per GPU on {partition.name!r} "
                f"({partition.max_cores_per_gpu * r.gpus} for {r.gpus} GPUs)",
            )
    elif r.gpus:
        gpu_parts = [p.name for p in profile.partitions if p.is_gpu]
        raise ValidationError(
            "gpus",
            f"partition {partition.name!r} has no GPUs; use a GPU partition "
            f"({', '.join(gpu_parts) or 'none in profile'})",
        )
    constraint = r.constraint or partition.constraint or (partition.multinode_constraint if nodes > 1 else None)
    return ResolvedResources(
        cores=r.cores,
        nodes=nodes,
        memory_gb=memory,
        walltime=format_walltime(seconds),
        walltime_s=seconds,
        partition=partition,
        qos=qos,
        gpus=r.gpus,
        account=r.account or profile.account,
        constraint=constraint,
    )
