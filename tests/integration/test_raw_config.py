"""Bring your own config, end to end on the loopback cluster, through the CLI: a raw .namd with a
`source`d include, tabs and trailing `;` is imported as a template, a job is created from it with the
files it names (the include among them) and runs to Completed; preflight warnings are recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from namdrunner_cli.main import cli
from tests.conftest import DATA

pytestmark = pytest.mark.cluster

MAIN = """\
# my own equilibration, as it ran on my workstation
source ../shared/common.inc
structure\t\t../system/tiny.psf
coordinates ../system/tiny.pdb
parameters\t../toppar/par_tiny.prm;
temperature 300
outputName outputs/raw_run
if {0} {
    puts "never"
}
run 1200;
"""
COMMON = """\
exclude scaled1-4
cutoff\t12.0;
switching on
switchdist 10.0
pairlistdist 14.0
stepspercycle 20
timestep 1.0
outputEnergies 100
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_json(*args: str) -> object:
    result = run("--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_raw_config_with_a_sourced_include_runs_to_completed(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "my_equil.namd").write_text(MAIN)
    include = tmp_path / "common.inc"
    include.write_text(COMMON)
    imported = run_json("template", "import", str(tmp_path / "my_equil.namd"))
    assert isinstance(imported, dict)
    assert imported["variables"] == ["source", "structure", "coordinates", "parameters", "temperature", "steps"]
    preview = run("template", "preview", "my_equil")
    assert preview.exit_code == 0
    assert preview.stdout == MAIN  # nothing of the original lost

    files = [f"--file={DATA / 'tiny' / n}" for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]
    files.append(f"--file={include}")
    res = ["--cores", "1", "--memory", "1", "--walltime", "00:10:00"]
    # without the include the job is refused: the file the config names is not among the inputs
    missing = run("job", "create", "--name", "raw", "--template", "my_equil", *files[:-1], *res)
    assert missing.exit_code == 1
    assert "source" in missing.stderr
    created = run("--json", "job", "create", "--name", "raw", "--template", "my_equil", *files, *res, "--submit")
    assert created.exit_code == 0, created.output
    assert "warning: not checked: line 8: `if ...` block" in created.stderr  # told, never blocked
    job = json.loads(created.stdout)
    assert job["preflight_notes"] == ["line 8: `if ...` block: Tcl control flow; what it sets is not checked"]
    assert job["progress"] is None or job["progress"]["total_steps"] in (None, 1200)
    finished = run_json("watch", "--max-interval", "2", "--timeout", "120")
    assert isinstance(finished, list)
    assert [(j["id"], j["status"]) for j in finished] == [(job["id"], "Completed")]
    shown = run_json("job", "show", job["id"])
    assert isinstance(shown, dict)
    assert shown["progress"]["outcome"] == "completed"
    assert shown["progress"]["step"] == 1200
    log = run("job", "logs", job["id"], "--namd").stdout
    assert "Info: Configuration file is config.namd" in log or "config.namd" in log
    assert "End of program" in log
    assert run("job", "delete", job["id"], "--yes").exit_code == 0


def test_a_config_namd_would_refuse_needs_no_preflight_and_says_so(env: dict[str, str], tmp_path: Path) -> None:
    bad = MAIN.replace("run 1200;", "run 1210;")  # not a multiple of stepspercycle 20
    (tmp_path / "odd.namd").write_text(bad)
    (tmp_path / "common.inc").write_text(COMMON)
    assert run("template", "import", str(tmp_path / "odd.namd")).exit_code == 0
    files = [f"--file={DATA / 'tiny' / n}" for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]
    files.append(f"--file={tmp_path / 'common.inc'}")
    res = ["--cores", "1", "--memory", "1", "--walltime", "00:10:00"]
    refused = run("job", "create", "--name", "odd", "--template", "odd", *files, *res)
    assert refused.exit_code == 1
    assert "run 1210: the number of steps must be a multiple of stepspercycle 20 (nearest: 1200 or 1220)" in (
        refused.stderr
    )
    assert "--no-preflight" in refused.stderr
    forced = run("--json", "job", "create", "--name", "odd", "--template", "odd", *files, *res, "--no-preflight")
    assert forced.exit_code == 0, forced.output
    notes = json.loads(forced.stdout)["preflight_notes"]
    assert notes[0].startswith("preflight skipped (--no-preflight); would refuse: run 1210")
    assert run("job", "delete", json.loads(forced.stdout)["id"], "--yes").exit_code == 0
