"""Many jobs at once: cancelled or deleted all or nothing (every job is checked before the first is
touched), their NAMD logs tailed in one command.

What the web page's bulk actions and ``Workflow.delete`` run; the CLI's ``job cancel``/``job delete``
act on one job (:meth:`Job.cancel`, :meth:`Job.delete`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from namdrunner_core.errors import ValidationError
from namdrunner_core.jobs.job import Job
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.scripts import TAILS
from namdrunner_core.slurm.script import NAMD_LOG_NAME

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.models import JobRecord
    from namdrunner_core.store import JobStore


def _jobs(session: Session, store: JobStore, job_ids: Sequence[str]) -> list[Job]:
    if not job_ids:
        raise ValidationError("job", "select at least one job")
    return [Job(session, store, store.get_job(j)) for j in dict.fromkeys(job_ids)]  # exact ids: one unknown stops all


def cancel_jobs(session: Session, store: JobStore, job_ids: Sequence[str]) -> list[str]:
    """Cancel the queued and running jobs among ``job_ids`` with ONE ``scancel``, then sync them;
    the ids cancelled (a job already over is left as it is)."""
    jobs = _jobs(session, store, job_ids)
    active = [j for j in jobs if j.record.slurm_job_id and j.status.is_active]
    if active:
        session.slurm(["scancel", *[j.record.slurm_job_id or "" for j in active]], check=False)
        sync_jobs(store, session)
    return [j.id for j in active]


def delete_jobs(
    session: Session,
    store: JobStore,
    job_ids: Sequence[str],
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Delete ``job_ids`` (local rows and both remote directories, through the delete safety check):
    every job is checked first (:meth:`Job.check_deletable`: results still only on scratch, an
    uncertain submission) and one refusal deletes nothing; the active ones are cancelled with ONE
    ``scancel``. ``progress`` hears (deleted so far, in all) after each job. The ids deleted, in order."""
    jobs = _jobs(session, store, job_ids)
    for job in jobs:
        job.check_deletable(force=force)
    active = [j.record.slurm_job_id for j in jobs if j.record.slurm_job_id and j.status.is_active]
    if active:
        session.slurm(["scancel", *[i for i in active if i]], check=False)
    if progress is not None:
        progress(0, len(jobs))  # every job checked: the deleting begins
    for done, job in enumerate(jobs, 1):
        job.delete(force=True, cancel=False)
        if progress is not None:
            progress(done, len(jobs))
    return [j.id for j in jobs]


def log_tails(session: Session, records: Sequence[JobRecord], lines: int = 200) -> dict[str, str]:
    """The last ``lines`` of many jobs' NAMD logs, in ONE remote command (a job whose log does not
    exist yet is left out)."""
    if not records:
        return {}
    args = [str(lines)]
    for r in records:
        args += [r.job_id, f"{r.results_dir}/{NAMD_LOG_NAME}"]
    out = session.run_remote(TAILS, args, check=False).stdout.split("\n")
    tails: dict[str, str] = {}
    for i, line in enumerate(out):
        parts = line.split()
        if len(parts) == 3 and parts[0] == "@@TAIL" and parts[2] == "ok" and i + 1 < len(out):
            tails[parts[1]] = base64.b64decode(out[i + 1].strip() or b"").decode("utf-8", "replace")
    return tails
