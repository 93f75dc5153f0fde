"""What a cluster really offers, read from Slurm and Lmod, and how a profile differs from it.

Pure parsing and comparison (no connection): :mod:`namdrunner_core.diagnostics` runs the one remote
script (``lib_detect.sh``) and hands its output here. Sites rename partitions and QOS (Alpine,
2026-08: ``amilan`` -> ``acpu``, ``normal`` -> ``cpu-normal``), so a bundled profile goes stale;
:func:`compare_profile` names every field where the profile and the cluster disagree, and
:func:`profile_overrides` turns the findings into profile keys (``cluster detect --write``, and the
cache that ``use_detected_limits`` validates against).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.serde import rounded, unstructure

if TYPE_CHECKING:
    from namdrunner_core.profile import ClusterProfile

#: a Slurm duration: [D-][HH:]MM:SS[.fff] (time limits, Elapsed, TotalCPU)
_SLURM_TIME = re.compile(r"^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")
#: memory per core the profile may claim above what nodes have (rounding; more makes jobs fail) and
#: below it (less only wastes memory) before it counts as stale
MEMORY_OVER = 0.005
MEMORY_UNDER = 0.10


def memory_matches(profile_gb: float, lo_mb: float, hi_mb: float) -> bool:
    """Whether a profile's GB (GiB, Slurm's G) per core fits nodes with ``lo_mb``..``hi_mb`` MB per core."""
    mine = profile_gb * 1024
    return lo_mb * (1 - MEMORY_UNDER) <= mine <= hi_mb * (1 + MEMORY_OVER)


def slurm_seconds(text: str) -> float | None:
    """Seconds in a Slurm duration (``1-02:03:04``, ``02:03:04``, ``03:04.567``); None when it is
    none of those (empty, ``UNLIMITED``, ...)."""
    m = _SLURM_TIME.match(text.strip())
    if not m:
        return None
    d, h, mi, s = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi) * 60 + float(s)


def slurm_hours(text: str) -> float | None:
    """Hours in a Slurm time limit (``7-00:00:00``, ``1:00:00``, ``30:00``, or bare minutes as sinfo
    prints them); None for unlimited or empty."""
    t = text.strip()
    if t.isdigit():
        return int(t) / 60
    seconds = slurm_seconds(t)
    return None if seconds is None else seconds / 3600


def parse_tres(text: str) -> dict[str, str]:
    """``cpu=16,node=1,gres/gpu=2`` -> ``{"cpu": "16", "node": "1", "gres/gpu": "2"}``."""
    out: dict[str, str] = {}
    for item in text.split(","):
        key, eq, value = item.strip().partition("=")
        if eq and key:
            out[key] = value
    return out


@attrs.frozen(slots=True)
class Gres:
    """One generic resource a partition's nodes offer (``gpu:a100:3``)."""

    name: str
    type: str | None
    count: int


def parse_gres(text: str) -> list[Gres]:
    """``gpu:a100:3(S:0-1),gpu:a100_3g.20gb:6`` -> Gres items; ``(null)`` -> []."""
    items: list[Gres] = []
    depth = 0
    current = ""
    for ch in text.strip() + ",":  # split on commas outside parentheses
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            word = re.sub(r"\(.*\)$", "", current).strip()
            current = ""
            if not word or word == "(null)":
                continue
            parts = word.split(":")
            count = int(parts[-1]) if parts[-1].isdigit() else 1
            gtype = parts[1] if len(parts) >= 3 else (parts[1] if len(parts) == 2 and not parts[1].isdigit() else None)
            items.append(Gres(parts[0], gtype, count))
        else:
            current += ch
    return items


@attrs.frozen(slots=True)
class DetectedPartition:
    """A partition as Slurm reports it (sinfo and scontrol). Node sizes: the largest node, and the
    smallest in ``*_min`` (Alpine's acpu mixes 32- to 128-core nodes)."""

    __serde_computed__ = ("max_walltime_hours", "node_limit")

    name: str
    cpus_per_node: int
    memory_per_node_mb: int
    max_walltime: str
    default: bool = False
    gres: list[Gres] = attrs.Factory(list)
    state: str = ""
    nodes: int = 0
    cpus_per_node_min: int = 0
    memory_per_core_mb_min: float = attrs.field(default=0.0, metadata=rounded(1))
    memory_per_core_mb_max: float = attrs.field(default=0.0, metadata=rounded(1))
    #: scontrol's MaxNodes (None: unlimited, so the partition's node count)
    max_nodes: int | None = None
    #: QOS the partition accepts (``["ALL"]`` when unrestricted)
    allow_qos: list[str] = attrs.Factory(lambda: ["ALL"])

    @property
    def max_walltime_hours(self) -> float | None:
        """The partition's time limit in hours (None: unlimited)."""
        return slurm_hours(self.max_walltime)

    @property
    def gpu_types(self) -> list[str]:
        """GPU GRES types, in the order Slurm lists them."""
        return [g.type for g in self.gres if g.name == "gpu" and g.type]

    @property
    def gpus_per_node(self) -> int:
        """The most GPUs of one type a node offers."""
        return max((g.count for g in self.gres if g.name == "gpu"), default=0)

    def cores_fit(self, cores_per_node: int) -> bool:
        """Whether a profile's cores per node is the size of some node here."""
        return self.cpus_per_node_min <= cores_per_node <= self.cpus_per_node

    @property
    def node_limit(self) -> int:
        """Most nodes one job may use here."""
        return min(self.max_nodes or self.nodes or 1, self.nodes or self.max_nodes or 1)


@attrs.frozen(slots=True)
class DetectedQos:
    """A QOS as sacctmgr reports it."""

    __serde_computed__ = ("max_walltime_hours",)

    name: str
    max_walltime: str
    #: per-user caps as Slurm names them: MaxTRESPU (parsed), MaxJobsPU, MaxSubmitPU
    limits: dict[str, Any] = attrs.Factory(dict)

    @property
    def max_walltime_hours(self) -> float | None:
        """MaxWall in hours (None: no limit of its own)."""
        return slurm_hours(self.max_walltime)


@attrs.frozen(slots=True)
class Association:
    """One of the user's accounting associations: the account and the QOS it may use."""

    account: str
    partition: str | None
    qos: list[str]
    default_qos: str | None


@attrs.frozen(slots=True)
class NamdModule:
    """A NAMD build found by ``module spider``, with the modules it needs loaded first."""

    __serde_computed__ = ("load", "program", "kind")

    name: str
    needs: list[str]
    #: what ``command -v namd3 namd2`` found with it loaded (empty: it did not load)
    binaries: list[str]

    @property
    def program(self) -> str | None:
        """``namd3`` or ``namd2`` (the first the module puts on PATH)."""
        for b in self.binaries:
            return b.rsplit("/", 1)[-1]
        return None

    @property
    def kind(self) -> str:
        """``gpu`` for CUDA/HIP builds (by their module name), else ``cpu``."""
        return "gpu" if re.search(r"gpu|cuda|hip", self.name, re.I) else "cpu"

    @property
    def load(self) -> list[str]:
        """The module list that loads this build: its prerequisites, then itself."""
        return [*self.needs, self.name]


@attrs.frozen(slots=True)
class Difference:
    """One field where the profile and the cluster disagree."""

    field: str
    profile: Any
    cluster: Any
    message: str


@attrs.frozen(slots=True)
class Inventory:
    """Everything ``cluster detect`` found (sections that failed are named in ``errors``)."""

    user: str
    partitions: list[DetectedPartition]
    qos: list[DetectedQos]
    accounts: list[Association]
    namd_modules: list[NamdModule]
    errors: list[str] = attrs.Factory(list)
    #: False when the cluster has no ``module`` command (nothing to say about NAMD modules)
    modules_known: bool = True
    #: Slurm's MaxArraySize (``scontrol show config``): a job array holds at most this many tasks
    max_array_size: int | None = None

    def partition(self, name: str) -> DetectedPartition | None:
        """The detected partition of that name."""
        return next((p for p in self.partitions if p.name == name), None)

    def qos_named(self, name: str) -> DetectedQos | None:
        """The detected QOS of that name."""
        return next((q for q in self.qos if q.name == name), None)

    def qos_partitions(self, qos: str) -> list[str]:
        """Partitions whose AllowQos names this QOS (or allow every QOS)."""
        return [p.name for p in self.partitions if "ALL" in p.allow_qos or qos in p.allow_qos]

    def user_qos(self) -> set[str] | None:
        """QOS the user's associations allow (None when sacctmgr said nothing)."""
        if not self.accounts:
            return None
        return {q for a in self.accounts for q in a.qos}


def sections(text: str) -> dict[str, tuple[list[str], int]]:
    """``@@NAME`` ... ``@@NAME_RC n`` blocks of a remote script's output: name -> (lines, exit code)."""
    out: dict[str, tuple[list[str], int]] = {}
    current: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if current is not None and line.startswith(f"@@{current}_RC "):
            rc = line.rsplit(" ", 1)[-1]
            out[current] = (body, int(rc) if rc.isdigit() else 1)
            current, body = None, []
        elif current is None and re.fullmatch(r"@@[A-Z]+", line):
            current = line[2:]
        elif current is not None:
            body.append(line)
    return out


def _int(text: str) -> int:
    digits = re.match(r"\d+", text.strip())
    return int(digits.group()) if digits else 0


def parse_partitions(sinfo: Iterable[str], scontrol: Iterable[str]) -> list[DetectedPartition]:
    """Partitions from ``sinfo -h -a -o '%P|%c|%m|%l|%G|%a|%D'`` (one line per node kind, merged)
    and ``scontrol show partition -o`` (MaxNodes, AllowQos, Default)."""
    merged: dict[str, dict[str, Any]] = {}
    for line in sinfo:
        parts = line.split("|")
        if len(parts) < 7 or not parts[0].strip():
            continue
        name = parts[0].strip()
        default = name.endswith("*")
        name = name.rstrip("*")
        cpus, mem = _int(parts[1]), _int(parts[2])
        entry = merged.setdefault(
            name,
            {"default": False, "cpus": [], "mem": [], "per_core": [], "gres": {}, "state": set(), "nodes": 0,
             "time": parts[3].strip()},
        )  # fmt: skip
        entry["default"] |= default
        if cpus:
            entry["cpus"].append(cpus)
            entry["mem"].append(mem)
            entry["per_core"].append(mem / cpus)
        for g in parse_gres(parts[4]):
            key = (g.name, g.type)
            entry["gres"][key] = max(entry["gres"].get(key, 0), g.count)
        entry["state"].add(parts[5].strip())
        entry["nodes"] += _int(parts[6])
    extra: dict[str, dict[str, str]] = {}
    for line in scontrol:
        fields = dict(w.split("=", 1) for w in line.split() if "=" in w)
        if "PartitionName" in fields:
            extra[fields["PartitionName"]] = fields
    result = []
    for name, e in merged.items():
        sc = extra.get(name, {})
        max_nodes = sc.get("MaxNodes", "UNLIMITED")
        allow = sc.get("AllowQos", "ALL")
        result.append(
            DetectedPartition(
                name=name,
                cpus_per_node=max(e["cpus"], default=0),
                cpus_per_node_min=min(e["cpus"], default=0),
                memory_per_node_mb=max(e["mem"], default=0),
                memory_per_core_mb_min=min(e["per_core"], default=0.0),
                memory_per_core_mb_max=max(e["per_core"], default=0.0),
                max_walltime=e["time"],
                default=e["default"] or sc.get("Default") == "YES",
                gres=[Gres(n, t, c) for (n, t), c in e["gres"].items()],
                state=",".join(sorted(e["state"])),
                nodes=e["nodes"] or _int(sc.get("TotalNodes", "0")),
                max_nodes=int(max_nodes) if max_nodes.isdigit() else None,
                allow_qos=[q for q in allow.split(",") if q] or ["ALL"],
            )
        )
    return result


def parse_qos(lines: Iterable[str]) -> list[DetectedQos]:
    """QOS from ``sacctmgr -n -P show qos format=Name,MaxWall,MaxTRESPU,MaxJobsPU,MaxSubmitPU``."""
    out = []
    for line in lines:
        parts = line.split("|")
        if len(parts) < 5 or not parts[0].strip():
            continue
        limits: dict[str, Any] = {}
        if parts[2].strip():
            limits["max_tres_per_user"] = {k: _int(v) if v.isdigit() else v for k, v in parse_tres(parts[2]).items()}
        for key, value in (("max_jobs_per_user", parts[3]), ("max_submit_per_user", parts[4])):
            if value.strip().isdigit():
                limits[key] = int(value)
        out.append(DetectedQos(parts[0].strip(), parts[1].strip(), limits))
    return out


def parse_associations(lines: Iterable[str]) -> list[Association]:
    """Associations from ``sacctmgr -n -P show assoc where user=U format=Account,Partition,QOS,DefaultQOS``."""
    out = []
    for line in lines:
        parts = line.split("|")
        if len(parts) < 4 or not parts[0].strip():
            continue
        out.append(
            Association(
                parts[0].strip(),
                parts[1].strip() or None,
                [q for q in parts[2].strip().split(",") if q],
                parts[3].strip() or None,
            )
        )
    return out


def parse_inventory(text: str) -> Inventory:
    """The output of ``lib_detect.sh``'s ``nr_detect`` as an :class:`Inventory`."""
    sec = sections(text)
    errors = []
    for name, what in (("SINFO", "sinfo"), ("PARTS", "scontrol show partition"), ("QOS", "sacctmgr show qos"),
                       ("ASSOC", "sacctmgr show assoc")):  # fmt: skip
        lines, rc = sec.get(name, ([], 1))
        if rc != 0:
            errors.append(f"{what} failed (exit {rc}): {' '.join(lines)[:200]}")
    ok = {name: (lines if rc == 0 else []) for name, (lines, rc) in sec.items()}
    user = ""
    modules: list[NamdModule] = []
    max_array: int | None = None
    for line in text.splitlines():
        if line.startswith("@@USER "):
            user = line[7:].strip()
        elif line.startswith("@@ARRAY ") and line[8:].strip().isdigit():
            max_array = int(line[8:].strip())
        elif line.startswith("@@NAMD "):
            name, _, rest = line[7:].partition("|")
            needs, _, bins = rest.partition("|")
            modules.append(NamdModule(name.strip(), needs.split(), bins.split()))
    return Inventory(
        user=user,
        partitions=parse_partitions(ok.get("SINFO", []), ok.get("PARTS", [])),
        qos=parse_qos(ok.get("QOS", [])),
        accounts=parse_associations(ok.get("ASSOC", [])),
        namd_modules=modules,
        errors=errors,
        modules_known="@@NOMODULE" not in text.splitlines(),
        max_array_size=max_array,
    )


def is_namd_module(name: str) -> bool:
    """``namd/3.0.1_cpu``, ``NAMD/3.0.2-foss-2024a-mpi``, ``namd3/...``: a NAMD build's module."""
    return name.split("/")[0].lower().startswith("namd")


def compare_profile(inv: Inventory, profile: ClusterProfile) -> list[Difference]:  # noqa: C901 - one comparison per profile field
    """Every field of ``profile`` the cluster contradicts (extra partitions on the cluster are no
    difference: a profile may name only the ones its users need)."""
    diffs: list[Difference] = []

    def add(field: str, mine: Any, theirs: Any, message: str) -> None:
        diffs.append(Difference(field, mine, theirs, message))

    if inv.max_array_size and inv.max_array_size != profile.max_array_size:
        how = "refuses" if profile.max_array_size > inv.max_array_size else "allows"
        add("max_array_size", profile.max_array_size, inv.max_array_size,
            f"job arrays hold at most {inv.max_array_size} tasks (MaxArraySize), the profile says "
            f"{profile.max_array_size}: the cluster {how} what lies between")  # fmt: skip
    if inv.partitions:
        names = [p.name for p in inv.partitions]
        for part in profile.partitions:
            d = inv.partition(part.name)
            f = f"partitions[{part.name}]"
            if d is None:
                add(f, part.name, None, f"partition {part.name!r} is not on the cluster (it has: {', '.join(names)})")
                continue
            if d.cpus_per_node and not d.cores_fit(part.cores_per_node):
                span = (
                    f"{d.cpus_per_node_min}-{d.cpus_per_node}"
                    if d.cpus_per_node_min != d.cpus_per_node
                    else d.cpus_per_node
                )
                add(
                    f"{f}.cores_per_node",
                    part.cores_per_node,
                    d.cpus_per_node,
                    f"{part.name}: nodes have {span} cores, the profile says {part.cores_per_node}",
                )
            if part.max_nodes > d.node_limit:
                add(
                    f"{f}.max_nodes",
                    part.max_nodes,
                    d.node_limit,
                    f"{part.name}: a job may use {d.node_limit} node(s), the profile says {part.max_nodes}",
                )
            lo, hi = d.memory_per_core_mb_min, d.memory_per_core_mb_max
            if hi and not memory_matches(part.memory_per_core_gb, lo, hi):
                have = math.floor(lo / 1024 * 100) / 100
                add(
                    f"{f}.memory_per_core_gb",
                    part.memory_per_core_gb,
                    have,
                    f"{part.name}: nodes have {have} GB per core, the profile says {part.memory_per_core_gb:g}",
                )
            if part.is_gpu:
                types = d.gpu_types
                if not types:
                    add(f"{f}.gpu_type", part.gpu_type, None, f"{part.name}: the cluster lists no GPUs here")
                else:
                    for t in part.all_gpu_types:
                        if t not in types:
                            add(
                                f"{f}.gpu_type",
                                t,
                                types,
                                f"{part.name}: GPU type {t!r} is not offered (types: {', '.join(types)})",
                            )
                    if part.gpus_per_node > d.gpus_per_node:
                        add(
                            f"{f}.gpus_per_node",
                            part.gpus_per_node,
                            d.gpus_per_node,
                            f"{part.name}: nodes have {d.gpus_per_node} GPUs, the profile says {part.gpus_per_node}",
                        )
        default = next((p.name for p in inv.partitions if p.default), None)
        mine = profile.partition(None).name
        if default and mine != default and inv.partition(mine) is not None:
            add(
                "partitions.default",
                mine,
                default,
                f"the cluster's default partition is {default}, the profile's is {mine}",
            )
    if inv.qos:
        allowed = inv.user_qos()
        for q in profile.qos:
            d_q = inv.qos_named(q.name)
            f = f"qos[{q.name}]"
            if d_q is None:
                add(
                    f,
                    q.name,
                    None,
                    f"QOS {q.name!r} is not on the cluster (it has: {', '.join(x.name for x in inv.qos)})",
                )
                continue
            hours = d_q.max_walltime_hours
            if hours is not None and not math.isclose(hours, q.max_walltime_hours, rel_tol=1e-6):
                add(
                    f"{f}.max_walltime_hours",
                    q.max_walltime_hours,
                    hours,
                    f"QOS {q.name}: MaxWall is {d_q.max_walltime}, the profile says {q.max_walltime_hours:g} h",
                )
            tres = d_q.limits.get("max_tres_per_user", {})
            for key, mine_v in (("node", q.max_nodes_per_user), ("cpu", q.max_cores_per_user)):
                theirs = tres.get(key)
                if mine_v is not None and theirs is not None and mine_v != theirs:
                    attr = "max_nodes_per_user" if key == "node" else "max_cores_per_user"
                    add(
                        f"{f}.{attr}",
                        mine_v,
                        theirs,
                        f"QOS {q.name}: MaxTRESPU {key}={theirs}, the profile says {mine_v}",
                    )
            if inv.partitions:
                takes = inv.qos_partitions(q.name)
                refused = [p for p in q.partitions if inv.partition(p) and p not in takes]
                if refused:
                    add(f"{f}.partitions", q.partitions, takes, f"QOS {q.name}: not allowed on {', '.join(refused)}")
            if allowed is not None and q.name not in allowed:
                add(
                    f"{f}.access",
                    q.name,
                    sorted(allowed),
                    f"your associations do not allow QOS {q.name} (they allow: {', '.join(sorted(allowed))})",
                )
    if profile.account and inv.accounts and profile.account not in {a.account for a in inv.accounts}:
        add(
            "account",
            profile.account,
            [a.account for a in inv.accounts],
            f"you have no association with account {profile.account!r}",
        )
    if inv.modules_known and inv.namd_modules:
        found = {m.name for m in inv.namd_modules}
        for m in profile.modules:
            if is_namd_module(m) and m not in found:
                add(
                    "modules",
                    m,
                    sorted(found),
                    f"NAMD module {m!r} is not on the cluster (found: {', '.join(sorted(found))})",
                )
    return diffs


def profile_overrides(inv: Inventory, profile: ClusterProfile) -> dict[str, Any]:  # noqa: C901 - one override per profile field
    """Profile keys (``partitions``, ``qos``, maybe ``modules``) that make ``profile`` match the
    cluster: detected sizes and limits over the profile's own values, unknown partitions dropped,
    new ones added with a QOS that allows them. What Slurm cannot tell (SU weights, constraints,
    launchers) is kept from the profile."""
    allowed = inv.user_qos()
    qos_out: list[dict[str, Any]] = []
    for d_q in inv.qos:
        if allowed is not None and d_q.name not in allowed:
            continue
        mine = next((q for q in profile.qos if q.name == d_q.name), None)
        entry: dict[str, Any] = unstructure(mine) if mine else {"name": d_q.name}
        hours = d_q.max_walltime_hours
        if hours is None:  # no MaxWall of its own: the longest partition limit that applies
            hours = max(
                (p.max_walltime_hours or 0 for p in inv.partitions if p.name in inv.qos_partitions(d_q.name)), default=0
            ) or (mine.max_walltime_hours if mine else 24)
        entry["max_walltime_hours"] = round(hours, 4)
        restricted = [p.name for p in inv.partitions if d_q.name in p.allow_qos]
        entry["partitions"] = restricted or (list(mine.partitions) if mine else [p.name for p in inv.partitions])
        tres = d_q.limits.get("max_tres_per_user", {})
        for key, attr in (("node", "max_nodes_per_user"), ("cpu", "max_cores_per_user")):
            if isinstance(tres.get(key), int):
                entry[attr] = tres[key]
        qos_out.append({k: v for k, v in entry.items() if v is not None and v != []})
    part_out: list[dict[str, Any]] = []
    for d in inv.partitions:
        mine_p = next((p for p in profile.partitions if p.name == d.name), None)
        valid = [q["name"] for q in qos_out if d.name in q["partitions"]]
        if not valid:
            continue
        e: dict[str, Any] = unstructure(mine_p) if mine_p else {"name": d.name}
        e.pop("max_cores", None)
        if not mine_p or not d.cores_fit(mine_p.cores_per_node):
            e["cores_per_node"] = d.cpus_per_node
        e["max_nodes"] = min(e.get("max_nodes") or d.node_limit, d.node_limit) if mine_p else d.node_limit
        per_core_gb = d.memory_per_core_mb_min / 1024
        if per_core_gb > 0 and (
            not mine_p
            or not memory_matches(mine_p.memory_per_core_gb, d.memory_per_core_mb_min, d.memory_per_core_mb_max)
        ):
            # rounded down: a job asking for all of it must still fit the smallest node
            e["memory_per_core_gb"] = math.floor(per_core_gb * 100) / 100
        e["default"] = d.default
        types = d.gpu_types
        if types and (not mine_p or mine_p.is_gpu):
            first = e.get("gpu_type") if e.get("gpu_type") in types else types[0]
            e["gpu_type"] = first
            e["gpu_types"] = [t for t in e.get("gpu_types", []) if t in types and t != first]
            e["gpus_per_node"] = d.gpus_per_node
        if e.get("default_qos") not in valid:
            e["default_qos"] = valid[0]
        part_out.append({k: v for k, v in e.items() if v is not None and v != []})
    out: dict[str, Any] = {}
    if inv.max_array_size and inv.max_array_size != profile.max_array_size:
        out["max_array_size"] = inv.max_array_size
    if part_out:
        kept = {p["name"] for p in part_out}
        out["partitions"] = part_out
        # every partition's default_qos is one of qos_out: keep the QOS that still have a partition
        out["qos"] = [q for q in qos_out if set(q["partitions"]) & kept]
        for q in out["qos"]:
            q["partitions"] = [p for p in q["partitions"] if p in kept]
    if inv.modules_known and inv.namd_modules:
        found = {m.name for m in inv.namd_modules}
        if not any(m in found for m in profile.modules if is_namd_module(m)):
            cpu = [m for m in inv.namd_modules if m.kind == "cpu" and m.program == "namd3"] or [
                m for m in inv.namd_modules if m.binaries
            ]
            if cpu:
                out["modules"] = cpu[-1].load
    return out
