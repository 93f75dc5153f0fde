"""namdrunner's host runner (namdrunner_core/scripts/hostq.py) on this machine, real processes, its own
state folder: jobs wait for their slots and start in order, a time limit warns then ends a job as
TIMEOUT, cancel ends the job's processes, afterok dependencies (and --kill-on-invalid-dep), a runner
killed and started again runs nothing twice, and what the host cannot run is refused in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.posix

HOSTQ = ROOT / "namdrunner_core" / "scripts" / "hostq.py"


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """The Slurm commands of a fresh host runner with 2 GPUs and 4 cores, run in ``tmp_path``."""
    home, bin_dir = tmp_path / "hostq", tmp_path / "bin"
    home.mkdir(mode=0o700)
    (home / "config.json").write_text('{"gpus": 2, "cores": 4}')
    bin_dir.mkdir()
    shutil.copy(HOSTQ, bin_dir / "hostq.py")
    (bin_dir / "hostq.py").chmod(0o755)
    for c in ("sbatch", "squeue", "sacct", "scancel"):
        (bin_dir / c).symlink_to("hostq.py")
    env = {**os.environ, "NR_HOSTQ_HOME": str(home), "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=tmp_path, env=env, capture_output=True, text=True, check=check)

    yield run
    subprocess.run(["pkill", "-f", f"{bin_dir}/hostq.py"], check=False)  # no runner outlives its test


def script(tmp_path: Path, name: str, body: str, *directives: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/bash\n" + "".join(f"#SBATCH {d}\n" for d in directives) + body + "\n")
    return name


def state(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, dict[str, Any]] = json.loads((tmp_path / "hostq" / "state.json").read_text())["jobs"]
    return data


def wait_done(tmp_path: Path, ids: list[str], limit: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        jobs = state(tmp_path)
        if all(jobs[i]["state"] not in ("PENDING", "RUNNING") for i in ids):
            return jobs
        time.sleep(0.3)
    raise AssertionError(f"not done: {[state(tmp_path)[i]['state'] for i in ids]}")


def test_jobs_wait_for_their_gpus_and_start_in_order(hq: Any, tmp_path: Path) -> None:
    job = script(tmp_path, "gpu.sh", 'echo "gpu=$CUDA_VISIBLE_DEVICES id=$SLURM_JOB_ID"; sleep 1.5',
                 "--gres=gpu:1", "--output=gpu_%j.out")  # fmt: skip
    ids = [hq("sbatch", "--parsable", job).stdout.strip() for _ in range(5)]
    assert ids == ["1", "2", "3", "4", "5"]
    time.sleep(0.8)
    queue = hq("squeue", "-h", "-o", "%i|%T|%r").stdout.split()
    assert queue[:2] == ["1|RUNNING|None", "2|RUNNING|None"]
    assert queue[2:] == ["3|PENDING|Resources", "4|PENDING|Resources", "5|PENDING|Resources"]
    jobs = wait_done(tmp_path, ids)
    ran = [jobs[i] for i in ids]
    assert all(j["state"] == "COMPLETED" for j in ran)
    assert [j["start"] for j in ran] == sorted(j["start"] for j in ran)
    for j in ran:
        together = [k for k in ran if k["start"] <= j["start"] < k["end"]]  # running as j started
        assert len(together) <= 2
        assert len({d for k in together for d in k["devices"]}) == len(together)
    assert (tmp_path / "gpu_1.out").read_text().strip() in ("gpu=0 id=1", "gpu=1 id=1")
    sacct = hq("sacct", "-P", "-n", "-j", "1,5", "-o", "JobID,State,ExitCode,JobName").stdout.split()
    assert sacct == ["1|COMPLETED|0:0|gpu.sh", "5|COMPLETED|0:0|gpu.sh"]


def test_time_limit_warning_cancel_and_dependencies(hq: Any, tmp_path: Path) -> None:
    long = script(tmp_path, "long.sh", "trap 'echo warned' USR1\nfor i in $(seq 1 60); do sleep 1; done",
                  "--time=00:00:04", "--signal=B:USR1@2", "--output=long_%j.out")  # fmt: skip
    fail = script(tmp_path, "fail.sh", "exit 3")
    ok = script(tmp_path, "ok.sh", "echo ok")
    limited = hq("sbatch", "--parsable", long).stdout.strip()
    failed = hq("sbatch", "--parsable", fail).stdout.strip()
    killed = hq(
        "sbatch", "--parsable", f"--dependency=afterok:{failed}", "--kill-on-invalid-dep=yes", ok
    ).stdout.strip()
    waits = hq("sbatch", "--parsable", f"--dependency=afterok:{failed}", ok).stdout.strip()
    cancelled = hq("sbatch", "--parsable", long).stdout.strip()
    time.sleep(1)
    hq("scancel", cancelled)
    jobs = wait_done(tmp_path, [limited, failed, killed, cancelled], 40)
    assert jobs[limited]["state"] == "TIMEOUT"
    assert 3.5 <= jobs[limited]["end"] - jobs[limited]["start"] <= 6
    assert (tmp_path / f"long_{limited}.out").read_text().strip() == "warned"  # 2 s before the limit
    assert (jobs[failed]["state"], jobs[failed]["exit"]) == ("FAILED", "3:0")
    assert (jobs[killed]["state"], jobs[killed]["reason"]) == ("CANCELLED", "DependencyNeverSatisfied")
    assert (jobs[waits]["state"], jobs[waits]["reason"]) == ("PENDING", "DependencyNeverSatisfied")
    assert jobs[cancelled]["state"] == "CANCELLED"
    assert "CANCELLED by 0" in hq("sacct", "-P", "-n", "-j", cancelled, "-o", "State").stdout
    hq("scancel", waits)


def test_a_runner_killed_and_started_again_runs_nothing_twice(hq: Any, tmp_path: Path) -> None:
    once = script(tmp_path, "once.sh", 'echo run >> "runs_$SLURM_JOB_ID"; sleep 3')
    ids = [hq("sbatch", "--parsable", once).stdout.strip() for _ in range(3)]
    time.sleep(1)
    subprocess.run(["pkill", "-KILL", "-f", f"{tmp_path}/bin/hostq.py runner"], check=False)
    time.sleep(0.5)
    assert hq("sacct", "-P", "-n", "-j", ",".join(ids), "-o", "State").stdout.split()[:2] == ["RUNNING", "RUNNING"]
    jobs = wait_done(tmp_path, ids)  # the look above started the runner again
    assert [jobs[i]["state"] for i in ids] == ["COMPLETED"] * 3
    assert [(tmp_path / f"runs_{i}").read_text() for i in ids] == ["run\n"] * 3


def test_what_the_host_cannot_run_is_refused_in_one_line(hq: Any, tmp_path: Path) -> None:
    big = script(tmp_path, "big.sh", "true", "--gres=gpu:3")
    refused = hq("sbatch", big, check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "sbatch: error: Batch job submission failed: Requested node configuration is not available "
        "(this host has 2 GPU(s) and 4 core(s); the job asks for 3 and 1)"
    ]
    bad_array = hq("sbatch", "--array=3-x", script(tmp_path, "a.sh", "true"), check=False)
    assert bad_array.stderr.strip() == "sbatch: error: Invalid job array specification: 3-x"
    assert not (tmp_path / "hostq" / "state.json").exists() or state(tmp_path) == {}  # nothing queued
    (tmp_path / "hostq").chmod(0o755)
    os.chown(tmp_path / "hostq", 65534, 65534)  # someone else's folder
    foreign = hq("squeue", "-h", check=False)
    assert foreign.returncode == 1
    assert "belongs to user id 65534, not to you" in foreign.stderr


def test_job_arrays_their_tasks_and_corresponding_dependencies(hq: Any, tmp_path: Path) -> None:
    body = 'echo "$SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID" > "task_${SLURM_ARRAY_TASK_ID}_$1"'
    task = script(tmp_path, "task.sh", body, "--array=0-3%2", "--output=/dev/null")
    first = hq("sbatch", "--parsable", task, "a").stdout.strip()
    second = hq("sbatch", "--parsable", f"--dependency=aftercorr:{first}", "--kill-on-invalid-dep=yes", task,
                "b").stdout.strip()  # fmt: skip
    ids = [f"{first}_{i}" for i in range(4)] + [f"{second}_{i}" for i in range(4)]
    jobs = wait_done(tmp_path, ids)
    assert all(jobs[i]["state"] == "COMPLETED" for i in ids)
    for i in range(4):  # task i of the second array after task i of the first
        assert jobs[f"{second}_{i}"]["start"] >= jobs[f"{first}_{i}"]["end"]
        assert (tmp_path / f"task_{i}_a").read_text().split() == [first, str(i)]
    running_at = [[k for k in ids[:4] if jobs[k]["start"] <= jobs[j]["start"] < jobs[k]["end"]] for j in ids[:4]]
    assert max(len(r) for r in running_at) <= 2  # %2: at most two tasks at once
    rows = hq("sacct", "-P", "-n", "-j", first, "-o", "JobID,State").stdout.split()
    assert rows == [f"{first}_{i}|COMPLETED" for i in range(4)]


def test_a_job_running_before_the_host_restarted_is_a_node_failure(hq: Any, tmp_path: Path) -> None:
    long = script(tmp_path, "long.sh", "sleep 30")
    job_id = hq("sbatch", "--parsable", long).stdout.strip()
    deadline = time.monotonic() + 10
    while state(tmp_path)[job_id]["state"] != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    subprocess.run(["pkill", "-KILL", "-f", f"{tmp_path}/bin/hostq.py runner"], check=False)
    shell = state(tmp_path)[job_id]["shell"]
    path = tmp_path / "hostq" / "state.json"  # as if the machine had booted since: another boot id
    data = json.loads(path.read_text())
    data["jobs"][job_id]["boot"] = "an earlier boot"
    path.write_text(json.dumps(data))
    try:
        hq("squeue", "-h")  # a look starts the runner again
        jobs = wait_done(tmp_path, [job_id], 10)
        assert (jobs[job_id]["state"], jobs[job_id]["reason"]) == ("NODE_FAIL", "the host restarted")
        assert hq("sacct", "-P", "-n", "-j", job_id, "-o", "State").stdout.strip() == "NODE_FAIL"
    finally:
        if shell:
            os.killpg(shell, 9)
