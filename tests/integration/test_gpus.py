"""GPUs everywhere a job can go, on the loopback cluster's GPU partition (`agpu`: the node advertises
``Gres=gpu:tgpu:2``): a single GPU job, a workflow that minimises on CPUs and runs NPT on a GPU, a GPU
sweep (its dry run prints the array script and creates nothing), and a restart moved onto the GPU
partition through the CLI. Slurm's own accounting says what each job was given."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from namdrunner_cli.main import cli
from namdrunner_core import JobStatus, JobStore, Resources, Session
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.workflow import StageSpec, Workflow
from tests.conftest import DATA, ClusterEnv
from tests.integration.conftest import vacuum_job

pytestmark = pytest.mark.cluster

TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]
GPU = Resources(cores=2, memory_gb=1, walltime="00:10:00", partition="agpu", gpus=1)
CPU = Resources(cores=2, memory_gb=1, walltime="00:10:00")
FILES = [f"--file={p}" for p in TINY]


def alloc_tres(cluster: ClusterEnv, slurm_id: str) -> str:
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-j", slurm_id, "-o", "AllocTRES"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SLURM_CONF": cluster.slurm_conf},
    )
    assert out.returncode == 0, out.stderr  # sacct's own words (accounting must be on in this lane)
    return out.stdout.strip()


def finish(session: Session, store: JobStore, ids: list[str], wait_until: Callable[..., object]) -> None:
    def done() -> bool:
        sync_jobs(store, session)
        return all(store.get_job(i).finalized for i in ids)

    wait_until(done, 180, 2, what=f"{ids} to finish")


def test_a_gpu_job_gets_its_gpu(
    session: Session, store: JobStore, cluster: ClusterEnv, wait_until: Callable[..., object]
) -> None:
    job = vacuum_job(session, store, "gpu npt", GPU, steps=1200, execution_command="run")
    script = session.transport.run(["cat", f"{job.record.project_dir}/job.sbatch"]).stdout
    assert "#SBATCH --gres=gpu:tgpu:1" in script
    assert "#SBATCH --partition=agpu" in script
    assert "+devices 0" in script  # the profile's GPU launcher, not mpirun
    job.submit()
    finish(session, store, [job.id], wait_until)
    r = store.get_job(job.id)
    assert r.status is JobStatus.COMPLETED, r.error_info
    assert "gres/gpu=1" in alloc_tres(cluster, r.slurm_job_id or "")


def test_a_workflow_minimises_on_cpus_and_runs_on_a_gpu(
    session: Session, store: JobStore, cluster: ClusterEnv, wait_until: Callable[..., object]
) -> None:
    wf = Workflow.create(
        session,
        store,
        name="mixed",
        shared_files=TINY,
        stages=[
            StageSpec("min", "vacuum_optimization_v1", {"steps": 240, "execution_command": "minimize"}, CPU),
            StageSpec("md", "vacuum_optimization_v1", {"steps": 1200, "execution_command": "run"}, GPU),
        ],
    ).submit()
    ids = [j.id for j in wf.jobs()]
    finish(session, store, ids, wait_until)
    minimize, md = (store.get_job(i) for i in ids)
    assert (minimize.status, md.status) == (JobStatus.COMPLETED, JobStatus.COMPLETED), (md.error_info,)
    assert "gres/gpu" not in alloc_tres(cluster, minimize.slurm_job_id or "")
    assert "gres/gpu=1" in alloc_tres(cluster, md.slurm_job_id or "")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_gpu_sweep_and_a_restart_moved_to_the_gpu_partition_through_the_cli(
    tmp_path: Path, cluster: ClusterEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "db.sqlite"
    monkeypatch.setenv("NAMDRUNNER_DB", str(db))
    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("NAMDRUNNER_PROFILE", "loopback")
    res = ["--cores", "2", "--memory", "1", "--walltime", "00:10:00"]
    sweep = ["sweep", "create", "--name", "gpu temps", "--template", "vacuum_optimization_v1",
             "--grid", "temperature=300,310", "--set", "steps=1200", "--set", "execution_command=run",
             *FILES, *res, "--partition", "agpu", "--gpus", "1"]  # fmt: skip
    dry = run(*sweep, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "array.sbatch (what is submitted)" in dry.stdout
    assert "#SBATCH --array=0-1" in dry.stdout
    assert dry.stdout.count("#SBATCH --gres=gpu:tgpu:1") == 3  # both points and the array itself
    assert not db.exists()  # a dry run creates nothing, not even the local database
    made = run("--json", *sweep, "--submit")
    assert made.exit_code == 0, made.output
    watched = run("--json", "watch", "--max-interval", "2", "--timeout", "240")
    assert watched.exit_code == 0, watched.output
    assert {j["status"] for j in json.loads(watched.stdout)} == {"Completed"}
    # a CPU job that ran out of time, continued on the GPU partition
    cpu = json.loads(
        run("--json", "job", "create", "--name", "cpu first", "--template", "vacuum_optimization_v1",
            "--set", "steps=12000000", "--set", "execution_command=run", "--set", "restart_freq=1200",
            *FILES, "--cores", "1", "--memory", "1", "--walltime", "00:01:00", "--submit").stdout
    )  # fmt: skip
    assert run("--json", "watch", "--max-interval", "3", "--timeout", "240").exit_code == 0
    assert json.loads(run("--json", "job", "show", cpu["id"]).stdout)["slurm_state"] == "TIMEOUT"
    moved = run("--json", "job", "restart", cpu["id"], "--steps", "1200", "--partition", "agpu", "--gpus", "1",
                "--walltime", "00:10:00", "--submit")  # fmt: skip
    assert moved.exit_code == 0, moved.output
    child = json.loads(moved.stdout)
    assert (child["resources"]["partition"], child["resources"]["gpus"]) == ("agpu", 1)
    assert child["resources"]["qos"] == "normal"  # the GPU partition's own default, not the parent's
    assert child["parent_job_id"] == cpu["id"]
    assert run("--json", "watch", "--max-interval", "2", "--timeout", "240").exit_code == 0
    final = json.loads(run("--json", "job", "show", child["id"]).stdout)
    assert final["status"] == "Completed", final
    assert "gres/gpu=1" in alloc_tres(cluster, final["slurm_job_id"])
