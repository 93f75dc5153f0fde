"""Cluster profiles: where a cluster is and what it offers.

A :class:`ClusterProfile` says where a cluster is and what it offers (partitions, QOS, modules,
storage roots). Bundled profiles live in ``namdrunner_core/profiles/``; user profiles in
``<config dir>/profiles/<name>.toml`` may ``extends = "<bundled name>"`` and override any key.
Pure data and file reading: no connection (that is :mod:`namdrunner_core.cluster`).
"""

from __future__ import annotations

import difflib
import getpass
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import attrs

from namdrunner_core.errors import NotFoundError, ProfileError
from namdrunner_core.files import write_text_atomic
from namdrunner_core.paths import config_dir
from namdrunner_core.serde import structure


@attrs.frozen(slots=True)
class Partition:
    """A Slurm partition as namdrunner validates against it.

    Give ``max_cores`` (one node, as the desktop app did) or ``cores_per_node`` and ``max_nodes``;
    the missing ones are derived.
    """

    name: str
    memory_per_core_gb: float
    cores_per_node: int = 0
    max_cores: int = 0
    max_nodes: int = 0
    default: bool = False
    default_qos: str | None = None
    gpu_type: str | None = None
    #: Further GRES types the partition's nodes offer (e.g. MIG slices ``a100_3g.20gb``); ``gpu_type`` is
    #: the default one.
    gpu_types: list[str] = attrs.Factory(list)
    gpus_per_node: int = 0
    max_cores_per_gpu: int | None = None
    multinode_constraint: str | None = None
    constraint: str | None = None
    gpu_su_weight: float = 0.0

    def __attrs_post_init__(self) -> None:
        cpn = self.cores_per_node or self.max_cores
        if cpn <= 0:
            raise ValueError(f"partition {self.name!r}: give max_cores or cores_per_node (a positive number)")
        nodes = self.max_nodes or (max(1, self.max_cores // cpn) if self.max_cores else 1)
        object.__setattr__(self, "cores_per_node", cpn)
        object.__setattr__(self, "max_nodes", nodes)
        object.__setattr__(self, "max_cores", self.max_cores or cpn * nodes)

    @property
    def is_gpu(self) -> bool:
        """True for partitions whose nodes carry GPUs."""
        return self.gpus_per_node > 0

    @property
    def all_gpu_types(self) -> list[str]:
        """Every GRES type a job may ask for here, the default first."""
        return [t for t in [self.gpu_type, *self.gpu_types] if t]


@attrs.frozen(slots=True)
class Qos:
    """A Slurm QOS: wall-time limit and the partitions it is valid for."""

    name: str
    max_walltime_hours: float
    partitions: list[str]
    default: bool = False
    min_memory_gb: float | None = None
    max_gpus: int | None = None
    #: Per-user caps of this QOS (Slurm's MaxTRESPU: nodes, cores) where the site sets them.
    max_nodes_per_user: int | None = None
    max_cores_per_user: int | None = None
    #: GRES types this QOS runs on (e.g. gpu-testing: MIG slices); where a partition offers them, a job
    #: must use one of them, the first by default.
    gpu_types: list[str] = attrs.Factory(list)


@attrs.frozen(slots=True)
class Preset:
    """A named set of resources a site's users start from (the desktop app's "Small Test", "Production
    Run"...): ``job create --preset NAME`` and the Create job form's buttons; anything given beside it wins."""

    name: str
    cores: int
    memory_gb: float
    walltime: str
    partition: str
    qos: str | None = None
    gpus: int = 0
    description: str = ""


HostKeyPolicyName = Literal["accept-new", "strict", "ignore"]


@attrs.frozen(slots=True)
class ClusterProfile:
    """Everything namdrunner needs to know about one cluster."""

    name: str
    host: str
    jobs_root: str
    scratch_root: str
    partitions: list[Partition]
    qos: list[Qos]
    description: str = ""
    #: named resource sets to start a job from ([[presets]]; those that fit the partitions and QOS are offered)
    presets: list[Preset] = attrs.Factory(list)
    port: int | None = None
    user: str | None = None
    identity_file: str | None = None
    use_agent: bool = True
    ssh_config: str | None = None
    host_key_policy: HostKeyPolicyName = "accept-new"
    known_hosts: str | None = None
    #: A jump host (bastion) in OpenSSH's ProxyJump form, ``user@bastion.example.edu:22``; its host key
    #: and its logins (password, Duo) are handled like the cluster's own.
    proxy_jump: str | None = None
    #: Duo-style second factor: "ask" (show the menu), "push" / "phone" (choose that option: one tap on
    #: the phone), "passcode" (ask for a code), "autopush" (the site pushes by itself after the password).
    duo: Literal["ask", "push", "phone", "passcode", "autopush"] = "ask"
    #: Seconds a login waits for a push to be approved (Duo's own window is about 60 s).
    duo_push_timeout_s: float = 120.0
    #: Seconds a login waits for the server at each step; a person's typing never counts.
    auth_network_timeout_s: float = 30.0
    modules: list[str] = attrs.Factory(list)
    gpu_modules: list[str] = attrs.Factory(list)
    gpu_namd_bin: str | None = None
    slurm_module: str | None = None
    cpu_launcher: str = "mpirun -np $SLURM_NTASKS namd3"
    gpu_launcher: str = "{namd_bin} +p{cores} +setcpuaffinity +devices {devices}"
    source_profile: bool = True
    account: str | None = None
    scratch_purge_days: int | None = None
    #: Slurm's MaxArraySize (``scontrol show config``; its default 1001): a sweep or a stage of replicas
    #: is one job array, of at most this many tasks
    max_array_size: int = 1001
    #: ask Slurm to cancel a workflow stage whose predecessor failed (``--kill-on-invalid-dep=yes``);
    #: false for a site that refuses the option - its dependants then stay pending
    #: (DependencyNeverSatisfied) and every sync settles them instead
    kill_invalid_dependants: bool = True
    #: Slurm's mail when a job ends or fails (``--mail-type=END,FAIL``; a campaign: when a segment fails);
    #: off unless set
    mail_user: str | None = None
    #: where to tell you that a campaign finished or needs you, from `watch` and the web page (apprise URLs:
    #: ``ntfy://topic``, ``slack://...``, ``mailto://...``; the optional ``namdrunner[notify]`` extra)
    notify_urls: list[str] = attrs.Factory(list)
    #: campaigns (``--target-ns``): a segment's batch script submits the next segment itself; false for a
    #: site whose compute nodes may not submit - sync, watch and the web page then advance the chain
    compute_can_submit: bool = True
    #: the cluster's python3 (3.7 or newer, standard library only) that runs campaign_step.py on the nodes
    campaign_python: str = "python3"
    #: seconds before a campaign segment's time limit at which Slurm warns it (the segment stops NAMD)
    campaign_warn_s: int = 120
    #: seconds a campaign segment allows for NAMD's start-up before its first step (sizing)
    campaign_startup_s: float = 60.0
    #: structure analysis on the cluster (``job analyze --select``): the modules that give a Python with
    #: numpy (Alpine: ``["anaconda"]``; MDAnalysis too, for selection keywords beyond the common subset) ...
    analysis_modules: list[str] = attrs.Factory(list)
    #: ... that Python ...
    analysis_python: str = "python3"
    #: ... and above this size (GB) a DCD is analysed there, as a small Slurm job, instead of fetched
    analysis_local_max_gb: float = 2.0
    #: this machine itself: no SSH, commands run here (the roots may start with ``{home}``)
    local: bool = False
    #: "slurm", or "none": the host runs jobs itself (namdrunner's host runner, ``scripts/hostq.py``,
    #: installed in ``~/.namdrunner/hostq`` with the Slurm commands namdrunner uses): a lab workstation
    scheduler: Literal["slurm", "none"] = "slurm"
    #: with ``scheduler = "none"``: the host's GPUs (one job per GPU) and cores (default: all it has)
    host_gpus: int = 0
    host_cores: int | None = None
    billing_su_per_core_hour: float = 1.0
    #: "auto": the first command that needs the cluster starts a shared session (``namdrunner session``)
    session: Literal["off", "auto"] = "off"
    #: validate jobs against the limits ``cluster detect`` last found (cached locally, with its time)
    #: instead of this file's partitions and QOS
    use_detected_limits: bool = False
    #: the site's storage quota command (Alpine: ``curc-quota``); without one, ``usage`` runs ``df``
    quota_command: str | None = None
    rate_limit_per_s: float = 5.0
    max_pending_requests: int = 20
    extends: str | None = None

    def preset_problem(self, preset: Preset) -> str | None:
        """Why ``preset`` does not fit this profile (a partition or QOS it lacks), or None."""
        if preset.partition not in {p.name for p in self.partitions}:
            return f"partition {preset.partition!r} is not in profile {self.name!r} (renamed?)"
        if preset.qos and preset.qos not in {q.name for q in self.qos}:
            return f"QOS {preset.qos!r} is not in profile {self.name!r} (renamed?)"
        return None

    @property
    def usable_presets(self) -> list[Preset]:
        """The presets that fit this profile's partitions and QOS (those offered)."""
        return [p for p in self.presets if self.preset_problem(p) is None]

    def partition(self, name: str | None) -> Partition:
        """The named partition, or the default one when ``name`` is None."""
        if name is None:
            for p in self.partitions:
                if p.default:
                    return p
            return self.partitions[0]
        for p in self.partitions:
            if p.name == name:
                return p
        raise NotFoundError(
            f"partition {name!r} is not in profile {self.name!r}; known: {', '.join(p.name for p in self.partitions)}"
        )

    def qos_named(self, name: str) -> Qos:
        """The named QOS."""
        for q in self.qos:
            if q.name == name:
                return q
        raise NotFoundError(
            f"QOS {name!r} is not in profile {self.name!r}; known: {', '.join(q.name for q in self.qos)}"
        )

    def default_qos_for(self, partition: Partition) -> Qos:
        """The QOS used when a job names none: the partition's default, else the first valid one."""
        if partition.default_qos:
            return self.qos_named(partition.default_qos)
        valid = [q for q in self.qos if partition.name in q.partitions]
        for q in valid:
            if q.default:
                return q
        if valid:
            return valid[0]
        raise ProfileError(f"profile {self.name!r}: no QOS is valid for partition {partition.name!r}")

    def expected_user(self) -> str:
        """The login the profile names (``user = ...``), else the local user: what a plan made before
        login assumes (the session may still log in as another, e.g. from ``~/.ssh/config``)."""
        return self.user or getpass.getuser()

    def roots_for(self, user: str) -> tuple[str, str]:
        """(jobs root, scratch root) with ``{user}`` (and, for a local profile, ``{home}``) filled in."""
        home = str(Path.home()) if self.local else "{home}"
        return (self.jobs_root.format(user=user, home=home), self.scratch_root.format(user=user, home=home))


def bundled_profile_names() -> list[str]:
    """Names of the profiles shipped with namdrunner."""
    files = resources.files("namdrunner_core.profiles")
    return sorted(f.name[:-5] for f in files.iterdir() if f.name.endswith(".toml"))


def user_profile_names() -> list[str]:
    """Names of the profiles in the user's config dir."""
    d = config_dir() / "profiles"
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def profile_names() -> list[str]:
    """Every profile name a user may pass to ``--profile`` (user profiles shadow bundled ones)."""
    return sorted(set(bundled_profile_names()) | set(user_profile_names()))


@attrs.frozen(slots=True)
class ProfileInfo:
    """One row of ``cluster list``: a profile, where it comes from, or why it cannot be read."""

    name: str
    source: str
    host: str = ""
    description: str = ""
    #: why the profile cannot be loaded (a broken user file is one bad row, not a failed command)
    error: str | None = None


def profile_infos() -> list[ProfileInfo]:
    """Every profile, bundled and the user's, each loaded; a broken one carries its error."""
    users, bundled = set(user_profile_names()), set(bundled_profile_names())
    rows = []
    for name in profile_names():
        source = "bundled" if name not in users else "user (overrides bundled)" if name in bundled else "user"
        try:
            p = load_profile(name)
        except (ProfileError, NotFoundError) as exc:
            rows.append(ProfileInfo(name, source, error=str(exc)))
            continue
        rows.append(ProfileInfo(name, source, p.host, p.description))
    return rows


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source}: not valid TOML: {exc}") from None


def _raw_profile(name: str, *, _seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    if name in _seen:
        raise ProfileError(f"profile {name!r}: 'extends' loops through {' -> '.join((*_seen, name))}")
    user_file = config_dir() / "profiles" / f"{name}.toml"
    if user_file.is_file():
        data = _read_toml(user_file.read_text(encoding="utf-8"), str(user_file))
        source = str(user_file)
        parent = data.get("extends")
        if parent is not None:
            if not isinstance(parent, str):
                raise ProfileError(f"{source}: $.extends: expected the name of a profile, got {parent!r}")
            base, _ = _raw_profile_bundled(parent) if parent == name else _raw_profile(parent, _seen=(*_seen, name))
            merged = {**base, **data}
            return merged, source
        return data, source
    return _raw_profile_bundled(name)


def check_profile_name(name: str) -> None:
    """Refuse a profile name that names no profile, suggesting the closest (:class:`ProfileError`)."""
    known = profile_names()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ProfileError(f"unknown profile {name!r}; {hint}profiles that exist: {', '.join(known) or 'none'}")


def _raw_profile_bundled(name: str) -> tuple[dict[str, Any], str]:
    if name not in bundled_profile_names():
        check_profile_name(name)  # a user profile of that name was looked for first: none exists
        raise ProfileError(f"unknown profile {name!r}")
    text = resources.files("namdrunner_core.profiles").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return _read_toml(text, f"bundled profile {name}.toml"), f"bundled profile {name}.toml"


def detected_limits_path(name: str) -> Path:
    """Where ``cluster detect`` caches what it found for profile ``name``."""
    return config_dir() / "detected" / f"{name}.json"


def save_detected_limits(name: str, limits: dict[str, Any], detected_at: str) -> Path:
    """Cache detected ``partitions``/``qos`` (profile-shaped) for ``use_detected_limits``."""
    path = detected_limits_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"profile": name, "detected_at": detected_at, "limits": limits}, indent=1, sort_keys=True)
    write_text_atomic(path, text + "\n")
    return path


def detected_limits(name: str) -> dict[str, Any] | None:
    """The cached detection of profile ``name`` (``detected_at``, ``limits``), or None."""
    path = detected_limits_path(name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("limits"), dict) else None


def load_profile(name: str) -> ClusterProfile:
    """Load a profile by name (user dir first, then bundled); errors name the file and key path.

    With ``use_detected_limits = true`` the partitions and QOS are the ones ``cluster detect`` last
    cached for it (the file's own when nothing was detected yet).
    """
    data, source = _raw_profile(name)
    data = {**data, "name": name}
    if data.get("use_detected_limits") is True:
        cached = detected_limits(name)
        if cached is not None:
            data.update({k: v for k, v in cached["limits"].items() if k in ("partitions", "qos", "max_array_size")})
            source = f"{source} with limits detected {cached.get('detected_at')} ({detected_limits_path(name)})"
    try:
        profile = structure(data, ClusterProfile, source=source)
    except ValueError as exc:
        raise ProfileError(str(exc)) from None
    problems = _check_profile(profile)
    if problems:
        raise ProfileError(f"{source}: " + "; ".join(problems))
    return profile


def _check_profile(p: ClusterProfile) -> list[str]:
    problems: list[str] = []
    if not p.partitions:
        problems.append("$.partitions: at least one [[partitions]] entry is needed")
    names = {x.name for x in p.partitions}
    for i, q in enumerate(p.qos):
        for part_name in q.partitions:
            if part_name not in names:
                problems.append(f"$.qos[{i}].partitions: {part_name!r} is not a partition of this profile")
    for i, part in enumerate(p.partitions):
        if part.default_qos and part.default_qos not in {q.name for q in p.qos}:
            problems.append(f"$.partitions[{i}].default_qos: {part.default_qos!r} is not a QOS of this profile")
        if part.cores_per_node < 1 or part.max_nodes < 1 or part.memory_per_core_gb <= 0:
            problems.append(f"$.partitions[{i}]: cores_per_node, max_nodes and memory_per_core_gb must be positive")
    # a preset naming a partition or QOS the profile lacks does not stop the profile loading (a user
    # profile that renames partitions inherits the presets, and detected limits replace the partitions):
    # it is not offered (`usable_presets`), refused when asked for by name, and `cluster check` says so
    if len({x.name.lower() for x in p.presets}) < len(p.presets):
        problems.append("$.presets: two presets have the same name")
    for key in ("jobs_root", "scratch_root"):
        value = getattr(p, key)
        if p.local and value.startswith("{home}/"):
            continue  # this machine's home
        if not value.startswith("/") or value.rstrip("/") in ("", "/"):
            problems.append(f"$.{key}: must be an absolute directory below '/' ({{home}}/... with local = true), "
                            f"got {value!r}")  # fmt: skip
    return problems
