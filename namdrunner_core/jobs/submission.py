"""``sbatch`` exactly once, whatever happens on the way: the duplicate-submission guard.

Every submission carries a token in ``--comment`` and a unique ``--job-name`` (the job id, or the sweep
id). When the outcome is uncertain - the connection dropped, the command timed out, or Slurm itself
answered ``Socket timed out`` / ``Unable to contact slurm controller`` (the job may be queued all the
same) - the token is looked up in squeue AND in sacct (a short job may already have left the queue)
before anything is decided. A job found is adopted; only a job found nowhere is reported as not
submitted. A retry after a crash (a token saved, no Slurm id) looks the old token up first.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING

import attrs

from namdrunner_core.errors import CommandTimeoutError, ConnectionFailedError, SchedulerError
from namdrunner_core.models import JobRecord
from namdrunner_core.scripts import LOOKUP_TOKEN, SBATCH_IN
from namdrunner_core.slurm.parse import parse_sbatch
from namdrunner_core.slurm.states import JobStatus

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session

#: What Slurm prints when a submission may or may not have been queued.
UNCERTAIN_MESSAGES = (
    "socket timed out",
    "unable to contact slurm controller",
    "slurm_receive_msg",
    "zero bytes were transmitted or received",
)
#: sbatch waits for the controller this long at most before the outcome is uncertain.
SBATCH_TIMEOUT_S = 120.0


def find_by_token(session: Session, token: str, job_name: str, *, after_id: str | None = None) -> str | None:
    """The Slurm id of the submission carrying ``token``, from squeue or sacct; None when neither knows it.

    Both are asked by job name, so a job that already ended is found too. Sites that do not store
    comments in accounting (no ``AccountingStoreFlags=job_comment``) show none in sacct: there the
    newest job of that name above ``after_id`` (the job's previous Slurm id) counts.
    """
    out = session.run_remote(LOOKUP_TOKEN, [job_name], check=False).stdout
    rows: list[tuple[str, str]] = []
    for line in out.splitlines():
        parts = line.split("|")
        if parts[0] in ("@@SQ", "@@AC") and len(parts) >= 3 and parts[1].strip():
            rows.append((parts[1].strip(), parts[2].strip()))
    for slurm_id, comment in rows:
        if comment == token:
            return slurm_id
    if rows and not any(comment for _, comment in rows):

        def number(slurm_id: str) -> int:
            head = slurm_id.split("_")[0]
            return int(head) if head.isdigit() else -1

        floor = number(after_id) if after_id else -1
        newer = [i for i, _ in rows if number(i) > floor]
        if newer:
            return max(newer, key=number)
    return None


def new_token() -> str:
    """A fresh duplicate-submission token (saved on the record BEFORE sbatch runs)."""
    return f"nr-{secrets.token_hex(6)}"


def submitted(record: JobRecord, slurm_id: str, now: dt.datetime) -> JobRecord:
    """The record as just submitted: PENDING with its Slurm id, everything of the last run cleared.

    The one reset for a single job, a workflow stage and a sweep point alike.
    """
    return attrs.evolve(
        record,
        status=JobStatus.PENDING,
        slurm_job_id=slurm_id,
        slurm_state="PENDING",
        slurm_reason=None,
        submitted_at=now,
        completed_at=None,
        updated_at=now,
        error_info=None,
        finalized=False,
        log_state=None,
        progress=None,
        exit_code=None,
        slurm_stdout=None,
        slurm_stderr=None,
        copy_back=None,
        copy_back_error=None,
    )


def _uncertain(exc: SchedulerError) -> bool:
    text = exc.scheduler_message.lower()
    return any(m in text for m in UNCERTAIN_MESSAGES)


def submit_once(
    session: Session,
    *,
    workdir: str,
    script_name: str,
    token: str,
    job_name: str,
    extra: list[str],
    after_id: str | None = None,
) -> str:
    """``cd workdir && sbatch --parsable --comment=token [extra] script_name``, never twice; the Slurm id.

    Raises :class:`SchedulerError` when Slurm refused the job (nothing queued), and
    :class:`ConnectionFailedError` when the outcome stayed unknown and the token is nowhere: then the
    job was not submitted and may be submitted again.
    """
    args = ["sbatch", "--parsable", f"--comment={token}", *extra, script_name]
    try:
        result = session.run_remote(SBATCH_IN, [workdir, *args], check=False, timeout=SBATCH_TIMEOUT_S)
        return parse_sbatch(result.stdout, result.stderr, result.exit_code).job_id
    except (ConnectionFailedError, CommandTimeoutError) as exc:
        why = str(exc)
    except SchedulerError as exc:
        if not _uncertain(exc):
            raise
        why = exc.scheduler_message
    found = find_by_token(session, token, job_name, after_id=after_id)
    if found is not None:
        return found.split("_")[0]  # an array shows as 123_[0-5] or 123_0: its id is 123
    raise ConnectionFailedError(
        f"sbatch did not answer clearly ({why}) and no job carries this submission's token in squeue or sacct: "
        "it was not submitted; submit again"
    )


__all__ = ["SBATCH_TIMEOUT_S", "UNCERTAIN_MESSAGES", "find_by_token", "new_token", "submit_once", "submitted"]
