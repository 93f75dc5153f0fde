"""Trajectory-sized data (issue 12), on the loopback cluster, each figure beside OpenSSH scp measured
in the same run.

Prints, as medians of --repeat runs:
- a --size-mib file (default 1 GiB) end to end through ``Job.create`` (what ``job create`` runs) and
  through ``Job.download`` (``job download``), in MiB/s and as a ratio to scp (target >= 0.9x); the
  page cache is flushed (``sync``) before every timed transfer and the order alternates;
- the peak RSS of the namdrunner process (measured from outside: ``os.wait4`` of a child process)
  for an upload and a download of 256 MiB and of --rss-big-mib (default 4 GiB): target < 150 MiB and
  flat (the two within 20 %);
- a download stopped at ~50 % (Ctrl-C), then rerun: the share of the bytes the rerun moves (target
  <= 55 %), byte-identical; and a download whose SSH connection is killed at ~50 %: completed in the
  same call by resuming;
- the 4 GiB transfers cross paramiko's re-key point (every 512 MiB) eight times each way.

    bash tests/cluster/cluster.sh up && .venv/bin/python -m benchmarks.big_data [--size-mib 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._spawn import timed as spawned
from tests.conftest import DATA, cluster_vars

TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]
MiB = 1 << 20


def make_file(path: Path, size_mib: int) -> Path:
    """Incompressible bytes, written fast (one random MiB, varied per block)."""
    base = os.urandom(MiB)
    with path.open("wb") as fh:
        for i in range(size_mib):
            fh.write(i.to_bytes(8, "little") + base[8:])
    return path


# -- what a child process runs (its peak RSS is measured from outside) ------------------------------


def _session() -> Any:
    from namdrunner_core import Cluster

    return Cluster.from_profile("loopback").connect()


def child(argv: list[str]) -> None:
    from namdrunner_core import Job, JobStore, Resources

    op, store_path = argv[0], Path(argv[1])
    if op == "login":  # an SSH login and one command, as every remote CLI command starts
        t0 = time.perf_counter()
        with _session() as session:
            session.transport.run(["true"])
            print(json.dumps({"seconds": time.perf_counter() - t0}))
        return
    store = JobStore(store_path)
    out: dict[str, Any] = {}
    with _session() as session:
        if op == "create":
            big = Path(argv[2])
            t0 = time.perf_counter()
            res = Resources(cores=1, memory_gb=0.5, walltime="00:10:00")
            job = Job.create(
                session, store, name="bench big", template="vacuum_optimization_v1",
                values={"steps": 240}, files=[*TINY, big], resources=res,
            )  # fmt: skip
            out = {"seconds": time.perf_counter() - t0, "job_id": job.id}
        elif op in ("download", "download-stop", "download-kill"):
            job = Job(session, store, store.get_job(argv[2]))
            dest, name = Path(argv[3]), f"input_files/{argv[4]}"
            size = int(argv[5])
            progress = None
            if op == "download-stop":

                def progress(done: int, total: int) -> None:
                    if total == size and done > size // 2:
                        raise KeyboardInterrupt

            elif op == "download-kill":
                pid = int(session.transport.run(["bash", "-c", "echo $PPID"]).stdout.strip())
                killed = [False]

                def progress(done: int, total: int) -> None:
                    if total == size and done > size // 2 and not killed[0]:
                        killed[0] = True
                        os.kill(pid, signal.SIGKILL)

            t0 = time.perf_counter()
            try:
                report = job.download(dest, include=[name], progress=progress)
                out = {"bytes": report.payload_bytes, "resumed": report.resumed_bytes}
            except KeyboardInterrupt:
                out = {"stopped": True}
            out["seconds"] = time.perf_counter() - t0
        elif op == "delete":
            Job(session, store, store.get_job(argv[2])).delete(force=True)
    print(json.dumps(out))


def run_child(*argv: str) -> tuple[dict[str, Any], float]:
    """Run one operation in a child; (its JSON answer, its peak RSS in MiB, from os.wait4 in a small
    launcher: benchmarks/_spawn.py)."""
    cmd = [sys.executable, "-m", "benchmarks.big_data", "--child", *argv]
    _seconds, rss, text = spawned(cmd, dict(os.environ), str(Path(__file__).resolve().parent.parent))
    return json.loads(text.strip().splitlines()[-1]), rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rss-big-mib", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    env = cluster_vars()
    host, port, user, key = env["NR_TEST_HOST"], env["NR_TEST_PORT"], env["NR_TEST_USER"], env["NR_TEST_KEY"]
    ssh_opts = ["-q", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-P", port]  # fmt: skip
    scratch = f"{env['NR_TEST_SCRATCH']}/bench-{uuid.uuid4().hex[:6]}"
    tmp = Path(tempfile.mkdtemp(prefix="nrbig-", dir="/var/tmp"))
    store = tmp / "jobs.db"
    made: list[str] = []

    def scp(*a: str) -> float:
        t0 = time.perf_counter()
        subprocess.run(["scp", *ssh_opts, *a], check=True)
        return time.perf_counter() - t0

    try:
        subprocess.run(["ssh", *ssh_opts[:-2], "-p", port, f"{user}@{host}", "mkdir", "-p", scratch], check=True)
        big = make_file(tmp / "big.dat", args.size_mib)
        size = big.stat().st_size
        scp_put, scp_get, our_put, our_get, rss = [], [], [], [], {}

        # Fair turns: the page cache flushed before every timed transfer (the cluster's disk is this
        # machine's: the GiB the previous one wrote must not be written back during the next), and who
        # goes first alternates between repeats.
        def scp_up() -> None:
            os.sync()
            scp_put.append(scp(str(big), f"{user}@{host}:{scratch}/scp.dat"))

        def ours_up(seen: dict[str, Any]) -> None:
            os.sync()
            created, seen["up"] = run_child("create", str(store), str(big))
            made.append(created["job_id"])
            our_put.append(created["seconds"])
            seen["job"] = created["job_id"]

        def scp_down() -> None:
            os.sync()
            scp_get.append(scp(f"{user}@{host}:{scratch}/scp.dat", str(tmp / "scp_back.dat")))

        def ours_down(seen: dict[str, Any], dest: Path) -> None:
            os.sync()
            got, seen["down"] = run_child("download", str(store), seen["job"], str(dest), big.name, str(size))
            our_get.append(got["seconds"])

        for i in range(args.repeat):
            seen: dict[str, Any] = {}
            dest = tmp / f"dl{i}"
            if i % 2 == 0:
                scp_up()
                ours_up(seen)
                scp_down()
                ours_down(seen, dest)
            else:
                ours_up(seen)
                scp_up()
                ours_down(seen, dest)
                scp_down()
            rss[args.size_mib] = (seen["up"], seen["down"])
            shutil.rmtree(dest, ignore_errors=True)
            (tmp / "scp_back.dat").unlink(missing_ok=True)
        mib = size / MiB
        for what, ours, theirs in (("job create", our_put, scp_put), ("job download", our_get, scp_get)):
            o, s = statistics.median(ours), statistics.median(theirs)
            print(f"{mib:.0f} MiB through {what:12s}: namdrunner {mib / o:6.1f} MiB/s | scp {mib / s:6.1f} MiB/s "
                  f"| ratio {s / o:.2f}x (target >= 0.90x; medians of {args.repeat})")  # fmt: skip

        # Peak RSS, flat as the size grows
        for size_mib in (256, args.rss_big_mib):
            if size_mib == args.size_mib:
                continue
            f = make_file(tmp / f"rss{size_mib}.dat", size_mib)
            created, up = run_child("create", str(store), str(f))
            made.append(created["job_id"])
            _got, down = run_child(
                "download", str(store), created["job_id"], str(tmp / "rssdl"), f.name, str(f.stat().st_size)
            )
            rss[size_mib] = (up, down)
            f.unlink()
            shutil.rmtree(tmp / "rssdl", ignore_errors=True)
        for size_mib, (up, down) in sorted(rss.items()):
            print(f"peak RSS, {size_mib:5d} MiB: upload {up:6.1f} MiB | download {down:6.1f} MiB (target < 150 MiB)")
        small, large = rss[256], rss[args.rss_big_mib]
        for i, what in enumerate(("upload", "download")):
            print(
                f"peak RSS {what}: {args.rss_big_mib} MiB vs 256 MiB = {large[i] / small[i]:.2f}x (target within 1.20x)"
            )
        print(f"the {args.rss_big_mib} MiB transfers crossed paramiko's re-key point (512 MiB) "
              f"{args.rss_big_mib // 512} times each way, verified end to end")  # fmt: skip

        # Stopped at ~50 %, then rerun; and a connection killed at ~50 %
        job_id = made[0]
        dest = tmp / "resume"
        stopped, _ = run_child("download-stop", str(store), job_id, str(dest), big.name, str(size))
        assert stopped.get("stopped"), stopped
        rerun, _ = run_child("download", str(store), job_id, str(dest), big.name, str(size))
        same = subprocess.run(["cmp", str(big), str(dest / "input_files" / big.name)]).returncode == 0
        print(f"download stopped at ~50 % then rerun: the rerun moved {rerun['bytes'] / size:.0%} of the bytes "
              f"({rerun['resumed'] / size:.0%} resumed); byte-identical: {same} (target <= 55 %)")  # fmt: skip
        killed_dest = tmp / "killed"
        killed, _ = run_child("download-kill", str(store), job_id, str(killed_dest), big.name, str(size))
        same = subprocess.run(["cmp", str(big), str(killed_dest / "input_files" / big.name)]).returncode == 0
        print(f"connection killed at ~50 %: completed in the same call in {killed['seconds']:.1f} s by resuming; "
              f"byte-identical: {same}")  # fmt: skip
    finally:
        for job_id in made:
            try:
                run_child("delete", str(store), job_id)
            except SystemExit:
                print(f"could not delete {job_id}", file=sys.stderr)
        subprocess.run(["ssh", *ssh_opts[:-2], "-p", port, f"{user}@{host}", "rm", "-rf", scratch], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
