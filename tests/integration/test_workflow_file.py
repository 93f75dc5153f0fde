"""A workflow file (issue 15) from the command line on the loopback cluster: validated, dry-run,
created, run to completion, each stage starting where the one before it ended."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from click.testing import CliRunner

from namdrunner_cli.main import cli
from namdrunner_core import JobStatus, JobStore, Session, sync_jobs
from namdrunner_core.workflow import create_planned_workflows, plan_workflow_file, submit_replicas
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


def test_a_four_stage_protocol_with_three_replicas(env: dict[str, str], tmp_path: Path, session: Session) -> None:
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
    chains = []
    for group in made:
        shown = run_json("workflow", "show", group["id"])
        assert isinstance(shown, dict)
        assert shown["status"] == "Completed", shown
        firsts = [s["template_values"].get("first_timestep", 0) for s in shown["stages"]]
        assert firsts == [0, 240, 480, 720]  # each stage starts where its replica's previous one ended
        chains.append(shown["stages"])
    for i in range(4):  # each stage ran as ONE job array over the replicas, task r = replica r
        ids = [chain[i]["slurm_job_id"] for chain in chains]
        assert len({x.split("_")[0] for x in ids}) == 1, ids
        assert [x.split("_")[1] for x in ids] == ["0", "1", "2"]
        rows = sacct(session, ids[0].split("_")[0])
        assert {r[0] for r in rows} == set(ids)
        assert {r[1] for r in rows} == {"COMPLETED"}
    seeds = set()
    for chain in chains:  # every run had its own seed, and NAMD used it
        for s in chain:
            log = Path(s["project_dir"], "namd_output.log").read_text()
            used = re.search(r"^Info: RANDOM NUMBER SEED\s+(\d+)$", log, re.M)
            assert used is not None
            assert int(used.group(1)) == s["template_values"]["seed"]
            seeds.add(int(used.group(1)))
    assert len(seeds) == 12
    for group in made:
        assert run_json("workflow", "delete", group["id"], "--yes")["deleted"] is True  # type: ignore[index]


def sacct(session: Session, array_id: str) -> list[list[str]]:
    """``sacct`` of an array's tasks (JobID, State), asked on the cluster the way a person would."""
    out = session.slurm(["sacct", "-X", "-n", "-P", "-j", array_id, "-o", "JobID,State"]).stdout
    return [line.split("|") for line in out.splitlines() if line.strip()]


def task_states(rows: list[list[str]]) -> dict[str, str]:
    """sacct's rows by array task: a task that never started may still be listed in the array's
    collapsed form (``3102_[1]``, ``3102_[1-2,4]``), as sacct does until Slurm splits it off."""
    out: dict[str, str] = {}
    for job_id, state in rows:
        m = re.fullmatch(r"(\d+)_\[([\d,-]+)\]", job_id)
        if not m:
            out[job_id] = state
            continue
        for part in m.group(2).split(","):
            lo, _, hi = part.partition("-")
            for task in range(int(lo), int(hi or lo) + 1):
                out[f"{m.group(1)}_{task}"] = state
    return out


def test_one_failing_replica_stops_only_its_own_chain(session: Session, store: JobStore, tmp_path: Path) -> None:
    tiny = (ROOT / "tests" / "data" / "tiny").as_posix()
    path = tmp_path / "three.toml"
    path.write_text(
        EXAMPLE.read_text()
        .replace("../../tests/data/tiny", tiny)
        .replace('name = "toy equilibration"', 'name = "one fails"\nreplicas = 3')
    )
    planned = plan_workflow_file(session.profile, store, path, assignments=["production.steps=240"])
    made = create_planned_workflows(session, store, planned.for_session(session))
    broken = made[1].jobs()[0].record  # replica 2's first stage loses its coordinates before it starts
    session.transport.run(["rm", "-f", f"{broken.project_dir}/input_files/tiny.pdb"])
    submit_replicas(session, store, made)
    ids = [j.id for wf in made for j in wf.jobs()]
    deadline = time.monotonic() + 300
    while not all(store.get_job(i).status.is_terminal and store.get_job(i).finalized for i in ids):
        assert time.monotonic() < deadline, [store.get_job(i).status for i in ids]
        sync_jobs(store, session)
        time.sleep(2)
    statuses = [[store.get_job(j.id).status for j in wf.jobs()] for wf in made]
    assert statuses[0] == statuses[2] == [JobStatus.COMPLETED] * 3  # the other replicas ran on
    assert statuses[1][0] is JobStatus.FAILED
    assert statuses[1][1:] == [JobStatus.CANCELLED] * 2  # only its own chain stopped
    later = [store.get_job(wf.jobs()[1].id).slurm_job_id or "" for wf in made]
    states = task_states(sacct(session, later[0].split("_")[0]))
    assert states[later[0]] == states[later[2]] == "COMPLETED"
    # Slurm's own aftercorr removed that one task before it ever started: no accounting record (or a
    # cancelled one), and nothing of the array left in the queue
    assert later[1] not in states or states[later[1]].startswith("CANCELLED")
    queued = session.slurm(["squeue", "-h", "-r", "-j", later[0].split("_")[0], "-o", "%i"], check=False).stdout
    assert queued.strip() == ""
    log = Path(store.get_job(broken.job_id).project_dir, "namd_output.log").read_text()
    assert "FATAL ERROR" in log
    for wf in made:
        wf.delete(force=True)
