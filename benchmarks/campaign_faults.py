"""Issue 32's figure on the loopback Slurm: ONE campaign of ~5 segments carried to its target with no
command after `create`, through a time limit (the first segment, stopped by Slurm's warning), a node
failure (segment 2) and a preemption (segment 3). Prints whether it reached the target step exactly,
the steps simulated twice per fault (from the attempts' logs), the Slurm jobs per attempt (0 duplicate
submissions) and every attempt; how long the whole campaign took beside the compute it needed.

    bash tests/cluster/cluster.sh up && .venv/bin/python -m benchmarks.campaign_faults
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs

from namdrunner_core import Cluster, Job, JobStore, Resources, Session
from tests.conftest import DATA, cluster_vars

TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]
CLUSTER = Path(__file__).resolve().parent.parent / "tests" / "cluster" / "cluster.sh"
PACE = 2000  # stand-in steps per second


def root(*args: str) -> str:
    """A Slurm command as root, beside namdrunner."""
    env = {**os.environ, "SLURM_CONF": cluster_vars()["SLURM_CONF"]}
    return subprocess.run(list(args), capture_output=True, text=True, env=env, check=True).stdout


def state_of(job: Job) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(root("cat", f"{job.record.scratch_dir}/campaign.json"))
    return data


def wait(what: str, fn: Any, limit: float) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(2)
    raise SystemExit(f"timed out waiting for {what}")


def running_segment(job: Job, n: int) -> str | None:
    st = state_of(job)
    last = st["attempts"][-1] if st["attempts"] else None
    if last and last["segment"] == n and last["state"] == "running":
        return str(last["slurm_id"])
    return None


def main() -> None:
    with tempfile.TemporaryDirectory() as d, Cluster.from_profile("loopback").connect() as base:
        profile = attrs.evolve(base.profile, campaign_warn_s=20, campaign_startup_s=3.0)
        session = Session(profile, base.transport, base.user)
        store = JobStore(Path(d) / "bench.db")
        subprocess.run(["bash", str(CLUSTER), "requeue", "on"], check=True)
        res = Resources(cores=1, memory_gb=0.5, walltime="00:02:00", partition="apreempt")
        values = {"steps": 1200, "execution_command": "run", "restart_freq": 1200}
        t0 = time.monotonic()
        job = Job.create(session, store, name="faults", template="vacuum_optimization_v1", values=values,
                         files=TINY, resources=res, target_ns=1.3,
                         extra_files={"namd-standin.control": f"pace {PACE}\n".encode()}).submit()  # fmt: skip
        # segment 2: the node fails under it (Slurm requeues it)
        sid = wait("segment 2 running", lambda: running_segment(job, 2), 300)
        time.sleep(10)
        subprocess.run(["bash", str(CLUSTER), "node", "down"], check=True)
        wait("the node failure", lambda: "NODE_FAIL" in root("sacct", "-n", "-D", "-j", sid, "-o", "State"), 90)
        subprocess.run(["bash", str(CLUSTER), "node", "resume"], check=True)
        root("scontrol", "update", f"jobid={sid}", "starttime=now")
        # segment 3: a job of a higher PriorityTier takes the node (PreemptMode=REQUEUE)
        sid = wait("segment 3 running", lambda: running_segment(job, 3), 400)
        time.sleep(10)
        urgent = session.slurm(["sbatch", "--parsable", "-p", "aurgent", "-n", "16", "--mem=1G", "-t", "00:01:00",
                                "--wrap=sleep 5"]).stdout.strip()  # fmt: skip
        wait("the preemption", lambda: "PREEMPTED" in root("sacct", "-n", "-D", "-j", sid, "-o", "State"), 120)
        wait("the urgent job", lambda: root("squeue", "-h", "-j", urgent).strip() == "", 120)
        root("scontrol", "update", f"jobid={sid}", "starttime=now")
        st = wait("the campaign done", lambda: (s := state_of(job))["state"] != "running" and s, 1200)
        took = time.monotonic() - t0
        attempts = st["attempts"]
        print(f"campaign {job.id}: {st['state']} ({st['reason']}) in {took:.0f} s wall, compute at the stand-in's "
              f"pace {st['target_step'] / PACE:.0f} s")  # fmt: skip
        print(
            f"target step {st['target_step']}, last attempt ended at {attempts[-1]['end_step']}: "
            f"{'exactly' if attempts[-1]['end_step'] == st['target_step'] else 'NOT'} the target"
        )
        for a, b in itertools.pairwise(attempts):
            if a["outcome"] in ("TIMEOUT", "REQUEUED") and a.get("end_step") is not None:
                again = a["end_step"] - b["start_step"]
                print(
                    f"  fault {a['outcome']:8s} in segment {a['segment']}: {again} steps simulated twice "
                    f"(restartfreq {a['restartfreq']}): {'<=' if again <= a['restartfreq'] else '>'} restartfreq"
                )
        ids = {a["slurm_id"] for a in attempts}
        named = {x.strip() for x in root("sacct", "-X", "-n", "-P", "-S", "now-3hours", f"--name={job.id}",
                                          "-o", "JobID").splitlines() if x.strip()}  # fmt: skip
        print(
            f"Slurm jobs named {job.id}: {len(named)}; distinct Slurm jobs in the attempts: {len(ids)} "
            f"({len(named) - len(ids)} duplicate submissions)"
        )
        for a in attempts:
            print(f"  segment {a['segment']}.{a['attempt']}: Slurm {a['slurm_id']:>5} steps {a['start_step']:>7} -> "
                  f"{a['end_step']!s:>7} planned {a['planned_steps']:>7}  {a['outcome']:10s} {a['started_at']} -> "
                  f"{a['ended_at']}")  # fmt: skip


if __name__ == "__main__":
    main()
