"""GPUs everywhere a job can go, as golden files (Alpine's documented rules): a GPU single job, a GPU
workflow stage in a mixed CPU/GPU workflow, a GPU sweep's array script (what is submitted), and a
restart moved from a CPU partition to a GPU one. Ids carry the time they were made: normalised."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import attrs
import pytest

from namdrunner_core.jobs.prepare import prepare_job
from namdrunner_core.profile import ClusterProfile, load_profile
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.workflow import Checkpoint, StageSpec, array_script, plan_restart, plan_sweep, plan_workflow

GOLDEN = Path(__file__).parent / "golden"
TINY = [Path(__file__).resolve().parent.parent / "data" / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]
GPU = Resources(cores=21, memory_gb=64, walltime="04:00:00", partition="aa100", gpus=1)
CPU = Resources(cores=64, memory_gb=200, walltime="04:00:00", partition="acpu")
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
NPT = {"execution_command": "run", "steps": 2400, "pme": True}


def alpine_gpu() -> ClusterProfile:
    """Alpine with a self-built GPU NAMD, as a lab's profile would add it (`extends = "alpine"`)."""
    return attrs.evolve(
        load_profile("alpine"), gpu_namd_bin="/projects/jdoe/sw/namd3-gpu/namd3", gpu_modules=["cuda/12.1.1"]
    )


def normalised(text: str) -> str:
    return re.sub(r"_\d{13,}", "_<ts>", text)


def check(name: str, text: str) -> None:
    golden = GOLDEN / name
    text = normalised(text)
    if not golden.exists():
        golden.write_text(text)
        pytest.fail(f"golden file written to {golden}: review it and run again")
    assert text == golden.read_text()


def test_gpu_single_job() -> None:
    p = prepare_job(
        alpine_gpu(), "jdoe", None, name="hextube gpu", template="explicit_solvent_npt_v1",
        values=NPT, files=TINY, resources=GPU, now=NOW,
    )  # fmt: skip
    assert "#SBATCH --gres=gpu:a100-40gb:1" in p.sbatch_text
    assert "+devices 0" in p.sbatch_text
    check("alpine_gpu_job.sbatch", p.sbatch_text)


def test_mixed_cpu_and_gpu_workflow() -> None:
    stages = [
        StageSpec("minimize", "explicit_solvent_npt_v1", {"execution_command": "minimize", "steps": 2400}, CPU),
        StageSpec("npt", "explicit_solvent_npt_v1", NPT, GPU),
    ]
    prepared = plan_workflow(alpine_gpu(), "jdoe", None, name="origami gpu", stages=stages, shared_files=TINY).prepared
    cpu, gpu = (p.sbatch_text for p in prepared)
    assert "--gres" not in cpu
    assert "module load gcc/14.2.0 openmpi/5.0.6 namd/3.0.1_cpu" in cpu
    assert "#SBATCH --gres=gpu:a100-40gb:1" in gpu
    assert "module load cuda/12.1.1" in gpu
    check("alpine_mixed_workflow.sbatch", f"# ---- stage minimize ----\n{cpu}# ---- stage npt ----\n{gpu}")


def test_gpu_sweep_array_script() -> None:
    profile = alpine_gpu()
    plan = plan_sweep(
        profile, "jdoe", None, name="gpu temps", template="explicit_solvent_npt_v1",
        grid={"temperature": [300, 310]}, files=TINY, resources=GPU, values=NPT,
    )  # fmt: skip
    sweep_id, prepared = plan.id, plan.prepared
    script = array_script(sweep_id, [p.record for p in prepared], profile)
    assert plan.array_script == script  # the plan carries exactly what is submitted
    assert "#SBATCH --array=0-1" in script
    assert "#SBATCH --gres=gpu:a100-40gb:1" in script
    assert "--job-name=" + sweep_id in script
    check("alpine_gpu_sweep_array.sbatch", script)


def test_restart_moved_to_a_gpu_partition() -> None:
    profile = alpine_gpu()
    parent = prepare_job(
        profile, "jdoe", None, name="long npt", template="explicit_solvent_npt_v1",
        values={**NPT, "steps": 24000}, files=TINY, resources=CPU, now=NOW,
    ).record  # fmt: skip
    parent = attrs.evolve(parent, finalized=True, copy_back="verified")
    moved = parent.resources.overridden(partition="aa100", cores=21, memory_gb=64, gpus=1)
    assert (moved.qos, moved.gpu_type) == (None, None)  # the CPU partition's QOS does not follow it
    p = plan_restart(profile, "jdoe", None, parent, Checkpoint(12000, "npt.restart", True), resources=moved)
    assert "#SBATCH --partition=aa100" in p.sbatch_text
    assert "#SBATCH --qos=gpu-normal" in p.sbatch_text
    assert "firsttimestep      12000" in p.config_text
    assert p.record.parent_job_id == parent.job_id
    check("alpine_restart_to_gpu.sbatch", p.sbatch_text)
