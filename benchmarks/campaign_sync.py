"""Sync cost with many active campaigns, on the loopback cluster (issue 32's figure): 10 vs 1,000
campaigns, each with its campaign.json on the cluster and a queued segment (one held task of a job
array per campaign), in the store. Targets: at most 3 remote commands, under 2 s, memory flat.

Printed beside the same sync of 10 campaigns, and `python -c pass` as the baseline of the run; peak
memory is Python's own allocations during the sync (tracemalloc) and the process's peak RSS.

    bash tests/cluster/cluster.sh up && .venv/bin/python -m benchmarks.campaign_sync [--campaigns 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from namdrunner_core import Cluster, JobRecord, JobStatus, JobStore, Resources, Session
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.scripts import SLURM_EXEC, WRITE_FILES
from namdrunner_core.transport.ratelimit import RateLimiter


def _state(slurm_id: str) -> dict[str, object]:
    attempt = {"segment": 3, "attempt": 1, "slurm_id": slurm_id, "state": "running", "start_step": 480_000,
               "end_step": None, "outcome": None, "action": None, "reason": None, "restartfreq": 12_000,
               "planned_steps": 240_000, "started_at": "2026-12-07T10:00:00Z", "ended_at": None}  # fmt: skip
    ended = [{**attempt, "segment": n, "slurm_id": str(1000 + n), "state": "ended", "outcome": "COMPLETED",
              "end_step": 240_000 * n} for n in (1, 2)]  # fmt: skip
    return {"schema": 1, "state": "running", "reason": "", "target_step": 2_400_000, "first_step": 0,
            "timestep_fs": 2.0, "steps_per_cycle": 12, "walltime_s": 86400.0, "ns_per_day": 12.5,
            "margin": 0.1, "output": "outputs/prod", "config": "config.namd", "attempts": [*ended, attempt],
            "next_job": None}  # fmt: skip


def _record(session: Session, root: str, array: str, i: int, task: int, now: dt.datetime, res: Resources) -> JobRecord:
    """Campaign ``i``: its segment 3 queued as task ``task`` of a held array."""
    return JobRecord(job_id=f"bench_{i}", job_name=f"bench {i}", profile="loopback", remote_user=session.user,
                     status=JobStatus.PENDING, template_id="vacuum_optimization_v1", template_values={},
                     resources=res, project_dir=f"{session.jobs_root}/bench_{i}", scratch_dir=f"{root}/bench_{i}",
                     created_at=now, updated_at=now, slurm_job_id=f"{array}_{task}",
                     campaign=_state(f"{array}_{task}"))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--campaigns", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    baseline = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d, Cluster.from_profile("loopback").connect() as session:
        session.transport.rate_limiter = RateLimiter(rate=1000, burst=1000)  # setup speed only
        root = f"{session.scratch_root.rstrip('/')}/campaign-bench"
        arrays: list[str] = []  # held job arrays of at most 200 tasks (the test cluster's MaxArraySize is 201)
        for start in range(0, args.campaigns, 200):
            size = min(200, args.campaigns - start)
            out = session.run_remote(SLURM_EXEC, ["sbatch", "--parsable", "--hold", f"--array=0-{size - 1}",
                                                  "--job-name=campaign-bench", "--time=00:10:00", "--mem=100M",
                                                  "--wrap=sleep 1"]).stdout  # fmt: skip
            arrays.append(out.strip().split(";")[0])
        try:
            now = dt.datetime.now(dt.UTC)
            res = Resources(cores=1, memory_gb=0.5, walltime="24:00:00")
            records = [_record(session, root, arrays[i // 200], i, i % 200, now, res) for i in range(args.campaigns)]
            session.transport.run(["mkdir", "-p", *[r.scratch_dir for r in records]])
            chunks: list[bytes] = []
            for r in records:
                data = json.dumps(r.campaign).encode()
                chunks += [f"{r.scratch_dir}/campaign.json\t{len(data)}\n".encode(), data]
            session.run_remote(WRITE_FILES, [root], chunks=chunks)
            for n in (10, args.campaigns):
                store = JobStore(Path(d) / f"bench{n}.db")
                for r in records[:n]:
                    store.save_job(r)
                times, commands, peaks = [], [], []
                for _ in range(args.repeat):
                    tracemalloc.start()
                    t = time.perf_counter()
                    report = sync_jobs(store, session)
                    times.append(time.perf_counter() - t)
                    peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
                    tracemalloc.stop()
                    commands.append(report.remote_commands)
                    assert report.checked == n, report
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"sync of {n:5d} active campaigns: {statistics.median(times):6.3f} s (median of {args.repeat}), "
                      f"{max(commands)} remote commands, Python peak {max(peaks):6.1f} MiB, process peak RSS "
                      f"{rss:6.1f} MiB | python -c pass {baseline:.3f} s (targets: <= 3 commands, < 2 s)")  # fmt: skip
        finally:
            session.run_remote(SLURM_EXEC, ["scancel", *arrays], check=False)
            session.transport.run(["rm", "-rf", "--", root])


if __name__ == "__main__":
    main()
