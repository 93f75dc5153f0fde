"""Workflows, restarts and sweeps on the loopback cluster."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import pytest

from namdrunner_core import Job, JobStatus, JobStore, Resources, Session
from namdrunner_core.errors import ValidationError
from namdrunner_core.jobs.discover import discover_jobs
from namdrunner_core.namd.config import read_config
from namdrunner_core.workflow import (
    StageSpec,
    Sweep,
    Workflow,
    dna_origami_equilibration,
    export_workflow,
    origami_plan,
    plan_workflow_file,
    settle_workflows,
    workflow_file_text,
)
from tests.conftest import DATA
from tests.unit.test_origami_file import snapshot

pytestmark = pytest.mark.cluster

TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]
RES = Resources(cores=1, memory_gb=0.5, walltime="00:10:00")


def stage(name: str, mode: str, steps: int, **values: object) -> StageSpec:
    vals: dict[str, object] = {
        "execution_command": mode,
        "steps": steps,
        "output_name": name,
        "restart_freq": 120,
        "energy_freq": 60,
        "dcd_freq": 120,
        "xst_freq": 120,
    }
    vals.update(values)
    return StageSpec(name, "explicit_solvent_npt_v1", vals, RES)


def wait(wf: Workflow, timeout: float = 180) -> Workflow:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wf.refresh()
        jobs = wf.jobs()
        if all(j.status.is_terminal and j.record.finalized for j in jobs):
            return wf
        time.sleep(2)
    raise AssertionError(f"workflow {wf.id} did not finish: {[j.status for j in wf.jobs()]}")


def test_three_stage_chain_takes_outputs_on_the_cluster(
    session: Session, store: JobStore, timed_out: tuple[JobStore, Job]
) -> None:
    wf = Workflow.create(
        session,
        store,
        name="chain",
        shared_files=TINY,
        stages=[stage("min", "minimize", 240), stage("eq", "run", 600), stage("prod", "run", 1200)],
    )
    assert [j.status for j in wf.jobs()] == [JobStatus.CREATED] * 3
    wf.submit()
    jobs = wf.jobs()
    assert jobs[1].record.slurm_job_id
    assert jobs[2].record.slurm_job_id
    wait(wf)
    assert wf.status is JobStatus.COMPLETED
    jobs = wf.jobs()
    firsts = []
    for prev, job in itertools.pairwise(jobs):
        config = session.transport.run(["cat", f"{job.record.project_dir}/config.namd"]).stdout
        cfg = read_config(config)
        prev_name = prev.record.template_values["output_name"]
        assert cfg.get("bincoordinates") == f"input_files/{prev_name}.coor"
        assert cfg.get("extendedSystem") == f"input_files/{prev_name}.xsc"
        firsts.append(int(cfg.get("firsttimestep") or 0))
        log = job.logs("namd")
        assert f"Info: BINARY COORDINATES     input_files/{prev_name}.coor" in log
        assert f"Info: FIRST TIMESTEP         {firsts[-1]}" in log
        # The file really is the predecessor's output, copied on the cluster.
        here = session.transport.run(["sha256sum", f"{job.record.scratch_dir}/input_files/{prev_name}.coor"]).stdout
        there = session.transport.run(["sha256sum", f"{prev.record.project_dir}/outputs/{prev_name}.coor"]).stdout
        assert here.split()[0] == there.split()[0]
    assert firsts == [240, 840]
    # After a minimisation the next stage starts from fresh velocities; after a run it continues them.
    assert (
        read_config(session.transport.run(["cat", f"{jobs[1].record.project_dir}/config.namd"]).stdout).get(
            "temperature"
        )
        is not None
    )
    assert (
        read_config(session.transport.run(["cat", f"{jobs[2].record.project_dir}/config.namd"]).stdout).get(
            "binvelocities"
        )
        == "input_files/eq.vel"
    )
    assert {r.job_id for r in store.list_jobs(workflow_id=wf.id)} == {j.id for j in jobs}
    # The workflow comes back with its jobs when the local store is lost.
    fresh = JobStore(Path(str(store.path) + ".rediscovered"))
    discover_jobs(fresh, session)
    back = Workflow.load(session, fresh, wf.id)
    assert [j.id for j in back.jobs()] == [j.id for j in jobs]
    assert back.stage_names == ("min", "eq", "prod")
    assert back.status is JobStatus.COMPLETED
    for j in jobs:
        j.delete()


def test_a_failed_stage_stops_the_chain(session: Session, store: JobStore) -> None:
    wf = Workflow.create(
        session,
        store,
        name="broken chain",
        shared_files=TINY,
        stages=[stage("a", "run", 240), stage("b", "run", 240), stage("c", "run", 240)],
    )
    jobs = wf.jobs()
    # Break stage b after creation: its PDB vanishes, so the stand-in fails like NAMD.
    session.transport.run(["rm", "--", f"{jobs[1].record.project_dir}/input_files/tiny.pdb"])
    wf.submit()
    wait(wf)
    a, b, c = wf.jobs()
    assert a.status is JobStatus.COMPLETED
    assert b.status is JobStatus.FAILED
    assert b.record.error_info is not None
    assert "tiny.pdb" in b.record.error_info
    assert c.status is JobStatus.CANCELLED
    assert c.record.error_info == "not run: stage 'b' failed"
    assert session.transport.run(["test", "-e", f"{c.record.scratch_dir}/namd_output.log"], check=False).exit_code
    assert wf.status is JobStatus.FAILED
    assert settle_workflows(store, session, [wf.id]) == []  # idempotent
    for j in (a, b, c):
        j.delete()


@pytest.fixture(scope="module")
def timed_out(session: Session, tmp_path_factory: pytest.TempPathFactory) -> tuple[JobStore, Job]:
    """Submitted by the first test, so Slurm's one-minute limit runs while the others do."""
    store = JobStore(tmp_path_factory.mktemp("restart") / "wf.db")
    job = Job.create(
        session,
        store,
        name="long run",
        template="vacuum_optimization_v1",
        values={"execution_command": "run", "steps": 1_200_000, "restart_freq": 6000},
        files=TINY,
        resources=Resources(cores=1, memory_gb=0.5, walltime="00:01:00"),
    )
    return store, job.submit()


def test_timeout_then_restart_from_checkpoint(session: Session, timed_out: tuple[JobStore, Job]) -> None:
    _store, job = timed_out
    job.wait(timeout=240, max_interval=5)
    assert job.record.slurm_state == "TIMEOUT"
    cp_step = job.record.progress.last_checkpoint_step if job.record.progress else None
    assert cp_step
    child = job.restart(steps=12_000, resources=Resources(cores=2, memory_gb=1, walltime="00:10:00"))
    assert child.record.parent_job_id == job.id
    assert child.record.template_values["first_timestep"] >= cp_step
    child.submit().wait(timeout=120, max_interval=2)
    assert child.status is JobStatus.COMPLETED
    log = child.logs("namd")
    first = child.record.template_values["first_timestep"]
    assert f"Info: FIRST TIMESTEP         {first}" in log
    assert "Info: BINARY COORDINATES     input_files/vacuum_opt.restart.coor" in log
    assert child.record.progress is not None
    assert child.record.progress.step == first + 12_000
    # With no steps given, the remainder of the parent's plan is run.
    rest = job.restart()
    assert rest.record.template_values["steps"] == 1_200_000 - first
    for j in (rest, child, job):
        j.delete()


def test_restart_needs_a_finished_job_with_checkpoints(session: Session, store: JobStore) -> None:
    job = Job.create(
        session,
        store,
        name="fails at once",
        template="vacuum_optimization_v1",
        values={"steps": 120},
        files=TINY,
        resources=RES,
    )
    with pytest.raises(ValidationError, match="is Created"):
        job.restart()
    session.transport.run(["rm", "--", f"{job.record.project_dir}/input_files/tiny.pdb"])
    job.submit().wait(timeout=120, max_interval=2)
    assert job.status is JobStatus.FAILED
    with pytest.raises(ValidationError, match="nothing to restart from"):
        job.restart()
    job.delete()


def test_sweep_runs_as_one_array_and_is_tracked_as_a_group(session: Session, store: JobStore) -> None:
    sweep = Sweep.create_sweep(
        session,
        store,
        name="temps",
        template="vacuum_optimization_v1",
        grid={"temperature": [290, 300, 310], "langevin_damping": [0.1, 1.0]},
        values={"execution_command": "run", "steps": 240},
        files=TINY,
        resources=RES,
    )
    assert len(sweep.jobs()) == 6
    sweep.submit()
    ids = [j.record.slurm_job_id or "" for j in sweep.jobs()]
    array_ids = {i.split("_")[0] for i in ids}
    assert len(array_ids) == 1
    assert sorted(int(i.split("_")[1]) for i in ids) == list(range(6))
    wait(sweep)
    assert sweep.status is JobStatus.COMPLETED
    temps = sorted(
        float(
            read_config(session.transport.run(["cat", f"{j.record.project_dir}/config.namd"]).stdout).get(
                "langevinTemp"
            )
            or 0
        )
        for j in sweep.jobs()
    )
    assert temps == [290, 290, 300, 300, 310, 310]
    for j in sweep.jobs():
        assert j.record.slurm_stdout is not None
        assert j.record.exit_code == "0:0"
        j.delete()


def test_origami_template_generates_scaled_restraints(
    session: Session, store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch_tmp = tmp_path / "tmp"
    scratch_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_tmp))  # where the scaled ENM files are written
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    ladder: dict[str, Any] = {
        "name": "origami",
        "structure": TINY[0],
        "coordinates": TINY[1],
        "parameters": [TINY[2]],
        "enm": DATA / "tiny" / "tiny.exb",
        "resources": RES,
        "cell": (100, 100, 100),
        "steps": {"minimize": 120, "npt_k0.5": 240, "npt_k0.1": 240, "npt_k0.01": 240, "production": 240},
    }
    wf = dna_origami_equilibration(session, store, **ladder)  # the shipped workflow file, planned
    assert list(scratch_tmp.iterdir()) == []  # the scaled files went up with the jobs; their temp dir is gone
    assert list(cwd.iterdir()) == []  # nothing written into the working directory
    jobs = wf.jobs()
    assert [j.record.job_name.split(" / ")[1] for j in jobs] == [
        "minimize",
        "npt_k0.5",
        "npt_k0.1",
        "npt_k0.01",
        "production",
    ]
    ks = []
    for j in jobs:
        cfg = read_config(session.transport.run(["cat", f"{j.record.project_dir}/config.namd"]).stdout)
        files = cfg.all("extraBondsFile")
        if files:
            text = session.transport.run(["cat", f"{j.record.project_dir}/{files[0]}"]).stdout
            ks.append({float(line.split()[3]) for line in text.splitlines() if line.startswith("bond")})
        else:
            ks.append(set())
    assert ks == [{0.5}, {0.5}, {0.1}, {0.01}, set()]
    wf.submit()
    wait(wf, timeout=240)
    assert wf.status is JobStatus.COMPLETED
    # exported back as a file, with the inputs as uploaded beside it, it plans the very same ladder
    exported = tmp_path / "exported"
    exported.mkdir()
    for j in jobs:
        for name in j.record.input_files:
            src = Path(j.record.project_dir, "input_files", name)
            if src.is_file() and not (exported / name).exists():
                (exported / name).write_bytes(src.read_bytes())
    (exported / "ladder.toml").write_text(workflow_file_text(export_workflow(store, wf.id)))
    again = plan_workflow_file(session.profile, store, exported / "ladder.toml").plan[0]
    ran = [Path(j.record.project_dir, "config.namd").read_text() for j in jobs]
    assert [p.config_text for p in again.prepared] == ran
    with origami_plan(session.profile, store, **ladder) as planned:  # the ladder's own dry run
        before = snapshot(planned.plan)
    after = snapshot(again)
    assert after["template_id"] == "file:ladder.toml"
    assert {**after, "template_id": before["template_id"]} == before  # the same plan, file for file
    for j in jobs:
        j.delete()
