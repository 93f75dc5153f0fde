"""When a job not yet submitted would start: Slurm's own answer (``sbatch --test-only``, which submits
nothing), for the review before creating a job.

ONE remote command: the batch script goes on stdin, the cluster's clock comes back beside Slurm's
answer (Slurm prints its local time without a zone, so the wait is counted on the cluster's clock,
never the laptop's). A profile with no Slurm (``scheduler = "none"``) has no such estimate.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import attrs

from namdrunner_core.errors import RemoteError, ValidationError
from namdrunner_core.scripts import START_ESTIMATE

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session

_WILL_START = re.compile(
    r"Job \d+ to start at (?P<at>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d) using (?P<cpus>\d+) processors? "
    r"on nodes? (?P<nodes>\S+) in partition (?P<partition>\S+)"
)
_NOW = re.compile(r"^@@NOW (\d+) ([+-]\d{4})$", re.M)
_RC = re.compile(r"^@@RC (\d+)$", re.M)


@attrs.frozen(slots=True)
class StartEstimate:
    """Slurm's answer for a job as planned: when it would start (``start``, in the cluster's zone) and
    where, or why Slurm would refuse it (``refused``, Slurm's own words)."""

    __serde_computed__ = ("wait_s",)

    asked_at: dt.datetime
    start: dt.datetime | None = None
    partition: str = ""
    nodes: str = ""
    refused: str = ""

    @property
    def wait_s(self) -> float | None:
        """Seconds from asking to the estimated start (0: it would start at once)."""
        if self.start is None:
            return None
        return max(0.0, (self.start - self.asked_at).total_seconds())


def parse_start_estimate(out: str) -> StartEstimate:
    """What ``start_estimate.sh`` printed: the clock line, Slurm's lines, the exit code."""
    now = _NOW.search(out)
    rc = _RC.search(out)
    if now is None or rc is None:
        raise RemoteError(f"the start estimate gave no answer: {out.strip()[-300:]!r}")
    zone = dt.datetime.strptime(now.group(2), "%z").tzinfo
    asked = dt.datetime.fromtimestamp(int(now.group(1)), tz=zone)
    said = [line for line in out.splitlines() if line.strip() and not line.startswith("@@")]
    if rc.group(1) == "0":
        for line in said:
            if m := _WILL_START.search(line):
                start = dt.datetime.fromisoformat(m.group("at")).replace(tzinfo=zone)
                return StartEstimate(asked, start, m.group("partition"), m.group("nodes"))
    reason = "; ".join(line.removeprefix("sbatch: ").removeprefix("error: ").strip() for line in said)
    return StartEstimate(asked, refused=reason or f"sbatch --test-only failed (exit {rc.group(1)}) without a word")


def estimate_start(session: Session, sbatch_text: str) -> StartEstimate:
    """When Slurm would start a job with this batch script, asked now (nothing is submitted)."""
    if session.profile.scheduler == "none":
        raise ValidationError(
            "profile", f"{session.profile.name!r} has no Slurm (scheduler = none): a job starts when a slot is free"
        )
    result = session.run_remote(START_ESTIMATE, stdin=sbatch_text.encode(), check=False)
    return parse_start_estimate(result.stdout + "\n" + result.stderr)
