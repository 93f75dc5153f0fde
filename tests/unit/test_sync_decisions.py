"""How sync reads squeue and sacct answers: accounting lag, purged jobs, a controller that is down."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs

from benchmarks._fixtures import make_store
from namdrunner_core.jobs.sync import ACCOUNTING_LAG_S, _status_of
from namdrunner_core.models import JobRecord
from namdrunner_core.slurm.parse import SacctRow, SqueueRow
from namdrunner_core.slurm.states import JobStatus

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)


def running(tmp_path: Path, submitted_ago_s: float = 3600) -> JobRecord:
    rec = make_store(tmp_path / "s.db", 1).list_jobs()[0]
    return attrs.evolve(
        rec,
        status=JobStatus.RUNNING,
        slurm_job_id="42",
        finalized=False,
        submitted_at=NOW - dt.timedelta(seconds=submitted_ago_s),
    )


def sq(state: str, reason: str = "None") -> SqueueRow:
    return SqueueRow("42", state, reason, "1:00", "4:00:00", "n")


def acct(state: str, code: str = "0:0") -> SacctRow:
    return SacctRow("42", state, code, "", "", "", "", "n")


def test_squeue_is_authoritative_while_queued(tmp_path: Path) -> None:
    r, final = _status_of(
        running(tmp_path), sq("PENDING", "QOSMaxWallDurationPerJobLimit"), acct("PENDING"), True, True, NOW
    )
    assert r.status is JobStatus.PENDING
    assert not final
    assert r.error_info is not None
    assert "wall time exceeds the QOS limit" in r.error_info


def test_terminal_in_sacct_is_finalized_with_its_name(tmp_path: Path) -> None:
    r, final = _status_of(running(tmp_path), None, acct("TIMEOUT"), True, True, NOW)
    assert (r.status, r.slurm_state, final) == (JobStatus.FAILED, "TIMEOUT", True)
    assert r.error_info is not None
    assert r.error_info.startswith("TIMEOUT")
    r2, _ = _status_of(running(tmp_path), None, acct("CANCELLED by 1001", "0:15"), True, True, NOW)
    assert (r2.status, r2.exit_code) == (JobStatus.CANCELLED, "0:15")


def test_accounting_lag_after_leaving_the_queue(tmp_path: Path) -> None:
    r, final = _status_of(running(tmp_path), None, acct("RUNNING"), True, True, NOW)
    assert r.status is JobStatus.RUNNING
    assert not final


def test_just_submitted_and_not_yet_visible_is_not_lost(tmp_path: Path) -> None:
    young = running(tmp_path, submitted_ago_s=ACCOUNTING_LAG_S / 10)
    r, final = _status_of(young, None, None, True, True, NOW)
    assert r == young
    assert not final


def test_unknown_to_both_after_the_lag_is_decided_by_the_exit_marker(tmp_path: Path) -> None:
    r, final = _status_of(running(tmp_path), None, None, True, False, NOW)
    assert r.slurm_state == "UNKNOWN"
    assert final


def test_a_controller_that_is_down_changes_nothing(tmp_path: Path) -> None:
    rec = running(tmp_path)
    r, final = _status_of(rec, None, None, False, False, NOW)
    assert r == rec
    assert not final
