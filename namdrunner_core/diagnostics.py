"""``cluster check``: does a profile still match the cluster? Login, partitions, NAMD module, roots."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import attrs

from namdrunner_core.scripts import CHECK_CLUSTER

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session


@attrs.frozen(slots=True)
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str


def check_cluster(session: Session) -> list[Check]:
    """Run every check in ONE remote command (login shell, as a user's terminal would)."""
    p = session.profile
    # through the one Slurm path: the profile's slurm_module is loaded first, as for every Slurm call
    result = session.run_remote(
        CHECK_CLUSTER,
        [" ".join(shlex.quote(m) for m in p.modules), session.jobs_root, session.scratch_root],
        check=False,
        timeout=120,
    )
    out = result.stdout
    checks = [Check("login", True, session.transport.description)]
    if result.exit_code == session.SLURM_MODULE_FAILED and p.slurm_module:
        checks.append(Check("slurm module", False, result.stderr.strip()[-300:] or f"module load {p.slurm_module}"))
        return checks
    lines = out.splitlines()

    def section(name: str) -> tuple[list[str], int]:
        body: list[str] = []
        rc = 1
        inside = False
        for line in lines:
            if line == f"@@{name}":
                inside = True
            elif line.startswith(f"@@{name}_RC "):
                rc = int(line.split()[-1]) if line.split()[-1].isdigit() else 1
                inside = False
            elif inside:
                body.append(line)
        return body, rc

    sinfo, rc = section("SINFO")
    found = {row.split("|")[0].rstrip("*") for row in sinfo if "|" in row}
    if rc != 0:
        checks.append(Check("slurm", False, "sinfo failed: " + " ".join(sinfo)[:200]))
    else:
        missing = [part.name for part in p.partitions if part.name not in found]
        checks.append(
            Check(
                "partitions",
                not missing,
                f"all {len(p.partitions)} profile partitions exist"
                if not missing
                else f"not on the cluster: {', '.join(missing)} (the site may have renamed them; update the profile)",
            )
        )
    body, rc = section("MODULE")
    namd = [line for line in body if line.endswith(("/namd3", "/namd2"))]
    checks.append(
        Check(
            "namd module",
            rc == 0 and bool(namd),
            f"module load {' '.join(p.modules)} -> {namd[0]}"
            if namd
            else f"`module load {' '.join(p.modules)}` gave no namd3/namd2: {' '.join(body)[:200]}",
        )
    )
    for line in lines:
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
    return checks
