"""Pure: what a workflow stage that ended without success does to the stages after it.

A stage that failed, timed out, was preempted or was cancelled (by the person, an admin or Slurm)
stops its chain: the stages after it are marked Cancelled with a note naming it, and any still
queued are to be cancelled (sites that leave dependants pending with DependencyNeverSatisfied). :func:`plan_settlement`
decides this from records alone; the sync applies it in the same write as the failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from namdrunner_core.models import GroupRecord, JobRecord, utcnow
from namdrunner_core.slurm.states import JobStatus, normalize_state


def plan_settlement(
    records: Sequence[JobRecord], groups: Mapping[str, GroupRecord]
) -> tuple[list[JobRecord], list[str]]:
    """Pure: for the stage records of some groups, the stages an unsuccessful stage stopped (marked records)
    and the Slurm ids still to cancel (sites that leave dependants pending). Only workflows chain:
    a sweep's points are independent, and a group not in ``groups`` is left alone."""
    by_workflow: dict[str, list[JobRecord]] = {}
    for r in records:
        group = groups.get(r.workflow_id or "")
        if group is not None and group.kind == "workflow":
            by_workflow.setdefault(group.id, []).append(r)
    marked: list[JobRecord] = []
    to_cancel: list[str] = []
    for wid, stages in by_workflow.items():
        stages.sort(key=lambda r: r.workflow_stage or 0)
        failed = next((r for r in stages if _stopped_chain(r)), None)
        if failed is None:
            continue
        stage_label = groups[wid].stage_name(failed.job_id) or failed.job_id
        note = f"not run: stage {stage_label!r} {_how_it_ended(failed)}"
        for r in stages:
            if (r.workflow_stage or 0) <= (failed.workflow_stage or 0) or r.status is JobStatus.COMPLETED:
                continue
            if r.status.is_active and r.slurm_job_id:
                to_cancel.append(r.slurm_job_id)
            if r.error_info != note or r.status is not JobStatus.CANCELLED:
                marked.append(
                    attrs.evolve(r, status=JobStatus.CANCELLED, error_info=note, updated_at=utcnow(), finalized=True)
                )
    return marked, to_cancel


def _stopped_chain(r: JobRecord) -> bool:
    """A stage that ended without success by itself (not one this settlement marked)."""
    if r.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        return False
    return not (r.error_info or "").startswith("not run: stage ")


def _how_it_ended(r: JobRecord) -> str:
    state = normalize_state(r.slurm_state or "")
    if r.status is JobStatus.CANCELLED:
        return "was cancelled"
    return f"ended {state}" if state in ("TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY") else "failed"
