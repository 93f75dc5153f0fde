"""CLI start-up, beside `python -c pass` in the same run (medians of 7 runs).

Targets (issue 6): `namdrunner --help` under 150 ms, `namdrunner job list` on a 10,000-job store under
300 ms; neither imports fabric or paramiko (checked by tests/integration/test_cli.py).

    .venv/bin/python -m benchmarks.cli_startup
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._fixtures import make_store


def timed(cmd: list[str], env: dict[str, str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    namdrunner = str(Path(sys.executable).with_name("namdrunner"))
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "10k.db"
        make_store(db, 10_000).engine.dispose()
        env = {**os.environ, "NAMDRUNNER_DB": str(db), "COLUMNS": "120"}
        base = timed([sys.executable, "-c", "pass"], env)
        helps = timed([namdrunner, "--help"], env)
        listing = timed([namdrunner, "job", "list"], env)
        listing_all = timed([namdrunner, "job", "list", "--limit", "0"], env, runs=3)
    print(f"python -c pass:                    {base * 1000:6.0f} ms")
    print(f"namdrunner --help:                 {helps * 1000:6.0f} ms (target < 150 ms; {helps / base:.1f}x python)")
    print(f"namdrunner job list (10,000 jobs):    {listing * 1000:6.0f} ms (target < 300 ms; newest 50 shown)")
    print(f"namdrunner job list --limit 0:        {listing_all * 1000:6.0f} ms (all 10,000 rows, plain text)")


if __name__ == "__main__":
    main()
