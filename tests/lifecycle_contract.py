"""One lifecycle contract, run against the fake Slurm (tests/unit/test_lifecycle_fake.py, seconds, no
daemons) AND against the real loopback Slurm cluster (tests/integration/test_lifecycle_contract.py),
so that the fake cannot drift from what a real Slurm answers.

Every check goes through the public core only: create, submit, sync, outputs, download, restart,
workflows chained with afterok, sweeps as one job array, cancel, delete.
"""

from __future__ import annotations

import time
from pathlib import Path

import attrs
import pytest

from namdrunner_core import (
    Job,
    JobStatus,
    JobStore,
    Resources,
    Session,
    StageSpec,
    Sweep,
    ValidationError,
    Workflow,
    sync_jobs,
)
from namdrunner_core.jobs.submission import find_by_token
from namdrunner_core.workflow import plan_workflow
from tests.conftest import DATA

TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]
RES = Resources(cores=1, memory_gb=0.5, walltime="00:10:00")


def _wait(store: JobStore, session: Session, job_ids: list[str], timeout: float = 120) -> list[JobStatus]:
    """Sync until every job has ended and is settled; their statuses."""
    deadline = time.monotonic() + timeout
    while True:
        sync_jobs(store, session)
        records = [store.get_job(j) for j in job_ids]
        if all(r.status.is_terminal and r.finalized for r in records):
            return [r.status for r in records]
        assert time.monotonic() < deadline, [(r.job_id, r.status, r.slurm_state) for r in records]
        time.sleep(0.3)


def _exists(session: Session, path: str) -> bool:
    return session.transport.run(["test", "-e", path], check=False).exit_code == 0


def check_job_lifecycle(session: Session, store: JobStore, tmp_path: Path) -> None:
    """create -> submit -> (sync) Completed, copy-back verified -> outputs -> download -> restart -> delete."""
    job = Job.create(
        session, store, name="contract min", template="vacuum_optimization_v1",
        values={"steps": 480, "execution_command": "minimize", "restart_freq": 240}, files=TINY, resources=RES,
    )  # fmt: skip
    assert _exists(session, f"{job.record.project_dir}/config.namd")
    job.submit()
    assert store.get_job(job.id).status is JobStatus.PENDING
    assert _wait(store, session, [job.id]) == [JobStatus.COMPLETED]
    done = store.get_job(job.id)
    assert (done.copy_back, done.exit_code) == ("verified", "0:0")
    assert done.progress is not None
    assert done.progress.step == 480
    outputs = Job(session, store, done).outputs()
    assert "outputs/vacuum_opt.coor" in {f.name for f in outputs.project}
    report = Job(session, store, done).download(tmp_path / "dl", include=["outputs/*"])
    assert (tmp_path / "dl" / "outputs" / "vacuum_opt.coor").is_file()
    assert all(f.startswith("outputs/") for f in report.files_sent)
    child = Job(session, store, done).restart(steps=240).submit()
    assert _wait(store, session, [child.id]) == [JobStatus.COMPLETED]
    assert store.get_job(child.id).template_values["first_timestep"] == 480
    for j in (child.id, job.id):
        record = store.get_job(j)
        Job(session, store, record).delete()
        assert not _exists(session, record.project_dir)
        assert not _exists(session, record.scratch_dir)
    assert store.list_jobs() == []


def check_workflow_chain_and_planned_ids(session: Session, store: JobStore) -> None:
    """A two-stage workflow: the ids planned are the ids created; afterok chains them; the second
    continues from the first's step."""
    stages = [
        StageSpec("min", "vacuum_optimization_v1", {"execution_command": "minimize", "steps": 240}, RES),
        StageSpec("run", "vacuum_optimization_v1", {"execution_command": "run", "steps": 240}, RES),
    ]
    plan = plan_workflow(session.profile, session.user, store, name="contract wf", stages=stages, shared_files=TINY)
    seen: list[tuple[int, int]] = []
    wf = Workflow.create_planned(session, store, plan, progress=lambda done, total: seen.append((done, total)))
    assert [j.id for j in wf.jobs()] == [p.record.job_id for p in plan.prepared]  # what a dry run printed
    # the bytes of every stage's upload, as one count that only grows, ending at the sum of the files sent
    sent = sum(int(session.transport.run(["stat", "-c", "%s", f"{p.record.project_dir}/{rel}"]).stdout)
               for p in plan.prepared for rel in p.payload())  # fmt: skip
    assert {total for _, total in seen} == {sent}
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (sent, sent)
    wf.submit()
    ids = [j.id for j in wf.jobs()]
    assert _wait(store, session, ids) == [JobStatus.COMPLETED, JobStatus.COMPLETED]
    assert store.get_job(ids[1]).template_values["first_timestep"] == 240
    assert Workflow.load(session, store, wf.id).status is JobStatus.COMPLETED
    assert wf.delete() == ids
    assert store.workflow_ids() == []


def check_campaign_as_the_last_stage(session: Session, store: JobStore) -> None:
    """A workflow whose last stage is a campaign: it waits for the stage before (afterok), its first
    segment starts from that stage's outputs and firsttimestep, and it ends exactly at its target step;
    a campaign before the last stage is refused."""
    run = {"execution_command": "run", "steps": 240, "restart_freq": 240}
    stages = [
        StageSpec("min", "vacuum_optimization_v1", {"execution_command": "minimize", "steps": 240}, RES),
        StageSpec("prod", "vacuum_optimization_v1", run, RES, target_ns=0.001),  # 500 fs -> step 504
    ]
    with pytest.raises(ValidationError, match="only the last stage may be a campaign"):
        plan_workflow(session.profile, session.user, store, name="bad", stages=stages[::-1], shared_files=TINY)
    plan = plan_workflow(session.profile, session.user, store, name="contract campaign", stages=stages,
                         shared_files=TINY)  # fmt: skip
    wf = Workflow.create_planned(session, store, plan).submit()
    ids = [j.id for j in wf.jobs()]
    assert _wait(store, session, ids) == [JobStatus.COMPLETED, JobStatus.COMPLETED]
    prod = store.get_job(ids[1])
    assert prod.campaign is not None
    assert prod.campaign["state"] == "done"
    (attempt,) = prod.campaign["attempts"]
    assert (attempt["start_step"], attempt["end_step"]) == (240, 504)  # from the minimisation's last step
    segment = session.transport.run(["cat", f"{prod.results_dir}/segment.namd"]).stdout
    assert "\nbincoordinates" in segment  # the stage's own start: the minimised coordinates, kept
    assert "bincoordinates     input_files/vacuum_opt.coor" in segment  # the minimisation's outputs
    wf.delete()


def check_sweep_as_one_array(session: Session, store: JobStore) -> None:
    """Two grid points: ONE array (one Slurm id, tasks _0 and _1), both complete."""
    sweep = Sweep.create_sweep(
        session, store, name="contract sweep", template="vacuum_optimization_v1",
        grid={"temperature": [290, 310]}, files=TINY, resources=RES,
        values={"execution_command": "run", "steps": 240},
    )  # fmt: skip
    sweep.submit()
    records = [j.record for j in sweep.jobs()]
    array_ids = {r.slurm_job_id.split("_")[0] for r in records if r.slurm_job_id}
    assert len(array_ids) == 1
    assert sorted(r.slurm_job_id or "" for r in records) == [f"{next(iter(array_ids))}_{i}" for i in range(2)]
    assert _wait(store, session, [r.job_id for r in records]) == [JobStatus.COMPLETED] * 2
    # the same duplicate-submission guard as a single job: one token on every point, known to Slurm
    tokens = {store.get_job(r.job_id).submit_token for r in records}
    assert len(tokens) == 1
    assert (find_by_token(session, tokens.pop() or "", sweep.id) or "").split("_")[0] == next(iter(array_ids))
    # ... and the same record reset: a point that failed is submitted again with its last run cleared
    failed = attrs.evolve(store.get_job(records[0].job_id), status=JobStatus.FAILED, exit_code="1:0",
                          error_info="FAILED: exit 1", copy_back="failed", copy_back_error="rsync exit 23")  # fmt: skip
    store.save_job(failed)
    Sweep.load(session, store, sweep.id).submit()
    again = store.get_job(failed.job_id)
    assert (again.status, again.exit_code, again.error_info, again.copy_back) == (JobStatus.PENDING, None, None, None)
    assert (again.slurm_job_id or "").split("_")[0] not in array_ids  # a new array, for the one point
    assert _wait(store, session, [again.job_id]) == [JobStatus.COMPLETED]
    sweep.delete()


def check_cancel(session: Session, store: JobStore) -> None:
    """A long job cancelled while it runs (or waits) ends Cancelled and can be deleted."""
    job = Job.create(
        session, store, name="contract cancel", template="vacuum_optimization_v1",
        values={"steps": 12_000_000, "execution_command": "run"}, files=TINY, resources=RES,
    )  # fmt: skip
    job.submit()
    job.cancel()
    assert _wait(store, session, [job.id]) == [JobStatus.CANCELLED]
    Job(session, store, store.get_job(job.id)).delete(force=True)


def check_sync_refreshes_progress(session: Session, store: JobStore) -> None:
    """After a sync alone (no watch), a running job's progress is at least the newest ENERGY step the
    log showed before that sync; a job that ended shows no ETA."""
    job = Job.create(
        session, store, name="contract progress", template="vacuum_optimization_v1",
        values={"steps": 12_000_000, "execution_command": "run"}, files=TINY, resources=RES,
    )  # fmt: skip
    job.submit()
    log = f"{job.record.scratch_dir}/namd_output.log"
    deadline = time.monotonic() + 90
    latest = None
    while latest is None:
        assert time.monotonic() < deadline, "the job never logged an ENERGY line"
        sync_jobs(store, session)
        text = session.transport.run(["bash", "-c", 'grep "^ENERGY:" "$1" | tail -n 1', "_", log], check=False).stdout
        if store.get_job(job.id).status is JobStatus.RUNNING and text.split()[1:2]:
            latest = int(text.split()[1])
        time.sleep(0.3)
    report = sync_jobs(store, session)
    running = store.get_job(job.id)
    assert running.status is JobStatus.RUNNING
    assert running.progress is not None
    assert (running.progress.step or 0) >= latest
    assert running.progress.steps_done == running.progress.step  # starts at step 0
    assert report.remote_commands <= 2  # status and log tails in one command, then job_info.json
    Job(session, store, running).cancel()
    assert _wait(store, session, [job.id]) == [JobStatus.CANCELLED]
    ended = store.get_job(job.id)
    assert ended.progress is None or ended.progress.eta_s is None
    Job(session, store, ended).delete(force=True)
