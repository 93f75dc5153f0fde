"""`job analyze` on a big NAMD log and a big DCD (issue 33's figures): a --size-mib log (default 2 GiB)
of ENERGY rows, and a DCD of --atoms atoms (default 100,000) of the same size with its PSF, each analyzed
in a child process (the DCD: RMSD, RMSF and radius of gyration of every atom), its speed in MB/s and
peak RSS (targets: >= 100 MB/s for the log, < 200 MiB for both), beside reading the same file with `dd`
and `python -c pass` in the same run.

    .venv/bin/python -m benchmarks.analysis [--size-mib 2048] [--atoms 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._spawn import timed as spawned

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


def make_dcd(path: Path, size_mib: int, atoms: int) -> None:
    """A PSF of ``atoms`` atoms (DNA residues) and a DCD of ``size_mib`` in NAMD's layout (unit cell on):
    a random structure breathing and jittering, written frame by frame."""
    import numpy as np

    with path.with_suffix(".psf").open("w") as fh:
        fh.write(f"PSF EXT\n\n       1 !NTITLE\n REMARKS bench\n\n{atoms:10d} !NATOM\n")
        for i in range(atoms):
            fh.write(f"{i + 1:10d} DNA{i // 50000:<5d} {i // 20 + 1:<8d} DA       P        P        -1.0  30.974  0\n")
    rng = np.random.default_rng(1)
    base = rng.normal(scale=40.0, size=(atoms, 3))

    def rec(b: bytes) -> bytes:
        return struct.pack("<i", len(b)) + b + struct.pack("<i", len(b))

    frame_bytes = 56 + 3 * (4 * atoms + 8)
    frames = max(1, (size_mib << 20) // frame_bytes)
    with path.open("wb") as out:
        out.write(rec(b"CORD" + struct.pack("<9if10i", frames, 1000, 1000, 0, 0, 0, 0, 0, 0, 0.04, 1, 0,
                                           0, 0, 0, 0, 0, 0, 0, 24)))  # fmt: skip
        out.write(rec(struct.pack("<i", 1) + b"REMARKS benchmark".ljust(80)))
        out.write(rec(struct.pack("<i", atoms)))
        for k in range(frames):
            xyz = (base * (1 + 0.01 * np.sin(k / 10)) + rng.normal(scale=0.5, size=base.shape)).astype("<f4")
            out.write(rec(struct.pack("<6d", 80.0, 90.0, 80.0, 90.0, 90.0, 80.0)))
            for axis in range(3):
                out.write(rec(xyz[:, axis].tobytes()))


def child_dcd(path: str) -> None:
    from namdrunner_core.analysis.structure import structure_series

    t0 = time.perf_counter()
    s = structure_series(Path(path), Path(path).with_suffix(".psf"), "all")
    print(json.dumps({"seconds": time.perf_counter() - t0, "frames": s.frames, "atoms": s.atoms}))


def child(path: str) -> None:
    from namdrunner_core.analysis.report import analyze_log

    t0 = time.perf_counter()
    a = analyze_log(Path(path))
    print(
        json.dumps({"seconds": time.perf_counter() - t0, "rows": a.rows, "series": len(a.series), "stride": a.stride})
    )


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, stdout) of ``cmd`` as a new process (benchmarks/_spawn.py)."""
    return spawned(cmd, dict(os.environ))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=2048)
    ap.add_argument("--atoms", type=int, default=100_000)
    ap.add_argument("--child")
    ap.add_argument("--child-dcd")
    ap.add_argument("--make")
    ap.add_argument("--make-dcd")
    args = ap.parse_args()
    if args.child or args.child_dcd:
        child(args.child) if args.child else child_dcd(args.child_dcd)
        return
    if args.make or args.make_dcd:
        make_log(Path(args.make), args.size_mib) if args.make else make_dcd(
            Path(args.make_dcd), args.size_mib, args.atoms
        )
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
        log.unlink()
        dcd = Path(d) / "big.dcd"
        subprocess.run([sys.executable, "-m", "benchmarks.analysis", "--make-dcd", str(dcd), "--size-mib",
                        str(args.size_mib), "--atoms", str(args.atoms)], check=True)  # fmt: skip
        mb = dcd.stat().st_size / 1e6
        cat = timed(["dd", f"if={dcd}", "of=/dev/null", "bs=4M", "status=none"])[0]
        wall, rss, out = timed([sys.executable, "-m", "benchmarks.analysis", "--child-dcd", str(dcd)])
        got = json.loads(out.strip().splitlines()[-1])
        print(f"{mb:.0f} MB DCD, {got['frames']} frames of {got['atoms']} atoms (RMSD, RMSF, radius of gyration "
              f"of all): {got['seconds']:.1f} s = {mb / got['seconds']:.0f} MB/s, whole process {wall:.1f} s, "
              f"peak RSS {rss:.0f} MiB | dd {cat:.1f} s = {mb / cat:.0f} MB/s (target: < 200 MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
