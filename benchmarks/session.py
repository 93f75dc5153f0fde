"""The shared session (issue 13) on the loopback cluster, each figure beside its baseline in the same run.

Prints: the median time of a remote command through the broker vs the same command on an
in-process reused session (target: <= 30 ms more); a 256 MiB download through the broker vs
in-process (target >= 0.9x); `namdrunner job show ID` wall time with a broker running (target
< 250 ms); and the command rate the broker let through when 4 CLI processes fire at once (target <=
the profile's 5 commands/s), with the authentications the session made (target 1).

    bash tests/cluster/cluster.sh up && .venv/bin/python -m benchmarks.session
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from namdrunner_core import Cluster
from namdrunner_core.broker import start_session, stop_session
from namdrunner_core.transport.broker_client import BrokerTransport, find_broker
from namdrunner_core.transport.transfer import get_file, put_file


def median_ms(fn: object, n: int) -> float:
    """Median wall time of ``fn``, paced below the profile's rate limit so that only the command counts."""
    times = []
    for _ in range(n):
        time.sleep(0.25)
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="nrsession-", dir="/var/tmp"))
    os.environ["NAMDRUNNER_RUNTIME_DIR"] = str(tmp / "run")
    os.environ["NAMDRUNNER_DB"] = str(tmp / "jobs.db")
    direct = Cluster.from_profile("loopback").connect(broker=False)
    try:
        start_session("loopback", ttl_s=1800, idle_s=600)
        shared = Cluster.from_profile("loopback").connect()
        assert isinstance(shared.transport, BrokerTransport)
        d_ms = median_ms(lambda: direct.transport.run(["true"]), 30)
        b_ms = median_ms(lambda: shared.transport.run(["true"]), 30)
        print(f"one remote command: in-process {d_ms:6.1f} ms | through the broker {b_ms:6.1f} ms "
              f"| overhead {b_ms - d_ms:+.1f} ms (target <= +30 ms; medians of 30)")  # fmt: skip
        big = tmp / "big.bin"
        base = os.urandom(1 << 20)
        with big.open("wb") as fh:
            for i in range(256):
                fh.write(i.to_bytes(8, "little") + base[8:])
        remote = f"{direct.scratch_root}/session-bench.bin"
        put_file(direct.transport, big, remote)

        def fetch(transport: object) -> float:
            out = tmp / "back.bin"
            out.unlink(missing_ok=True)
            t0 = time.perf_counter()
            get_file(transport, remote, out)  # type: ignore[arg-type]
            return time.perf_counter() - t0

        d_s = statistics.median(fetch(direct.transport) for _ in range(3))
        b_s = statistics.median(fetch(shared.transport) for _ in range(3))
        print(f"256 MiB download: in-process {256 / d_s:6.1f} MiB/s | through the broker {256 / b_s:6.1f} MiB/s "
              f"| ratio {d_s / b_s:.2f}x (target >= 0.90x; medians of 3)")  # fmt: skip
        show = [sys.executable, "-m", "namdrunner_cli", "job", "list"]
        walls = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run(show, check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
        print(
            f"`namdrunner job list` with a broker running: {statistics.median(walls) * 1000:.0f} ms (target < 250 ms)"
        )
        before = find_broker("loopback")
        assert before is not None
        script = "from namdrunner_core import Cluster\ns=Cluster.from_profile('loopback').connect()\n" + (
            "for _ in range(10): s.transport.run(['true'])\n"
        )
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(4)]
        for p in procs:
            p.wait()
        elapsed = time.perf_counter() - t0
        after = find_broker("loopback")
        assert after is not None
        served = after.commands - before.commands
        burst = 5  # the limiter's bucket lets its first few through at once
        print(f"4 processes x 10 commands at once: {served} served in {elapsed:.1f} s; after the first {burst} "
              f"(the bucket) {(served - burst) / elapsed:.1f}/s (the profile's limit: {after.rate_limit_per_s:g}/s); "
              f"authentications: {after.authentications} (target 1)")  # fmt: skip
        direct.transport.run(["rm", "-f", "--", remote])
    finally:
        stop_session("loopback")
        direct.close()


if __name__ == "__main__":
    main()
