"""Run ``namdrunner ARGS...`` in THIS process, as the console script would, and print on stderr (one
JSON line, prefixed ``@@PHASES``) how long its parts took: the imports, the SSH login (``Cluster.connect``),
the file transfers (``put_files``/``get_tree``) and the rest. benchmarks/cli_transfers.py runs it as a
new process and times it from outside too, so the parts add up to what the user waits for.

    .venv/bin/python -m benchmarks._cli_phases job download JOB_ID --to /tmp/x
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import json  # noqa: E402 - the clock starts before any import
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import namdrunner_cli.commands.job  # noqa: E402, F401 - what a job command imports
import namdrunner_core.cluster as cluster_mod  # noqa: E402
import namdrunner_core.jobs.job as job_mod  # noqa: E402
import namdrunner_core.store.jobstore  # noqa: E402
import namdrunner_core.transport.ssh  # noqa: E402, F401
from namdrunner_cli.main import cli  # noqa: E402

PHASES: dict[str, float] = {"imports": time.perf_counter() - T0, "login": 0.0, "transfer": 0.0}


def _timed(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            PHASES[phase] += time.perf_counter() - t

    return wrapper


cluster_mod.Cluster.connect = _timed("login", cluster_mod.Cluster.connect)  # type: ignore[method-assign]
job_mod.put_files = _timed("transfer", job_mod.put_files)
job_mod.get_tree = _timed("transfer", job_mod.get_tree)


def main() -> None:
    code = 0
    try:
        cli(sys.argv[1:], prog_name="namdrunner", standalone_mode=False)
    except SystemExit as exc:
        code = int(exc.code or 0)
    PHASES["total"] = time.perf_counter() - T0
    sys.stderr.write("@@PHASES " + json.dumps(PHASES) + "\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
