"""The batch script: golden text, units, quoting proven through a real shell."""

from __future__ import annotations

import subprocess
from pathlib import Path

import attrs
import pytest

from namdrunner_core.errors import ValidationError
from namdrunner_core.profile import load_profile
from namdrunner_core.slurm.resources import Resources, resolve_resources
from namdrunner_core.slurm.script import render_sbatch

GOLDEN = Path(__file__).parent / "golden"


def render(profile_name: str, workdir: str, **kw: object) -> str:
    profile = load_profile(profile_name)
    base: dict[str, object] = {"cores": 24, "memory_gb": 16, "walltime": "04:00:00"}
    base.update(kw)
    r = resolve_resources(Resources(**base), profile)  # type: ignore[arg-type]
    return render_sbatch(
        job_name="hextube_min_1",
        job_id="hextube_min_1",
        workdir=workdir,
        resources=r,
        profile=profile,
        comment="nr-abc123",
    )


def test_alpine_cpu_script_matches_golden() -> None:
    text = render("alpine", "/scratch/alpine/jdoe/namdrunner_jobs/hextube_min_1")
    golden = GOLDEN / "alpine_cpu.sbatch"
    if not golden.exists():
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
        pytest.fail(f"golden file written to {golden}: review it and run again")
    assert text == golden.read_text()


def test_memory_always_has_a_unit_and_nodes_are_computed() -> None:
    text = render("alpine", "/x", cores=96, memory_gb=64)
    assert "#SBATCH --mem=64GB\n" in text
    assert "#SBATCH --nodes=2\n" in text
    assert "#SBATCH --ntasks=96\n" in text
    assert "#SBATCH --constraint=ib\n" in text


def test_module_and_launch_lines() -> None:
    text = render("alpine", "/x")
    lines = text.splitlines()
    assert lines.index("source /etc/profile") < lines.index("export SLURM_EXPORT_ENV=ALL") < lines.index("module purge")
    assert "module load gcc/14.2.0 openmpi/5.0.6 namd/3.0.1_cpu" in lines
    assert "mpirun -np $SLURM_NTASKS namd3 config.namd > namd_output.log" in lines
    assert not [line for line in lines if line.startswith("set -")]  # site profiles break under set -u/-e


def test_gpu_needs_a_gpu_binary_in_the_profile() -> None:
    with pytest.raises(ValidationError, match="gpu_namd_bin"):
        render("alpine", "/x", partition="aa100", gpus=1, cores=16, memory_gb=32)


def test_gpu_script_uses_gres_and_devices() -> None:
    profile = attrs.evolve(
        load_profile("alpine"),
        gpu_namd_bin="/projects/jdoe/NAMD_3.0.2/namd3",
        gpu_modules=["gcc/11.2.0", "cuda/12.1.1"],
    )
    r = resolve_resources(Resources(cores=42, memory_gb=64, walltime="04:00:00", partition="aa100", gpus=2), profile)
    text = render_sbatch(job_name="g", job_id="g", workdir="/x", resources=r, profile=profile)
    assert "#SBATCH --gres=gpu:a100-40gb:2\n" in text
    assert "#SBATCH --qos=gpu-normal\n" in text
    assert "/projects/jdoe/NAMD_3.0.2/namd3 +p42 +setcpuaffinity +devices 0,1 config.namd" in text
    assert "module load gcc/11.2.0 cuda/12.1.1" in text
    assert "--constraint" not in text


@pytest.mark.parametrize(
    "workdir",
    ["/tmp/nr test/a b", "/tmp/nr$(touch pwned)x", "/tmp/nr'quote\"d", "/tmp/nr;rm -rf ~", "/tmp/nr`id`"],
)
def test_hostile_workdir_is_one_word_in_a_real_shell(tmp_path: Path, workdir: str) -> None:
    target = tmp_path / workdir.lstrip("/")
    target.mkdir(parents=True)
    text = render("loopback", str(target), cores=4, memory_gb=4)
    cd_line = next(line for line in text.splitlines() if line.startswith("cd "))
    out = subprocess.run(
        ["bash", "-c", cd_line.replace(" || exit 1", "") + " && pwd"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(target)
    assert not (tmp_path / "pwned").exists()
    assert subprocess.run(["bash", "-n"], input=text, text=True, check=False).returncode == 0


def test_job_name_must_be_plain() -> None:
    profile = load_profile("loopback")
    r = resolve_resources(Resources(cores=1, memory_gb=1, walltime="00:10:00"), profile)
    with pytest.raises(ValidationError, match="job_name"):
        render_sbatch(job_name="a b", job_id="x", workdir="/x", resources=r, profile=profile)


def test_mail_and_the_campaign_segment_script() -> None:
    from namdrunner_core.slurm.script import CampaignScript

    profile = attrs.evolve(load_profile("alpine"), mail_user="jdoe@colorado.edu")
    r = resolve_resources(Resources(cores=24, memory_gb=16, walltime="24:00:00"), profile)
    one = render_sbatch(job_name="j_1", job_id="j_1", workdir="/s/j_1", resources=r, profile=profile)
    assert "#SBATCH --mail-type=END,FAIL\n#SBATCH --mail-user=jdoe@colorado.edu\n" in one
    assert "--requeue" not in one
    seg = render_sbatch(job_name="j_1", job_id="j_1", workdir="/s/j_1", resources=r, profile=profile,
                        campaign=CampaignScript(120, "python3", True, "slurm/alpine"))  # fmt: skip
    lines = seg.splitlines()
    assert "#SBATCH --mail-type=FAIL" in lines  # a segment ending is not the campaign ending
    assert {"#SBATCH --requeue", "#SBATCH --signal=B:USR1@120", "#SBATCH --open-mode=append"} <= set(lines)
    assert 'step=$(python3 campaign_step.py start --time-left "$left")' in lines
    assert lines.index("module purge") < lines.index(  # the site's Slurm commands, after `module purge`
        "module load slurm/alpine >/dev/null 2>&1  # the site's Slurm commands"
    )
    assert any("campaign_step.py cap --walltime-s" in ln for ln in lines)  # before a maintenance window
    submit = 'sbatch --parsable ${cap:+--time="$cap"} --dependency="afterany:$SLURM_JOB_ID" job.sbatch'
    assert any(submit in ln for ln in lines)
    no_submit = render_sbatch(job_name="j_1", job_id="j_1", workdir="/s/j_1", resources=r, profile=profile,
                              campaign=CampaignScript(120, "python3", False))  # fmt: skip
    assert "sbatch --parsable" not in no_submit  # namdrunner's sync queues the next segment instead
    bad = attrs.evolve(profile, mail_user="x; rm -rf ~")
    with pytest.raises(ValidationError, match="mail_user"):
        render_sbatch(job_name="j_1", job_id="j_1", workdir="/s/j_1", resources=r, profile=bad)
    # the script is valid bash
    subprocess.run(["bash", "-n"], input=seg, text=True, check=True)
