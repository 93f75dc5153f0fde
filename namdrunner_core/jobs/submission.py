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
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from namdrunner_core.errors import (
    CommandTimeoutError,
    ConnectionFailedError,
    SchedulerError,
    SubmissionUncertainError,
)
from namdrunner_core.models import JobRecord
from namdrunner_core.scripts import LOOKUP_TOKEN, SBATCH_IN
from namdrunner_core.serde import to_rfc3339
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


@attrs.frozen(slots=True)
class Lookup:
    """A look-up of a submission by its token: the Slurm id found, and whether an absence is a fact
    (squeue AND sacct answered)."""

    slurm_id: str | None
    conclusive: bool


def match_token(rows: Sequence[tuple[str, str]], token: str, *, after_id: str | None = None) -> str | None:
    """Pure: the Slurm id among ``(id, comment)`` rows (jobs of the right name) that carries ``token``.

    Sites that do not store comments in accounting (no ``AccountingStoreFlags=job_comment``) show
    none in sacct: there the newest job of that name above ``after_id`` (the job's previous Slurm id)
    counts.
    """
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


def lookup_token(session: Session, token: str, job_name: str, *, after_id: str | None = None) -> Lookup:
    """The submission carrying ``token``, from squeue or sacct, asked by job name (so a job that already
    ended is found too), and whether not finding it is conclusive."""
    out = session.run_remote(LOOKUP_TOKEN, [job_name], check=False).stdout
    rows: list[tuple[str, str]] = []
    rcs: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split("|")
        if parts[0] in ("@@SQ", "@@AC") and len(parts) >= 3 and parts[1].strip():
            if len(parts) < 4 or parts[3].strip() == job_name:
                rows.append((parts[1].strip(), parts[2].strip()))
        elif line.startswith("@@LOOKUP_") and "_RC " in line:
            key, _, rc = line[2:].partition(" ")
            rcs[key] = int(rc) if rc.strip().isdigit() else 1
    found = match_token(rows, token, after_id=after_id)
    conclusive = rcs.get("LOOKUP_SQ_RC", 1) == 0 and rcs.get("LOOKUP_AC_RC", 1) == 0
    return Lookup(found, found is not None or conclusive)


def find_by_token(session: Session, token: str, job_name: str, *, after_id: str | None = None) -> str | None:
    """The Slurm id of the submission carrying ``token``; None when it was not found (conclusive or not:
    see :func:`lookup_token`)."""
    return lookup_token(session, token, job_name, after_id=after_id).slurm_id


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


#: ``slurm_state`` of a job whose last submission may or may not have been queued.
SUBMIT_UNCERTAIN = "SUBMIT_UNCERTAIN"


def uncertain(record: JobRecord, why: str, now: dt.datetime) -> JobRecord:
    """The record after an uncertain submission: status Unknown (it may be queued), the token kept,
    the time of the attempt kept as ``submitted_at`` (when sbatch may have queued it)."""
    return attrs.evolve(
        record,
        status=JobStatus.UNKNOWN,
        slurm_state=SUBMIT_UNCERTAIN,
        slurm_reason=None,
        submitted_at=now,
        updated_at=now,
        error_info=why,
    )


def not_submitted(record: JobRecord, now: dt.datetime, *, forced: bool = False) -> JobRecord:
    """The record once an uncertain submission is known not to have been queued (or a person said so):
    Created again (or Failed, when it ran before), without the uncertain mark."""
    ran_before = record.slurm_job_id is not None
    note = (
        "submitted again with --force although the last submission was uncertain"
        if forced
        else f"the submission of {to_rfc3339(record.submitted_at) or 'earlier'} did not reach Slurm "
        "(its token is in neither squeue nor sacct): submit again"
    )
    return attrs.evolve(
        record,
        status=JobStatus.FAILED if ran_before else JobStatus.CREATED,
        slurm_state=None,
        error_info=note,
        updated_at=now,
    )


def settle_uncertain(
    record: JobRecord, found: str | None, *, conclusive: bool, now: dt.datetime, force: bool = False
) -> JobRecord | None:
    """Pure: an uncertain submission after its token was looked up (``found``: the Slurm id it is
    queued under). Found: submitted with that id. Proven absent - the look-up was conclusive (squeue
    and sacct answered) and sbatch cannot be running any more (UNCERTAIN_SETTLES_S after the
    attempt) - or ``force``: not submitted. Else None: still unknown."""
    if found is not None:
        return submitted(record, found.split("_")[0], record.submitted_at or now)
    settled = conclusive and (now - (record.submitted_at or record.updated_at)).total_seconds() >= UNCERTAIN_SETTLES_S
    if settled or force:
        return not_submitted(record, now, forced=force and not settled)
    return None


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

    Raises :class:`SchedulerError` when Slurm refused the job (nothing queued);
    :class:`ConnectionFailedError` when sbatch ended without a clear answer and Slurm, asked by the
    token, proves the job is not queued (it may be submitted again); and
    :class:`SubmissionUncertainError` when it cannot be known: sbatch may still be running (the
    command timed out or the connection dropped) or Slurm could not be asked. Later syncs resolve it.
    """
    args = ["sbatch", "--parsable", f"--comment={token}", *extra, script_name]
    sbatch_ended = True
    try:
        result = session.run_remote(SBATCH_IN, [workdir, *args], check=False, timeout=SBATCH_TIMEOUT_S)
        return parse_sbatch(result.stdout, result.stderr, result.exit_code).job_id
    except (ConnectionFailedError, CommandTimeoutError) as exc:
        why = str(exc)
        sbatch_ended = False  # it may still be waiting for the controller, and queue the job after all
    except SchedulerError as exc:
        if not _uncertain(exc):
            raise
        why = exc.scheduler_message
    try:
        lookup = lookup_token(session, token, job_name, after_id=after_id)
    except (ConnectionFailedError, CommandTimeoutError):
        lookup = Lookup(None, conclusive=False)
    if lookup.slurm_id is not None:
        return lookup.slurm_id.split("_")[0]  # an array shows as 123_[0-5] or 123_0: its id is 123
    if sbatch_ended and lookup.conclusive:
        raise ConnectionFailedError(
            f"sbatch did not answer clearly ({why}) and Slurm, asked by this submission's token, has no such "
            "job: it was not submitted; submit again"
        )
    raise SubmissionUncertainError(
        f"submission uncertain: sbatch did not answer clearly ({why}) and Slurm could not yet say whether "
        "the job was queued; `namdrunner sync` looks for it by its token until it knows - do not submit it "
        "again meanwhile"
    )


#: How long after an uncertain submission a look-up that finds nothing proves it was not queued:
#: sbatch itself is ended after 5 minutes on the cluster (sbatch_in.sh), so by then it cannot queue it.
UNCERTAIN_SETTLES_S = 360.0


__all__ = [
    "SBATCH_TIMEOUT_S",
    "SUBMIT_UNCERTAIN",
    "UNCERTAIN_MESSAGES",
    "UNCERTAIN_SETTLES_S",
    "Lookup",
    "find_by_token",
    "lookup_token",
    "match_token",
    "new_token",
    "not_submitted",
    "settle_uncertain",
    "submit_once",
    "submitted",
    "uncertain",
]
