"""Sync and discovery: a constant number of remote commands, whatever the number of jobs.

A sync is at most three commands: ONE status query (squeue and sacct for every active id), ONE
finalize for every job that reached a terminal state (copy scratch back to project storage on the
cluster, read Slurm's stdout/stderr, list outputs, read the NAMD log's new lines), and ONE write of
every changed ``job_info.json``.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

import attrs

from namdrunner_core.errors import NamdRunnerError, ValidationError
from namdrunner_core.job_info import JOB_INFO_NAME, job_info_bytes
from namdrunner_core.jobs import campaign
from namdrunner_core.jobs.ownership import belongs, own_records
from namdrunner_core.jobs.script_output import (
    ClusterClock,
    FinalizeOutput,
    LogChunk,
    StatusOutput,
    advance_log,
    log_offset,
    parse_file_sections,
    parse_finalize_output,
    parse_log_output,
    parse_status_output,
    summary_from,
)
from namdrunner_core.jobs.settle import plan_settlement
from namdrunner_core.jobs.submission import SUBMIT_UNCERTAIN, match_token, settle_uncertain
from namdrunner_core.models import JobRecord, OutputFile, utcnow
from namdrunner_core.namd.log import LogOutcome
from namdrunner_core.scripts import FINALIZE, STATUS, WRITE_FILES
from namdrunner_core.scripts.campaign_step import STATE_NAME
from namdrunner_core.serde import converter, to_rfc3339
from namdrunner_core.slurm.parse import (
    SACCT_FIELDS,
    SQUEUE_FORMAT,
    SacctRow,
    SqueueRow,
    parse_sacct_all,
    parse_squeue,
)
from namdrunner_core.slurm.resources import parse_walltime
from namdrunner_core.slurm.script import NAMD_LOG_NAME
from namdrunner_core.slurm.states import JobStatus, explain_pending_reason, normalize_state, status_from_slurm

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.store import JobStore

#: A job this young that neither squeue nor sacct knows is assumed to be in accounting lag.
ACCOUNTING_LAG_S = 300.0
#: How long Slurm's verdict is asked for again after a job ended while accounting did not answer.
TRUTH_WINDOW_S = 14 * 86400.0
#: A job gone from squeue this long after its wall time ran out is not running, whatever an
#: accounting record stuck at RUNNING (a "runaway" record) says.
RUNAWAY_GRACE_S = 600.0
#: A job gone from squeue this long while accounting still calls it active is not running: the
#: accounting record is a runaway (its end was never written), the exit marker and log decide.
LEFT_QUEUE_GRACE_S = 180.0
#: ``slurm_state`` of a job that left the queue while nobody could say how it ended: a guess,
#: replaced by Slurm's verdict when accounting answers (within :data:`TRUTH_WINDOW_S`).
GUESSED = "UNKNOWN"

_RESTART_HINT = "`namdrunner job restart {job_id}` continues from its newest checkpoint"
_FAILURE_TEXT = {
    "TIMEOUT": "TIMEOUT: the job hit its wall-time limit; " + _RESTART_HINT,
    "OUT_OF_MEMORY": "OUT_OF_MEMORY: the job ran out of memory; ask for more memory",
    "NODE_FAIL": "NODE_FAIL: a node failed under the job; " + _RESTART_HINT,
    "PREEMPTED": "PREEMPTED: a job of higher priority took the node; " + _RESTART_HINT,
    "BOOT_FAIL": "BOOT_FAIL: the node did not boot; submit again",
    "DEADLINE": "DEADLINE: the job reached its deadline",
}


def _failure_text(r: JobRecord, acct: SacctRow) -> str:
    """What a failed Slurm state says to the person, with the fix (the job's own restart command)."""
    text = _FAILURE_TEXT.get(acct.state_name, f"{acct.state_name}: exit code {acct.exit_code}")
    return text.replace("{job_id}", r.job_id)


#: States of an earlier run of a job that Slurm requeued (``sacct -D`` lists them).
_REQUEUE_CAUSES = ("NODE_FAIL", "PREEMPTED", "REQUEUED", "BOOT_FAIL", "REQUEUE_HOLD", "REQUEUE_FED")


@attrs.frozen(slots=True)
class SyncReport:
    """What a sync did; ``warnings`` are one-line facts the person should know (accounting did not
    answer, a Slurm id was reused by another job), each said once per sync."""

    checked: int
    changed: tuple[str, ...]
    finished: tuple[str, ...]
    remote_commands: int
    warnings: tuple[str, ...] = ()


def _awaiting_truth(r: JobRecord, now: dt.datetime) -> bool:
    """A job that left the queue while nobody could say how it ended: Slurm is asked again."""
    if not (r.status.is_terminal and r.slurm_state == GUESSED and r.slurm_job_id):
        return False
    return (now - (r.completed_at or r.updated_at)).total_seconds() < TRUTH_WINDOW_S


def _needs_sync(r: JobRecord, now: dt.datetime | None = None) -> bool:
    """Active, not yet settled, ended with results not yet safely on project storage, ended on a
    guess that Slurm's verdict should replace, or submitted with an unknown outcome."""
    if r.slurm_state == SUBMIT_UNCERTAIN:
        return True
    return (
        r.status.is_active
        or not r.finalized
        or (r.status.is_terminal and not r.results_safe)
        or _awaiting_truth(r, now or utcnow())
    )


_ARRAY_RANGE = re.compile(r"^(\d+)_\[([\d,\-]+)(?:%\d+)?\]$")
_T = TypeVar("_T")


def _expand_arrays(rows: dict[str, _T]) -> dict[str, _T]:
    """``123_[5-9,12]`` (pending array tasks shown together) also answers for ``123_5`` ... ``123_12``."""
    out = dict(rows)
    for key, row in rows.items():
        m = _ARRAY_RANGE.match(key)
        if not m:
            continue
        for part in m.group(2).split(","):
            lo, _, hi = part.partition("-")
            if lo.isdigit() and (not hi or hi.isdigit()):
                for i in range(int(lo), int(hi or lo) + 1):
                    out.setdefault(f"{m.group(1)}_{i}", row)
    return out


def _status_of(
    r: JobRecord,
    sq: SqueueRow | None,
    acct: SacctRow | None,
    squeue_ok: bool,
    sacct_ok: bool,
    now: dt.datetime,
    *,
    earlier: Sequence[SacctRow] = (),
    clock: ClusterClock | None = None,
    reused: bool = False,
) -> tuple[JobRecord, bool]:
    """The record after this status answer, and whether it must be finalized now. ``sq`` and
    ``acct`` are records of THIS job only (see :func:`belongs`); ``earlier`` its earlier runs (Slurm
    requeued it); ``reused``: Slurm knows another job by this id (then no accounting lag is waited for:
    the id was handed out again, ours is gone)."""
    requeued = _requeue_note(r, earlier)
    if sq is not None:
        status = sq.status
        reason = None if sq.reason in ("None", "") else sq.reason
        blocking, why = explain_pending_reason(reason)
        if status is JobStatus.PENDING or status is JobStatus.RUNNING:
            note = requeued or (why if blocking else None)
            log_state = r.log_state
            if log_state and log_state.get("left_queue_at"):
                log_state = {k: v for k, v in log_state.items() if k != "left_queue_at"}
            return attrs.evolve(
                r,
                status=status,
                slurm_state=normalize_state(sq.state),
                slurm_reason=reason,
                error_info=note,
                log_state=log_state,
            ), False
    if sq is not None and sq.status.is_terminal and acct is None:
        acct = SacctRow(sq.job_id, sq.state, "", "", "", "", "", sq.name)
    if acct is not None and (sq is None or sq.status.is_terminal):
        status = status_from_slurm(acct.state)
        if status.is_terminal:
            error = None
            if status is JobStatus.FAILED:
                error = _failure_text(r, acct)
            return attrs.evolve(
                r,
                status=status,
                slurm_state=acct.state,
                exit_code=acct.exit_code or None,
                slurm_reason=None,
                error_info=error,
            ), True
        if squeue_ok and sq is None:
            # Gone from squeue but accounting still says active: a lag of seconds - or a record whose
            # end will never be written (a "runaway", after a controller lost its state). Past its
            # wall time, or gone for LEFT_QUEUE_GRACE_S, it is not running: its exit marker and log
            # decide, and Slurm's verdict is asked for again.
            gone = _left_queue_at(r)
            if _past_its_time(r, acct, now, clock) or (gone and (now - gone).total_seconds() > LEFT_QUEUE_GRACE_S):
                return attrs.evolve(r, slurm_state=GUESSED), True
            if gone is None:
                marked = {**(r.log_state or {}), "left_queue_at": to_rfc3339(now)}
                return attrs.evolve(r, slurm_state=normalize_state(acct.state), log_state=marked), False
            return attrs.evolve(r, slurm_state=normalize_state(acct.state)), False
        return attrs.evolve(r, status=status, slurm_state=normalize_state(acct.state)), False
    if not squeue_ok:
        return r, False
    submitted = r.submitted_at or r.created_at
    if (now - submitted).total_seconds() < ACCOUNTING_LAG_S and sacct_ok and not reused:
        return r, False  # just submitted and not yet visible anywhere
    # Not queued and unknown to accounting (it did not answer, or purged the job): the job's exit
    # marker and log decide, and Slurm's own verdict is asked for again later.
    return attrs.evolve(r, slurm_state=GUESSED), True


def _left_queue_at(r: JobRecord) -> dt.datetime | None:
    text = (r.log_state or {}).get("left_queue_at")
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _past_its_time(r: JobRecord, acct: SacctRow, now: dt.datetime, clock: ClusterClock | None) -> bool:
    """True when the job's wall time (from its start, else its submission) ran out RUNAWAY_GRACE_S ago."""
    started = clock.to_utc(acct.start) if clock is not None and acct.start else None
    begin = started or r.submitted_at or r.created_at
    try:
        limit = parse_walltime(r.resources.walltime)
    except ValidationError:
        return False
    return (now - begin).total_seconds() > limit + RUNAWAY_GRACE_S


def _requeue_note(r: JobRecord, earlier: Sequence[SacctRow]) -> str | None:
    """What to say of a job Slurm requeued: why, and that the rerun starts from step 0."""
    causes = [row for row in earlier if normalize_state(row.state) in _REQUEUE_CAUSES]
    if not causes:
        return None
    last = causes[-1]
    step = r.progress.last_checkpoint_step if r.progress is not None else None
    note = (
        f"Slurm requeued it after {normalize_state(last.state)} ({len(causes)} time{'s' if len(causes) > 1 else ''}): "
        "it runs again from step 0 (a requeue ignores checkpoints)"
    )
    if step:
        note += f"; a checkpoint at step {step} exists: `namdrunner job cancel` then `job restart` continues from it"
    return note


def _truth_after_guess(r: JobRecord, acct: SacctRow | None) -> JobRecord | None:
    """Slurm's verdict for a job whose end was guessed (accounting did not answer then): the record
    with it, or None while accounting still says nothing final. The copy-back and the log stay as
    they were; a failure NAMD's log proves stays a failure."""
    if acct is None:
        return None
    status = status_from_slurm(acct.state)
    if not status.is_terminal:
        return None
    error = None
    if status is JobStatus.FAILED:
        error = _failure_text(r, acct)
    outcome = r.progress.outcome if r.progress is not None else ""
    if outcome == LogOutcome.FAILED.value and r.error_info and r.error_info.startswith("NAMD: "):
        status, error = JobStatus.FAILED, r.error_info
    return attrs.evolve(
        r, status=status, slurm_state=acct.state, exit_code=acct.exit_code or r.exit_code, error_info=error
    )


def _apply_finalize(r: JobRecord, fin: FinalizeOutput | None, now: dt.datetime) -> JobRecord:
    if fin is None:
        return r
    names = r.slurm_output_names or ("", "")
    stdout = fin.files.get(names[0], b"").decode("utf-8", "replace")
    stderr = fin.files.get(names[1], b"").decode("utf-8", "replace")
    marker = fin.files.get(".namdrunner_exit", b"").decode().split()
    prog, state = advance_log(r.log_state, fin.log, r.total_steps)
    status, error = r.status, r.error_info
    if r.slurm_state == GUESSED:  # Slurm could not say: the exit marker and the log decide, for now
        if marker and marker[0] == "0" and prog.outcome is not LogOutcome.FAILED:
            status, error = JobStatus.COMPLETED, None
        else:
            status = JobStatus.FAILED
            if marker:
                error = f"exit code {marker[0]}"
            elif fin.log is None or not fin.log.found:
                error = "left the queue without running (no NAMD log, no exit marker)"
            else:
                error = "left the queue without an exit marker (killed?)"
            error += "; Slurm's own verdict is asked for at every sync until accounting answers"
    elif (
        status is JobStatus.FAILED
        and normalize_state(r.slurm_state or "") in ("TIMEOUT", "NODE_FAIL", "PREEMPTED")
        and "checkpoint at step" not in (error or "")
        and "wrote no checkpoint" not in (error or "")
    ):
        step = state.last_checkpoint_step
        error = (error or "") + (
            f" (checkpoint at step {step})" if step else " - but it wrote no checkpoint: submit it again"
        )
    if prog.outcome is LogOutcome.FAILED and prog.message:
        error = f"NAMD: {prog.message}" + (f" ({error})" if error and status is not JobStatus.COMPLETED else "")
        if status is JobStatus.COMPLETED:
            status = JobStatus.FAILED
    if status is JobStatus.FAILED and not error and stderr.strip():
        error = stderr.strip().splitlines()[-1][:500]
    outputs = [OutputFile(n, s, m) for n, s, m in fin.listing]
    return attrs.evolve(
        r,
        status=status,
        error_info=error,
        slurm_stdout=stdout,
        slurm_stderr=stderr,
        output_files=sorted(outputs, key=lambda o: o.name),
        log_state=converter.unstructure(state),
        progress=attrs.evolve(summary_from(prog, state), eta_s=None),  # ended: its final step, no ETA
        # settled once Slurm's answer and the logs are in; the copy-back is its own state, retried by
        # every later sync until its manifests match (a failed rsync no longer passes for done)
        finalized=True,
        copy_back=fin.copy_back,
        copy_back_error=fin.copy_back_error,
        completed_at=r.completed_at or now,
        updated_at=now,
    )


def profiles_to_sync(store: JobStore, default: str) -> list[str]:
    """The profiles with jobs a sync has work for (active, or ended and not settled); ``[default]``
    when there are none."""
    names = {r.profile for r in store.list_jobs(active_only=True)}
    names |= {r.profile for r in store.list_jobs() if r.slurm_job_id and not r.finalized}
    return sorted(names) or [default]


@attrs.define
class _Asked:
    """What the one status command answered (nothing asked: all empty, all "ok")."""

    status: StatusOutput | None = None
    squeue_rows: dict[str, SqueueRow] = attrs.Factory(dict)
    acct_rows: dict[str, list[SacctRow]] = attrs.Factory(dict)
    squeue_ok: bool = True
    sacct_ok: bool = True
    chunks: dict[str, LogChunk] = attrs.Factory(dict)
    files: dict[str, bytes] = attrs.Factory(dict)
    warnings: list[str] = attrs.Factory(list)


def _ask(session: Session, to_ask: Sequence[JobRecord], unsure: Sequence[JobRecord]) -> _Asked:
    """ONE command: squeue and sacct for ``to_ask``, a look-up by token for ``unsure``, the new NAMD log
    lines of the active jobs and the campaign.json of the campaigns."""
    ids = ",".join(dict.fromkeys(r.slurm_job_id or "" for r in to_ask))
    names = ",".join(dict.fromkeys(r.job_id for r in unsure))
    tails = [
        x
        for r in to_ask
        if r.status.is_active
        for x in (r.job_id, f"{r.scratch_dir}/{NAMD_LOG_NAME}", str(log_offset(r.log_state)))
    ] + [x for r in to_ask if r.campaign is not None for x in ("@@FILE", r.job_id, f"{r.scratch_dir}/{STATE_NAME}")]
    sent = time.time()
    out = session.run_remote(STATUS, [ids, SQUEUE_FORMAT, ",".join(SACCT_FIELDS), names, *tails], check=False).stdout
    status = parse_status_output(out)
    if status.clock is not None:  # the two clocks compared: when this answer arrived, by the laptop's
        arrived = time.time()
        status = attrs.evolve(status, clock=attrs.evolve(status.clock, arrived=arrived, flight_s=arrived - sent))
    asked = _Asked(status, squeue_ok=status.squeue_ok, sacct_ok=status.sacct_ok, chunks=parse_log_output(out),
                   files=parse_file_sections(out))  # fmt: skip
    if to_ask:
        asked.squeue_rows = _expand_arrays({row.job_id: row for row in parse_squeue(status.squeue)})
        asked.acct_rows = _expand_arrays(parse_sacct_all(status.sacct) if status.sacct_ok else {})
        if not status.squeue_ok:
            asked.warnings.append(
                "the Slurm controller did not answer (squeue): states are as before; sync again later"
            )
        if not status.sacct_ok:
            asked.warnings.append(
                "Slurm's accounting (sacct) did not answer: jobs that left the queue are settled by their "
                "exit marker and log, marked as guesses until sacct answers"
            )
    return asked


def sync_jobs(store: JobStore, session: Session, jobs: Sequence[JobRecord] | None = None) -> SyncReport:  # noqa: C901 - one pass over every profile's jobs; its steps are named functions
    """Bring the given jobs (default: every active or unfinished job of this session) up to date.

    What a job's state is: what Slurm proves about THAT job - a squeue or sacct record of its id whose
    name and submit time are its own (:func:`belongs`) -, its exit marker and its log. Whatever had to
    be guessed (a job that left the queue while accounting did not answer, an accounting record
    stuck at RUNNING after the wall time) is marked ``slurm_state = "UNKNOWN"`` and replaced by
    Slurm's verdict when it comes; a submission whose outcome was unknown is looked up by its token.
    At most three remote commands, however many jobs.
    """
    now = utcnow()
    pool = list(jobs) if jobs is not None else [
        r for r in store.list_jobs(profile=session.profile.name) if r.remote_user == session.user
    ]  # fmt: skip
    candidates = [r for r in pool if (r.slurm_job_id or r.slurm_state == SUBMIT_UNCERTAIN) and _needs_sync(r, now)]
    if not candidates:
        return SyncReport(0, (), (), 0)
    commands = 0
    warnings: list[str] = []
    unsure = [r for r in candidates if r.slurm_state == SUBMIT_UNCERTAIN and r.submit_token]
    to_ask = [r for r in candidates if r.slurm_job_id and (r.status.is_active or _awaiting_truth(r, now))]
    advances: list[campaign.Advance] = []
    asked = _ask(session, to_ask, unsure) if to_ask or unsure else _Asked()
    commands += 1 if to_ask or unsure else 0
    warnings += asked.warnings
    status, squeue_rows, acct_rows = asked.status, asked.squeue_rows, asked.acct_rows
    squeue_ok, sacct_ok, chunks, files = asked.squeue_ok, asked.sacct_ok, asked.chunks, asked.files
    clock = status.clock if status is not None else None
    updated: dict[str, JobRecord] = {}
    finalize: list[JobRecord] = []
    for r in candidates:
        if r.slurm_state == SUBMIT_UNCERTAIN:
            resolved = _resolve_submission(r, status, now)
            if resolved is not None:
                updated[r.job_id] = resolved
            continue
        slurm_id = r.slurm_job_id or ""
        if not r.status.is_active:
            if _awaiting_truth(r, now):
                mine = own_records(r, acct_rows.get(slurm_id, []), clock)
                truth = _truth_after_guess(r, mine[-1] if mine else None)
                if truth is not None and truth != r:
                    updated[r.job_id] = attrs.evolve(truth, updated_at=now)
            if not r.finalized or not r.results_safe:
                finalize.append(updated.get(r.job_id, r))  # terminal but not settled: retry the copy-back
            continue
        sq = squeue_rows.get(slurm_id)
        reused = False
        if sq is not None and not belongs(r, sq.name, sq.submit, clock):
            warnings.append(f"Slurm id {slurm_id} of {r.job_id} now belongs to another job ({sq.name!r})")
            sq, reused = None, True
        mine = own_records(r, acct_rows.get(slurm_id, []), clock)
        if len(mine) < len(acct_rows.get(slurm_id, [])) and sq is None and not mine:
            reused = True
            warnings.append(f"Slurm id {slurm_id} of {r.job_id} was given to another job: its own record is gone")
        new, needs_final = _status_of(
            r, sq, mine[-1] if mine else None, squeue_ok, sacct_ok, now, earlier=mine[:-1], clock=clock, reused=reused
        )
        new = _count_runs(new, len(mine))
        if r.campaign is not None:  # the campaign's own state decides (jobs/campaign.py)
            new, needs_final, adv = campaign.apply_state(r, new, needs_final, files.get(r.job_id))
            advances += [adv] if adv else []
        chunk = chunks.get(r.job_id) if new.slurm_job_id == r.slurm_job_id else None
        if new.status is JobStatus.RUNNING and not needs_final and chunk is not None and chunk.found:
            # the log read in the same command: `job show` after a sync is as fresh as `watch`
            prog, state = advance_log(new.log_state, chunk, new.total_steps)
            new = attrs.evolve(new, log_state=converter.unstructure(state), progress=summary_from(prog, state))
        if new != r:
            new = attrs.evolve(new, updated_at=now)
            updated[r.job_id] = new
        if needs_final:
            finalize.append(new)
    if advances:  # chains the laptop moves on: their segment was killed before it could decide
        queued, more, used = campaign.advance(session, advances)
        warnings += more
        commands += used
        for job_id, slurm_id in queued.items():
            updated[job_id] = attrs.evolve(updated[job_id], slurm_job_id=slurm_id, slurm_state=None, log_state=None)
    finished: list[str] = []
    if finalize:
        args = []
        for r in finalize:
            names_ = r.slurm_output_names or ("none.out", "none.err")
            alt = r.app_slurm_output_names or names_
            args += [r.job_id, r.project_dir, r.scratch_dir, *names_, *alt, str(log_offset(r.log_state))]
        out = session.run_remote(FINALIZE, args, check=False).stdout
        commands += 1
        results = parse_finalize_output(out)
        for r in finalize:
            done = _apply_finalize(r, results.get(r.job_id), now)
            if done.finalized and not r.finalized:  # a retried copy-back is not a job finishing again
                finished.append(r.job_id)
            updated[r.job_id] = done
    if any(r.workflow_id and r.status.is_terminal and r.status is not JobStatus.COMPLETED for r in updated.values()):
        # A stage that ended without success (failed, cancelled, timed out, preempted) stops its
        # chain: mark the stages after it in this same write, and cancel those still queued.
        groups = store.get_workflows(r.workflow_id for r in updated.values() if r.workflow_id)
        current = {r.job_id: r for wid in groups for r in store.list_jobs(workflow_id=wid)}
        current.update(updated)
        marked, to_cancel = plan_settlement(list(current.values()), groups)
        if to_cancel:
            session.slurm(["scancel", *to_cancel], check=False)
            commands += 1
        for r in marked:
            updated[r.job_id] = r
    if updated:
        # only rows still in the store: a job deleted by another process meanwhile stays deleted
        saved = store.update_jobs(list(updated.values()))
        before = {r.job_id: r for r in candidates}
        # job_info.json (the desktop app's and `discover`'s record) is rewritten when the job's state
        # changed, not for every progress tick: a sync of running jobs stays ONE command
        records = [r for r in updated.values() if r.job_id in saved and _state_changed(before.get(r.job_id), r)]
        write_job_infos(session, records)
        commands += 1 if records else 0
        updated = {k: v for k, v in updated.items() if k in saved}
    return SyncReport(
        len(candidates), tuple(sorted(updated)), tuple(sorted(f for f in finished if f in updated)), commands,
        tuple(dict.fromkeys(warnings)),
    )  # fmt: skip


_STATE_FIELDS = ("status", "slurm_job_id", "slurm_state", "exit_code", "error_info", "finalized", "copy_back",
                 "copy_back_error", "completed_at", "output_files", "submit_token")  # fmt: skip


def _state_changed(old: JobRecord | None, new: JobRecord) -> bool:
    """Whether anything but progress (the log's position, the percentage) changed."""
    return old is None or any(getattr(old, f) != getattr(new, f) for f in _STATE_FIELDS)


def _count_runs(r: JobRecord, runs: int) -> JobRecord:
    """Remember how many runs of its Slurm job were seen; a new run (a requeue) starts the log afresh."""
    if runs <= 0:
        return r
    state = dict(r.log_state or {})
    seen = int(state.get("slurm_runs", 0) or 0)
    if seen == runs:
        return r
    if seen and runs > seen:
        state = {"slurm_runs": runs}  # the rerun starts from step 0 and writes the log anew
        return attrs.evolve(r, log_state=state, progress=None)
    state["slurm_runs"] = runs
    return attrs.evolve(r, log_state=state)


def _resolve_submission(r: JobRecord, status: StatusOutput | None, now: dt.datetime) -> JobRecord | None:
    """An uncertain submission, looked up by its token in the status answer: found -> submitted with
    that id; proven absent (squeue and sacct answered, and sbatch cannot be running any more) -> not
    submitted; else None (still unknown, asked again next sync)."""
    if status is None or not r.submit_token:
        return None
    rows = [(row.job_id, row.comment) for row in status.lookup if row.name == r.job_id]
    found = match_token(rows, r.submit_token, after_id=r.slurm_job_id)
    return settle_uncertain(r, found, conclusive=status.lookup_ok, now=now)


def write_job_infos(session: Session, records: Sequence[JobRecord]) -> None:
    """Write every record's ``job_info.json`` into its project dir, in ONE command."""
    if not records:
        return
    chunks: list[bytes] = []
    for r in records:
        data = job_info_bytes(r)
        chunks.append(f"{r.project_dir}/{JOB_INFO_NAME}\t{len(data)}\n".encode())
        chunks.append(data)
    roots = [session.jobs_root.rstrip("/")]
    result = session.run_remote(WRITE_FILES, roots, chunks=chunks)
    if result.exit_code != 0:
        raise NamdRunnerError(f"writing job_info.json failed: {result.stderr.strip() or result.exit_code}")
