"""Issue 30: Slurm's truth under faults, each staged on the real loopback Slurm (tests/cluster/cluster.sh):
a controller that lost its state and hands out ids again, an sbatch that reaches the controller after
namdrunner gave up, a controller that stops answering, an accounting outage, a site that leaves
dependants pending, several processes writing one store, a node that fails under a job (with and
without Slurm's requeue). The state of a job is what Slurm proves about THAT job, its exit marker and
its log - never a guess shown as fact."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from namdrunner_cli.main import cli
from namdrunner_core import Cluster, Job, JobStatus, JobStore, Resources, Session
from namdrunner_core.errors import SubmissionUncertainError
from namdrunner_core.jobs import submission
from namdrunner_core.jobs.submission import SUBMIT_UNCERTAIN
from namdrunner_core.jobs.sync import GUESSED, sync_jobs
from namdrunner_core.usage import usage_report
from namdrunner_core.workflow import StageSpec, Workflow
from tests.conftest import DATA, ClusterEnv
from tests.integration.conftest import cluster_sh, vacuum_job

pytestmark = pytest.mark.cluster

SMALL = Resources(cores=1, memory_gb=0.5, walltime="00:10:00")
TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]


def as_root(cluster: ClusterEnv, *args: str) -> str:
    env = {**os.environ, "SLURM_CONF": cluster.slurm_conf}
    return subprocess.run(list(args), capture_output=True, text=True, env=env, check=True).stdout


def named(cluster: ClusterEnv, name: str) -> list[str]:
    """Every Slurm job of that name, queued or in accounting (as root, beside namdrunner)."""
    queued = as_root(cluster, "squeue", "-h", "-n", name, "-o", "%i")
    acct = as_root(cluster, "sacct", "-X", "-n", "-P", "-S", "now-1hour", f"--name={name}", "-o", "JobID")
    return sorted({ln.strip() for ln in (queued + acct).splitlines() if ln.strip()})


def running(store: JobStore, session: Session, job: Job, wait_until: Callable[..., object]) -> None:
    def started() -> bool:
        sync_jobs(store, session)
        return store.get_job(job.id).status is JobStatus.RUNNING

    wait_until(started, 90, 1, what=f"{job.id} running")


@pytest.fixture
def first_job_id_reset(cluster: ClusterEnv) -> Iterator[None]:
    yield
    conf = Path(cluster.slurm_conf)
    conf.write_text("".join(ln for ln in conf.read_text().splitlines(True) if not ln.startswith("FirstJobId=")))


def test_a_recycled_slurm_id_is_never_taken_for_our_job(
    session: Session, store: JobStore, cluster: ClusterEnv, wait_until: Callable[..., object], first_job_id_reset: None
) -> None:
    """The serious one: after the controller lost its state, a job of ours killed at 10 % and one that
    never ran were reported Completed, exit 0:0, copy-back verified, once strangers' jobs with the same
    ids finished; and `usage` of an older job showed a stranger's accounting."""
    older = vacuum_job(session, store, "older", SMALL, steps=24_000, execution_command="run").submit()
    wait_until(lambda: sync_jobs(store, session) and store.get_job(older.id).finalized, 120, 1, what="older done")
    assert store.get_job(older.id).status is JobStatus.COMPLETED
    killed = vacuum_job(session, store, "killed", SMALL, steps=12_000_000, execution_command="run").submit()
    running(store, session, killed, wait_until)
    never = vacuum_job(session, store, "never ran", Resources(cores=16, memory_gb=0.5, walltime="00:10:00"))
    never.submit()  # 16 cores while `killed` holds one: it waits
    first = int(older.record.slurm_job_id or 0)
    ours = {older.id: older.record.slurm_job_id, killed.id: killed.record.slurm_job_id,
            never.id: never.record.slurm_job_id}  # fmt: skip
    cluster_sh("controller", "reset", str(first))
    # strangers get our ids: each a short job of another name
    strangers = [
        as_root(cluster, "sbatch", "--parsable", "-J", f"stranger{i}", "-o", "/dev/null", "--wrap", "sleep 1").strip()
        for i in range(1 + max(int(x or 0) for x in ours.values()) - first)
    ]
    assert set(ours.values()) <= set(strangers), (ours, strangers)
    names = ",".join(f"stranger{i}" for i in range(len(strangers)))
    wait_until(lambda: not as_root(cluster, "squeue", "-h", "-n", names, "-o", "%i").strip(), 60, 1,
               what="the strangers' jobs done")  # fmt: skip
    sync_jobs(store, session)
    for job_id in (killed.id, never.id):
        r = store.get_job(job_id)
        # what Slurm proves of THIS job (its own record: CANCELLED by the reset), or a guess said as one -
        # never the stranger's COMPLETED
        assert r.status in (JobStatus.CANCELLED, JobStatus.FAILED), (job_id, r.status, r.error_info)
        assert r.slurm_state != "COMPLETED"
        if r.status is JobStatus.FAILED:
            assert r.slurm_state == GUESSED
            assert "asked for at every sync" in (r.error_info or "")
    never_ran = store.get_job(never.id)
    assert never_ran.slurm_state == "CANCELLED" or "without running" in (never_ran.error_info or ""), never_ran
    # usage of the older job: its own accounting, not the stranger's 1 s
    report_u = usage_report(session, [store.get_job(older.id)])
    assert [j.name for j in report_u.jobs] == ["older"]
    mine = as_root(cluster, "sacct", "-D", "-X", "-n", "-P", "-j", ours[older.id] or "", "-o", "JobName,ElapsedRaw")
    own = dict(line.split("|") for line in mine.splitlines())
    assert report_u.jobs[0].elapsed_s == int(own[older.id])
    assert own[older.id] != own.get("stranger0")
    for job_id in ours:
        Job(session, store, store.get_job(job_id)).delete(force=True)


def test_an_sbatch_that_arrives_late_is_uncertain_then_found(
    session: Session, store: JobStore, cluster: ClusterEnv, monkeypatch: pytest.MonkeyPatch,
    wait_until: Callable[..., object],
) -> None:  # fmt: skip
    """sbatch reached the controller after namdrunner's time-out: it said "not submitted; submit
    again", and following that ran two Slurm jobs in one directory."""
    monkeypatch.setattr(submission, "SBATCH_TIMEOUT_S", 4.0)
    job = vacuum_job(session, store, "late sbatch", SMALL, steps=12_000_000, execution_command="run")
    cluster_sh("fault", "sbatch", "late", "12")
    try:
        with pytest.raises(SubmissionUncertainError, match="submission uncertain"):
            job.submit()
    finally:
        cluster_sh("fault", "sbatch", "none")
    r = store.get_job(job.id)
    assert (r.status, r.slurm_state, r.slurm_job_id) == (JobStatus.UNKNOWN, SUBMIT_UNCERTAIN, None)
    assert "bash -c" not in (r.error_info or "")  # the time-out names the program, not the script
    with pytest.raises(SubmissionUncertainError):
        Job(session, store, r).submit()  # not again while it may be queued
    with pytest.raises(SubmissionUncertainError):
        Job(session, store, r).delete()  # nor its directories removed under a job that may run

    def found() -> bool:
        sync_jobs(store, session)
        return store.get_job(job.id).slurm_job_id is not None

    wait_until(found, 60, 2, what="the late submission found by its token")
    r = store.get_job(job.id)
    assert r.status in (JobStatus.PENDING, JobStatus.RUNNING)
    assert named(cluster, job.id) == [r.slurm_job_id]  # exactly one Slurm job
    Job(session, store, r).cancel()


def test_a_controller_that_does_not_answer_makes_a_submission_uncertain_not_absent(
    session: Session, store: JobStore, cluster: ClusterEnv, monkeypatch: pytest.MonkeyPatch,
    wait_until: Callable[..., object],
) -> None:  # fmt: skip
    monkeypatch.setattr(submission, "SBATCH_TIMEOUT_S", 4.0)
    job = vacuum_job(session, store, "paused ctld", SMALL, steps=12_000_000, execution_command="run")
    cluster_sh("controller", "pause")
    try:
        with pytest.raises(SubmissionUncertainError):
            job.submit()
        started = time.monotonic()
        report = sync_jobs(store, session)  # the controller is still away: nothing decided
        assert time.monotonic() - started < 45
        assert store.get_job(job.id).slurm_state == SUBMIT_UNCERTAIN
        assert report.changed == ()
    finally:
        cluster_sh("controller", "resume")

    def resolved() -> bool:
        sync_jobs(store, session)
        return store.get_job(job.id).slurm_state != SUBMIT_UNCERTAIN

    wait_until(resolved, 90, 2, what="the uncertain submission resolved")
    r = store.get_job(job.id)
    queued = named(cluster, job.id)
    if r.slurm_job_id:  # the sbatch that waited for the controller went through: adopted, exactly once
        assert queued == [r.slurm_job_id]
        Job(session, store, r).cancel()
    else:  # it did not: proven absent, and only then "submit again"
        assert queued == []
        assert r.status is JobStatus.CREATED


def test_an_accounting_outage_is_said_and_its_guesses_replaced_by_the_truth(
    session: Session, store: JobStore, cluster: ClusterEnv, env: dict[str, str], accounting_off: None,
    wait_until: Callable[..., object],
) -> None:  # fmt: skip
    """With slurmdbd stopped every sync took 46 s and said nothing; a job cancelled during the outage
    stayed "Failed: left the queue without an exit marker (killed?)" for ever."""
    job = vacuum_job(session, store, "cancelled in outage", SMALL, steps=12_000_000, execution_command="run")
    job.submit()
    running(store, session, job, wait_until)
    as_root(cluster, "scancel", job.record.slurm_job_id or "")  # an admin, or the person elsewhere
    wait_until(lambda: not as_root(cluster, "squeue", "-h", "-j", job.record.slurm_job_id or "", "-o", "%i").strip(),
               30, 1, what="the job gone from squeue")  # fmt: skip
    started = time.monotonic()
    out = CliRunner().invoke(cli, ["sync"], env={"NAMDRUNNER_DB": str(store.path)}, catch_exceptions=False)
    took = time.monotonic() - started
    assert out.exit_code == 0, out.output
    assert took < 25, took
    warned = [ln for ln in out.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warned) == 1, out.stderr
    assert "accounting (sacct) did not answer" in warned[0]
    guessed = store.get_job(job.id)
    assert (guessed.status, guessed.slurm_state) == (JobStatus.FAILED, GUESSED)
    cluster_sh("accounting", "on")

    def truth() -> bool:
        sync_jobs(store, session)
        return store.get_job(job.id).slurm_state != GUESSED

    wait_until(truth, 60, 2, what="Slurm's verdict replacing the guess")
    r = store.get_job(job.id)
    assert r.status is JobStatus.CANCELLED
    assert (r.slurm_state or "").startswith("CANCELLED")
    assert r.error_info is None
    Job(session, store, r).delete()


@pytest.fixture
def no_kill_profile(env: dict[str, str]) -> Iterator[Session]:
    profiles = Path(env["NAMDRUNNER_CONFIG_DIR"]) / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / "nokill.toml").write_text('extends = "loopback"\nkill_invalid_dependants = false\n')
    with Cluster.from_profile("nokill").connect() as s:
        yield s


def test_a_chain_left_pending_by_the_site_is_settled_after_any_unsuccessful_stage(
    no_kill_profile: Session, store: JobStore, cluster: ClusterEnv, wait_until: Callable[..., object]
) -> None:
    """Where a site leaves dependants pending (DependencyNeverSatisfied), a workflow whose first stage
    was cancelled kept its later stages Pending for ever."""
    session = no_kill_profile
    spec = {"execution_command": "run", "restart_freq": 120, "energy_freq": 60, "dcd_freq": 120, "xst_freq": 120}
    stages = [StageSpec(n, "explicit_solvent_npt_v1", {**spec, "steps": s, "output_name": n}, SMALL)
              for n, s in (("first", 12_000_000), ("second", 240), ("third", 240))]  # fmt: skip
    wf = Workflow.create(session, store, name="pending chain", shared_files=TINY, stages=stages).submit()
    first, second, third = wf.jobs()
    running(store, session, first, wait_until)
    as_root(cluster, "scancel", first.record.slurm_job_id or "")  # an admin (or a preemption) ends it

    def settled() -> bool:
        sync_jobs(store, session)
        return all(store.get_job(j.id).status.is_terminal for j in (first, second, third))

    wait_until(settled, 60, 2, what="the chain settled")
    assert store.get_job(first.id).status is JobStatus.CANCELLED
    for j in (second, third):
        r = store.get_job(j.id)
        assert (r.status, r.error_info) == (JobStatus.CANCELLED, "not run: stage 'first' was cancelled")
        queued = as_root(cluster, "squeue", "-h", "-j", r.slurm_job_id or "", "-o", "%T").strip()
        assert queued in ("", "CANCELLED"), queued  # not left pending on the cluster either
    for j in wf.jobs():
        j.delete(force=True)


def test_deleted_jobs_stay_deleted_under_concurrent_syncs(
    session: Session, store: JobStore, env: dict[str, str], cluster: ClusterEnv
) -> None:
    """Four sync loops while another process deletes jobs: deleted jobs came back as Cancelled
    records pointing at directories that no longer exist."""
    jobs = [vacuum_job(session, store, f"churn {i}", SMALL, steps=12_000_000, execution_command="run").submit()
            for i in range(6)]  # fmt: skip
    loop = (
        "import time\nfrom namdrunner_core import Cluster, JobStore\nfrom namdrunner_core.jobs.sync import sync_jobs\n"
        f"store = JobStore({str(store.path)!r})\n"
        "with Cluster.from_profile('loopback').connect() as s:\n"
        "    end = time.monotonic() + 25\n"
        "    while time.monotonic() < end:\n"
        "        sync_jobs(store, s)\n"
    )
    syncs = [subprocess.Popen([sys.executable, "-c", loop], env={**os.environ, **env}) for _ in range(4)]
    try:
        time.sleep(2)
        for j in jobs:
            out = CliRunner().invoke(cli, ["--json", "job", "delete", j.id, "--yes", "--force"],
                                     env={"NAMDRUNNER_DB": str(store.path)}, catch_exceptions=False)  # fmt: skip
            assert out.exit_code == 0, out.output
            time.sleep(0.5)
    finally:
        for p in syncs:
            p.wait(timeout=120)
    assert [p.returncode for p in syncs] == [0, 0, 0, 0]
    left = set(store.job_ids()) & {j.id for j in jobs}
    assert left == set(), left
    for j in jobs:
        for root in (cluster.projects, cluster.scratch):
            assert not Path(root, "namdrunner_jobs", j.id).exists()


@pytest.mark.parametrize("requeue", [True, False])
def test_a_node_failure_is_said_and_a_requeue_tracked_from_its_own_start(
    session: Session, store: JobStore, cluster: ClusterEnv, wait_until: Callable[..., object], requeue: bool
) -> None:
    """A node failure with Slurm's default requeue showed "Pending (BeginTime)" at 40 %, no word of
    the failure or that the rerun starts from step 0; without requeue it said "submit again"."""
    cluster_sh("requeue", "on" if requeue else "off")  # Slurm fixes a job's requeue flag when it is submitted
    job = vacuum_job(session, store, f"node fail {requeue}", SMALL, steps=12_000_000, execution_command="run",
                     restart_freq=6000)  # fmt: skip
    job.submit()

    def checkpointed() -> bool:
        sync_jobs(store, session)
        p = store.get_job(job.id).progress
        return bool(p and p.last_checkpoint_step)

    wait_until(checkpointed, 90, 1, what="a checkpoint written")
    before = store.get_job(job.id).progress
    assert before is not None
    try:
        cluster_sh("node", "down")
        if requeue:

            def said() -> bool:
                sync_jobs(store, session)
                return "requeued" in (store.get_job(job.id).error_info or "")

            wait_until(said, 30, 1, what="the requeue said")
        r = store.get_job(job.id)
        if requeue:
            assert r.status in (JobStatus.PENDING, JobStatus.RUNNING), (r.status, r.error_info)
            assert r.error_info is not None
            assert "requeued it after NODE_FAIL" in r.error_info
            assert "from step 0" in r.error_info
            assert "checkpoint at step" in r.error_info
        cluster_sh("node", "resume")
        if requeue:
            # Slurm holds a requeued job until two minutes after the requeue (BeginTime); an admin
            # releases it at once here, so the test does not wait for that
            cluster_sh("release", r.slurm_job_id or "")

            def rerunning() -> bool:
                sync_jobs(store, session)
                p = store.get_job(job.id).progress
                return store.get_job(job.id).status is JobStatus.RUNNING and p is not None and p.step is not None

            wait_until(rerunning, 90, 1, what="the rerun tracked")
            p = store.get_job(job.id).progress
            assert p is not None
            # the rerun is tracked from its own start: its steps, not the first run's 40 %
            assert (p.step or 0) < (before.step or 0) + 12_000, (p, before)
            Job(session, store, store.get_job(job.id)).cancel()
        else:
            wait_until(lambda: sync_jobs(store, session) and store.get_job(job.id).finalized, 60, 1,
                       what="the failed job settled")  # fmt: skip
            r = store.get_job(job.id)
            assert (r.status, r.slurm_state) == (JobStatus.FAILED, "NODE_FAIL")
            assert r.error_info is not None
            assert "job restart" in r.error_info
            assert "checkpoint at step" in r.error_info
            assert "submit again" not in r.error_info
    finally:
        cluster_sh("node", "resume")
        cluster_sh("requeue", "on")
    Job(session, store, store.get_job(job.id)).delete(force=True)


def test_a_sync_of_running_uncertain_and_guessed_jobs_is_one_command(
    session: Session, store: JobStore, wait_until: Callable[..., object]
) -> None:
    """Every question of a sync in its ONE status command: a running job's state and progress, the
    token look-up of an uncertain submission, and Slurm asked again about a guessed end - and no
    job_info.json rewrite for a progress tick."""
    runs = vacuum_job(session, store, "one command", SMALL, steps=12_000_000, execution_command="run").submit()
    running(store, session, runs, wait_until)
    now = dt.datetime.now(dt.UTC)
    unsure = vacuum_job(session, store, "unsure", SMALL)
    store.save_job(attrs.evolve(unsure.record, status=JobStatus.UNKNOWN, slurm_state=SUBMIT_UNCERTAIN,
                                submit_token="nr-nowhere", submitted_at=now))  # fmt: skip
    guessed = vacuum_job(session, store, "guessed", SMALL)
    store.save_job(attrs.evolve(guessed.record, status=JobStatus.FAILED, slurm_state=GUESSED, slurm_job_id="1",
                                submitted_at=now, completed_at=now, finalized=True, copy_back="verified"))  # fmt: skip
    report = sync_jobs(store, session)
    assert report.checked == 3
    assert report.remote_commands == 1, report
    assert store.get_job(unsure.id).slurm_state == SUBMIT_UNCERTAIN  # sbatch might still be running
    assert store.get_job(guessed.id).slurm_state == GUESSED  # id 1 is another job's: no verdict of ours
    assert json.dumps(attrs.asdict(report))  # plain data for --json
    Job(session, store, store.get_job(runs.id)).cancel()
    for j in (runs, unsure, guessed):
        Job(session, store, store.get_job(j.id)).delete(force=True)
