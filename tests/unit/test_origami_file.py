"""The DNA-origami ladder as a shipped workflow file (issue 15): the file, planned through the general
workflow-file path, gives exactly what the dedicated code gave before (a golden snapshot taken from
that code: every stage's config, batch script, values, inputs and the scaled ENM files' bytes)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from namdrunner_core.profile import load_profile
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.workflow import WorkflowPlan, origami_inputs, origami_plan

GOLDEN = Path(__file__).parent / "golden" / "origami_ladder_plan.json"
TINY = Path(__file__).resolve().parent.parent / "data" / "tiny"


def _ts(value: Any) -> Any:
    """Ids carry the time they were made: normalised."""
    text = json.dumps(value, sort_keys=True, default=str)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:[\d.]+Z", "<time>", text)
    return json.loads(re.sub(r"_\d{8}_\d{6}_\d{6}|_\d{13,}", "_<ts>", text))


def snapshot(plan: WorkflowPlan) -> dict[str, Any]:
    """What a plan would create, byte for byte where it matters."""
    stages = []
    for p in plan.prepared:
        r = p.record
        stages.append(
            {
                "job_id": r.job_id,
                "name": r.job_name,
                "template": r.template_id,
                "values": r.template_values,
                "inputs": list(r.input_files),
                "remote_inputs": p.remote_inputs,
                "resources": str(p.resources),
                "config": p.config_text,
                "sbatch": p.sbatch_text,
                "files": {n: hashlib.sha256(f.read_bytes()).hexdigest() for n, f in p.files.items()},
                "scratch": r.scratch_dir,
                "project": r.project_dir,
            }
        )
    return _ts({"id": plan.id, "name": plan.name, "stage_names": list(plan.stage_names),
                "template_id": plan.template_id, "stages": stages})  # fmt: skip


def ladder_options(**extra: Any) -> dict[str, Any]:
    return origami_inputs(
        name="hextube",
        structure=TINY / "tiny.psf",
        coordinates=TINY / "tiny.pdb",
        parameters=[TINY / "par_tiny.prm"],
        enm=TINY / "tiny.exb",
        cores=4,
        memory_gb=4,
        walltime="01:00:00",
        **extra,
    )


def test_the_ladder_plans_exactly_what_it_planned_before(tmp_path: Path) -> None:
    profile = load_profile("loopback")
    opts = ladder_options(stage_steps=["production=4800"], assignments=["npt_k0.1.temperature=310"])
    with origami_plan(profile, None, **opts) as planned:
        got = snapshot(planned.plan)
    if not GOLDEN.exists():
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        pytest.fail(f"golden file written to {GOLDEN}: review it and run again")
    assert got == json.loads(GOLDEN.read_text())
    assert isinstance(opts["resources"], Resources)


def _cli_json(*args: str) -> Any:
    from click.testing import CliRunner

    from namdrunner_cli.main import cli

    result = CliRunner().invoke(cli, ["--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_shipped_file_and_the_old_command_print_the_same_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tomllib

    import jsonschema

    from namdrunner_core.workflow import origami_file, workflow_file_schema

    jsonschema.validate(tomllib.loads(origami_file().read_text()), workflow_file_schema())
    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("NAMDRUNNER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NAMDRUNNER_DB", str(tmp_path / "db.sqlite"))
    monkeypatch.setenv("NAMDRUNNER_PROFILE", "loopback")
    resources = ["--cores", "4", "--memory", "4", "--walltime", "01:00:00", "--dry-run"]
    alias = _cli_json("workflow", "create", "--name", "hextube", "--structure", str(TINY / "tiny.psf"),
                      "--coordinates", str(TINY / "tiny.pdb"), "--parameters", str(TINY / "par_tiny.prm"),
                      "--enm", str(TINY / "tiny.exb"), "--steps", "production=4800", *resources)  # fmt: skip
    general = _cli_json("workflow", "create", "--from", "dna_origami_equilibration", "--name", "hextube",
                        "--input", f"structure={TINY / 'tiny.psf'}", "--input", f"coordinates={TINY / 'tiny.pdb'}",
                        "--input", f"parameters={TINY / 'par_tiny.prm'}", "--input", f"enm={TINY / 'tiny.exb'}",
                        "--set", "production.steps=4800", *resources)  # fmt: skip
    assert len(alias["stages"]) == 5
    assert _ts(general) == _ts(alias)  # the old command is an alias of the general one


def test_scaled_copies_inputs_and_seeds_every_problem_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from namdrunner_core.errors import ValidationErrors
    from namdrunner_core.workflow import plan_workflow_file

    (tmp_path / "enm.exb").write_text("# ENM\nbond 0 2 0.5 3.0\r\nbond 2 4 2.0 3.5\n")
    good = tmp_path / "good.toml"
    good.write_text(
        'name = "soften"\nseed = 7\n[inputs.structure]\n[inputs.coordinates]\n[inputs.parameters]\n'
        '[inputs.restraints]\nupload = false\n[resources]\ncores = 1\nmemory_gb = 1\nwalltime = "00:10:00"\n'
        '[[stages]]\nname = "a"\ntemplate = "explicit_solvent_npt_v1"\nvalues = { steps = 240 }\n'
        'scaled = [{ input = "restraints", variable = "extrabonds", factor = 0.5 }, '
        '{ file = "enm.exb", variable = "extrabonds_2", k = 0.01 }]\n'
    )
    profile = load_profile("loopback")
    inputs = {"structure": TINY / "tiny.psf", "coordinates": TINY / "tiny.pdb", "parameters": TINY / "par_tiny.prm",
              "restraints": tmp_path / "enm.exb"}  # fmt: skip
    (plan,) = plan_workflow_file(profile, None, good, inputs=inputs, workdir=tmp_path / "w").plan
    p = plan.prepared[0]
    assert (tmp_path / "w" / "enm_x0.5.exb").read_text() == "# ENM\nbond 0 2 0.25 3.0\nbond 2 4 1 3.5\n"
    assert (tmp_path / "w" / "enm_k0.01.exb").read_text() == "# ENM\nbond 0 2 0.01 3.0\nbond 2 4 0.01 3.5\n"
    assert "extraBondsFile     input_files/enm_x0.5.exb" in p.config_text
    assert "extraBondsFile     input_files/enm_k0.01.exb" in p.config_text
    assert "seed               7" in p.config_text  # a single chain with the file's own seed
    assert sorted(p.record.input_files) == ["enm_k0.01.exb", "enm_x0.5.exb", "par_tiny.prm", "tiny.pdb", "tiny.psf"]
    # without a workdir the copies live in the cache, reused while the source is unchanged
    monkeypatch.setenv("NAMDRUNNER_CACHE_DIR", str(tmp_path / "cache"))
    (again,) = plan_workflow_file(profile, None, good, inputs=inputs).plan
    cached = again.prepared[0].files["input_files/enm_x0.5.exb"]
    assert cached.is_relative_to(tmp_path / "cache" / "scaled")
    assert cached.read_text() == (tmp_path / "w" / "enm_x0.5.exb").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        good.read_text().replace("seed = 7", "replicas = 2")
        .replace('values = { steps = 240 }', 'values = { steps = 240, seed = 3 }')
        .replace('{ file = "enm.exb", variable = "extrabonds_2", k = 0.01 }',
                 '{ input = "nothing", variable = "extrabonds_2", k = 0.01 }, '
                 '{ file = "enm.exb", input = "restraints", variable = "extrabonds_2", k = 1 }, '
                 '{ file = "enm.exb", variable = "extrabonds_2", k = 1, factor = 2 }')
    )  # fmt: skip
    with pytest.raises(ValidationErrors) as caught:
        plan_workflow_file(profile, None, bad, inputs={**inputs, "structure": tmp_path / "gone.psf", "typo": TINY},
                           workdir=tmp_path / "w")  # fmt: skip
    problems = dict(caught.value.problems)
    assert "gone.psf not found" in problems["--input structure"]
    assert "has no input 'typo'" in problems["--input typo"]
    assert "no input 'nothing'" in caught.value.message
    assert "exactly one source" in caught.value.message
    assert "exactly one of k" in caught.value.message
    assert "every replica the same run" in problems["stage a: seed"]
    odd = tmp_path / "odd.toml"
    odd.write_text(good.read_text().replace("upload = false", 'upload = false\nvariable = "extrabonds"'))
    with pytest.raises(ValidationErrors, match="would name a file the stages never get"):
        plan_workflow_file(profile, None, odd, inputs=inputs, workdir=tmp_path / "w")
    with pytest.raises(ValidationErrors) as missing:
        plan_workflow_file(profile, None, good, inputs={"structure": TINY / "tiny.psf"}, workdir=tmp_path / "w")
    assert {f for f, _ in missing.value.problems} == {"--input coordinates", "--input parameters", "--input restraints"}


def test_a_workflow_file_written_from_python_reads_back_the_same(tmp_path: Path) -> None:
    import tomllib

    import jsonschema

    from namdrunner_core.workflow import origami_file, read_workflow_file, workflow_file_schema, workflow_file_text

    ladder = read_workflow_file(origami_file())
    text = workflow_file_text(attrs.evolve(ladder, replicas=4, seed=99))
    jsonschema.validate(tomllib.loads(text), workflow_file_schema())
    (tmp_path / "ladder_x4.toml").write_text(text)
    again = read_workflow_file(tmp_path / "ladder_x4.toml")
    assert again == attrs.evolve(ladder, replicas=4, seed=99)
    assert [sc.k for s in again.stages for sc in s.scaled] == [0.5, 0.5, 0.1, 0.01]
    assert again.inputs["enm"].upload is False
    assert again.inputs["extra_bonds"].target("extra_bonds") == "extrabonds_2"


def test_the_ladder_runs_from_its_file_through_the_workflow_class(tmp_path: Path) -> None:
    import time

    from namdrunner_core import JobStatus, JobStore, ValidationError, sync_jobs
    from namdrunner_core.testing import FakeSlurm
    from namdrunner_core.workflow import origami_file, validate_workflow_file, workflows_from_file

    inputs = {"structure": TINY / "tiny.psf", "coordinates": TINY / "tiny.pdb", "parameters": TINY / "par_tiny.prm",
              "enm": TINY / "tiny.exb"}  # fmt: skip
    short = [f"{s}.steps=120" for s in ("minimize", "npt_k0.5", "npt_k0.1", "npt_k0.01", "production")]
    resources = {"cores": 1, "memory_gb": 0.5, "walltime": "00:10:00"}
    with FakeSlurm(tmp_path / "fake", namd=TINY.parent.parent / "cluster" / "namd3_standin.py") as fake:
        session = fake.session()
        with pytest.raises(ValidationError) as caught:  # the shipped file leaves resources to the person
            validate_workflow_file(session.profile, origami_file(), inputs=inputs, assignments=short)
        assert caught.value.field == "DNA-origami equilibration: resources"
        assert "(--cores, --memory, --walltime)" in caught.value.message
        plans = validate_workflow_file(
            session.profile, origami_file(), inputs=inputs, assignments=short, resources=resources
        )
        assert [len(p.prepared) for p in plans] == [5]
        store = JobStore(tmp_path / "jobs.db")
        (wf,) = workflows_from_file(session, store, origami_file(), inputs=inputs, assignments=short,
                                   resources=resources, submit=True)  # fmt: skip
        deadline = time.monotonic() + 90
        while not all(j.status.is_terminal and j.record.finalized for j in wf.jobs()):
            assert time.monotonic() < deadline
            sync_jobs(store, session)
            time.sleep(0.3)
        assert [j.status for j in wf.jobs()] == [JobStatus.COMPLETED] * 5
        assert [j.record.template_values.get("first_timestep", 0) for j in wf.jobs()] == [0, 120, 240, 360, 480]
        k01 = Path(wf.jobs()[2].record.project_dir, "input_files", "tiny_k0.1.exb").read_text()
        assert {line.split()[3] for line in k01.splitlines() if line.startswith("bond")} == {"0.1"}


def test_what_the_ladder_refuses_without_its_files_is_said_with_a_file_missing() -> None:
    """The ladder's form shows a bad cell, steps or resources in the same round trip as a file not
    chosen yet: the plan needs the files, these checks do not."""
    from namdrunner_core.workflow.origami import origami_problems

    bad = Resources(cores=-3, memory_gb=1, walltime="01:00:00")
    said = dict(origami_problems(load_profile("loopback"), None, cell=(124, float("nan"), 5.0),
                                 steps={"minimize": 4800, "npt_k0.5": 7}, resources=bad))  # fmt: skip
    assert said == {"cell_y": "nan is not a finite number", "cell_z": "5 is below the minimum 10",
                    "steps.npt_k0.5": "7 is below the minimum 12",
                    "cores": "-3 is not a positive whole number"}  # fmt: skip
    fine = Resources(cores=1, memory_gb=1, walltime="01:00:00")
    assert origami_problems(load_profile("loopback"), None, cell=(124, 114, 323), steps={"minimize": 4800},
                            resources=fine) == []  # fmt: skip
