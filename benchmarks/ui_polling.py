"""The polling budget of `namdrunner ui` (issue 34): pages following running jobs on the loopback
cluster, clients that poll exactly as the pages' script does (a sync every 10 s; the NAMD log of
their job every 10 s, `auto=1`; the energy plot every 60 s), for a minute. Printed beside it, in the
same run: what the same pages asked of the server (the requests a page-reloading design sends to the
cluster one for one), and `namdrunner watch`'s own cost over the same minute for the same jobs.

Target: at most one remote command per 10 s on average, whatever the number of tabs.

    tests/cluster/cluster.sh up && .venv/bin/python -m benchmarks.ui_polling [--tabs 3] [--seconds 60]
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.ui_jobs_page import key_cookie

TINY = Path(__file__).resolve().parent.parent / "tests" / "data" / "tiny"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tabs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()

    import uvicorn

    from namdrunner_cli.web.app import build_app
    from namdrunner_cli.web.server import bind
    from namdrunner_cli.web.state import UiState
    from namdrunner_core import Cluster, Job, JobStore, Resources
    from namdrunner_core.jobs.sync import sync_jobs
    from namdrunner_core.jobs.watch import watch_jobs

    with tempfile.TemporaryDirectory() as d, Cluster.from_profile("loopback").connect() as session:
        store = JobStore(Path(d) / "poll.db")
        files = [TINY / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]
        jobs = [
            Job.create(session, store, name=f"poll {i}", template="vacuum_optimization_v1",
                       values={"steps": 12_000_000, "execution_command": "run"}, files=files,
                       resources=Resources(cores=1, memory_gb=0.5, walltime="00:10:00")).submit()
            for i in range(args.tabs)
        ]  # fmt: skip
        try:
            while not all(store.get_job(j.id).status.value == "Running" for j in jobs):
                sync_jobs(store, session)
                time.sleep(1)
            # the baseline, same jobs, same minute-long window: `namdrunner watch` (2 s doubling to 60 s)
            before = len(session.command_log.entries())
            watch_jobs(session, store, lambda _records: None, timeout=args.seconds)
            watch_cost = len(session.command_log.entries()) - before

            sock = bind(0)
            port = sock.getsockname()[1]
            state = UiState("loopback", store)
            server = uvicorn.Server(uvicorn.Config(build_app(state), log_level="warning", lifespan="off"))
            threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
            while not server.started:
                time.sleep(0.05)
            cookie = key_cookie(port, state.token)
            csrf = state.csrf
            requests = 0
            lock = threading.Lock()

            def ask(method: str, path: str) -> None:
                nonlocal requests
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                conn.request(
                    method, path, headers={"Cookie": cookie, "X-CSRF-Token": csrf, "Accept": "application/json"}
                )
                conn.getresponse().read()
                with lock:
                    requests += 1

            def tab(job_id: str, stop: float) -> None:
                ask("GET", f"/jobs/{job_id}/logs?kind=namd")  # the page's first load
                ask("GET", f"/jobs/{job_id}/energy.svg")
                n = 0
                while time.monotonic() < stop:
                    time.sleep(10)
                    n += 1
                    ask("POST", "/sync")
                    ask("GET", f"/jobs/{job_id}/logs?kind=namd&auto=1")
                    if n % 6 == 0:
                        ask("GET", f"/jobs/{job_id}/energy.svg?auto=1")

            def commands() -> int:
                log = state.command_log
                return len(log.entries()) if log is not None else 0

            stop = time.monotonic() + 12 + args.seconds
            threads = [threading.Thread(target=tab, args=(j.id, stop)) for j in jobs]
            for t in threads:
                t.start()
            time.sleep(12)  # the first loads (a person opening pages: not the budget's)
            start, t0 = commands(), time.monotonic()
            asked0 = requests
            for t in threads:
                t.join()
            ran, took = commands() - start, time.monotonic() - t0
            asked = requests - asked0
            server.should_exit = True
        finally:
            for j in jobs:
                session.slurm(["scancel", j.record.slurm_job_id or ""], check=False)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tabs": args.tabs, "seconds": round(took, 1), "remote_commands": ran,
                      "per_10_s": round(10 * ran / took, 2), "page_requests": asked,
                      "watch_commands_same_window": watch_cost}))  # fmt: skip
    print(
        f"{args.tabs} tabs on running jobs for {took:.0f} s: {ran} remote commands = {10 * ran / took:.2f} per 10 s "
        f"(target <= 1) | the pages asked the server {asked} times | `namdrunner watch` on the same jobs, same "
        f"length: {watch_cost} commands | peak RSS {rss:.0f} MiB"
    )


if __name__ == "__main__":
    main()
