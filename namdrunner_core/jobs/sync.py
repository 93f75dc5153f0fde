"""Sync and discovery: a constant number of remote commands, whatever the number of jobs.

A sync is at most three commands: ONE status query (squeue and sacct for every active id), ONE
finalize for every job that reached a terminal state (copy scratch back to project storage on the
cluster, read Slurm's stdout/stderr, list outputs, read the NAMD log's new lines), and ONE write of
every changed ``job_info.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

import attrs

from namdrunner_core.errors import NamdRunnerError, ValidationError
from namdrunner_core.jobs.remote import (
    FinalizeOutput,
    LogChunk,
    advance_log,
    log_offset,
    parse_discover_output,
    parse_finalize_output,
    parse_log_output,
    parse_status_output,
    summary_from,
)
from namdrunner_core.jobs.settle import plan_settlement
from namdrunner_core.models import (
    JOB_INFO_NAME,
    GroupRecord,
    JobRecord,
    OutputFile,
    job_info_bytes,
    record_from_job_info,
    to_rfc3339,
    utcnow,
)
from namdrunner_core.namd.log import LogOutcome
from namdrunner_core.scripts import DISCOVER, FINALIZE, LOG_TAIL, STATUS, WRITE_FILES
from namdrunner_core.serde import converter
from namdrunner_core.slurm.parse import SACCT_FIELDS, SQUEUE_FORMAT, SacctRow, SqueueRow, parse_sacct, parse_squeue
from namdrunner_core.slurm.script import NAMD_LOG_NAME
from namdrunner_core.slurm.states import JobStatus, explain_pending_reason, normalize_state, status_from_slurm

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.store import JobStore

#: A job this young that neither squeue nor sacct knows is assumed to be in accounting lag.
ACCOUNTING_LAG_S = 300.0

_FAILURE_TEXT = {
    "TIMEOUT": "TIMEOUT: the job hit its wall-time limit; restart it from its last checkpoint",
    "OUT_OF_MEMORY": "OUT_OF_MEMORY: the job ran out of memory; ask for more memory",
    "NODE_FAIL": "NODE_FAIL: a node failed; submit again",
    "PREEMPTED": "PREEMPTED: the job was preempted; submit again",
    "BOOT_FAIL": "BOOT_FAIL: the node did not boot; submit again",
    "DEADLINE": "DEADLINE: the job reached its deadline",
}


@attrs.frozen(slots=True)
class SyncReport:
    """What a sync did."""

    checked: int
    changed: tuple[str, ...]
    finished: tuple[str, ...]
    remote_commands: int


def _needs_sync(r: JobRecord) -> bool:
    """Active, not yet settled, or ended with results not yet safely on project storage."""
    return r.status.is_active or not r.finalized or (r.status.is_terminal and not r.results_safe)


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
    r: JobRecord, sq: SqueueRow | None, acct: SacctRow | None, squeue_ok: bool, sacct_ok: bool, now: dt.datetime
) -> tuple[JobRecord, bool]:
    """The record after this status answer, and whether it must be finalized now."""
    if sq is not None:
        status = sq.status
        reason = None if sq.reason in ("None", "") else sq.reason
        blocking, why = explain_pending_reason(reason)
        if status is JobStatus.PENDING or status is JobStatus.RUNNING:
            return attrs.evolve(
                r,
                status=status,
                slurm_state=normalize_state(sq.state),
                slurm_reason=reason,
                error_info=why if blocking else None,
            ), False
    if sq is not None and sq.status.is_terminal and acct is None:
        acct = SacctRow(sq.job_id, sq.state, "", "", "", "", "", sq.name)
    if acct is not None and (sq is None or sq.status.is_terminal):
        status = status_from_slurm(acct.state)
        if status.is_terminal:
            error = None
            if status is JobStatus.FAILED:
                error = _FAILURE_TEXT.get(acct.state_name, f"{acct.state_name}: exit code {acct.exit_code}")
            return attrs.evolve(
                r,
                status=status,
                slurm_state=acct.state,
                exit_code=acct.exit_code or None,
                slurm_reason=None,
                error_info=error,
            ), True
        # Gone from squeue but sacct still says active: accounting lag; ask again next sync.
        if squeue_ok and sq is None:
            return attrs.evolve(r, slurm_state=normalize_state(acct.state)), False
        return attrs.evolve(r, status=status, slurm_state=normalize_state(acct.state)), False
    if not squeue_ok:
        return r, False
    submitted = r.submitted_at or r.created_at
    if (now - submitted).total_seconds() < ACCOUNTING_LAG_S and sacct_ok:
        return r, False  # just submitted and not yet visible anywhere
    # Not queued and unknown to accounting (disabled, or purged): the job's exit marker decides.
    return attrs.evolve(r, slurm_state="UNKNOWN"), True


def _apply_finalize(r: JobRecord, fin: FinalizeOutput | None, now: dt.datetime) -> JobRecord:
    if fin is None:
        return r
    names = r.slurm_output_names or ("", "")
    stdout = fin.files.get(names[0], b"").decode("utf-8", "replace")
    stderr = fin.files.get(names[1], b"").decode("utf-8", "replace")
    marker = fin.files.get(".namdrunner_exit", b"").decode().split()
    prog, state = advance_log(r.log_state, fin.log, r.total_steps)
    status, error = r.status, r.error_info
    if r.slurm_state == "UNKNOWN":  # decided by the exit marker
        if marker and marker[0] == "0" and prog.outcome is not LogOutcome.FAILED:
            status, error = JobStatus.COMPLETED, None
        else:
            status = JobStatus.FAILED
            error = f"exit code {marker[0]}" if marker else "left the queue without an exit marker (killed?)"
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


def sync_jobs(store: JobStore, session: Session, jobs: Sequence[JobRecord] | None = None) -> SyncReport:
    """Bring the given jobs (default: every active or unfinished job of this session) up to date."""
    if jobs is None:
        candidates = [
            r
            for r in store.list_jobs(profile=session.profile.name)
            if r.remote_user == session.user and r.slurm_job_id and _needs_sync(r)
        ]
    else:
        candidates = [r for r in jobs if r.slurm_job_id and _needs_sync(r)]
    if not candidates:
        return SyncReport(0, (), (), 0)
    now = utcnow()
    commands = 0
    by_id = {r.slurm_job_id: r for r in candidates if r.slurm_job_id}
    to_ask = [r for r in candidates if r.status.is_active]
    squeue_rows: dict[str, SqueueRow] = {}
    acct_rows: dict[str, SacctRow] = {}
    squeue_ok = sacct_ok = True
    chunks: dict[str, LogChunk] = {}
    if to_ask:
        ids = ",".join(r.slurm_job_id or "" for r in to_ask)
        tails = [
            x for r in to_ask for x in (r.job_id, f"{r.scratch_dir}/{NAMD_LOG_NAME}", str(log_offset(r.log_state)))
        ]
        out = session.run_remote(STATUS, [ids, SQUEUE_FORMAT, ",".join(SACCT_FIELDS), *tails], check=False).stdout
        chunks = parse_log_output(out)
        commands += 1
        status = parse_status_output(out)
        squeue_ok, sacct_ok = status.squeue_ok, status.sacct_ok
        squeue_rows = _expand_arrays({row.job_id: row for row in parse_squeue(status.squeue)})
        acct_rows = _expand_arrays(parse_sacct(status.sacct) if status.sacct_ok else {})
    updated: dict[str, JobRecord] = {}
    finalize: list[JobRecord] = []
    for slurm_id, r in by_id.items():
        if not r.status.is_active:
            finalize.append(r)  # terminal but not finalized: retry the copy-back
            continue
        new, needs_final = _status_of(r, squeue_rows.get(slurm_id), acct_rows.get(slurm_id), squeue_ok, sacct_ok, now)
        chunk = chunks.get(r.job_id)
        if new.status is JobStatus.RUNNING and not needs_final and chunk is not None and chunk.found:
            # the log read in the same command: `job show` after a sync is as fresh as `watch`
            prog, state = advance_log(new.log_state, chunk, new.total_steps)
            new = attrs.evolve(new, log_state=converter.unstructure(state), progress=summary_from(prog, state))
        if new != r:
            new = attrs.evolve(new, updated_at=now)
            updated[r.job_id] = new
        if needs_final:
            finalize.append(new)
    finished: list[str] = []
    if finalize:
        args: list[str] = []
        for r in finalize:
            names = r.slurm_output_names or ("none.out", "none.err")
            alt = r.app_slurm_output_names or names
            args += [r.job_id, r.project_dir, r.scratch_dir, *names, *alt, str(log_offset(r.log_state))]
        out = session.run_remote(FINALIZE, args, check=False).stdout
        commands += 1
        results = parse_finalize_output(out)
        for r in finalize:
            done = _apply_finalize(r, results.get(r.job_id), now)
            if done.finalized and not r.finalized:  # a retried copy-back is not a job finishing again
                finished.append(r.job_id)
            updated[r.job_id] = done
    if any(r.workflow_id and r.status is JobStatus.FAILED for r in updated.values()):
        # A failed stage stops its chain: mark the stages after it in this same write.
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
        records = list(updated.values())
        store.save_jobs(records)
        write_job_infos(session, records)
        commands += 1
    return SyncReport(len(candidates), tuple(sorted(updated)), tuple(sorted(finished)), commands)


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


def poll_progress(store: JobStore, session: Session, jobs: Sequence[JobRecord]) -> dict[str, JobRecord]:
    """Read the new NAMD log lines of many running jobs in ONE command; store the summaries."""
    running = [r for r in jobs if r.slurm_job_id and r.status is JobStatus.RUNNING]
    if not running:
        return {}
    args: list[str] = []
    for r in running:
        args += [r.job_id, f"{r.scratch_dir}/{NAMD_LOG_NAME}", str(log_offset(r.log_state))]
    chunks = parse_log_output(session.run_remote(LOG_TAIL, args, check=False).stdout)
    out: dict[str, JobRecord] = {}
    for r in running:
        prog, state = advance_log(r.log_state, chunks.get(r.job_id), r.total_steps)
        out[r.job_id] = attrs.evolve(r, log_state=converter.unstructure(state), progress=summary_from(prog, state))
    store.save_jobs(list(out.values()))
    return out


@attrs.frozen(slots=True)
class DiscoverReport:
    """What discovery found: jobs added or refreshed, and entries refused (with why)."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]


def discover_jobs(store: JobStore, session: Session) -> DiscoverReport:
    """Rebuild the store from the cluster's ``job_info.json`` files (ONE command).

    Remote JSON is untrusted: each file is schema-checked; ids that are unsafe or do not match
    their directory, and paths outside the configured roots, are refused.
    """
    out = session.run_remote(DISCOVER, [session.jobs_root.rstrip("/")], check=False).stdout
    added: list[str] = []
    updated: list[str] = []
    refused: list[tuple[str, str]] = []
    records: list[JobRecord] = []
    for dir_name, raw in parse_discover_output(out):
        try:
            doc = json.loads(raw.decode("utf-8"))
            record = record_from_job_info(
                doc,
                profile=session.profile.name,
                remote_user=session.user,
                jobs_root=session.jobs_root.rstrip("/"),
                scratch_root=session.scratch_root.rstrip("/"),
                dir_name=dir_name,
            )
        except (ValueError, UnicodeDecodeError, ValidationError) as exc:
            refused.append((dir_name, str(exc)))
            continue
        try:
            existing = store.get_job(record.job_id)
        except NamdRunnerError:
            existing = None
        if existing is None:
            added.append(record.job_id)
            records.append(record)
        elif existing.updated_at < record.updated_at:
            updated.append(record.job_id)
            records.append(attrs.evolve(record, log_state=existing.log_state))
    store.save_jobs(records)
    _rebuild_groups(store, records)
    return DiscoverReport(tuple(added), tuple(updated), tuple(refused))


def _rebuild_groups(store: JobStore, records: Sequence[JobRecord]) -> None:
    """Workflows and sweeps come back with their jobs: each job_info.json carries its group and stage."""
    known = set(store.workflow_ids())
    groups: dict[str, list[JobRecord]] = {}
    for r in records:
        if r.workflow_id and r.workflow_id not in known:
            groups.setdefault(r.workflow_id, []).append(r)
    for wid, members in groups.items():
        everyone = sorted(store.list_jobs(workflow_id=wid), key=lambda r: (r.workflow_stage or 0, r.job_id))
        sweep = wid.startswith("sw_")
        sep = " [" if sweep else " / "
        first = everyone[0] if everyone else members[0]
        name = first.job_name.split(sep, 1)[0]
        labels = [r.job_name.split(sep, 1)[1].rstrip("]") if sep in r.job_name else r.job_name for r in everyone]
        store.save_workflow(
            GroupRecord(
                id=wid,
                name=name,
                kind="sweep" if sweep else "workflow",
                stages=tuple(r.job_id for r in everyone),
                stage_names=tuple(labels),
                profile=first.profile,
                created_at=to_rfc3339(first.created_at) or "",
                rediscovered=True,
            )
        )
