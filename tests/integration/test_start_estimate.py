"""Slurm's start estimate for a job not yet submitted (`sbatch --test-only`) against the real loopback
Slurm: at once on an idle node, later while the node is taken (by about the running job's time
limit), Slurm's own refusal for a job no node can hold; nothing is ever submitted by asking. It takes
the whole node for a moment, so it runs in the lane that runs alone (scripts/test.sh)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from namdrunner_cli.main import cli
from namdrunner_core import Session
from namdrunner_core.start_estimate import estimate_start
from tests.conftest import DATA, ClusterEnv

pytestmark = pytest.mark.cluster

CREATE = ["job", "create", "--name", "asked", "--template", "vacuum_optimization_v1", "--set", "steps=240",
          *(f"--file={DATA / 'tiny' / n}" for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")),
          "--cores", "2", "--memory", "1", "--walltime", "00:10:00", "--estimate-start"]  # fmt: skip
SCRIPT = "#!/bin/bash\n#SBATCH --partition=amilan\n#SBATCH --ntasks={n}\n#SBATCH --time=00:10:00\nsrun hostname\n"


def _squeue_ids(session: Session) -> set[str]:
    out = session.slurm(["squeue", "--noheader", "--format=%i", "--user", session.user]).stdout
    return set(out.split())


def test_the_estimate_follows_the_queue_and_submits_nothing(
    session: Session, cluster: ClusterEnv, env: dict[str, str]
) -> None:
    before = _squeue_ids(session)
    idle = estimate_start(session, SCRIPT.format(n=1))
    assert idle.refused == ""
    assert idle.partition == "amilan"
    assert idle.wait_s is not None
    assert idle.wait_s < 60
    assert _squeue_ids(session) == before  # asking submitted nothing

    argv = ["sbatch", "--parsable", "--exclusive", "--partition=amilan", "--time=00:20:00", "--output=/dev/null",
            "--job-name=nr-blocker", "--wrap=sleep 1200"]  # fmt: skip
    blocker = session.slurm(argv).stdout.strip()
    try:
        deadline = time.monotonic() + 60
        while session.slurm(["squeue", "--noheader", "--format=%T", "--job", blocker]).stdout.strip() != "RUNNING":
            assert time.monotonic() < deadline, "the blocking job never started"
            time.sleep(1)
        busy = estimate_start(session, SCRIPT.format(n=1))
        assert busy.refused == ""
        assert busy.wait_s is not None
        assert 15 * 60 < busy.wait_s <= 21 * 60, busy  # when the blocker's 20 min limit ends
        # the CLI: `job create ... --estimate-start` asks the same, says the cost, creates nothing
        said = CliRunner().invoke(cli, CREATE, catch_exceptions=False)
        assert said.exit_code == 0, said.output
        assert "Cost:  at most 0.3 SU (2 SU an hour by the profile's billing" in said.stdout
        assert re.search(r"Queue: Slurm expects it to start in about (1[5-9]|2[01]) min, at ", said.stdout), said.stdout
        assert "cluster time, on nr-node1 (amilan)." in said.stdout
        answer = json.loads(CliRunner().invoke(cli, ["--json", *CREATE], catch_exceptions=False).stdout)
        assert 15 * 60 < answer["estimate"]["wait_s"] <= 21 * 60
        assert not Path(env["NAMDRUNNER_DB"]).exists()  # no job stored, not even a database
    finally:
        session.slurm(["scancel", blocker])

    refused = estimate_start(session, SCRIPT.format(n=4096))
    assert refused.start is None
    assert "node configuration is not available" in refused.refused
    assert _squeue_ids(session) - {blocker} == before
