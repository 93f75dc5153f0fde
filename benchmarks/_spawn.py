"""Run a command as a new process from a SMALL launcher and read its time and peak RSS: a child forked
from a benchmark's own (large) process would count the benchmark's pages in its peak RSS, since Linux
carries the high-water mark across ``exec``."""

from __future__ import annotations

import subprocess
import sys

#: the launcher: forks, execs the command, says its time and peak RSS (KiB) on stderr
LAUNCH = """import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"@@RUN {time.perf_counter() - t0} {usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def timed(cmd: list[str], env: dict[str, str], cwd: str | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, stdout) of ``cmd`` run as a new process."""
    seconds, rss, out, _err = timed_full(cmd, env, cwd)
    return seconds, rss, out


def timed_full(cmd: list[str], env: dict[str, str], cwd: str | None = None) -> tuple[float, float, str, str]:
    """(seconds, peak RSS in MiB, stdout, stderr) of ``cmd`` run as a new process; a failure ends the
    benchmark with the command's last words."""
    out = subprocess.run([sys.executable, "-S", "-c", LAUNCH, *cmd], env=env, cwd=cwd, capture_output=True,
                         text=True)  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)[:80]}... exit {out.returncode}: {out.stderr[-500:]}")
    lines = out.stderr.splitlines()
    seconds, rss_kib = next(x for x in lines if x.startswith("@@RUN ")).split()[1:]
    err = "\n".join(x for x in lines if not x.startswith("@@RUN "))
    return float(seconds), int(rss_kib) / 1024, out.stdout, err
