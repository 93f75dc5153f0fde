"""Does a profile still match its cluster? ``cluster check`` and ``cluster detect``.

Both cost ONE remote command. ``check`` logs in, reads what the cluster offers, loads the profile's
NAMD modules and tries the storage roots; ``detect`` reads partitions, QOS, the user's associations
and every NAMD build (``module spider``: on hierarchical Lmod, as on Alpine, ``module avail namd``
is empty until a compiler is loaded), names where the profile is stale, caches the detected limits
(for profiles with ``use_detected_limits = true``) and can write a user profile from them.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import tomli_w

from namdrunner_core.errors import ProfileError, RemoteError
from namdrunner_core.models import utcnow
from namdrunner_core.profile import (
    ClusterProfile,
    bundled_profile_names,
    save_detected_limits,
    user_profile_names,
)
from namdrunner_core.profile_files import profile_path, write_profile_file
from namdrunner_core.scripts import CHECK_CLUSTER, DETECT_CLUSTER
from namdrunner_core.serde import converter, to_data, to_rfc3339
from namdrunner_core.slurm.inventory import (
    Difference,
    Inventory,
    compare_profile,
    parse_inventory,
    profile_overrides,
    sections,
)
from namdrunner_core.slurm.pythons import AnalysisPython, parse_pythons, python_differences, python_overrides

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session


@attrs.frozen(slots=True)
class Check:
    """One check's outcome; a warning (``ok`` and ``warning``) does not fail ``cluster check``."""

    name: str
    ok: bool
    detail: str
    warning: bool = False


def _host_namd(p: ClusterProfile) -> str:
    """The NAMD program a host without Slurm runs: the launcher's word that names NAMD, else its first."""
    words = shlex.split(p.cpu_launcher)
    return next((w for w in words if "namd" in w.rsplit("/", 1)[-1].lower()), words[0] if words else "namd3")


def _namd_check(p: ClusterProfile, program: str, body: list[str], rc: int) -> Check:
    """NAMD from the profile's modules (``module load ... && command -v namd3 namd2``), or on a host
    without Slurm the program its launcher names."""
    if program:
        said = f"{program} -> {body[0] if body else '?'}"
        lacking = f"{' '.join(body)[:200]}; set cpu_launcher (and gpu_namd_bin) to this host's NAMD"
        return Check("namd", rc == 0, said if rc == 0 else lacking)
    namd = [line for line in body if line.endswith(("/namd3", "/namd2"))]
    loaded = f"module load {' '.join(p.modules)}"
    if rc == 0 and namd:
        return Check("namd module", True, f"{loaded} -> {namd[0]}")
    return Check("namd module", False, f"`{loaded}` gave no namd3/namd2: {' '.join(body)[:200]}")


def check_cluster(session: Session) -> list[Check]:
    """Run every check in ONE remote command (login shell, as a user's terminal would); where the
    profile's partitions, QOS or limits differ from what the cluster reports, a warning each."""
    p = session.profile
    # through the one Slurm path: the profile's slurm_module is loaded first, as for every Slurm call
    program = _host_namd(p) if p.scheduler == "none" else ""
    result = session.run_remote(
        CHECK_CLUSTER,
        [" ".join(shlex.quote(m) for m in p.modules), session.jobs_root, session.scratch_root, program],
        check=False,
        timeout=180,
    )
    out = result.stdout
    checks = [Check("login", True, session.transport.description)]
    module_error = session.slurm_module_error(result)
    if module_error is not None:
        checks.append(Check("slurm module", False, module_error))
        return checks
    sec = sections(out)
    inv = parse_inventory(out)
    sinfo, rc = sec.get("SINFO", ([], 1))
    if rc != 0:
        checks.append(Check("slurm", False, "sinfo failed: " + " ".join(sinfo)[:200]))
    else:
        found = {part.name for part in inv.partitions}
        missing = [part.name for part in p.partitions if part.name not in found]
        checks.append(
            Check(
                "partitions",
                not missing,
                f"all {len(p.partitions)} profile partitions exist"
                if not missing
                else f"not on the cluster: {', '.join(missing)} (the site may have renamed them; "
                f"`namdrunner cluster detect {p.name}` shows what it has)",
            )
        )
    body, rc = sec.get("MODULE", ([], 1))
    checks.append(_namd_check(p, program, body, rc))
    for line in out.splitlines():
        if line.startswith("@@ROOT "):
            _, status, root = line.split(" ", 2)
            checks.append(
                Check(
                    "storage",
                    status == "ok",
                    f"{root} is writable"
                    if status == "ok"
                    else f"{root} is not writable (check the profile's roots and quota)",
                )
            )
    # the checks above already fail for a missing partition and a NAMD module that does not load
    for d in compare_profile(inv, p):
        if "." in d.field and not d.field.startswith("modules"):
            checks.append(Check("profile", True, f"{d.message} ({d.field})", warning=True))
    for preset in p.presets:  # one that does not fit is not offered: said here, so that it gets fixed
        problem = p.preset_problem(preset)
        if problem:
            checks.append(Check("presets", True, f"preset {preset.name!r} is not offered: {problem}", warning=True))
    return checks


@attrs.frozen(slots=True)
class Detection:
    """What ``cluster detect`` found on one profile's cluster, and how the profile differs."""

    profile: str
    detected_at: str
    inventory: Inventory
    differences: list[Difference]
    #: profile keys that would make the profile match (``--write``; the cache keeps partitions/qos)
    overrides: dict[str, Any]
    #: the Pythons an analysis job could run (``job analyze --where cluster``)
    pythons: list[AnalysisPython] = attrs.Factory(list)


def _detection_data(d: Detection) -> dict[str, Any]:
    """The ``--json`` form: the inventory's sections at the top (``partitions[]``, ``qos[]``,
    ``namd_modules[]``, ``accounts[]``) beside ``profile``, ``detected_at`` and ``differences[]``."""
    return {"profile": d.profile, "detected_at": d.detected_at, **to_data(d.inventory),
            "differences": to_data(d.differences), "pythons": to_data(d.pythons)}  # fmt: skip


converter.register_unstructure_hook(Detection, _detection_data)


def detect_cluster(session: Session, *, cache: bool = True) -> Detection:
    """Read what the cluster offers in ONE remote command, compare it with the session's profile and
    (``cache``) keep the detected limits for ``use_detected_limits``."""
    profile = session.profile
    result = session.run_remote(DETECT_CLUSTER, [], check=False, timeout=300)
    module_error = session.slurm_module_error(result)
    if module_error is not None:
        raise RemoteError(f"`module load {profile.slurm_module}` failed: {module_error}")
    inv = parse_inventory(result.stdout)
    if not inv.partitions:
        raise RemoteError(
            "the cluster reported no partitions: " + ("; ".join(inv.errors) or result.stderr.strip()[-300:])
        )
    pythons = parse_pythons(result.stdout)
    detection = Detection(
        profile=profile.name,
        detected_at=to_rfc3339(utcnow()) or "",
        inventory=inv,
        differences=compare_profile(inv, profile) + python_differences(pythons, profile),
        overrides={**profile_overrides(inv, profile), **python_overrides(pythons, profile)},
        pythons=pythons,
    )
    if cache:
        limits = {k: v for k, v in detection.overrides.items() if k in ("partitions", "qos", "max_array_size")}
        save_detected_limits(profile.name, limits, detection.detected_at)
    return detection


def detected_profile_name(base: str) -> str:
    """The name what ``cluster detect`` found is saved under when none is given: a bundled profile's
    own (the user file of that name takes its place and extends it), else ``<name>-detected`` (a user
    profile cannot extend itself)."""
    return base if base in bundled_profile_names() else f"{base}-detected"


def write_detected_profile(detection: Detection, base: ClusterProfile, name: str, *, force: bool = False) -> Path:
    """Save user profile ``name`` that ``extends`` ``base`` with what was detected; it is loaded back
    before this returns (a profile that would not load is not left in place)."""
    is_user = name in user_profile_names()
    if is_user and not force:
        raise ProfileError(
            f"profile {name!r} exists ({profile_path(name)}); choose another name for --write, or --force"
        )
    if name == base.name and name not in bundled_profile_names():
        raise ProfileError(f"--write {name}: a user profile cannot extend itself; give a new name")
    parent = base.name
    doc: dict[str, Any] = {
        "extends": parent,
        "description": f"{base.description or base.name} (detected {detection.detected_at})",
        **detection.overrides,
    }
    header = (
        f"# Written by `namdrunner cluster detect {base.name} --write {name}` at {detection.detected_at}:\n"
        f"# partitions, QOS (and modules) as the cluster reported them; everything else from {parent!r}.\n"
    )
    return write_profile_file(name, header + tomli_w.dumps(doc))
