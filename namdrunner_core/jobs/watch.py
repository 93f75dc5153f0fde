"""Watching jobs until they finish: sync plus progress, backing off politely."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from namdrunner_core.jobs.events import Event, events
from namdrunner_core.jobs.submission import SUBMIT_UNCERTAIN
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.models import JobRecord

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.store import JobStore


def watch_jobs(
    session: Session,
    store: JobStore,
    on_update: Callable[[list[JobRecord]], None],
    *,
    job_ids: list[str] | None = None,
    min_interval: float = 2.0,
    max_interval: float = 60.0,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_event: Callable[[list[Event]], None] | None = None,
) -> list[JobRecord]:
    """Sync (and read progress of running jobs) until every watched job is finished.

    Polls at ``min_interval``, doubling to ``max_interval`` while no job changes status (progress
    alone does not count) and dropping back when one does; each poll is one sync (whose status
    command also reads the running jobs' new log lines). ``on_update`` gets the watched records after every round;
    ``on_event`` what a person wants to hear (:mod:`namdrunner_core.jobs.events`: a campaign finished or
    needs them, a job ended).
    """
    interval = min_interval
    deadline = None if timeout is None else time.monotonic() + timeout

    def watched() -> list[JobRecord]:
        records = store.list_jobs(profile=session.profile.name)
        records = [r for r in records if r.remote_user == session.user]
        if job_ids is not None:
            return [r for r in records if r.job_id in job_ids]
        return [
            r
            for r in records
            if (r.slurm_job_id or r.slurm_state == SUBMIT_UNCERTAIN) and (r.status.is_active or not r.finalized)
        ]

    targets = [r.job_id for r in watched()]
    job_ids = targets if job_ids is None else job_ids
    while True:
        before = {r.job_id: r for r in watched()}
        statuses = {k: r.status for k, r in before.items()}
        # ONE sync: its status command also reads the new log lines of the running jobs (progress)
        sync_jobs(store, session, [r for r in before.values() if r.status.is_active or not r.finalized])
        current = watched()
        on_update(current)
        told = events(before, current)
        if told and on_event is not None:
            on_event(told)
        if all(r.status.is_terminal and r.finalized for r in current):
            return current
        if deadline is not None and time.monotonic() > deadline:
            return current
        # back off while no job changes status (a running job's progress alone does not reset it)
        moved = any(statuses.get(r.job_id) is not r.status for r in current)
        interval = min_interval if moved else min(interval * 2, max_interval)
        sleep(interval)
