"""What a user times: ``namdrunner job create ... --estimate-start`` (a new process: interpreter start,
imports, planning, the key login, Slurm's ``sbatch --test-only``), beside ``--dry-run`` (the same without
the cluster), ``python -c pass`` and an OpenSSH login running ``sbatch --test-only`` itself, in the same
run; medians, each with its peak RSS (``os.wait4`` in a small launcher process).

    bash tests/cluster/cluster.sh up && .venv/bin/python -m benchmarks.cli_estimate [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks._spawn import timed
from benchmarks.cli_transfers import NAMDRUNNER
from tests.conftest import DATA, cluster_vars

FILES = [f"--file={DATA / 'tiny' / n}" for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]
CREATE = ["job", "create", "--name", "bench", "--template", "vacuum_optimization_v1", "--set", "steps=240",
          *FILES, "--cores", "1", "--memory", "1", "--walltime", "00:10:00"]  # fmt: skip
SBATCH = "#!/bin/bash\n#SBATCH --partition=amilan\n#SBATCH --ntasks=1\n#SBATCH --time=00:10:00\nhostname\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cv = cluster_vars()
    host, port, user, key = cv["NR_TEST_HOST"], cv["NR_TEST_PORT"], cv["NR_TEST_USER"], cv["NR_TEST_KEY"]
    tmp = Path(tempfile.mkdtemp(prefix="nrest-", dir="/var/tmp"))
    script = tmp / "job.sbatch"
    script.write_text(SBATCH)
    env = {**os.environ, "NAMDRUNNER_DB": str(tmp / "jobs.db"), "NAMDRUNNER_PROFILE": "loopback",
           "NAMDRUNNER_CONFIG_DIR": str(tmp / "cfg"), "COLUMNS": "120"}  # fmt: skip
    ssh = ["ssh", "-q", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "BatchMode=yes", "-p", port, f"{user}@{host}",
           "bash -lc 'module load slurm/nrcluster && sbatch --test-only'"]  # fmt: skip
    ssh = ["sh", "-c", f"{shlex.join(ssh)} < {shlex.quote(str(script))}"]  # the script on stdin, as namdrunner sends it
    rows = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "ssh login shell + sbatch --test-only": ssh,
        "job create --dry-run": [*NAMDRUNNER, *CREATE, "--dry-run"],
        "job create --estimate-start": [*NAMDRUNNER, *CREATE, "--estimate-start"],
    }
    print(f"{'':34s} {'median':>9s} {'worst':>9s} {'peak RSS':>9s}")
    said = ""
    for name, cmd in rows.items():
        runs = [timed(cmd, env) for _ in range(args.repeat)]
        times = [r[0] for r in runs]
        said = runs[-1][2] if "estimate" in name else said
        print(f"{name:34s} {statistics.median(times) * 1000:7.0f} ms {max(times) * 1000:7.0f} ms "
              f"{max(r[1] for r in runs):6.1f} MiB")  # fmt: skip
    assert not (tmp / "jobs.db").exists(), "the estimate created a store"
    print("\nwhat it said:\n" + said)


if __name__ == "__main__":
    main()
