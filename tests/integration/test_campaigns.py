"""Issue 32: campaigns on the real loopback Slurm - a run carried to its target over several Slurm jobs
with no command after `create`: the first segment stopped cleanly by Slurm's warning before its time
limit, the next ones sized from the speed the first measured and submitted by the segments themselves,
a node failure requeued and continued as another attempt, NAMD's physics error stopping the campaign
after one attempt, the laptop side moving on a chain whose segment was killed before it could decide,
and `job cancel` stopping the whole campaign."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from namdrunner_core import Job, JobStatus, JobStore, Resources, Session
from namdrunner_core.jobs.discover import discover_jobs
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.scripts.campaign_step import slurm_seconds
from namdrunner_core.usage import usage_report
from tests.conftest import DATA, ClusterEnv
from tests.integration.conftest import cluster_sh

pytestmark = pytest.mark.cluster

TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]
#: two-minute segments; Slurm warns 20 s before the limit (up to 30 s earlier: its check is periodic)
SEGMENT = Resources(cores=1, memory_gb=0.5, walltime="00:02:00")
NS_PER_STEP = 2e-6  # the vacuum template's 2 fs timestep


@pytest.fixture
def fast(session: Session) -> Session:
    """The loopback session with campaign settings for two-minute segments."""
    profile = attrs.evolve(session.profile, campaign_warn_s=20, campaign_startup_s=3.0)
    return Session(profile, session.transport, session.user)


def as_root(cluster: ClusterEnv, *args: str) -> str:
    env = {**os.environ, "SLURM_CONF": cluster.slurm_conf}
    return subprocess.run(list(args), capture_output=True, text=True, env=env, check=True).stdout


def campaign(session: Session, store: JobStore, name: str, target_ns: float, control: str) -> Job:
    values = {"steps": 1200, "execution_command": "run", "restart_freq": 1200}
    return Job.create(session, store, name=name, template="vacuum_optimization_v1", values=values, files=TINY,
                      resources=SEGMENT, target_ns=target_ns,
                      extra_files={"namd-standin.control": control.encode()})  # fmt: skip


def remote_state(cluster: ClusterEnv, job: Job) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(as_root(cluster, "cat", f"{job.record.scratch_dir}/campaign.json"))
    return state


def slurm_jobs_named(cluster: ClusterEnv, name: str) -> list[str]:
    out = as_root(cluster, "sacct", "-X", "-n", "-P", "-S", "now-2hours", f"--name={name}", "-o", "JobID")
    return sorted({ln.strip() for ln in out.splitlines() if ln.strip()})


def settled(store: JobStore, session: Session, job: Job, wait_until: Callable[..., object], limit: float) -> Any:
    def over() -> bool:
        sync_jobs(store, session)
        r = store.get_job(job.id)
        return r.status.is_terminal and r.finalized

    wait_until(over, limit, 3, what=f"campaign {job.id} settled")
    return store.get_job(job.id)


def test_a_campaign_reaches_its_target_through_a_time_limit_and_a_node_failure(
    fast: Session, store: JobStore, cluster: ClusterEnv, wait_until: Callable[..., object], tmp_path: Path
) -> None:
    cluster_sh("requeue", "on")  # Slurm requeues a job after a node failure (the default at most sites)
    target_ns = 0.48  # 240,000 steps at 2,000 steps/s: more than one two-minute segment holds
    job = campaign(fast, store, "campaign", target_ns, "pace 2000\n").submit()
    target = job.record.campaign["target_step"] if job.record.campaign else 0
    assert target == 240_000

    def in_segment(n: int, attempt: int = 1) -> bool:
        state = remote_state(cluster, job)
        last = state["attempts"][-1] if state["attempts"] else None
        return bool(last and (last["segment"], last["attempt"]) >= (n, attempt) and last["state"] == "running")

    wait_until(lambda: in_segment(2), 240, 2, what="the second segment running (the first one warned and stopped)")
    time.sleep(8)  # the second segment has written restart files (restartfreq: a few seconds of steps)
    sid = remote_state(cluster, job)["attempts"][-1]["slurm_id"]
    try:
        cluster_sh("node", "down")  # the node fails under segment 2: Slurm requeues the same job
        wait_until(lambda: "NODE_FAIL" in as_root(cluster, "sacct", "-n", "-D", "-j", sid, "-o", "State"), 60, 2,
                   what="the segment's node failure in Slurm's accounting")  # fmt: skip
    finally:
        cluster_sh("node", "resume")
    # an admin releases the requeued segment before Slurm's two-minute hold ends: it starts again (REQUEUED,
    # continued by the segment itself), or - when the node still refuses the revoked credential of the
    # killed run - Slurm ends it FAILED at once and sync tries the segment again: both happen at sites
    cluster_sh("release", sid)
    r = settled(store, fast, job, wait_until, 900)
    state = remote_state(cluster, job)
    attempts = state["attempts"]
    said = [(a["segment"], a["attempt"], a["slurm_id"], a["outcome"], a.get("decided_by")) for a in attempts]
    assert r.status is JobStatus.COMPLETED, (r.status, r.slurm_state, r.error_info, said)
    assert state["state"] == "done"
    outcomes = [(a["segment"], a["attempt"], a["outcome"]) for a in attempts]
    assert outcomes[0][:2] == (1, 1)
    assert outcomes[0][2] == "TIMEOUT"  # the probe segment: stopped by Slurm's warning, restart files whole
    cut = next((a for a in attempts if a["outcome"] in ("REQUEUED", "FAILED")), None)
    assert cut is not None, outcomes  # the segment the node failure cut short
    assert cut["outcome"] == "REQUEUED" or "namdrunner" in cut.get("decided_by", ""), said
    again = attempts[attempts.index(cut) + 1]
    assert (again["segment"], again["attempt"]) == (cut["segment"], cut["attempt"] + 1)  # the same segment again
    assert again["start_step"] > cut["start_step"]  # from the restart files the cut segment wrote
    assert attempts[-1]["outcome"] == "COMPLETED"
    assert attempts[-1]["end_step"] == target  # exactly the target step
    # no two segments ever ran at once, and every segment continued where the one before stopped
    for before, after in itertools.pairwise(attempts):
        assert after["started_at"] >= before["ended_at"]
        assert after["start_step"] >= (before["start_step"] if before["outcome"] == "REQUEUED" else 0)
    # steps simulated twice: at most one restartfreq per fault (the segment's restartfreq)
    for before, after in itertools.pairwise(attempts):
        if before["outcome"] in ("TIMEOUT", "REQUEUED") and before.get("end_step"):
            assert before["end_step"] - after["start_step"] <= before["restartfreq"]
    # 0 duplicate submissions: one Slurm job per attempt, a requeue being the same job again
    assert len(slurm_jobs_named(cluster, job.id)) == len({a["slurm_id"] for a in attempts})
    # the record shows the campaign and its lineage; discovery rebuilds it from the cluster's files
    assert r.campaign is not None
    assert len(r.campaign["attempts"]) == len(attempts)
    assert r.progress is not None
    # the bill: one row per Slurm job the campaign ran (a requeued one once), each labelled with its segment
    bill = usage_report(fast, [r])
    assert sorted(j.slurm_job_id for j in bill.jobs) == sorted({a["slurm_id"] for a in attempts})
    assert all(j.segment for j in bill.jobs)
    assert bill.total_su > 0
    fresh = JobStore(tmp_path / "fresh.db")
    assert job.id in discover_jobs(fresh, fast).added
    found = fresh.get_job(job.id)
    assert found.campaign is not None
    assert found.campaign["state"] == "done"
    assert [a["slurm_id"] for a in found.campaign["attempts"]] == [a["slurm_id"] for a in attempts]


def test_a_physics_error_stops_the_campaign_after_one_attempt(
    fast: Session, store: JobStore, cluster: ClusterEnv, wait_until: Callable[..., object]
) -> None:
    job = campaign(fast, store, "unstable", 0.2, "pace 2000\nfail-at 7200 too-fast\n").submit()
    r = settled(store, fast, job, wait_until, 300)
    state = remote_state(cluster, job)
    assert r.status is JobStatus.FAILED
    assert state["state"] == "stopped"
    assert len(state["attempts"]) == 1  # never retried
    assert "Atoms moving too fast" in (r.error_info or "")
    assert "NAMD stopped (the newest step in its log: " in (r.error_info or "")
    assert len(slurm_jobs_named(cluster, job.id)) == 1


def test_cancel_stops_the_whole_campaign_and_submit_resumes_it(
    fast: Session, store: JobStore, cluster: ClusterEnv, wait_until: Callable[..., object]
) -> None:
    job = campaign(fast, store, "cancelled", 0.4, "pace 500\n").submit()

    def running() -> bool:
        sync_jobs(store, fast)
        return store.get_job(job.id).status is JobStatus.RUNNING

    wait_until(running, 120, 2, what="the first segment running")
    job = Job(fast, store, store.get_job(job.id)).cancel()
    r = settled(store, fast, job, wait_until, 120)
    assert r.status is JobStatus.CANCELLED
    assert remote_state(cluster, job)["state"] == "cancelled"
    time.sleep(5)
    assert as_root(cluster, "squeue", "-h", "-n", job.id).strip() == ""  # nothing follows a cancelled campaign
    resumed = Job(fast, store, r).submit()  # continues from its newest restart files, in its own directory
    assert resumed.record.status is JobStatus.PENDING
    assert remote_state(cluster, job)["state"] == "running"
    Job(fast, store, store.get_job(job.id)).cancel()


def test_a_preempted_segment_is_continued_after_the_urgent_job(
    fast: Session, store: JobStore, cluster: ClusterEnv, wait_until: Callable[..., object]
) -> None:
    """A job of a higher PriorityTier takes the node (PreemptMode=REQUEUE, as on Blanca's preemptable
    partition): Slurm requeues the segment, which continues as another attempt from its restart files."""
    values = {"steps": 1200, "execution_command": "run", "restart_freq": 1200}
    res = Resources(cores=1, memory_gb=0.5, walltime="00:02:00", partition="apreempt")
    job = Job.create(fast, store, name="preempted", template="vacuum_optimization_v1", values=values, files=TINY,
                     resources=res, target_ns=0.2,
                     extra_files={"namd-standin.control": b"pace 2000\n"}).submit()  # fmt: skip

    def restart_written() -> bool:
        state = remote_state(cluster, job)
        return bool(state["attempts"]) and "restart.coor" in as_root(cluster, "ls", f"{job.record.scratch_dir}/outputs")

    wait_until(restart_written, 120, 1, what="the segment running with restart files")
    sid = remote_state(cluster, job)["attempts"][-1]["slurm_id"]
    urgent = fast.slurm(["sbatch", "--parsable", "-p", "aurgent", "-n", "16", "--mem=1G", "-t", "00:01:00",
                         "--wrap=sleep 5"]).stdout.strip()  # fmt: skip
    wait_until(lambda: "PREEMPTED" in as_root(cluster, "sacct", "-n", "-D", "-j", sid, "-o", "State"), 90, 2,
               what="the segment preempted")  # fmt: skip
    wait_until(lambda: as_root(cluster, "squeue", "-h", "-j", urgent).strip() == "", 90, 2, what="the urgent job done")
    cluster_sh("release", sid)  # no requeue hold
    r = settled(store, fast, job, wait_until, 600)
    state = remote_state(cluster, job)
    assert r.status is JobStatus.COMPLETED, (r.status, r.error_info)
    outcomes = [(a["segment"], a["attempt"], a["outcome"]) for a in state["attempts"]]
    assert (1, 1, "REQUEUED") in outcomes, outcomes
    assert (1, 2, "COMPLETED") in outcomes, outcomes
    assert state["attempts"][-1]["end_step"] == state["target_step"]


def test_a_segment_is_fitted_before_a_maintenance_window(
    fast: Session, store: JobStore, cluster: ClusterEnv, wait_until: Callable[..., object]
) -> None:
    """A maintenance reservation in 15 minutes: a one-hour segment could not start before it (it would
    wait, ReqNodeNotAvail, until the window is over); the campaign asks for what fits and runs now,
    sized to the time it really has."""
    cluster_sh("reservation", "maint", "15", "30")
    try:
        values = {"steps": 1200, "execution_command": "run", "restart_freq": 1200}
        res = Resources(cores=1, memory_gb=0.5, walltime="01:00:00")
        job = Job.create(fast, store, name="before maint", template="vacuum_optimization_v1", values=values,
                         files=TINY, resources=res, target_ns=4.0,
                         extra_files={"namd-standin.control": b"pace 200\n"}).submit()  # fmt: skip
        sid = job.record.slurm_job_id or ""
        limit = as_root(cluster, "squeue", "-h", "-j", sid, "-o", "%l").strip()
        assert 11 * 60 <= (slurm_seconds(limit) or 0) <= 13 * 60, limit  # 12-13 minutes, not the hour asked for
        wait_until(lambda: as_root(cluster, "squeue", "-h", "-j", sid, "-o", "%T").strip() == "RUNNING", 60, 1,
                   what="the capped segment running now")  # fmt: skip
        wait_until(lambda: remote_state(cluster, job)["attempts"], 60, 1, what="the segment started")
        attempt = remote_state(cluster, job)["attempts"][-1]
        assert attempt["state"] == "running"
        Job(fast, store, store.get_job(job.id)).cancel()
    finally:
        cluster_sh("reservation", "clear")
