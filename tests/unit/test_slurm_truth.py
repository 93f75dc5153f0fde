"""Issue 30, the decisions: a record of our Slurm id that is not our job is never ours; a guess made
while accounting was down is replaced by Slurm's verdict; a runaway accounting record does not keep a
job running; a requeue is said and the rerun tracked from its own start; any stage that ended without
success settles its chain; a sync never brings back a job deleted meanwhile; an uncertain submission
is resolved by its token, never guessed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest

from benchmarks._fixtures import make_store
from namdrunner_core.jobs.ownership import belongs, own_records
from namdrunner_core.jobs.script_output import ClusterClock, LogChunk, LookupRow, StatusOutput, advance_log
from namdrunner_core.jobs.settle import plan_settlement
from namdrunner_core.jobs.submission import SUBMIT_UNCERTAIN, uncertain
from namdrunner_core.jobs.sync import (
    GUESSED,
    _awaiting_truth,
    _count_runs,
    _resolve_submission,
    _status_of,
    _truth_after_guess,
)
from namdrunner_core.models import GroupRecord, JobRecord, ProgressSummary
from namdrunner_core.slurm.parse import SacctRow, SqueueRow, parse_sacct_all
from namdrunner_core.slurm.states import JobStatus

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
#: a cluster in Colorado (UTC-7) whose Slurm prints local times without a zone
CLOCK = ClusterClock(NOW.timestamp(), dt.datetime(2026, 12, 7, 5, 0, 0))


def job(tmp_path: Path, **kw: object) -> JobRecord:
    rec = make_store(tmp_path / "s.db", 1).list_jobs()[0]
    values: dict[str, object] = {
        "status": JobStatus.RUNNING,
        "slurm_job_id": "42",
        "finalized": False,
        "submitted_at": NOW - dt.timedelta(hours=1),
    }
    values.update(kw)
    return attrs.evolve(rec, **values)  # type: ignore[arg-type]


def acct(state: str, name: str, submit: str = "2026-12-07T04:00:05", code: str = "0:0",
         start: str = "2026-12-07T04:01:00") -> SacctRow:  # fmt: skip
    return SacctRow("42", state, code, "", start, "", "", name, submit=submit)


def test_the_cluster_clock_turns_slurm_local_times_into_utc() -> None:
    assert CLOCK.to_utc("2026-12-07T04:00:05") == dt.datetime(2026, 12, 7, 11, 0, 5, tzinfo=dt.UTC)
    assert CLOCK.to_utc("Unknown") is None
    assert CLOCK.to_utc("") is None


def test_a_recycled_id_is_not_our_job(tmp_path: Path) -> None:
    r = job(tmp_path)
    assert belongs(r, r.job_id, "2026-12-07T04:00:05", CLOCK)
    assert not belongs(r, "strangers_job", "2026-12-07T04:30:00", CLOCK)  # another name: not ours
    assert not belongs(r, r.job_id, "2026-12-06T20:00:00", CLOCK)  # submitted hours before ours
    assert belongs(r, r.job_name, "", CLOCK)  # the desktop app's jobs go by their name
    # slurmdbd names a record "allocation" when it never got the job's start (cancelled while it was
    # launched; an orphan a restarted controller killed): ours only when submitted when ours was
    assert belongs(r, "allocation", "2026-12-07T04:00:05", CLOCK)
    assert not belongs(r, "allocation", "2026-12-07T04:45:00", CLOCK)
    array = job(tmp_path, slurm_job_id="42_3")
    assert belongs(array, "the_array_name", "2026-12-07T04:00:05", CLOCK)  # tasks carry the array's name


def test_a_strangers_completed_job_never_completes_ours(tmp_path: Path) -> None:
    """The serious one: after a controller state reset, our job (killed at 10 %) was reported
    Completed, exit 0:0, copy-back verified, once a stranger's job with the same id finished."""
    r = job(tmp_path)
    text = (
        f"42|CANCELLED|0:15|00:00:49|2026-12-07T04:01:00|2026-12-07T04:01:49|None|2026-12-07T04:00:05|{r.job_id}\n"
        "42|COMPLETED|0:0|00:00:05|2026-12-07T04:40:00|2026-12-07T04:40:05|None|2026-12-07T04:39:59|stranger\n"
    )
    rows = parse_sacct_all(text)["42"]
    assert [x.name for x in rows] == [r.job_id, "stranger"]
    mine = [x for x in rows if belongs(r, x.name, x.submit, CLOCK)]
    new, final = _status_of(r, None, mine[-1], True, True, NOW, earlier=mine[:-1], clock=CLOCK)
    assert (new.status, new.slurm_state, final) == (JobStatus.CANCELLED, "CANCELLED", True)
    # with no record of ours left at all: not Completed - a guess the exit marker decides
    nothing, final = _status_of(r, None, None, True, True, NOW, clock=CLOCK)
    assert (nothing.status, nothing.slurm_state, final) == (JobStatus.RUNNING, GUESSED, True)


def test_a_strangers_unnamed_record_right_after_ours_is_not_ours(tmp_path: Path) -> None:
    """Seen on the real Slurm: 13 s after the reset, a stranger's job with our id had finished while
    slurmdbd still called it "allocation" (its name came later): within the clock skew of ours, so it
    passed as ours and completed our killed job. Our own first record sets the time an unnamed one
    must have."""
    r = job(tmp_path)
    text = (
        f"42|CANCELLED|0:0|00:00:06|2026-12-07T04:00:27|2026-12-07T04:00:33|None|2026-12-07T04:00:05|{r.job_id}\n"
        "42|COMPLETED|0:0|00:00:01|2026-12-07T04:00:38|2026-12-07T04:00:39|None|2026-12-07T04:00:18|allocation\n"
    )
    rows = parse_sacct_all(text)["42"]
    assert all(belongs(r, x.name, x.submit, CLOCK) for x in rows)  # each alone passes the skew test
    mine = own_records(r, rows, CLOCK)
    assert [x.state for x in mine] == ["CANCELLED"]
    new, final = _status_of(r, None, mine[-1], True, True, NOW, earlier=mine[:-1], clock=CLOCK)
    assert (new.status, final) == (JobStatus.CANCELLED, True)
    # our job's own record left unnamed by the reset (submitted when ours was) stays ours
    unnamed_ours = parse_sacct_all(text.replace(f"|{r.job_id}\n", "|allocation\n"))["42"]
    assert [x.state for x in own_records(r, unnamed_ours, CLOCK)] == ["CANCELLED"]


def test_an_unnamed_record_submitted_after_ours_was_stamped_is_a_strangers(tmp_path: Path) -> None:
    """Seen on the real Slurm too: a job of ours that never ran had no record left after the reset,
    and a stranger's, 8 s later and still unnamed, completed it. Ours is stamped when sbatch has
    returned its id, so Slurm cannot have submitted it later than that; the status answer measures
    the two clocks' difference (here the laptop runs 30 s ahead, the command took 0.5 s)."""
    r = job(tmp_path, submitted_at=dt.datetime(2026, 12, 7, 11, 0, 35, 500_000, tzinfo=dt.UTC))
    clock = attrs.evolve(CLOCK, arrived=NOW.timestamp() + 30.3, flight_s=0.5)
    assert belongs(r, "allocation", "2026-12-07T04:00:05", clock)  # ours, left unnamed by the reset
    assert not belongs(r, "allocation", "2026-12-07T04:00:13", clock)  # a stranger 8 s later
    assert belongs(r, r.job_id, "2026-12-07T04:00:13", clock)  # a named record: the name decides
    assert belongs(r, "allocation", "2026-12-07T04:00:13", CLOCK)  # clocks not compared: no verdict


def test_a_guess_made_while_accounting_was_down_is_replaced_by_the_truth(tmp_path: Path) -> None:
    guess = "left the queue without an exit marker (killed?); Slurm's own verdict is asked"
    guessed = job(tmp_path, status=JobStatus.FAILED, slurm_state=GUESSED, finalized=True, copy_back="verified",
                  completed_at=NOW - dt.timedelta(hours=2), error_info=guess)  # fmt: skip
    assert _awaiting_truth(guessed, NOW)
    assert not _awaiting_truth(guessed, NOW + dt.timedelta(days=15))  # accounting forgot it: asked no more
    truth = _truth_after_guess(guessed, acct("CANCELLED by 1001", guessed.job_id, code="0:15"))
    assert truth is not None
    assert (truth.status, truth.slurm_state, truth.error_info) == (JobStatus.CANCELLED, "CANCELLED by 1001", None)
    assert truth.copy_back == "verified"
    assert not _awaiting_truth(truth, NOW)
    assert _truth_after_guess(guessed, acct("RUNNING", guessed.job_id)) is None  # nothing final yet
    # a failure NAMD's log proves stays a failure, whatever Slurm's exit code says
    namd = attrs.evolve(guessed, error_info="NAMD: Atoms moving too fast", progress=ProgressSummary(outcome="failed"))
    proven = _truth_after_guess(namd, acct("COMPLETED", namd.job_id))
    assert proven is not None
    assert (proven.status, proven.error_info) == (JobStatus.FAILED, "NAMD: Atoms moving too fast")


def test_a_runaway_accounting_record_does_not_keep_a_job_running(tmp_path: Path) -> None:
    r = job(tmp_path, submitted_at=NOW - dt.timedelta(hours=5))  # a 4 h job that started 5 h ago, gone from squeue
    stuck = acct("RUNNING", r.job_id, submit="2026-12-07T00:00:00", start="2026-12-07T00:00:10")
    new, final = _status_of(r, None, stuck, True, True, NOW, clock=CLOCK)
    assert (new.slurm_state, final) == (GUESSED, True)
    young = job(tmp_path, submitted_at=NOW - dt.timedelta(minutes=30))  # within its time: accounting lag
    new, final = _status_of(young, None, acct("RUNNING", young.job_id, submit="2026-12-07T04:30:00"), True, True,
                            NOW, clock=CLOCK)  # fmt: skip
    assert (new.status, final) == (JobStatus.RUNNING, False)


def test_a_requeue_is_said_and_the_rerun_tracked_from_its_own_start(tmp_path: Path) -> None:
    r = job(tmp_path, progress=ProgressSummary(step=4000, total_steps=10000, percent=40.0, last_checkpoint_step=3600),
            log_state={"offset": 90000, "slurm_runs": 1, "current_step": 4000})  # fmt: skip
    earlier = [acct("NODE_FAIL", r.job_id)]
    pending = SqueueRow("42", "PENDING", "BeginTime", "0:00", "4:00:00", r.job_id, "2026-12-07T04:20:00")
    new, final = _status_of(r, pending, None, True, True, NOW, earlier=earlier, clock=CLOCK)
    assert new.status is JobStatus.PENDING
    assert not final
    assert new.error_info is not None
    assert "requeued it after NODE_FAIL" in new.error_info
    assert "from step 0" in new.error_info
    assert "checkpoint at step 3600" in new.error_info
    counted = _count_runs(new, 2)
    assert counted.progress is None  # no "40 %" while the rerun redoes it
    assert counted.log_state == {"slurm_runs": 2}
    # and a log written anew is read from its start
    _, state = advance_log({"offset": 90000, "current_step": 4000}, LogChunk("j", True, b"", 1200, 0), None)
    assert (state.offset, state.current_step) == (1200, None)


def test_any_stage_that_ended_without_success_settles_its_chain(tmp_path: Path) -> None:
    base = job(tmp_path, workflow_id="wf_x")
    first = attrs.evolve(base, job_id="s1", workflow_stage=0, status=JobStatus.CANCELLED, slurm_state="CANCELLED")
    second = attrs.evolve(base, job_id="s2", workflow_stage=1, status=JobStatus.PENDING, slurm_job_id="43",
                          slurm_reason="DependencyNeverSatisfied")  # fmt: skip
    third = attrs.evolve(base, job_id="s3", workflow_stage=2, status=JobStatus.PENDING, slurm_job_id="44")
    group = GroupRecord(id="wf_x", name="x", kind="workflow", stages=("s1", "s2", "s3"),
                        stage_names=("min", "heat", "prod"), profile="loopback",
                        created_at="2026-12-07T00:00:00Z")  # fmt: skip
    marked, to_cancel = plan_settlement([first, second, third], {"wf_x": group})
    assert sorted(to_cancel) == ["43", "44"]
    assert {m.job_id: m.error_info for m in marked} == {
        "s2": "not run: stage 'min' was cancelled", "s3": "not run: stage 'min' was cancelled"}  # fmt: skip
    timed_out = attrs.evolve(first, status=JobStatus.FAILED, slurm_state="TIMEOUT")
    marked, _ = plan_settlement([timed_out, second], {"wf_x": group})
    assert marked[0].error_info == "not run: stage 'min' ended TIMEOUT"
    # the stages it marked do not start a settlement of their own
    again, _ = plan_settlement([first, *marked], {"wf_x": group})
    assert all(m.error_info == "not run: stage 'min' was cancelled" for m in again)


def test_a_sync_never_brings_back_a_job_deleted_meanwhile(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db", 3)
    read_before = store.list_jobs()
    store.delete_job(read_before[0].job_id)  # another process deletes one
    saved = store.update_jobs([attrs.evolve(r, slurm_state="CANCELLED") for r in read_before])
    assert read_before[0].job_id not in saved
    assert len(saved) == 2
    assert read_before[0].job_id not in store.job_ids()


def _answer(*rows: LookupRow, ok: bool = True) -> StatusOutput:
    return StatusOutput("", True, "", True, CLOCK, rows, ok)


def test_an_uncertain_submission_is_resolved_by_its_token_never_guessed(tmp_path: Path) -> None:
    r = uncertain(job(tmp_path, status=JobStatus.CREATED, slurm_job_id=None, submit_token="nr-abc"),
                  "submission uncertain: ...", NOW - dt.timedelta(minutes=2))  # fmt: skip
    assert (r.status, r.slurm_state) == (JobStatus.UNKNOWN, SUBMIT_UNCERTAIN)
    found = _resolve_submission(r, _answer(LookupRow("77", "nr-abc", r.job_id)), NOW)
    assert found is not None
    assert (found.status, found.slurm_job_id) == (JobStatus.PENDING, "77")
    # a job of the same name without our token is not ours (where comments are stored)
    assert _resolve_submission(r, _answer(LookupRow("78", "nr-other", r.job_id)), NOW) is None
    # nothing found: still unknown while sbatch may be running, or while Slurm did not answer
    assert _resolve_submission(r, _answer(), NOW) is None
    late = NOW + dt.timedelta(minutes=10)
    assert _resolve_submission(r, _answer(ok=False), late) is None
    gone = _resolve_submission(r, _answer(), late)
    assert gone is not None
    assert (gone.status, gone.slurm_state) == (JobStatus.CREATED, None)
    assert gone.error_info is not None
    assert "did not reach Slurm" in gone.error_info


@pytest.mark.parametrize("state", ["TIMEOUT", "NODE_FAIL", "PREEMPTED"])
def test_a_killed_job_points_to_restart_not_to_starting_over(tmp_path: Path, state: str) -> None:
    r = job(tmp_path)
    new, final = _status_of(r, None, acct(state, r.job_id), True, True, NOW, clock=CLOCK)
    assert final
    assert new.error_info is not None
    assert f"`namdrunner job restart {r.job_id}`" in new.error_info  # the command to run, whole
    assert "submit again" not in new.error_info
