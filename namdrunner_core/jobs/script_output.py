"""Parsers of what the batched lifecycle scripts print (``status.sh``, ``log_tail.sh``,
``finalize.sh``, ``discover.sh`` in :mod:`namdrunner_core.scripts`).

Each script serves MANY jobs in ONE command, so that a sync costs a constant number of round trips
however many jobs are active. File contents come back base64-encoded between ``@@`` marker lines.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import attrs

from namdrunner_core.models import OutputFile, ProgressSummary
from namdrunner_core.namd.log import LogState, NamdLogParser, Progress
from namdrunner_core.serde import converter


@attrs.frozen(slots=True)
class ClusterClock:
    """The cluster's clock at the moment of a status answer: Slurm prints local times with no zone,
    so a time it printed is turned into UTC by the cluster's own offset, never the laptop's."""

    epoch: float
    local: dt.datetime  # the same instant as the cluster's local wall time, naive
    #: the laptop's clock (epoch seconds) when the answer arrived, and how long the command took:
    #: ``arrived - epoch`` is the clocks' difference plus at most ``flight_s``
    arrived: float | None = None
    flight_s: float = 0.0

    def laptop_time(self, text: str) -> dt.datetime | None:
        """A time Slurm printed, on the laptop's clock (the two clocks' difference measured by this
        answer: late by at most ``flight_s``); None when it cannot be said."""
        cluster = self.to_utc(text)
        if cluster is None or self.arrived is None:
            return None
        return cluster + dt.timedelta(seconds=self.arrived - self.epoch)

    def to_utc(self, text: str) -> dt.datetime | None:
        """A time Slurm printed (``2026-12-07T07:27:02``), in UTC; None for ``Unknown``/empty/odd."""
        try:
            local = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            return None
        if local.tzinfo is not None:
            return local.astimezone(dt.UTC)
        offset = self.local - dt.datetime.fromtimestamp(self.epoch, dt.UTC).replace(tzinfo=None)
        return (local - offset).replace(tzinfo=dt.UTC)


@attrs.frozen(slots=True)
class LookupRow:
    """A job found by name (a submission whose outcome was unknown): its id, comment (token), name."""

    job_id: str
    comment: str
    name: str


@attrs.frozen(slots=True)
class StatusOutput:
    """What the status script printed: squeue and sacct text and whether each answered; the cluster's
    clock; and the look-up by name of submissions whose outcome was unknown (``lookup_ok`` only when
    squeue AND sacct answered: an absence is a fact only then)."""

    squeue: str
    squeue_ok: bool
    sacct: str
    sacct_ok: bool
    clock: ClusterClock | None = None
    lookup: tuple[LookupRow, ...] = ()
    lookup_ok: bool = False


def parse_status_output(text: str) -> StatusOutput:
    """Split the status script's output; an "Invalid job id" from squeue means "none queued"."""
    sections: dict[str, list[str]] = {"SQUEUE": [], "SACCT": []}
    rcs: dict[str, int] = {}
    current: str | None = None
    clock: ClusterClock | None = None
    lookup: list[LookupRow] = []
    for line in text.split("\n"):
        if line.startswith("@@") and line.partition(" ")[0].endswith("_RC"):
            key, _, rc = line[2:].partition(" ")
            rcs[key[: -len("_RC")]] = int(rc) if rc.strip().isdigit() else 1
            current = None
        elif line in ("@@SQUEUE", "@@SACCT"):
            current = line[2:]
        elif line.startswith("@@NOW "):
            parts = line.split()
            with contextlib.suppress(ValueError, IndexError):
                clock = ClusterClock(float(parts[1]), dt.datetime.fromisoformat(parts[2]))
        elif line.startswith(("@@SQ|", "@@AC|")):
            parts = line.split("|", 3)
            if len(parts) == 4 and parts[1].strip():
                lookup.append(LookupRow(parts[1].strip(), parts[2].strip(), parts[3].strip()))
        elif line == "@@LOOKUP":
            current = None
        elif current is not None:
            sections[current].append(line)
    squeue = "\n".join(sections["SQUEUE"])
    squeue_ok = rcs.get("SQUEUE", 1) == 0 or "Invalid job id" in squeue
    lookup_ok = rcs.get("LOOKUP_SQ", 1) == 0 and rcs.get("LOOKUP_AC", 1) == 0
    return StatusOutput(
        squeue, squeue_ok, "\n".join(sections["SACCT"]), rcs.get("SACCT", 1) == 0, clock, tuple(lookup), lookup_ok
    )


@attrs.frozen(slots=True)
class LogChunk:
    """New, filtered NAMD log lines for one job and the byte offset they advance to."""

    job_id: str
    found: bool
    data: bytes
    new_offset: int
    #: where this read began: below the stored offset when the log was written anew (a rerun)
    start: int = 0


@attrs.frozen(slots=True)
class FinalizeOutput:
    """What the finalize script found for one job."""

    job_id: str
    rsync_ok: bool
    files: dict[str, bytes]
    listing: list[tuple[str, int, str]]
    log: LogChunk | None
    #: "verified" (manifests equal), "failed" (with ``copy_back_error``) or "none" (nothing on scratch)
    copy_back: str = "failed"
    copy_back_error: str | None = None


def advance_log(
    log_state: dict[str, Any] | None, chunk: LogChunk | None, total_steps: int | None
) -> tuple[Progress, LogState]:
    """A job's stored NAMD-log state advanced by a fetched chunk: (progress, new state)."""
    state = converter.structure(log_state, LogState) if log_state else LogState()
    if chunk is not None and chunk.found and chunk.start < state.offset:
        state = LogState(slurm_runs=state.slurm_runs)  # the log was written anew (Slurm reran the job)
    parser = NamdLogParser(state)
    if chunk is not None and chunk.found:
        parser.feed(chunk.data)
        parser.state.offset = chunk.new_offset
    return parser.progress(total_steps), parser.state


def log_offset(log_state: dict[str, Any] | None) -> int:
    """Where the next read of a job's NAMD log starts."""
    return int(log_state.get("offset", 0)) if log_state else 0


def _b64(line: str) -> bytes:
    try:
        return base64.b64decode(line.strip(), validate=False)
    except (ValueError, TypeError):
        return b""


def _log_header(line: str) -> tuple[str, bool, int, int]:
    parts = line.split()
    job_id = parts[1] if len(parts) > 1 else ""
    if len(parts) >= 5 and parts[2] == "ok":
        return job_id, True, int(parts[3]), int(parts[4])
    return job_id, False, 0, 0


def parse_log_output(text: str) -> dict[str, LogChunk]:
    """Parse LOG_SCRIPT output into chunks by job id."""
    out: dict[str, LogChunk] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if line.startswith("@@LOG "):
            job_id, found, consumed, off = _log_header(line)
            data = _b64(next(lines, "")) if found else b""
            out[job_id] = LogChunk(job_id, found, data, off + consumed, off)
    return out


def parse_file_sections(text: str) -> dict[str, bytes]:
    """The whole small files a status answer carried (``@@FILE <job_id> ok`` + a base64 line), by job id."""
    out: dict[str, bytes] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "@@FILE" and parts[2] == "ok":
            out[parts[1]] = _b64(next(lines, ""))
    return out


def parse_finalize_output(text: str) -> dict[str, FinalizeOutput]:
    """Parse FINALIZE_SCRIPT output into one result per job."""
    results: dict[str, FinalizeOutput] = {}
    lines: Iterator[str] = iter(text.split("\n"))
    job_id: str | None = None
    rsync_ok = False
    files: dict[str, bytes] = {}
    listing: list[tuple[str, int, str]] = []
    copy_back, copy_error = "failed", None
    for line in lines:
        if line.startswith("@@JOB "):
            job_id, rsync_ok, files, listing = line[6:].strip(), False, {}, []
            copy_back, copy_error = "failed", "copy-back not attempted"
        elif line.startswith("@@RSYNC "):
            rc, _, why = line[8:].strip().partition(" ")
            rsync_ok = rc == "0"
            if rc == "missing":
                copy_back, copy_error = "none", None  # nothing on scratch to copy back
            elif not rsync_ok:
                copy_back, copy_error = "failed", f"rsync scratch -> project exit {rc}: {why.strip()}"[:400]
        elif line.startswith("@@VERIFY "):
            if line[9:].strip() == "ok":
                copy_back, copy_error = "verified", None
            else:
                copy_back, copy_error = "failed", "the project copy differs from scratch (sha256 manifests)"
        elif line.startswith("@@FILE "):
            files[line[7:].strip()] = _b64(next(lines, ""))
        elif line == "@@LIST":
            for entry in lines:
                if entry == "@@ENDLIST":
                    break
                parts = entry.split("\t")
                if len(parts) == 3 and parts[1].isdigit():
                    listing.append((parts[0], int(parts[1]), parts[2]))
        elif line.startswith("@@LOG ") and job_id is not None:
            lid, found, consumed, off = _log_header(line)
            data = _b64(next(lines, "")) if found else b""
            results[job_id] = FinalizeOutput(
                job_id, rsync_ok, files, listing, LogChunk(lid, found, data, off + consumed, off), copy_back, copy_error
            )
            job_id = None
    return results


def parse_discover_output(text: str) -> list[tuple[str, bytes]]:
    """(directory name, job_info.json bytes) pairs from DISCOVER_SCRIPT."""
    out = []
    lines = iter(text.split("\n"))
    for line in lines:
        if line.startswith("@@INFO "):
            out.append((line[7:].strip(), _b64(next(lines, ""))))
    return out


def parse_discover_campaigns(text: str) -> dict[str, bytes]:
    """The campaign.json bytes DISCOVER_SCRIPT found, by job directory name."""
    out = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if line.startswith("@@CAMPAIGN "):
            out[line[11:].strip()] = _b64(next(lines, ""))
    return out


def summary_from(prog: Progress, state: LogState) -> ProgressSummary:
    """The stored summary of a :class:`Progress`."""
    return ProgressSummary(
        step=prog.step,
        total_steps=prog.total_steps,
        percent=prog.percent,
        ns_per_day=prog.ns_per_day,
        eta_s=prog.eta_s,
        outcome=prog.outcome.value,
        message=prog.message,
        last_checkpoint_step=state.last_checkpoint_step,
        wallclock_s=state.wallclock_s,
        steps_done=prog.steps_done,
    )


@attrs.frozen(slots=True)
class SlurmLogs:
    """A job's Slurm stdout and stderr, each with the file it came from."""

    stdout_name: str
    stdout: str
    stderr_name: str
    stderr: str


@attrs.frozen(slots=True)
class JobOutputs:
    """Files of a job on project storage and on scratch."""

    project: list[OutputFile]
    scratch: list[OutputFile]
