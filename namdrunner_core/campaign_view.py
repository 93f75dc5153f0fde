"""Where a campaign stands, read from its ``campaign.json`` (the state the segments write on the cluster;
a job record keeps it as last read): what ``job show``, ``--json``, the web page and the notebooks show.
Pure: no cluster, no store."""

from __future__ import annotations

import math
import re
from typing import Any

import attrs

from namdrunner_core.serde import to_data


@attrs.frozen(slots=True)
class CampaignView:
    """Where a campaign stands, as ``job show`` says it: ``212.4 of 500 ns, segment 9 of ~21, attempt 2
    (NODE_FAIL), ETA ...``."""

    __serde_computed__ = ("line",)

    state: str
    reason: str
    done_ns: float
    target_ns: float
    segment: int
    segments_estimate: int | None
    attempt: int
    last_outcome: str | None
    ns_per_day: float | None
    eta_s: float | None
    attempts_total: int

    @property
    def line(self) -> str:
        """One line for a person."""
        about = f" of ~{self.segments_estimate}" if self.segments_estimate else ""
        why = f" ({self.last_outcome})" if self.last_outcome and self.attempt > 1 else ""
        eta = f", ETA {_duration(self.eta_s)}" if self.eta_s and self.state == "running" else ""
        head = (
            f"{self.done_ns:.4g} of {self.target_ns:.4g} ns, segment {self.segment}{about}, attempt {self.attempt}{why}"
        )
        tail = "" if self.state == "running" else f" - {self.state}: {self.reason}"
        return head + eta + tail


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days} d {hours} h" if days else f"{hours} h {rest // 60} min"


def view(state: dict[str, Any], current_step: int | None = None) -> CampaignView:
    """The :class:`CampaignView` of a ``campaign.json`` (``current_step``: the newest step the log shows)."""
    attempts = state.get("attempts") or []
    last = attempts[-1] if attempts else None
    first = int(state.get("first_step", 0))
    dt = float(state.get("timestep_fs", 2.0))
    reached = max([first, current_step or 0] + [a.get("end_step") or 0 for a in attempts] + [
        a.get("start_step") or 0 for a in attempts])  # fmt: skip
    target = int(state["target_step"])
    done_ns = (min(reached, target) - first) * dt * 1e-6
    speed = state.get("ns_per_day")
    left_ns = max(0.0, (target - reached) * dt * 1e-6)
    estimate = None
    if speed and state.get("walltime_s"):
        per_segment = speed * (float(state["walltime_s"]) * (1 - float(state.get("margin", 0.1))) - 60) / 86400
        if per_segment > 0:
            estimate = (last["segment"] if last else 0) + math.ceil(left_ns / per_segment)
    return CampaignView(
        state=str(state.get("state", "")),
        reason=str(state.get("reason", "")),
        done_ns=done_ns,
        target_ns=(target - first) * dt * 1e-6,  # the target step (rounded to stepspercycle) in ns
        segment=int(last["segment"]) if last else 1,
        segments_estimate=estimate,
        attempt=int(last["attempt"]) if last else 1,
        last_outcome=_previous_outcome(attempts),
        ns_per_day=speed,
        eta_s=left_ns / speed * 86400 if speed else None,
        attempts_total=len(attempts),
    )


def _previous_outcome(attempts: list[dict[str, Any]]) -> str | None:
    """Why the current segment is on a later attempt: the outcome of the attempt before it."""
    if len(attempts) < 2 or attempts[-1]["segment"] != attempts[-2]["segment"]:
        return None
    return str(attempts[-2].get("outcome") or "") or None


#: a Slurm job id (an array task included), as campaign.json may name one
SLURM_ID = re.compile(r"^\d+(_\d+)?$")


def newest_slurm_id(state: dict[str, Any]) -> str | None:
    """The Slurm job the campaign runs now, or waits for: the next segment once submitted, else the
    newest attempt's."""
    nxt = state.get("next_job")
    if isinstance(nxt, str) and SLURM_ID.match(nxt):
        return nxt
    attempts = state.get("attempts") or []
    sid = attempts[-1].get("slurm_id") if attempts else None
    return sid if isinstance(sid, str) and SLURM_ID.match(sid) else None


def campaign_json(state: dict[str, Any], current_step: int | None = None) -> dict[str, Any]:
    """A campaign as ``--json`` shows it (``job show``, ``workflow show``): where it stands
    (:class:`CampaignView`, its ``line`` included) and every attempt as campaign.json records it."""
    data: dict[str, Any] = to_data(view(state, current_step))
    return {**data, "attempts": state.get("attempts", [])}
