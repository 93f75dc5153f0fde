"""A workflow file (issue 15) from the command line on the loopback cluster: validated, dry-run,
created, run to completion, each stage starting where the one before it ended."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from namdrunner_cli.main import cli
from tests.conftest import ROOT

EXAMPLE = ROOT / "docs" / "examples" / "three_stage.toml"


def run_json(*args: str) -> object:
    result = CliRunner().invoke(cli, ["--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_workflow_file_runs_end_to_end(env: dict[str, str]) -> None:
    checked = run_json("workflow", "validate", str(EXAMPLE))
    assert isinstance(checked, dict)
    assert [s["stage"] for s in checked["stages"]] == ["minimize", "heat", "production"]
    plan = run_json("workflow", "create", "--file", str(EXAMPLE), "--dry-run")
    assert isinstance(plan, dict)
    assert len(plan["stages"]) == 3
    assert run_json("workflow", "list") == []  # a dry run creates nothing
    created = run_json("workflow", "create", "--file", str(EXAMPLE), "--set", "production.steps=240", "--submit")
    assert isinstance(created, dict)
    assert created["name"] == "toy equilibration"
    run_json("watch", "--max-interval", "3", "--timeout", "300")
    shown = run_json("workflow", "show", created["id"])
    assert isinstance(shown, dict)
    assert shown["status"] == "Completed"
    firsts = [s["template_values"].get("first_timestep", 0) for s in shown["stages"]]
    assert firsts == [0, 240, 480]
    assert shown["stages"][1]["template_values"]["output_name"] == "heat_from_min"
    bad = CliRunner().invoke(cli, ["workflow", "create", "--name", "x"], catch_exceptions=False)
    assert bad.exit_code == 1  # neither --file nor the template's inputs: every missing one named
    assert "--structure" in bad.stderr
    assert "--cores" in bad.stderr
    deleted = run_json("workflow", "delete", created["id"], "--yes")
    assert isinstance(deleted, dict)
    assert deleted["deleted"] is True


def test_a_four_stage_protocol_with_three_replicas(env: dict[str, str], tmp_path: Path) -> None:
    tiny = (ROOT / "tests" / "data" / "tiny").as_posix()
    text = (
        EXAMPLE.read_text()
        .replace("../../tests/data/tiny", tiny)
        .replace('name = "toy equilibration"', 'name = "four stages"\nreplicas = 3')
    )
    text += '\n[[stages]]\nname = "extend"\ntemplate = "vacuum_optimization_v1"\n'
    text += 'values = { execution_command = "run", steps = 240, output_name = "extend" }\n'
    path = tmp_path / "four.toml"
    path.write_text(text)
    assert run_json("workflow", "validate", str(path))["replicas"] == 3  # type: ignore[index]
    made = run_json("workflow", "create", "--file", str(path), "--set", "production.steps=240", "--submit")
    assert isinstance(made, list)
    assert len(made) == 3
    run_json("watch", "--max-interval", "3", "--timeout", "400")
    for group in made:
        shown = run_json("workflow", "show", group["id"])
        assert isinstance(shown, dict)
        assert shown["status"] == "Completed", shown
        firsts = [s["template_values"].get("first_timestep", 0) for s in shown["stages"]]
        assert firsts == [0, 240, 480, 720]  # each stage starts where its replica's previous one ended
        assert run_json("workflow", "delete", group["id"], "--yes")["deleted"] is True  # type: ignore[index]
