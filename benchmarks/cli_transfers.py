"""What users time: ``namdrunner job create`` and ``namdrunner job download`` of a big file, run as the
command a person types (a new process: interpreter start, imports, login, the work), beside OpenSSH
``scp`` (also a new process with its own login) in the same run, at 256 MiB and 1 GiB.

Where the time beyond scp goes is measured inside the same process (benchmarks/_cli_phases.py runs the
CLI exactly as the console script does, timing its imports, its login (``Cluster.connect``) and its
file transfers (``put_files``/``get_tree``)); ``rest`` is what is left of the time measured from outside
(the interpreter's start, opening the store, preflight, the job's small files, writing the row).
Peak RSS of each process is printed beside its time (``os.wait4`` in a small launcher). The page cache is flushed
(``sync``) before every timed transfer and who goes first alternates.

    bash tests/cluster/cluster.sh up && .venv/bin/python -m benchmarks.cli_transfers [--sizes 256,1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from benchmarks._spawn import timed_full as spawned
from benchmarks.big_data import make_file
from tests.conftest import DATA, cluster_vars

TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]
MiB = 1 << 20
ROOT = Path(__file__).resolve().parent.parent
NAMDRUNNER = [sys.executable, "-m", "namdrunner_cli"]
PHASED = [sys.executable, "-m", "benchmarks._cli_phases"]


def timed_rss(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    seconds, rss, out, _err = timed_full(cmd, env)
    return seconds, rss, out


def phases_of(err: str) -> dict[str, float]:
    """The ``@@PHASES`` line benchmarks/_cli_phases.py printed."""
    line = next(x for x in err.splitlines() if x.startswith("@@PHASES "))
    return {k: float(v) for k, v in json.loads(line[len("@@PHASES ") :]).items()}


def timed_full(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str, str]:
    """Run ``cmd`` as a new process (from a small launcher, benchmarks/_spawn.py), the page cache flushed
    first: (seconds, its peak RSS in MiB, its stdout, its stderr)."""
    os.sync()
    return spawned(cmd, env, str(ROOT))


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="256,1024", help="MiB, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cv = cluster_vars()
    host, port, user, key = cv["NR_TEST_HOST"], cv["NR_TEST_PORT"], cv["NR_TEST_USER"], cv["NR_TEST_KEY"]
    ssh_opts = ["-q", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes"]  # fmt: skip
    scratch = f"{cv['NR_TEST_SCRATCH']}/bench-{uuid.uuid4().hex[:6]}"
    tmp = Path(tempfile.mkdtemp(prefix="nrcli-", dir="/var/tmp"))
    env = {**os.environ, "NAMDRUNNER_DB": str(tmp / "jobs.db"), "NAMDRUNNER_PROFILE": "loopback"}
    made: list[str] = []
    subprocess.run(["ssh", *ssh_opts, "-p", port, f"{user}@{host}", "mkdir", "-p", scratch], check=True)
    try:
        base = median([timed_rss([sys.executable, "-c", "pass"], env)[0] for _ in range(5)])
        start = median([timed_rss([*NAMDRUNNER, "--help"], env)[0] for _ in range(5)])
        ssh_login = median([timed_rss(["ssh", *ssh_opts, "-p", port, f"{user}@{host}", "true"], env)[0]
                            for _ in range(3)])  # fmt: skip
        print(f"python -c pass {base * 1000:5.0f} ms | namdrunner --help {start * 1000:5.0f} ms | "
              f"OpenSSH ssh login + true {ssh_login * 1000:5.0f} ms")  # fmt: skip
        for size_mib in [int(s) for s in args.sizes.split(",")]:
            big = make_file(tmp / f"big{size_mib}.dat", size_mib)
            runs: dict[str, list[dict[str, float]]] = {"up": [], "down": []}
            scp_times: dict[str, list[float]] = {"up": [], "down": []}
            for i in range(args.repeat):
                dest = tmp / f"dl{i}"
                seen: dict[str, str] = {}

                def scp_up() -> None:
                    scp_times["up"].append(timed_rss(["scp", *ssh_opts, "-P", port, str(big),
                                                      f"{user}@{host}:{scratch}/scp.dat"], env)[0])  # fmt: skip

                def cli_up() -> None:
                    files = [f"--file={p}" for p in (*TINY, big)]
                    s, r, out, err = timed_full([*PHASED, "--json", "job", "create", "--name", "bench cli",
                                                 "--template", "vacuum_optimization_v1", *files, "--cores", "1",
                                                 "--memory", "0.5", "--walltime", "00:10:00"], env)  # fmt: skip
                    runs["up"].append({**phases_of(err), "outside": s, "rss": r})
                    seen["job"] = json.loads(out)["id"]
                    made.append(seen["job"])

                def scp_down() -> None:
                    scp_times["down"].append(timed_rss(["scp", *ssh_opts, "-P", port,
                                                        f"{user}@{host}:{scratch}/scp.dat",
                                                        str(tmp / "scp_back.dat")], env)[0])  # fmt: skip

                def cli_down() -> None:
                    s, r, _, err = timed_full([*PHASED, "job", "download", seen["job"], "--to", str(dest),
                                               "--include", f"input_files/{big.name}"], env)  # fmt: skip
                    runs["down"].append({**phases_of(err), "outside": s, "rss": r})

                order = [scp_up, cli_up, scp_down, cli_down] if i % 2 == 0 else [cli_up, scp_up, cli_down, scp_down]
                for step in order:
                    step()
                shutil.rmtree(dest, ignore_errors=True)
                (tmp / "scp_back.dat").unlink(missing_ok=True)
            for key, what in (("up", "job create"), ("down", "job download")):
                rs = runs[key]
                total, sc = median([r["outside"] for r in rs]), median(scp_times[key])
                imp, login, xfer = (median([r[k] for r in rs]) for k in ("imports", "login", "transfer"))
                rest = total - imp - login - xfer
                peak = max(r["rss"] for r in rs)
                print(f"{size_mib:5d} MiB {what:12s}: CLI {total:6.2f} s ({size_mib / total:6.1f} MiB/s) = "
                      f"{sc / total:.2f}x scp | its transfer alone {xfer:6.2f} s = {sc / xfer:.2f}x scp | "
                      f"scp {sc:6.2f} s | peak RSS {peak:5.1f} MiB")  # fmt: skip
                print(f"      where the CLI's time goes: imports {imp:5.2f} s + login {login:5.2f} s + transfer "
                      f"{xfer:6.2f} s + rest {rest:5.2f} s (medians of {args.repeat})")  # fmt: skip
            big.unlink()
    finally:
        for job_id in made:
            subprocess.run([*NAMDRUNNER, "job", "delete", job_id, "--yes", "--force"], env=env, cwd=ROOT,
                           capture_output=True, check=False)  # fmt: skip
        subprocess.run(["ssh", *ssh_opts, "-p", port, f"{user}@{host}", "rm", "-rf", scratch], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
