"""What a finished job cost and how well it used what it asked for, from sacct's raw fields.

Pure parsing and arithmetic: :mod:`namdrunner_core.usage` fetches the fields in one remote command.

- **SUs** by the profile's billing rule (Alpine: 1 SU per core-hour, plus the partition's per-GPU
  weight per GPU-hour, and memory beyond the per-core share billed as the cores it would take).
- **CPU efficiency** = TotalCPU / (Elapsed x AllocCPUS), as ``seff`` computes it.
- **Memory efficiency** = the job's peak memory (TRESUsageInTot mem, the sum over tasks; MaxRSS
  where that is missing) / the memory allocated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.slurm.inventory import parse_tres, slurm_seconds

if TYPE_CHECKING:
    from namdrunner_core.profile import ClusterProfile

#: the fields :func:`parse_usage` reads, in order (TRESUsageInTot last: it may hold anything)
USAGE_FIELDS = (
    "JobID",
    "JobName",
    "State",
    "ElapsedRaw",
    "AllocCPUS",
    "TotalCPU",
    "MaxRSS",
    "NNodes",
    "Partition",
    "AllocTRES",
    "TRESUsageInTot",
)
_UNITS = {"K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0 * 1024, "P": 1024.0**3}
#: below this CPU efficiency a scaling hint is given
LOW_CPU_EFFICIENCY = 0.5


def cpu_seconds(text: str) -> float:
    """sacct's TotalCPU (``1-02:03:04``, ``02:03:04``, ``03:04.567``) in seconds; 0 when empty."""
    return slurm_seconds(text) or 0.0


def memory_mb(text: str) -> float:
    """sacct memory (``2976K``, ``500M``, ``1.5G``; a bare number is bytes, as in raw TRES) in MB
    (MiB, Slurm's M); 0 when empty or unreadable."""
    t = text.strip().rstrip("nc")  # old ReqMem forms: 4000Mn / 4000Mc
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGTP]?)", t)
    if not m:
        return 0.0
    value = float(m.group(1))
    return value * _UNITS[m.group(2)] if m.group(2) else value / (1024 * 1024)  # a bare number is bytes


@attrs.frozen(slots=True)
class SacctUsage:
    """One job's raw accounting: the allocation line with its steps folded in."""

    slurm_job_id: str
    name: str
    state: str
    elapsed_s: int
    alloc_cpus: int
    total_cpu_s: float
    nodes: int
    partition: str
    alloc_memory_mb: float
    gpus: int
    #: the job's peak memory: the largest step's TRESUsageInTot mem (or MaxRSS)
    peak_memory_mb: float


def parse_usage(text: str) -> dict[str, SacctUsage]:
    """``sacct -P -n -o <USAGE_FIELDS>`` for many jobs -> usage per Slurm job id (steps folded in);
    the last record of an id (see :func:`parse_usage_all`)."""
    return {jid: rows[-1] for jid, rows in parse_usage_all(text).items()}


def parse_usage_all(text: str) -> dict[str, list[SacctUsage]]:
    """``sacct -D -P -n -o <USAGE_FIELDS>``: every record of each Slurm id (another job may have had
    the id after the controller lost its state), steps folded into the record before them."""
    n = len(USAGE_FIELDS)
    records: list[tuple[str, dict[str, Any]]] = []
    latest: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        parts = line.split("|", n - 1)
        if len(parts) < n or not parts[0].strip():
            continue
        jid, _, step = parts[0].strip().partition(".")
        if not step or jid not in latest:
            latest[jid] = {"peak": 0.0, "step_cpu": 0.0}
            records.append((jid, latest[jid]))
        e = latest[jid]
        peak = memory_mb(parse_tres(parts[10]).get("mem", "")) or memory_mb(parts[6])
        e["peak"] = max(e["peak"], peak)
        if step:
            e["step_cpu"] += cpu_seconds(parts[5])
            continue
        tres = parse_tres(parts[9])
        gpus = sum(int(v) for k, v in tres.items() if k.startswith("gres/gpu") and ":" not in k and v.isdigit())
        e.update(
            name=parts[1],
            state=parts[2].split()[0] if parts[2].strip() else "",
            elapsed=int(parts[3]) if parts[3].strip().isdigit() else 0,
            cpus=int(parts[4]) if parts[4].strip().isdigit() else 0,
            cpu=cpu_seconds(parts[5]),
            nodes=int(parts[7]) if parts[7].strip().isdigit() else 1,
            partition=parts[8].strip(),
            mem=memory_mb(tres.get("mem", "")),
            gpus=gpus,
        )
    out: dict[str, list[SacctUsage]] = {}
    for jid, e in records:
        if "state" not in e:
            continue  # steps without their job line: nothing to bill
        out.setdefault(jid, []).append(SacctUsage(
            slurm_job_id=jid,
            name=e["name"],
            state=e["state"],
            elapsed_s=e["elapsed"],
            alloc_cpus=e["cpus"],
            # the allocation line carries the sum of its steps; older Slurm leaves it empty
            total_cpu_s=e["cpu"] or e["step_cpu"],
            nodes=e["nodes"],
            partition=e["partition"],
            alloc_memory_mb=e["mem"],
            gpus=e["gpus"],
            peak_memory_mb=e["peak"],
        ))  # fmt: skip
    return out


def service_units(u: SacctUsage, profile: ClusterProfile) -> float:
    """SUs by the profile's rule: core-hours (memory beyond the per-core share counted as the cores it
    takes) x ``billing_su_per_core_hour`` + GPU-hours x the partition's ``gpu_su_weight``."""
    hours = u.elapsed_s / 3600
    part = next((p for p in profile.partitions if p.name == u.partition), None)
    cores = u.alloc_cpus
    if part is not None and part.memory_per_core_gb > 0 and u.alloc_memory_mb > 0:
        cores = max(cores, math.ceil(u.alloc_memory_mb / (part.memory_per_core_gb * 1024) - 1e-9))
    gpu_weight = part.gpu_su_weight if part is not None else 0.0
    return hours * (cores * profile.billing_su_per_core_hour + u.gpus * gpu_weight)


def cpu_efficiency(u: SacctUsage) -> float | None:
    """TotalCPU / (Elapsed x AllocCPUS), or None before the job ran."""
    if u.elapsed_s <= 0 or u.alloc_cpus <= 0:
        return None
    return min(1.0, u.total_cpu_s / (u.elapsed_s * u.alloc_cpus))


def memory_efficiency(u: SacctUsage) -> float | None:
    """Peak memory / memory allocated, or None when either is unknown."""
    if u.alloc_memory_mb <= 0 or u.peak_memory_mb <= 0:
        return None
    return u.peak_memory_mb / u.alloc_memory_mb


def scaling_hint(cores: int, efficiency: float | None) -> str | None:
    """``"24 cores at 41 % CPU efficiency: try 12"``: halve while half the cores still cover the work
    done; None when efficiency is fine or unknown."""
    if efficiency is None or cores < 2 or efficiency >= LOW_CPU_EFFICIENCY:
        return None
    busy = cores * efficiency
    suggest = cores
    while suggest // 2 >= max(1.0, busy):
        suggest //= 2
    if suggest == cores:
        return None
    return f"{cores} cores at {efficiency * 100:.0f} % CPU efficiency: try {suggest}"


@attrs.frozen(slots=True)
class StorageUse:
    """One storage area: from ``df`` (bytes) or the site's quota command (its own lines)."""

    __serde_computed__ = (("percent", 1),)

    path: str
    source: str
    size_bytes: int | None = None
    used_bytes: int | None = None
    available_bytes: int | None = None
    lines: list[str] = attrs.Factory(list)

    @property
    def percent(self) -> float | None:
        """Used share in per cent (df only)."""
        if not self.size_bytes or self.used_bytes is None:
            return None
        return 100.0 * self.used_bytes / self.size_bytes


def parse_df(lines: Iterable[str], paths: list[str]) -> list[StorageUse]:
    """``df -P -B1 PATH...`` -> one StorageUse per path given (header skipped)."""
    rows = [line.split() for line in lines if line.strip() and not line.startswith("Filesystem")]
    out = []
    for path, row in zip(paths, rows, strict=False):
        if len(row) >= 6 and row[1].isdigit():
            out.append(StorageUse(path, f"df {row[0]} on {row[5]}", int(row[1]), int(row[2]), int(row[3])))
    return out
