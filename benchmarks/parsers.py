"""Parser speed, beside plain baselines measured in the same run.

- 100,000 sacct lines: parse_sacct (steps folded, states mapped) vs a bare `str.split` loop over the
  same text. Target: under 0.5 s.
- A generated NAMD log (default 500 MB, made from the real NAMD 3.0.1 fixture's lines with growing
  step numbers), streamed through NamdLogParser from disk, vs reading the same file in the same chunks.
  Target: >= 100 MB/s with memory flat (the peak Python allocation is printed).

    .venv/bin/python -m benchmarks.parsers [--log-mb 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

from namdrunner_core.namd.log import NamdLogParser
from namdrunner_core.slurm.parse import parse_sacct

FIXTURE = (
    Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "namd" / "namd3.0.1_cpu_multicore_npt_complete.log"
)
STATES = ["COMPLETED", "FAILED", "CANCELLED by 1001", "TIMEOUT", "RUNNING", "PENDING", "OUT_OF_MEMORY"]


def sacct_text(n: int) -> str:
    lines = []
    job = 1_000_000
    times = "00:10:00|2026-11-24T10:00:00|2026-11-24T10:10:00"
    submit = "2026-11-24T09:59:00"
    while len(lines) < n:
        state = STATES[job % len(STATES)]
        lines.append(f"{job}|{state}|0:0|{times}|None|{submit}|hex tube|run {job}")
        lines.append(f"{job}.batch|{state}|0:0|{times}||{submit}|batch")
        lines.append(f"{job}.extern|COMPLETED|0:0|{times}||{submit}|extern")
        job += 1
    return "\n".join(lines[:n]) + "\n"


def make_log(path: Path, target_bytes: int) -> int:
    lines = FIXTURE.read_bytes().splitlines(keepends=True)
    header = [
        ln
        for ln in lines
        if not ln.startswith(
            (b"ENERGY:", b"TIMING:", b"PERFORMANCE:", b"ETITLE:", b"WRITING", b"WallClock", b"[Partition")
        )
    ]
    body = [ln for ln in lines if ln.startswith((b"ENERGY:", b"TIMING:", b"PERFORMANCE:", b"ETITLE:", b"WRITING"))]
    written = 0
    step = 9000
    with path.open("wb") as fh:
        for ln in header:
            fh.write(ln)
            written += len(ln)
        while written < target_bytes:
            chunk = []
            for ln in body:
                parts = ln.split(b" ", 2)
                if ln.startswith((b"ENERGY:", b"TIMING:", b"PERFORMANCE:")) and len(parts) > 1:
                    step += 100
                    ln = ln.replace(parts[1] if parts[1] else parts[2].split()[0], str(step).encode(), 1)
                chunk.append(ln)
            data = b"".join(chunk)
            fh.write(data)
            written += len(data)
    return written


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sacct-lines", type=int, default=100_000)
    ap.add_argument("--log-mb", type=int, default=500)
    args = ap.parse_args()

    text = sacct_text(args.sacct_lines)
    t0 = time.perf_counter()
    for line in text.split("\n"):
        line.split("|")
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = parse_sacct(text)
    ours = time.perf_counter() - t0
    print(
        f"sacct {args.sacct_lines:,} lines: parse_sacct {ours:.3f} s ({len(rows):,} jobs) | str.split loop "
        f"{base:.3f} s | {ours / base:.1f}x the bare split (target < 0.5 s)"
    )

    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "namd.log"
        size = make_log(log, args.log_mb * 1_000_000)
        t0 = time.perf_counter()
        with log.open("rb") as fh:
            for _ in iter(lambda: fh.read(8 * 1024 * 1024), b""):
                pass
        read_s = time.perf_counter() - t0
        tracemalloc.start()
        t0 = time.perf_counter()
        parser = NamdLogParser()
        parser.feed_file(log)
        parse_s = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        mb = size / 1e6
        print(
            f"NAMD log {mb:,.0f} MB: parser {mb / parse_s:,.0f} MB/s ({parse_s:.2f} s, {parser.state.energy_rows:,} "
            f"ENERGY rows, last step {parser.state.current_step:,}) | plain chunked read {mb / read_s:,.0f} MB/s | "
            f"peak Python memory {peak / 2**20:.1f} MiB (target >= 100 MB/s, flat)"
        )


if __name__ == "__main__":
    main()
