"""What a person wants to hear about without watching: a campaign that reached its target, or one that
stopped or paused and needs them; a single job that finished or failed. Found by comparing a job's
record before and after a sync (pure: no cluster, no store)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from namdrunner_core.models import JobRecord


@attrs.frozen(slots=True)
class Event:
    """One thing to tell: ``kind`` is ``finished`` or ``needs you``."""

    job_id: str
    job_name: str
    kind: str
    text: str

    @property
    def title(self) -> str:
        """A notification's title."""
        return f"namdrunner: {self.job_name} {self.kind}"


def _campaign_state(r: JobRecord | None) -> str | None:
    return str(r.campaign.get("state")) if r is not None and r.campaign else None


def events(before: Mapping[str, JobRecord], after: Sequence[JobRecord]) -> list[Event]:
    """The events between two readings of the same jobs (a job first seen now tells nothing)."""
    out: list[Event] = []
    for r in after:
        old = before.get(r.job_id)
        if old is None:
            continue
        state, was = _campaign_state(r), _campaign_state(old)
        if state is not None and state != was:
            if state == "done":
                out.append(Event(r.job_id, r.job_name, "finished", f"campaign {r.job_id} reached its target"))
            elif state in ("pause", "stopped"):
                reason = str(r.campaign.get("reason", "")) if r.campaign else ""
                out.append(Event(r.job_id, r.job_name, "needs you", f"campaign {r.job_id} {state}: {reason}"))
        elif state is None and r.status.is_terminal and not old.status.is_terminal:
            kind = "finished" if r.status.value == "Completed" else "needs you"
            out.append(Event(r.job_id, r.job_name, kind, f"job {r.job_id} {r.status.value}"
                             + (f": {r.error_info}" if r.error_info else "")))  # fmt: skip
    return out
