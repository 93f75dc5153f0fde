"""What sync makes of a campaign (namdrunner_core/jobs/campaign.apply_state): the campaign's own state
decides, a running campaign is never settled, and a chain whose segment was killed before it could
decide is moved on by the laptop side with the segments' own rules."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from namdrunner_core.jobs import campaign
from namdrunner_core.models import JobRecord
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import JobStatus

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def _attempt(segment: int, attempt: int, slurm_id: str, state: str = "running", **kw: Any) -> dict[str, Any]:
    return {"segment": segment, "attempt": attempt, "slurm_id": slurm_id, "state": state, "start_step": 0,
            "end_step": None, "outcome": None, "action": None, "reason": None, "restartfreq": 600, **kw}  # fmt: skip


def _state(*attempts: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"state": "running", "reason": "", "target_step": 24_000, "first_step": 0, "timestep_fs": 2.0,
            "walltime_s": 3600.0, "attempts": list(attempts), "next_job": None, **kw}  # fmt: skip


def _record(state: dict[str, Any], status: JobStatus, slurm_id: str = "101", slurm_state: str = "RUNNING") -> JobRecord:
    res = Resources(cores=1, memory_gb=2.0, walltime="01:00:00")
    return JobRecord(job_id="prod_1", job_name="prod", profile="loopback", remote_user="u", status=status,
                     template_id="t", template_values={}, resources=res,
                     project_dir="/p/prod_1", scratch_dir="/s/prod_1", created_at=NOW, updated_at=NOW,
                     slurm_job_id=slurm_id, slurm_state=slurm_state, campaign=state)  # fmt: skip


def raw(state: dict[str, Any]) -> bytes:
    return json.dumps(state).encode()


def test_the_next_segment_is_followed_and_the_campaign_never_settled_between_segments() -> None:
    ended = _attempt(1, 1, "101", "ended", outcome="COMPLETED", action="continue")
    now = _state(ended, next_job="102")
    before = _record(_state(_attempt(1, 1, "101")), JobStatus.RUNNING)
    after_slurm = attrs.evolve(before, status=JobStatus.COMPLETED, slurm_state="COMPLETED")  # segment 1 is over
    new, final, adv = campaign.apply_state(before, after_slurm, True, raw(now))
    assert (new.slurm_job_id, new.status, final, adv) == ("102", JobStatus.PENDING, False, None)
    assert new.campaign == now


def test_a_segment_killed_before_it_could_decide_is_continued_by_the_laptop() -> None:
    now = _state(_attempt(2, 1, "102"))
    before = _record(now, JobStatus.RUNNING, "102")
    killed = attrs.evolve(before, status=JobStatus.FAILED, slurm_state="NODE_FAIL")
    new, final, adv = campaign.apply_state(before, killed, True, raw(now))
    assert new.status is JobStatus.PENDING
    assert final is False  # a running campaign is never copied back and closed
    assert adv is not None
    assert adv.submit is True
    assert adv.memory_gb is None
    last = adv.state["attempts"][-1]
    assert (last["outcome"], last["action"], last["state"]) == ("NODE_FAIL", "continue", "ended")
    assert "killed before it could decide" in last["decided_by"]
    assert before.campaign == now  # the record's copy is untouched until the write succeeds


def test_out_of_memory_gets_more_memory_once_then_pauses() -> None:
    now = _state(_attempt(1, 1, "101"))
    before = _record(now, JobStatus.RUNNING)
    oom = attrs.evolve(before, status=JobStatus.FAILED, slurm_state="OUT_OF_MEMORY")
    _, _, adv = campaign.apply_state(before, oom, True, raw(now))
    assert adv is not None
    assert (adv.submit, adv.memory_gb) == (True, 3.0)
    again = _state(_attempt(1, 1, "101", "ended", outcome="OUT_OF_MEMORY", action="more-memory"), _attempt(1, 2, "102"))
    before = _record(again, JobStatus.RUNNING, "102")
    oom = attrs.evolve(before, status=JobStatus.FAILED, slurm_state="OUT_OF_MEMORY")
    new, final, adv = campaign.apply_state(before, oom, True, raw(again))
    assert adv is not None
    assert adv.submit is False
    assert new.status is JobStatus.FAILED
    assert final is True
    assert "campaign paused: out of memory twice" in (new.error_info or "")
    assert "namdrunner job submit prod_1" in (new.error_info or "")


def test_done_stopped_and_cancelled_end_the_job_when_its_segment_is_over() -> None:
    for cstate, status in (("done", JobStatus.COMPLETED), ("stopped", JobStatus.FAILED),
                           ("cancelled", JobStatus.CANCELLED)):  # fmt: skip
        now = _state(_attempt(3, 1, "103", "ended", outcome="COMPLETED"), state=cstate, reason="NAMD said so")
        before = _record(now, JobStatus.RUNNING, "103")
        still = attrs.evolve(before, slurm_state="COMPLETING")
        assert campaign.apply_state(before, still, False, raw(now))[1] is False  # not before Slurm says it ended
        over = attrs.evolve(before, status=JobStatus.COMPLETED, slurm_state="COMPLETED")
        new, final, adv = campaign.apply_state(before, over, True, raw(now))
        assert (new.status, final, adv) == (status, True, None)
        if cstate == "stopped":
            assert new.error_info == "campaign stopped: NAMD said so"


def test_a_campaign_json_that_cannot_be_read_changes_nothing_it_claims() -> None:
    now = _state(_attempt(1, 1, "101"))
    before = _record(now, JobStatus.RUNNING)
    new, final, adv = campaign.apply_state(before, before, False, b"{not json")
    assert (new.status, final, adv) == (JobStatus.RUNNING, False, None)


def test_bad_targets_are_one_line_each() -> None:
    from namdrunner_core.errors import ValidationError
    from namdrunner_core.jobs.campaign import initial_state

    base = "structure s.psf\ncoordinates s.pdb\ntimestep 2\nstepspercycle 20\noutputName out\nfirsttimestep 480000\n"
    for config, target, fragment in (
        (base + "run 1000\n", 0.5, "0.5 ns is step 250000, not beyond the config's firsttimestep 480000"),
        (base.replace("timestep 2\n", "") + "run 1000\n", 5.0, "the config sets no timestep"),
        (base + "minimize 100\n", 5.0, "exactly one `run` command (it has: minimize 100)"),
        (base + "run 1000\n", float("nan"), "give the simulated time to reach"),
    ):
        with pytest.raises(ValidationError) as caught:
            initial_state(config, target_ns=target, walltime="24:00:00", natoms=None)
        assert caught.value.field == "--target-ns"
        assert fragment in caught.value.message


def test_where_compute_nodes_may_not_submit_sync_queues_the_next_segment(tmp_path: Path) -> None:
    """A profile with compute_can_submit = false: the segment decides and records, the laptop's sync
    queues the next one, and the campaign reaches its target."""
    from namdrunner_core import Job, JobStore
    from namdrunner_core.jobs.sync import sync_jobs
    from namdrunner_core.testing import FakeSlurm
    from tests.conftest import ROOT

    tiny = ROOT / "tests" / "data" / "tiny"
    with FakeSlurm(tmp_path / "fake", namd=ROOT / "tests" / "cluster" / "namd3_standin.py") as fake:
        profile = attrs.evolve(fake.profile(), compute_can_submit=False, campaign_startup_s=0.0)
        session = fake.session(profile)
        store = JobStore(tmp_path / "db")
        job = Job.create(session, store, name="no submit", template="vacuum_optimization_v1",
                         values={"execution_command": "run", "steps": 1200, "restart_freq": 1200},
                         files=[tiny / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")],
                         resources=Resources(cores=1, memory_gb=0.5, walltime="00:10:00"), target_ns=0.01)  # fmt: skip
        assert "sbatch --parsable" not in (tmp_path / "fake").joinpath(
            "projects", session.user, "namdrunner_jobs", job.id, "job.sbatch").read_text()  # fmt: skip
        # more than one segment: the first one is sized from a (slow) speed said in its campaign.json
        state_path = tmp_path / "fake" / "projects" / session.user / "namdrunner_jobs" / job.id / "campaign.json"
        state = json.loads(state_path.read_text())
        state["ns_per_day"], state["walltime_s"], state["startup_s"] = 0.5, 600.0, 0.0  # a speed: 1,560 steps
        state_path.write_text(json.dumps(state))
        job.submit()
        for _ in range(120):
            sync_jobs(store, session)
            r = store.get_job(job.id)
            if r.status.is_terminal and r.finalized:
                break
            import time

            time.sleep(0.5)
        assert r.status is JobStatus.COMPLETED, (r.status, r.error_info)
        assert r.campaign is not None
        attempts = r.campaign["attempts"]
        assert len(attempts) >= 2
        assert len({a["slurm_id"] for a in attempts}) == len(attempts)  # each segment queued once, by sync
        assert attempts[-1]["end_step"] == r.campaign["target_step"]


def test_a_pause_the_laptop_decides_says_its_own_reason_not_an_earlier_segments() -> None:
    ended = _attempt(1, 1, "101", "ended", outcome="TIMEOUT", action="continue-shorter")
    now = _state(ended, _attempt(2, 1, "102"), reason="the time limit came first; the next segment is shorter")
    before = _record(now, JobStatus.RUNNING, "102")
    odd = attrs.evolve(before, status=JobStatus.FAILED, slurm_state="DEADLINE")  # a state the policy does not know
    new, final, adv = campaign.apply_state(before, odd, True, raw(now))
    assert (new.status, final) == (JobStatus.FAILED, True)
    assert adv is not None
    assert adv.state["state"] == "pause"
    assert "ended DEADLINE and namdrunner does not know why" in (new.error_info or "")
    assert "time limit came first" not in (new.error_info or "")


def test_a_segment_slurm_failed_before_it_could_decide_is_tried_again_then_pauses() -> None:
    # a requeued segment whose launch the node refused (still cleaning up after its failure): Slurm says
    # FAILED and the batch script never ran its end step
    seg1 = _attempt(1, 1, "101", "ended", outcome="TIMEOUT", action="continue-shorter", reason="time limit")
    now = _state(seg1, _attempt(2, 1, "102"), reason="the time limit came first; the next segment is shorter")
    before = _record(now, JobStatus.RUNNING, "102")
    failed = attrs.evolve(before, status=JobStatus.FAILED, slurm_state="FAILED")
    new, final, adv = campaign.apply_state(before, failed, True, raw(now))
    assert (new.status, final) == (JobStatus.PENDING, False)
    assert adv is not None
    assert adv.submit is True
    assert adv.state["attempts"][-1]["outcome"] == "FAILED"
    assert "before it could decide (FAILED)" in adv.state["reason"]
