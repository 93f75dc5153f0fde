"""An empty or partial id never selects a job to change or destroy (issue: exact ids).

Against the real loopback cluster: a RUNNING job (so a wrong `cancel` or `delete` would really cost
something) alone in the store, then beside a second job. Every id-taking command is run with ids a
script produces by accident; the store rows, the remote job directories and the Slurm queue must be
exactly as before, the exit code 1 and the message one line.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest
from click.testing import CliRunner, Result

from namdrunner_cli.main import cli
from tests.conftest import DATA, ClusterEnv

pytestmark = pytest.mark.cluster

FILES = [f"--file={DATA / 'tiny' / n}" for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]
RES = ["--cores", "1", "--memory", "1", "--walltime", "00:10:00"]
BAD_IDS = ["", " ", "*", "..", "a/../b", "job\n"]
CHANGING = [
    ["job", "submit"],
    ["job", "restart"],
    ["job", "cancel"],
    ["job", "delete", "--yes"],
    ["job", "delete"],
    ["workflow", "submit"],
    ["workflow", "cancel"],
]
READING = [["job", "show"], ["job", "logs"], ["job", "outputs"], ["job", "download"], ["workflow", "show"]]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _snapshot(db: str, cluster: ClusterEnv) -> tuple[object, ...]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT * FROM jobs ORDER BY job_id").fetchall()
    dirs = []  # every job directory on project and scratch storage (a running job's own files grow)
    for root in (cluster.projects, cluster.scratch):
        for base, subdirs, _files in os.walk(root):
            if os.path.basename(base) == "namdrunner_jobs":
                dirs.extend(os.path.join(base, n) for n in subdirs)
                subdirs.clear()
    queue = subprocess.run(
        ["squeue", "-h", "-u", cluster.user, "-o", "%i %T"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SLURM_CONF": cluster.slurm_conf},
    ).stdout
    # a running job's own files grow (log, dcd); their names and the queue's members must not change
    return rows_without_volatile(rows), sorted(dirs), sorted(line.split()[0] for line in queue.splitlines())


def rows_without_volatile(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [r[:2] + r[4:5] for r in rows]  # job_id, name, status


def _check_refused(args: list[str], bad: str, before: tuple[object, ...], db: str, cluster: ClusterEnv) -> None:
    result = run(*args, bad)
    shown = f"{args} {bad!r}: exit {result.exit_code}: {result.output!r}"
    assert result.exit_code == 1, shown
    assert len(result.stderr.strip().splitlines()) == 1, shown
    assert result.stderr.startswith("error: "), shown
    assert "Traceback" not in result.output
    assert _snapshot(db, cluster) == before, shown


def _create(name: str, *extra: str) -> str:
    result = run(
        "--json", "job", "create", "--name", name, "--template", "vacuum_optimization_v1", *FILES, *RES, *extra
    )
    assert result.exit_code == 0, result.output
    job_id = json.loads(result.stdout)["id"]
    assert isinstance(job_id, str)
    return job_id


def test_bad_and_partial_ids_select_nothing(env: dict[str, str], cluster: ClusterEnv) -> None:
    db = env["NAMDRUNNER_DB"]
    only = _create("only", "--set", "steps=12000000", "--set", "execution_command=run", "--submit")
    try:
        for store_size in ("one job", "two jobs"):
            before = _snapshot(db, cluster)
            assert len(before[0]) == (1 if store_size == "one job" else 2)  # type: ignore[arg-type]
            for args in CHANGING + READING:
                for bad in BAD_IDS:
                    _check_refused(args, bad, before, db, cluster)
            for args in [a for a in CHANGING if a[0] == "job"]:  # 3 characters never select a job to change
                _check_refused(args, only[:3], before, db, cluster)
            shown = run("--json", "job", "show", only[:3])  # reading takes the unique prefix and says so
            assert shown.exit_code == 0, shown.output
            assert json.loads(shown.stdout)["id"] == only
            assert shown.stderr.strip() == f"matched {only} from {only[:3]!r}"
            assert _snapshot(db, cluster) == before
            if store_size == "one job":
                _create("other")
    finally:
        for job_id in json.loads(run("--json", "job", "list").stdout):
            assert run("job", "delete", job_id["id"], "--yes").exit_code == 0
