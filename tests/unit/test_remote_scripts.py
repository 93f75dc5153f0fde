"""The batched lifecycle scripts, run for real through the Local transport on temporary dirs, and
the remote-delete safety script against hostile layouts."""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import pytest

from namdrunner_core.cluster import Session
from namdrunner_core.errors import UnsafePathError
from namdrunner_core.jobs.safety import check_job_target, remove_job_dir
from namdrunner_core.jobs.script_output import (
    parse_discover_output,
    parse_finalize_output,
    parse_log_output,
    parse_status_output,
)
from namdrunner_core.namd.log import NamdLogParser
from namdrunner_core.profile import load_profile
from namdrunner_core.scripts import DISCOVER, FINALIZE, LOG_TAIL, WRITE_FILES
from namdrunner_core.transport.local import LocalTransport
from namdrunner_core.transport.ratelimit import RateLimiter

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "namd"


@pytest.fixture
def local() -> LocalTransport:
    return LocalTransport(rate_limiter=RateLimiter(rate=1000, burst=1000))


def test_status_output_parsing() -> None:
    text = "@@SQUEUE\n5|RUNNING|None|0:10|1:00:00|n\n@@SQUEUE_RC 0\n@@SACCT\n5|RUNNING|0:0|||||n\n@@SACCT_RC 0\n"
    out = parse_status_output(text)
    assert out.squeue_ok
    assert out.sacct_ok
    assert out.squeue.strip() == "5|RUNNING|None|0:10|1:00:00|n"
    gone = parse_status_output(
        "@@SQUEUE\nslurm_load_jobs error: Invalid job id specified\n@@SQUEUE_RC 1\n"
        "@@SACCT\nSlurm accounting storage is disabled\n@@SACCT_RC 1\n"
    )
    assert gone.squeue_ok  # "invalid job id" means: none of them is queued
    assert not gone.sacct_ok
    down = parse_status_output("@@SQUEUE\nslurm_load_jobs error: Unable to contact slurm controller\n@@SQUEUE_RC 1\n")
    assert not down.squeue_ok  # the controller is down: absence proves nothing


def test_log_script_reads_only_new_complete_lines(local: LocalTransport, tmp_path: Path) -> None:
    data = (FIX / "namd3.0.1_cpu_multicore_npt_complete.log").read_bytes()
    log = tmp_path / "namd_output.log"
    cut = 30011  # mid-line
    log.write_bytes(data[:cut])
    parser = NamdLogParser()
    out = parse_log_output(local.run(LOG_TAIL.argv(["j1", str(log), "0"])).stdout)["j1"]
    assert out.found
    assert out.new_offset == data[:cut].rfind(b"\n") + 1
    parser.feed(out.data)
    parser.state.offset = out.new_offset
    log.write_bytes(data)
    out2 = parse_log_output(local.run(LOG_TAIL.argv(["j1", str(log), str(parser.state.offset)])).stdout)["j1"]
    assert out2.new_offset == len(data)
    parser.feed(out2.data)
    whole = NamdLogParser()
    whole.feed(data)
    assert parser.state.commands == whole.state.commands
    assert parser.state.current_step == whole.state.current_step == 17000
    assert parser.outcome() is whole.outcome()
    assert parser.ns_per_day() == whole.ns_per_day()
    # the filter forwards every line the parser needs (NUMBER OF STEPS for numsteps runs, the end markers)
    for field in ("numsteps", "first_timestep", "wallclock_s", "end_of_program", "final_output_step", "titles"):
        assert getattr(parser.state, field) == getattr(whole.state, field), field
    assert parser.state.numsteps == 9000
    missing = parse_log_output(local.run(LOG_TAIL.argv(["j2", str(tmp_path / "nope"), "0"])).stdout)["j2"]
    assert not missing.found


def test_finalize_copies_back_without_the_stale_job_info(local: LocalTransport, tmp_path: Path) -> None:
    project, scratch = tmp_path / "p" / "j1", tmp_path / "s" / "j1"
    for d in (project / "outputs", scratch / "outputs", project / "input_files"):
        d.mkdir(parents=True)
    (project / "job_info.json").write_text('{"status": "Running"}')
    (scratch / "job_info.json").write_text('{"status": "Created"}')  # the stale copy made at submit
    (scratch / "outputs" / "run.coor").write_bytes(b"x" * 28)
    (scratch / "j1_7.out").write_text("hello\n")
    (scratch / ".namdrunner_exit").write_text("0 2026-11-24T00:00:00Z\n")
    (scratch / "namd_output.log").write_bytes((FIX / "namd3.0.1_cpu_multicore_npt_complete.log").read_bytes())
    (scratch / "my_run_7.err").write_text("app-named\n")  # the desktop app names logs after the job name
    args = ["j1", str(project), str(scratch), "j1_7.out", "j1_7.err", "my_run_7.out", "my_run_7.err", "0"]
    out = local.run(FINALIZE.argv(args)).stdout
    fin = parse_finalize_output(out)["j1"]
    assert fin.rsync_ok
    assert (project / "job_info.json").read_text() == '{"status": "Running"}'
    assert (project / "outputs" / "run.coor").read_bytes() == b"x" * 28
    assert fin.files["j1_7.out"] == b"hello\n"
    assert fin.files["j1_7.err"] == b"app-named\n"  # found under the other tool's name
    assert fin.files[".namdrunner_exit"].startswith(b"0 ")
    names = {n for n, _, _ in fin.listing}
    assert "outputs/run.coor" in names
    assert ".namdrunner_exit" not in names
    assert fin.log is not None
    assert b"End of program" in fin.log.data


def test_write_files_script_stays_inside_its_roots(local: LocalTransport, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "j1").mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    payload = [(f"{root}/j1/job_info.json", b'{"a": 1}'), (str(outside), b"evil"), (f"{root}/../outside2.txt", b"evil")]
    chunks = [f"{p}\t{len(d)}\n".encode() + d for p, d in payload]
    result = local.put_stream(WRITE_FILES.argv([str(root)]), chunks)
    assert result.exit_code == 0
    assert (root / "j1" / "job_info.json").read_bytes() == b'{"a": 1}'
    assert not outside.exists()
    assert not (tmp_path / "outside2.txt").exists()
    assert result.stdout.count("@@SKIPPED") == 2


def test_discover_script_skips_symlinked_dirs(local: LocalTransport, tmp_path: Path) -> None:
    root = tmp_path / "jobs"
    (root / "a_1").mkdir(parents=True)
    (root / "a_1" / "job_info.json").write_text('{"job_id": "a_1"}')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "job_info.json").write_text('{"job_id": "b_1"}')
    os.symlink(elsewhere, root / "b_1")
    found = parse_discover_output(local.run(DISCOVER.argv([str(root)])).stdout)
    assert found == [("a_1", b'{"job_id": "a_1"}')]


def _session(tmp_path: Path, local: LocalTransport) -> Session:
    profile = attrs.evolve(
        load_profile("loopback"),
        jobs_root=str(tmp_path / "projects" / "{user}"),
        scratch_root=str(tmp_path / "scratch" / "{user}"),
    )
    (tmp_path / "projects" / "me").mkdir(parents=True)
    (tmp_path / "scratch" / "me").mkdir(parents=True)
    return Session(profile, local, "me")


@pytest.mark.parametrize("bad", ["..", "", "/", "a/../../b", ".", "-rf", "a b", "x/y"])
def test_safety_refuses_unsafe_ids(tmp_path: Path, local: LocalTransport, bad: str) -> None:
    session = _session(tmp_path, local)
    (tmp_path / "projects" / "me" / "keep").mkdir()
    with pytest.raises(UnsafePathError):
        remove_job_dir(session, "project", bad)
    assert (tmp_path / "projects" / "me" / "keep").is_dir()


def test_safety_refuses_symlink_and_removes_a_real_job(tmp_path: Path, local: LocalTransport) -> None:
    session = _session(tmp_path, local)
    home = tmp_path / "home"
    home.mkdir()
    (home / "precious").write_text("keep me")
    os.symlink(home, tmp_path / "projects" / "me" / "job_1")
    with pytest.raises(UnsafePathError, match="symlink"):
        remove_job_dir(session, "project", "job_1")
    assert (home / "precious").read_text() == "keep me"
    real = tmp_path / "scratch" / "me" / "job_2"
    (real / "outputs").mkdir(parents=True)
    assert remove_job_dir(session, "scratch", "job_2") is True
    assert not real.exists()
    assert remove_job_dir(session, "scratch", "job_2") is False  # nothing left: not an error


def test_check_job_target_rules() -> None:
    assert check_job_target("/projects/me", "job_3") == "/projects/me/job_3"
    for root in ("/", "projects/me", "/projects/me/../x", ""):
        with pytest.raises(UnsafePathError):
            check_job_target(root, "job_3")
    # ids are matched whole: a trailing newline (which `$` in re.match lets through) is no job id
    for job_id in ("job_3\n", "", ".", "..", "a/b", " job_3"):
        with pytest.raises(UnsafePathError):
            check_job_target("/projects/me", job_id)


def test_copy_back_is_verified_by_manifest_and_a_failure_says_why(local: LocalTransport, tmp_path: Path) -> None:
    scratch = tmp_path / "s" / "j1"
    (scratch / "outputs").mkdir(parents=True)
    (scratch / "outputs" / "run.dcd").write_bytes(b"frames" * 1000)
    (scratch / "namd_output.log").write_text("Info: NAMD 3.0.1 for Linux-x86_64-multicore\n")
    (tmp_path / "p").write_text("a file where the project root must be")  # rsync cannot write below it
    project = tmp_path / "p" / "j1"
    args = ["j1", str(project), str(scratch), "j1_7.out", "j1_7.err", "j1_7.out", "j1_7.err", "0"]
    failed = parse_finalize_output(local.run(FINALIZE.argv(args)).stdout)["j1"]
    assert failed.copy_back == "failed"
    assert failed.copy_back_error is not None
    assert failed.copy_back_error.startswith("rsync scratch -> project exit")
    (tmp_path / "p").unlink()  # the cause fixed: the next finalize copies and verifies
    project.mkdir(parents=True)
    ok = parse_finalize_output(local.run(FINALIZE.argv(args)).stdout)["j1"]
    assert (ok.copy_back, ok.copy_back_error) == ("verified", None)
    assert (project / "outputs" / "run.dcd").read_bytes() == b"frames" * 1000
    args[2] = str(tmp_path / "nothing-on-scratch")
    assert parse_finalize_output(local.run(FINALIZE.argv(args)).stdout)["j1"].copy_back == "none"


def test_a_manifest_mismatch_is_a_failed_copy_back() -> None:
    text = "@@JOB j1\n@@RSYNC 0 \n@@VERIFY mismatch\n@@FILE a\n\n@@LIST\n@@ENDLIST\n@@LOG j1 missing 0\n"
    fin = parse_finalize_output(text)["j1"]
    assert fin.copy_back == "failed"
    assert "differs" in (fin.copy_back_error or "")


def test_a_rerun_rewritten_in_the_same_second_is_still_copied_back(local: LocalTransport, tmp_path: Path) -> None:
    # rsync's quick check skips a file of the same size and mtime: the project would keep the old run
    scratch, project = tmp_path / "s" / "j1", tmp_path / "p" / "j1"
    for root, content in ((scratch, b"new run!"), (project, b"old run!")):
        (root / "outputs").mkdir(parents=True)
        (root / "outputs" / "eq.xsc").write_bytes(content)
        os.utime(root / "outputs" / "eq.xsc", (1_700_000_000, 1_700_000_000))
    args = ["j1", str(project), str(scratch), "j1_7.out", "j1_7.err", "j1_7.out", "j1_7.err", "0"]
    fin = parse_finalize_output(local.run(FINALIZE.argv(args)).stdout)["j1"]
    assert (fin.copy_back, fin.copy_back_error) == ("verified", None)
    assert (project / "outputs" / "eq.xsc").read_bytes() == b"new run!"


def test_a_job_killed_while_rewriting_its_restart_files_restarts_from_the_old_set(
    local: LocalTransport, tmp_path: Path
) -> None:
    from namdrunner_core.jobs.restart import find_checkpoint, plan_restart
    from namdrunner_core.slurm.states import JobStatus
    from tests.unit.test_golden_gpu import NOW, NPT, TINY

    out = tmp_path / "job" / "outputs"
    out.mkdir(parents=True)
    # NAMD renamed the 6000-step set to *.old, wrote the new .xsc, and was killed before the .coor
    (out / "npt.restart.xsc").write_text("# NAMD extended system\n12000 100 0 0 0 100 0 0 0 100 0 0 0\n")
    (out / "npt.restart.xsc.old").write_text("# NAMD extended system\n6000 100 0 0 0 100 0 0 0 100 0 0 0\n")
    for ext in ("coor", "vel"):
        (out / f"npt.restart.{ext}.old").write_bytes(b"\0" * 16)
    profile = load_profile("loopback")
    from namdrunner_core.jobs.prepare import prepare_job
    from namdrunner_core.slurm.resources import Resources

    parent = prepare_job(
        profile, "me", None, name="npt", template="explicit_solvent_npt_v1", values={**NPT, "steps": 24000},
        files=TINY, resources=Resources(cores=1, memory_gb=0.5, walltime="00:10:00"), now=NOW,
    ).record  # fmt: skip
    parent = attrs.evolve(parent, status=JobStatus.FAILED, slurm_job_id="7", scratch_dir=str(tmp_path / "job"))
    cp = find_checkpoint(Session(profile, local, "me"), parent)
    assert (cp.step, cp.prefix, cp.has_velocities, cp.suffix) == (6000, "npt.restart", True, ".old")
    plan = plan_restart(profile, "me", None, parent, cp)
    assert plan.remote_inputs["npt.restart.coor"] == f"{tmp_path}/job/outputs/npt.restart.coor.old"
    assert plan.remote_inputs["npt.restart.vel"] == f"{tmp_path}/job/outputs/npt.restart.vel.old"
    assert "firsttimestep      6000" in plan.config_text
