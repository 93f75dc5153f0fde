"""Transfers over SSH on the loopback cluster, beside OpenSSH's scp measured in the same run.

Prints: 256 MiB put/get (MiB/s and ratio to scp), 2,000 files of 4 KiB up and down (seconds and
ratio to `scp -r`), the payload of re-uploading an unchanged tree, and how many SSH authentications
one session made. Targets (issue 3): >= 0.8x scp for the big file, >= 1.0x `scp -r` for the small
files, 0 payload bytes for an unchanged tree, exactly 1 authentication.

    sudo tests/cluster/cluster.sh up && .venv/bin/python -m benchmarks.transfers [--size-mib 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from namdrunner_core.transport.ratelimit import RateLimiter
from namdrunner_core.transport.ssh import SSHTarget, SSHTransport
from namdrunner_core.transport.transfer import get_file, get_tree, put_file, put_tree
from tests.conftest import cluster_vars


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """The median of ``repeat`` runs, the page cache flushed before each (the cluster's disk is this
    machine's: what one run wrote must not be written back during the next)."""
    times = []
    for _ in range(repeat):
        os.sync()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    env = cluster_vars()
    host, port, user, key = env["NR_TEST_HOST"], env["NR_TEST_PORT"], env["NR_TEST_USER"], env["NR_TEST_KEY"]
    ssh_opts = [
        "-q",
        "-i",
        key,
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
    ]
    remote_dir = f"{env['NR_TEST_SCRATCH']}/bench-{uuid.uuid4().hex[:6]}"
    tmp = Path(tempfile.mkdtemp(prefix="nrbench-"))
    target = SSHTarget(
        host=host, port=int(port), user=user, identity_files=(key,), use_agent=False, host_key_policy="ignore"
    )
    t = SSHTransport(target, rate_limiter=RateLimiter(rate=1000, burst=1000))
    try:
        t.run(["mkdir", "-p", remote_dir])
        big = tmp / "big.bin"
        with big.open("wb") as fh:
            for _ in range(args.size_mib):
                fh.write(os.urandom(1024 * 1024))
        size_mib = big.stat().st_size / 2**20

        def scp(*a: str) -> None:
            subprocess.run(["scp", *ssh_opts, "-P", port, *a], check=True)

        scp_put = median_time(lambda: scp(str(big), f"{user}@{host}:{remote_dir}/scp.bin"), args.repeat)
        our_put = median_time(lambda: put_file(t, big, f"{remote_dir}/ours.bin"), args.repeat)
        scp_get = median_time(
            lambda: scp(f"{user}@{host}:{remote_dir}/scp.bin", str(tmp / "scp_back.bin")), args.repeat
        )

        def our_get() -> None:
            (tmp / "back.bin").unlink(missing_ok=True)
            get_file(t, f"{remote_dir}/ours.bin", tmp / "back.bin")

        our_get_s = median_time(our_get, args.repeat)
        print(
            f"{size_mib:.0f} MiB put: scp {size_mib / scp_put:7.1f} MiB/s | namdrunner {size_mib / our_put:7.1f} "
            f"MiB/s | ratio {scp_put / our_put:.2f}x (target >= 0.80x)"
        )
        print(
            f"{size_mib:.0f} MiB get: scp {size_mib / scp_get:7.1f} MiB/s | namdrunner {size_mib / our_get_s:7.1f} "
            f"MiB/s | ratio {scp_get / our_get_s:.2f}x (target >= 0.80x)"
        )

        tree = tmp / "tree"
        for i in range(args.files):
            d = tree / f"d{i % 20}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i}.dat").write_bytes(os.urandom(4096))

        def scp_tree_up() -> None:
            t.run(["rm", "-rf", f"{remote_dir}/scp_tree"])
            scp("-r", str(tree), f"{user}@{host}:{remote_dir}/scp_tree")

        def our_tree_up() -> None:
            t.run(["rm", "-rf", f"{remote_dir}/our_tree"])
            put_tree(t, tree, f"{remote_dir}/our_tree")

        def scp_tree_down() -> None:
            shutil.rmtree(tmp / "scp_down", ignore_errors=True)
            scp("-r", f"{user}@{host}:{remote_dir}/scp_tree", str(tmp / "scp_down"))

        def our_tree_down() -> None:
            shutil.rmtree(tmp / "our_down", ignore_errors=True)
            get_tree(t, f"{remote_dir}/our_tree", tmp / "our_down")

        su, ou = median_time(scp_tree_up, args.repeat), median_time(our_tree_up, args.repeat)
        sd, od = median_time(scp_tree_down, args.repeat), median_time(our_tree_down, args.repeat)
        print(
            f"{args.files} x 4 KiB up:   scp -r {su:6.2f} s | namdrunner {ou:6.2f} s | ratio {su / ou:.2f}x "
            "(target >= 1.0x)"
        )
        print(
            f"{args.files} x 4 KiB down: scp -r {sd:6.2f} s | namdrunner {od:6.2f} s | ratio {sd / od:.2f}x "
            "(target >= 1.0x)"
        )
        again = put_tree(t, tree, f"{remote_dir}/our_tree")
        print(
            f"re-upload of the unchanged tree: {again.payload_bytes} payload bytes, "
            f"{len(again.files_unchanged)} files skipped (target 0 bytes)"
        )
        print(
            f"SSH authentications in this session: {t.authentications} "
            f"(over {len(t.command_log)} remote operations; target 1)"
        )
    finally:
        t.run(["rm", "-rf", remote_dir], check=False)
        t.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
