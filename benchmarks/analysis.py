"""`job analyze` on a big NAMD log (issue 33's figure): a --size-mib log (default 2 GiB) of ENERGY rows
analyzed in a child process, its speed in MB/s and peak RSS (targets: >= 100 MB/s, < 200 MiB), beside
reading the same file with `dd` and `python -c pass` in the same run.

    .venv/bin/python -m benchmarks.analysis [--size-mib 2048]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIXTURE = (
    Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "namd" / "namd3.0.1_cpu_multicore_npt_complete.log"
)


def make_log(path: Path, size_mib: int) -> None:
    """A real log's header and ETITLE, then its real ENERGY rows over and over (the step advancing) to
    the size."""
    lines = FIXTURE.read_text().splitlines()
    head = [ln for ln in lines if not ln.startswith(("ENERGY:", "ETITLE:"))][:300]
    title = next(ln for ln in lines if ln.startswith("ETITLE:"))
    rows = ["     ".join(ln.split()[2:]) for ln in lines if ln.startswith("ENERGY:")]
    target = size_mib << 20
    with path.open("w") as fh:
        fh.write("\n".join(head) + "\n" + title + "\n")
        step, written, chunk = 0, 0, []
        while written < target:
            step += 100
            line = f"ENERGY: {step:>8d}     {rows[(step // 100) % len(rows)]}\n"
            chunk.append(line)
            written += len(line)
            if len(chunk) == 10_000:
                fh.write("".join(chunk))
                timing = f"TIMING: {step}  CPU: 1, 0.01/step  Wall: 1, 0.01/step, 1 hours remaining, 200 MB in use.\n"
                chunk = [timing]
        fh.write("".join(chunk))


def child(path: str) -> None:
    from namdrunner_core.analysis.report import analyze_log

    t0 = time.perf_counter()
    a = analyze_log(Path(path))
    print(
        json.dumps({"seconds": time.perf_counter() - t0, "rows": a.rows, "series": len(a.series), "stride": a.stride})
    )


def timed(cmd: list[str]) -> tuple[float, float, str]:
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        out.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{cmd[:3]} failed")
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=2048)
    ap.add_argument("--child")
    ap.add_argument("--make")
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    if args.make:
        make_log(Path(args.make), args.size_mib)
        return
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        log = Path(d) / "big.log"
        # written by another process: a child's peak RSS counts what its parent held when it was forked
        subprocess.run([sys.executable, "-m", "benchmarks.analysis", "--make", str(log), "--size-mib",
                        str(args.size_mib)], check=True)  # fmt: skip
        mb = log.stat().st_size / 1e6
        base = timed([sys.executable, "-c", "pass"])[0]
        cat = timed(["dd", f"if={log}", "of=/dev/null", "bs=4M", "status=none"])[0]  # the disk's own read speed
        wall, rss, out = timed([sys.executable, "-m", "benchmarks.analysis", "--child", str(log)])
        got = json.loads(out.strip().splitlines()[-1])
        print(f"{mb:.0f} MB log, {got['rows']} ENERGY rows ({got['series']} series judged, every {got['stride']}th "
              f"row kept): analysis {got['seconds']:.1f} s = {mb / got['seconds']:.0f} MB/s, whole process "
              f"{wall:.1f} s, peak RSS {rss:.0f} MiB | dd {cat:.1f} s = {mb / cat:.0f} MB/s, python -c pass "
              f"{base * 1000:.0f} ms (targets: >= 100 MB/s, < 200 MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
