"""A fake Slurm for fast tests of code built on namdrunner: real jobs, no daemons.

:class:`FakeSlurm` puts ``sbatch``, ``squeue``, ``sacct`` and ``scancel`` shims (``fake_slurm.py``)
on the ``PATH`` of a :class:`~namdrunner_core.transport.local.LocalTransport` session whose profile
keeps its project and scratch roots in a temporary directory. The whole lifecycle runs through the
same code as on a cluster (the same remote scripts, the same parsers): ``Job.create``, ``submit``,
``sync_jobs``, ``download``, workflows chained with ``afterok``, sweeps as job arrays, ``cancel``,
``delete``. Batch scripts really run (with bash, in the background); NAMD itself is whatever
executable you pass as ``namd`` (namdrunner ships none)::

    with FakeSlurm(tmp_path, namd=Path("tests/cluster/namd3_standin.py")) as fake:
        session = fake.session()
        job = Job.create(session, store, ...).submit()

namdrunner's own test suite runs one lifecycle contract against this fake and against its real
loopback Slurm cluster, so the fake cannot drift from what a real Slurm answers.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shlex
import signal
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import tomli_w

from namdrunner_core.cluster import Session
from namdrunner_core.files import write_text_atomic
from namdrunner_core.paths import config_dir
from namdrunner_core.profile import ClusterProfile, Partition, Qos
from namdrunner_core.serde import to_data
from namdrunner_core.transport.console import CommandLog
from namdrunner_core.transport.local import LocalTransport
from namdrunner_core.transport.ratelimit import RateLimiter

SHIM = Path(__file__).with_name("fake_slurm.py")
COMMANDS = ("sbatch", "squeue", "sacct", "scancel")


class FakeSlurm:
    """A fake Slurm rooted at ``root`` (a temporary directory): shims, job state, job roots."""

    def __init__(self, root: Path, *, namd: Path | None = None, steps_per_second: float = 40_000) -> None:
        self.root = Path(root)
        self.bin = self.root / "bin"
        self.state = self.root / "slurm-state"
        self.namd = namd
        self.steps_per_second = steps_per_second
        self.bin.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(parents=True, exist_ok=True)
        for command in COMMANDS:
            shim = self.bin / command
            shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(SHIM))} {command} "$@"\n')
            shim.chmod(0o755)
        if namd is not None:
            target = self.bin / "namd3"
            target.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(namd))} "$@"\n')
            target.chmod(0o755)

    def profile(self, name: str = "fake") -> ClusterProfile:
        """A profile for this fake: one partition, one QOS, roots under :attr:`root`, no modules."""
        return ClusterProfile(
            name=name,
            description="namdrunner's fake Slurm (namdrunner_core.testing)",
            host="localhost",
            jobs_root=str(self.root / "projects" / "{user}" / "namdrunner_jobs"),
            scratch_root=str(self.root / "scratch" / "{user}" / "namdrunner_jobs"),
            modules=[],
            cpu_launcher="namd3 +p$SLURM_NTASKS",
            source_profile=False,
            partitions=[
                Partition(
                    name="fake",
                    cores_per_node=8,
                    max_nodes=1,
                    memory_per_core_gb=2.0,
                    default=True,
                    default_qos="normal",
                )
            ],
            qos=[Qos(name="normal", max_walltime_hours=24, partitions=["fake"], default=True)],
        )

    def install_profile(self, name: str = "fake") -> Path:
        """Write :meth:`profile` as the user's profile ``name`` (``$NAMDRUNNER_CONFIG_DIR/profiles``), so
        code that loads profiles by name - the command line - finds it. Returns the file."""

        def without_none(value: Any) -> Any:  # TOML has no null: an absent key is the default
            if isinstance(value, dict):
                return {k: without_none(v) for k, v in value.items() if v is not None}
            if isinstance(value, list):
                return [without_none(v) for v in value]
            return value

        path = config_dir() / "profiles" / f"{name}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, tomli_w.dumps(without_none(to_data(self.profile(name)))))
        return path

    def environment(self) -> dict[str, str]:
        """The environment the session's commands (and so the jobs) run in."""
        env = dict(os.environ)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        env["NR_FAKE_SLURM_STATE"] = str(self.state)
        env["NAMD_STANDIN_STEPS_PER_SECOND"] = str(self.steps_per_second)
        return env

    def session(self, profile: ClusterProfile | None = None) -> Session:
        """A session on this fake (Local transport: commands run here, with the shims first on PATH)."""
        transport = LocalTransport(
            command_log=CommandLog(), rate_limiter=RateLimiter(rate=1000, burst=1000), env=self.environment()
        )
        return Session(profile or self.profile(), transport, getpass.getuser())

    def __enter__(self) -> FakeSlurm:
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop every job still running (their process groups)."""
        path = self.state / "jobs.json"
        if not path.exists():
            return
        for job in json.loads(path.read_text())["jobs"].values():
            if job.get("state") == "RUNNING" and job.get("pid"):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(job["pid"], signal.SIGTERM)


__all__ = ["FakeSlurm"]
