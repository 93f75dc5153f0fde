"""The CLI tier: every command's success path and its ``--json`` shape, through click's CliRunner, on
the fake Slurm of :mod:`namdrunner_core.testing` (handed to the command line through its test seam,
:class:`namdrunner_cli.context.Connector`). Seconds, not minutes: the loopback cluster keeps the
integration tests (tests/integration/test_cli.py runs the same commands against a real Slurm)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from namdrunner_cli.context import Connector
from namdrunner_cli.main import cli
from namdrunner_core.profile import load_profile
from namdrunner_core.testing import FakeSlurm
from tests.conftest import ROOT

pytestmark = pytest.mark.posix

TINY = ROOT / "tests" / "data" / "tiny"
FILES = [f"--file={TINY / n}" for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]
RES = ["--cores", "1", "--memory", "0.5", "--walltime", "00:10:00"]
STEPS = ["--set", "steps=120", "--set", "dcd_freq=60"]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlurm]:
    monkeypatch.setenv("NAMDRUNNER_DB", str(tmp_path / "db.sqlite"))
    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("NAMDRUNNER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NAMDRUNNER_PROFILE", "fake")
    with FakeSlurm(tmp_path / "fake", namd=ROOT / "tests" / "cluster" / "namd3_standin.py") as f:
        f.install_profile("fake")
        yield f


def run(fake: FakeSlurm, *args: str, code: int = 0) -> Result:
    seam = Connector(lambda name: fake.session(load_profile(name)))
    result = CliRunner().invoke(cli, list(args), obj=seam, catch_exceptions=False)
    assert result.exit_code == code, (args, result.output)
    return result


def run_json(fake: FakeSlurm, *args: str) -> Any:
    return json.loads(run(fake, "--json", *args).stdout)


def settled(fake: FakeSlurm, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """Sync until the job is over and its results settled; its ``job show --json``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run(fake, "sync")
        shown: dict[str, Any] = run_json(fake, "job", "show", job_id)
        if shown["status"] in ("Completed", "Failed", "Cancelled") and shown["copy_back"]:
            return shown
        time.sleep(0.5)
    raise AssertionError(f"{job_id} did not settle: {shown}")


JOB_KEYS = {"id", "name", "status", "profile", "slurm_job_id", "slurm_state", "slurm_reason", "exit_code", "error",
            "template_id", "template_values", "resources", "project_dir", "scratch_dir", "created_at", "submitted_at",
            "completed_at", "input_files", "output_files", "progress", "parent_job_id", "workflow_id",
            "workflow_stage", "preflight_notes", "copy_back", "copy_back_error"}  # fmt: skip


def test_a_job_from_create_to_delete(fake: FakeSlurm, tmp_path: Path) -> None:
    dry = run_json(fake, "job", "create", "--name", "dry", "--template", "vacuum_optimization_v1", *FILES, *RES,
                   *STEPS, "--dry-run")  # fmt: skip
    assert set(dry) == {"job", "config", "sbatch"}
    assert set(dry["job"]) == JOB_KEYS
    created = run_json(fake, "job", "create", "--name", "tiny", "--template", "vacuum_optimization_v1", *FILES, *RES,
                       *STEPS, "--submit")  # fmt: skip
    assert set(created) == JOB_KEYS | {"scratch_purge_days"}
    assert created["status"] in ("Pending", "Running", "Completed")
    job_id = created["id"]
    listed = run_json(fake, "job", "list")
    assert [row["id"] for row in listed] == [job_id]
    shown = settled(fake, job_id)
    assert shown["status"] == "Completed"
    assert shown["copy_back"] == "verified"
    assert shown["progress"]["percent"] == 100.0
    assert "tiny" in run(fake, "job", "list").stdout  # the table too
    outputs = run_json(fake, "job", "outputs", job_id)
    assert set(outputs) == {"project", "scratch"}
    assert any(o["name"].endswith(".coor") for o in outputs["project"])
    logs = run_json(fake, "job", "logs", job_id, "--namd")
    assert logs["id"] == job_id
    assert "End of program" in logs["text"]
    slurm = run_json(fake, "job", "logs", job_id, "--slurm")
    assert set(slurm) >= {"id", "stdout", "stderr"}
    target = tmp_path / "results"
    got = run_json(fake, "job", "download", job_id, "--to", str(target))
    assert got["id"] == job_id
    assert got["files"]
    assert all((Path(got["to"]) / name).is_file() for name in got["files"])
    analysis = run_json(fake, "job", "analyze", job_id, "--series", "TOTAL")
    assert [v["name"] for v in analysis["series"]] == ["TOTAL"]
    assert analysis["rows"] >= 2
    assert "BOND" in run(fake, "job", "analyze", job_id).stdout  # the table of every series
    # the structure series from the run's DCD (the stand-in writes one frame every dcd_freq steps), plotted
    plots = tmp_path / "plots"
    judged = run_json(fake, "job", "analyze", job_id, "--select", "name CA", "--plot", str(plots))
    assert judged["structure"]["frames"] == 2
    assert judged["structure"]["atoms"] == len(judged["structure"]["rmsf"]) > 0
    assert {"RMSD", "RGYR"} <= {v["name"] for v in judged["series"]}
    assert {Path(p).name for p in judged["plots"]} >= {"RMSD.png", "RMSD.svg", "TOTAL.png", "RMSF.svg"}
    assert (plots / "TOTAL.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(plots.glob(".*part"))  # each plot written whole, nothing half-written left
    no_atom = run(fake, "job", "analyze", job_id, "--select", "name ZZZ", code=1).stderr
    assert "'name ZZZ' matches no atom of tiny.psf" in no_atom
    restarted = run_json(fake, "job", "restart", job_id, "--steps", "60")
    assert restarted["parent_job_id"] == job_id
    assert restarted["status"] == "Created"
    submitted = run_json(fake, "job", "submit", restarted["id"])
    assert submitted["slurm_job_id"]
    assert run_json(fake, "job", "cancel", restarted["id"])["status"] in ("Cancelled", "Completed")
    deleted = run_json(fake, "job", "delete", restarted["id"], "--yes", "--force")
    assert deleted == {"id": restarted["id"], "deleted": True, "jobs": None}
    # run again from the start: the same inputs copied on the cluster, more memory, run to the end
    again = run_json(fake, "job", "rerun", job_id, "--memory", "1", "--steps", "48", "--submit")
    assert again["parent_job_id"] == job_id
    assert again["resources"]["memory_gb"] == 1.0
    assert again["template_values"]["steps"] == 48  # its own steps otherwise
    assert {k: v for k, v in again["template_values"].items() if k != "steps"} == {
        k: v for k, v in shown["template_values"].items() if k != "steps"
    }
    refused = run(fake, "job", "rerun", job_id, "--steps", "7", code=1).stderr  # the template's bounds
    assert "steps" in refused
    assert "7 is below the minimum 12" in refused
    assert sorted(again["input_files"]) == sorted(shown["input_files"])
    for name in again["input_files"]:
        copied = Path(again["project_dir"]) / "input_files" / name
        assert copied.read_bytes() == (TINY / name).read_bytes()
    assert settled(fake, again["id"])["status"] == "Completed"
    run_json(fake, "job", "delete", again["id"], "--yes", "--force")
    assert [row["id"] for row in run_json(fake, "job", "list")] == [job_id]


def test_sync_watch_discover_usage_and_session(fake: FakeSlurm) -> None:
    created = run_json(fake, "job", "create", "--name", "w", "--template", "vacuum_optimization_v1", *FILES, *RES,
                       *STEPS, "--submit")  # fmt: skip
    watched = run_json(fake, "watch", "--timeout", "60")
    assert [j["id"] for j in watched] == [created["id"]]
    assert watched[0]["status"] == "Completed"
    run(fake, "job", "create", "--name", "w2", "--template", "vacuum_optimization_v1", *FILES, *RES, *STEPS, "--submit")
    shown = run(fake, "watch", "--timeout", "60").stdout  # piped: the last table, then the count on its own line
    assert shown.endswith("┘\n1 of 1 job finished\n"), shown[-120:]
    assert run(fake, "watch").stdout.endswith("\nNo job was queued or running: nothing to watch.\n")
    synced = run_json(fake, "sync")
    assert "fake" in synced
    assert set(synced["fake"]) >= {"changed", "warnings"}
    discovered = run_json(fake, "discover")
    assert set(discovered) >= {"added", "updated"}
    usage = run_json(fake, "usage")
    assert set(usage) >= {"profile", "jobs", "quota", "purge_warnings", "pending", "total_su"}
    session = json.loads(run(fake, "--json", "session", "status", code=4).stdout)  # 4: no session runs
    assert session["profile"] == "fake"
    assert session["running"] is False


def test_templates_profiles_and_checks(fake: FakeSlurm, tmp_path: Path) -> None:
    templates = run_json(fake, "template", "list")
    assert "vacuum_optimization_v1" in {t["id"] for t in templates}
    shown = run_json(fake, "template", "show", "vacuum_optimization_v1")
    assert shown["id"] == "vacuum_optimization_v1"
    assert shown["variables"]
    preview = run_json(fake, "template", "preview", "vacuum_optimization_v1", "--set", "steps=9600")
    assert preview["template_id"] == "vacuum_optimization_v1"
    assert preview["problems"] == []
    exported = tmp_path / "mine.toml"
    run(fake, "template", "export", "vacuum_optimization_v1", "-o", str(exported))
    imported = run_json(fake, "template", "import", str(exported), "--id", "mine_v1")
    assert imported["id"] == "mine_v1"
    assert imported["imported"] is True
    run(fake, "template", "delete", "mine_v1")
    copy = run_json(fake, "template", "duplicate", "vacuum_optimization_v1")
    assert (copy["id"], copy["duplicated_from"]) == ("vacuum_optimization_v1_copy", "vacuum_optimization_v1")
    assert run_json(fake, "template", "show", copy["id"])["variables"] == shown["variables"]
    profiles = run_json(fake, "cluster", "list")
    assert {"fake", "alpine"} <= {p["name"] for p in profiles}
    assert run_json(fake, "cluster", "show", "fake")["name"] == "fake"


def test_workflows_and_sweeps(fake: FakeSlurm, tmp_path: Path) -> None:
    wf_file = ROOT / "tests" / "data" / "workflows" / "two_stage.toml"
    if not wf_file.exists():
        wf_file = tmp_path / "two.toml"
        wf_file.write_text(
            'name = "two"\nfiles = ["tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb"]\n'
            '[resources]\ncores = 1\nmemory_gb = 0.5\nwalltime = "00:10:00"\n'
            '[[stages]]\nname = "min"\ntemplate = "vacuum_optimization_v1"\n'
            'values = { execution_command = "minimize", steps = 60, dcd_freq = 60 }\n'
            '[[stages]]\nname = "md"\ntemplate = "vacuum_optimization_v1"\nvalues = { steps = 60, dcd_freq = 60 }\n'
        )
        for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb"):
            (tmp_path / n).write_bytes((TINY / n).read_bytes())
    valid = run_json(fake, "workflow", "validate", str(wf_file))
    assert valid["valid"] is True
    assert len(valid["stages"]) == 2
    made = run_json(fake, "workflow", "create", "--file", str(wf_file), "--submit")
    assert made["kind"] == "workflow"
    assert [s["stage"] for s in made["stages"]] == ["min", "md"]
    wf_id = made["id"]
    deadline = time.monotonic() + 90
    while run_json(fake, "workflow", "show", wf_id)["status"] != "Completed" and time.monotonic() < deadline:
        run(fake, "sync")
        time.sleep(0.5)
    shown = run_json(fake, "workflow", "show", wf_id)
    assert shown["status"] == "Completed"
    assert all(s["copy_back"] == "verified" for s in shown["stages"])
    assert [g["id"] for g in run_json(fake, "workflow", "list")] == [wf_id]
    judged = run_json(fake, "workflow", "analyze", wf_id)
    assert [(s["stage"], s["analysis"] is not None) for s in judged["stages"]] == [("min", True), ("md", True)]
    assert judged["comparisons"] == {}  # one workflow: nothing to compare
    # the same from Python (a replica given twice is analyzed once)
    from namdrunner_core import JobStore, Workflow

    wf = Workflow.load(fake.session(load_profile("fake")), JobStore.default(), wf_id)
    again = wf.analysis(tmp_path / "wf-analysis", replicas=[wf])
    assert [(s.stage, s.analysis is not None) for s in again.stages] == [("min", True), ("md", True)]
    assert again.stages[1].analysis.get("TOTAL") is not None  # type: ignore[union-attr]
    exported = run(fake, "workflow", "export", wf_id).stdout
    assert "[[stages]]" in exported
    assert 'name = "md"' in exported
    files = run_json(fake, "workflow", "template", "list")
    assert any(f["id"] for f in files)
    sweep = run_json(fake, "sweep", "create", "--name", "sw", "--template", "vacuum_optimization_v1", *FILES, *RES,
                     "--set", "steps=60", "--set", "dcd_freq=60", "--grid", "temperature=290,300")  # fmt: skip
    assert sweep["kind"] == "sweep"
    assert len(sweep["stages"]) == 2
    assert run_json(fake, "workflow", "delete", wf_id, "--yes", "--force")["deleted"] is True


def test_a_campaign_from_the_command_line(fake: FakeSlurm) -> None:
    run_values = ["--set", "execution_command=run", "--set", "steps=1200", "--set", "restart_freq=1200"]
    created = run_json(fake, "job", "create", "--name", "camp", "--template", "vacuum_optimization_v1", *FILES,
                       *RES, *run_values, "--target-ns", "0.05", "--submit")  # fmt: skip
    shown = settled(fake, created["id"])
    assert shown["status"] == "Completed"
    assert shown["campaign"]["state"] == "done"
    assert shown["campaign"]["attempts"][-1]["end_step"] == 25_008  # 0.05 ns at 2 fs, to stepspercycle 12
    assert shown["campaign"]["line"].startswith("0.05002 of 0.05002 ns, segment 1, attempt 1 - done")
    assert "Campaign" in run(fake, "job", "show", created["id"]).stdout
    for bad, fragment in (
        (["--target-ns", "-1"], "--target-ns: -1.0 ns: give the simulated time to reach"),
        (["--target-ns", "1", "--set", "execution_command=minimize"], "exactly one `run` command"),
        (["--target-ns", "1", "--su-budget", "0.01"], "--su-budget: 0.01 SU is less than one segment"),
        (["--su-budget", "100"], "--su-budget: a budget is for a campaign: give --target-ns too"),
    ):
        args = ["job", "create", "--name", "bad", "--template", "vacuum_optimization_v1", *FILES, *RES,
                *run_values, *bad]  # fmt: skip
        result = run(fake, *args, code=1)
        assert fragment in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert [row["name"] for row in run_json(fake, "job", "list")] == ["camp"]  # nothing created by bad input
