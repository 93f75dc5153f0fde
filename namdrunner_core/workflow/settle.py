"""After a sync: the stages a failed stage stopped, marked and cancelled (see :mod:`namdrunner_core.jobs.settle`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from namdrunner_core.jobs.settle import plan_settlement
from namdrunner_core.jobs.sync import write_job_infos

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.store import JobStore


def settle_workflows(store: JobStore, session: Session, workflow_ids: Sequence[str] | None = None) -> list[str]:
    """After a sync: mark the stages a failed stage stopped, cancelling any still pending (ONE command).
    ``sync`` does this itself; this is for callers that manage records directly. Returns marked ids."""
    ids = (
        workflow_ids
        if workflow_ids is not None
        else sorted({r.workflow_id for r in store.list_jobs(profile=session.profile.name) if r.workflow_id})
    )
    groups = store.get_workflows(ids)
    records = [r for wid in groups for r in store.list_jobs(workflow_id=wid)]
    marked, to_cancel = plan_settlement(records, groups)
    if to_cancel:
        session.slurm(["scancel", *to_cancel], check=False)
    if marked:
        store.save_jobs(marked)
        write_job_infos(session, marked)
    return [r.job_id for r in marked]


__all__ = ["plan_settlement", "settle_workflows"]
