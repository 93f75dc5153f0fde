"""Sync cost on the loopback cluster: one active job vs 100 (issue 5).

Targets: a sync of 100 active jobs issues at most 3 remote commands and takes at most 2x a sync of
1 job. Jobs are real (created, uploaded and submitted through the lifecycle); they run long enough
to stay active during the measurement and are cancelled and deleted afterwards.

    sudo tests/cluster/cluster.sh up && .venv/bin/python -m benchmarks.sync [--jobs 100]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from namdrunner_core import Cluster, Job, JobStore, Resources
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.transport.ratelimit import RateLimiter

TINY = Path(__file__).resolve().parent.parent / "tests" / "data" / "tiny"
FILES = [TINY / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]


def measure(store: JobStore, session: object, repeat: int = 5) -> tuple[float, int]:
    times, commands = [], []
    for _ in range(repeat):
        before = len(session.command_log)  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        report = sync_jobs(store, session)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
        commands.append(len(session.command_log) - before)  # type: ignore[attr-defined]
        assert report.remote_commands == commands[-1]
    return statistics.median(times), max(commands)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, Cluster.from_profile("loopback").connect() as session:
        session.transport.rate_limiter = RateLimiter(rate=1000, burst=1000)  # setup speed only
        session.command_log._entries = type(session.command_log._entries)(maxlen=100_000)
        store = JobStore(Path(d) / "bench.db")
        res = Resources(cores=1, memory_gb=0.25, walltime="00:30:00")
        values = {"execution_command": "run", "steps": 60_000_000}
        jobs = []
        try:
            t0 = time.perf_counter()
            for i in range(args.jobs):
                jobs.append(
                    Job.create(
                        session,
                        store,
                        name=f"sync bench {i}",
                        template="vacuum_optimization_v1",
                        values=values,
                        files=FILES,
                        resources=res,
                    ).submit()
                )
                if i == 0:
                    one_s, one_cmds = measure(store, session)
            setup = time.perf_counter() - t0
            many_s, many_cmds = measure(store, session)
            active = len(store.list_jobs(active_only=True))
            print(f"created and submitted {args.jobs} jobs in {setup:.1f} s")
            print(f"sync of 1 active job:    {one_s * 1000:7.1f} ms, {one_cmds} remote commands")
            print(
                f"sync of {active} active jobs: {many_s * 1000:7.1f} ms, {many_cmds} remote commands "
                f"| ratio {many_s / one_s:.2f}x (targets: <= 3 commands, <= 2.0x)"
            )
        finally:
            if jobs:
                session.transport.run(["scancel", "-u", session.user], check=False)
                for j in jobs:
                    j.delete()


if __name__ == "__main__":
    main()
