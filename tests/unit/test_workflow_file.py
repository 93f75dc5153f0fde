"""Workflow files (issue 15): read, every problem at once, the schema in docs/ generated from the code,
and a three-stage file run end to end on the fake Slurm."""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path

import attrs
import jsonschema
import pytest

from namdrunner_core import JobStatus, JobStore, sync_jobs
from namdrunner_core.errors import ValidationError, ValidationErrors
from namdrunner_core.namd.config import read_config
from namdrunner_core.testing import FakeSlurm
from namdrunner_core.workflow import (
    create_planned_workflows,
    export_workflow,
    plan_workflow_file,
    read_workflow_file,
    workflow_file_schema,
    workflow_file_text,
)
from tests.conftest import ROOT

EXAMPLE = ROOT / "docs" / "examples" / "three_stage.toml"


def test_the_schema_in_docs_is_generated_from_the_code_and_accepts_the_example() -> None:
    schema = workflow_file_schema()
    assert json.loads((ROOT / "docs" / "workflow-file.schema.json").read_text()) == schema
    jsonschema.validate(tomllib.loads(EXAMPLE.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "stages": [{"name": "a"}]}, schema)  # no template


def test_every_problem_is_named_at_once_before_anything_is_planned(tmp_path: Path) -> None:
    (tmp_path / "a.psf").write_text("PSF\n")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "w"\nfiles = ["a.psf", "missing.pdb"]\n[resources]\ncores = 1\nmemory_gb = 1\nwalltime = "00:10:00"\n'
        '[[stages]]\nname = "min"\ntemplate = "no_such_template"\n'
        '[[stages]]\nname = "eq"\ntemplate = "vacuum_optimization_v1"\nvalues = { temprature = 300 }\n'
        '[[stages]]\nname = "eq"\ntemplate = "vacuum_optimization_v1"\nvalues = { output_name = "{{prev.nothing}}" }\n'
    )
    profile = FakeSlurm(tmp_path / "fake").profile()
    with pytest.raises(ValidationErrors) as caught:
        plan_workflow_file(profile, None, bad, assignments=["prod.steps=10"])
    fields = [f for f, _ in caught.value.problems]
    text = caught.value.message
    assert "w: files" in fields
    assert "missing.pdb not found" in text
    assert "stage min: template" in fields
    assert "stage eq: temprature" in fields
    assert "stage eq: output_name" in fields
    assert "{{prev.nothing}}" in text
    assert any("used twice" in m for _, m in caught.value.problems)
    assert "--set" in fields  # a stage that does not exist
    (tmp_path / "notoml.toml").write_text("name = \n")
    with pytest.raises(ValidationError, match="not valid TOML"):
        read_workflow_file(tmp_path / "notoml.toml")
    (tmp_path / "extra.toml").write_text('name = "w"\n[[stages]]\nname = "a"\ntemplate = "t"\nreplica = 3\n')
    with pytest.raises(ValidationError, match="unknown key"):
        read_workflow_file(tmp_path / "extra.toml")


def test_a_three_stage_file_runs_end_to_end_on_the_fake_slurm(tmp_path: Path) -> None:
    with FakeSlurm(tmp_path / "fake", namd=ROOT / "tests" / "cluster" / "namd3_standin.py") as fake:
        session = fake.session()
        store = JobStore(tmp_path / "jobs.db")
        planned = plan_workflow_file(session.profile, store, EXAMPLE, assignments=["production.steps=240"])
        (wf,) = create_planned_workflows(session, store, planned.for_session(session), submit=True)
        ids = [j.id for j in wf.jobs()]
        assert [p.record.job_id for p in planned.plan[0].prepared] == ids  # what --dry-run showed is what ran
        deadline = time.monotonic() + 60
        while not all(store.get_job(i).status.is_terminal and store.get_job(i).finalized for i in ids):
            assert time.monotonic() < deadline
            sync_jobs(store, session)
            time.sleep(0.3)
        records = [store.get_job(i) for i in ids]
        assert [r.status for r in records] == [JobStatus.COMPLETED] * 3
        firsts = [r.template_values.get("first_timestep", 0) for r in records]
        assert firsts == [0, 240, 480]  # each stage starts where the one before it ended
        heat = read_config(Path(records[1].project_dir, "config.namd").read_text())
        assert heat.get("outputName") == "outputs/heat_from_min"  # {{prev.output_name}}
        assert records[2].total_steps == 240  # --set production.steps
        # exported back as a file (inputs beside it), it plans the very same configs
        exported = tmp_path / "again"
        exported.mkdir()
        for f in (ROOT / "tests" / "data" / "tiny").iterdir():
            (exported / f.name).write_bytes(f.read_bytes())
        (exported / "protocol.toml").write_text(workflow_file_text(export_workflow(store, wf.id)))
        again = plan_workflow_file(session.profile, store, exported / "protocol.toml").plan[0]
        ran = [Path(r.project_dir, "config.namd").read_text() for r in records]
        assert [p.config_text for p in again.prepared] == ran
        assert again.stage_names == ("minimize", "heat", "production")
        assert wf.delete() == ids


def test_replicas_are_independent_chains_each_continuing_its_own(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace('name = "toy equilibration"', 'name = "toy"\nreplicas = 3\nseed = 4242')
    tiny = (ROOT / "tests" / "data" / "tiny").as_posix()
    text = text.replace("../../tests/data/tiny", tiny)
    path = tmp_path / "replicas.toml"
    path.write_text(text)
    with FakeSlurm(tmp_path / "fake", namd=ROOT / "tests" / "cluster" / "namd3_standin.py") as fake:
        session = fake.session()
        store = JobStore(tmp_path / "jobs.db")
        planned = plan_workflow_file(session.profile, store, path)
        made = create_planned_workflows(session, store, planned.for_session(session), submit=True)
        assert [wf.name for wf in made] == [f"toy [replica {r}/3]" for r in (1, 2, 3)]
        ids = [j.id for wf in made for j in wf.jobs()]
        assert len(set(ids)) == 9
        deadline = time.monotonic() + 90
        while not all(store.get_job(i).status.is_terminal and store.get_job(i).finalized for i in ids):
            assert time.monotonic() < deadline
            sync_jobs(store, session)
            time.sleep(0.3)
        assert {store.get_job(i).status for i in ids} == {JobStatus.COMPLETED}
        chains = [[store.get_job(j.id) for j in wf.jobs()] for wf in made]
        for stage in range(3):  # each stage ONE array over the replicas, task r = replica r
            slurm_ids = [chain[stage].slurm_job_id or "" for chain in chains]
            assert len({i.split("_")[0] for i in slurm_ids}) == 1
            assert [i.split("_")[1] for i in slurm_ids] == ["0", "1", "2"]
        seeds = [[r.template_values["seed"] for r in chain] for chain in chains]
        assert seeds == [[4242 + 1000 * r + i for i in range(3)] for r in range(3)]  # every run its own seed
        assert "seed               5243" in Path(chains[1][1].project_dir, "config.namd").read_text()
        for wf in made:  # each replica's later stage took its input from its OWN previous stage
            first, second = (store.get_job(j.id) for j in wf.jobs()[:2])
            script = Path(second.project_dir, "job.sbatch").read_text()
            assert first.scratch_dir in script
            others = [store.get_job(o.jobs()[0].id).scratch_dir for o in made if o.id != wf.id]
            assert not [d for d in others if d in script]  # never another replica's outputs
    from click.testing import CliRunner

    from namdrunner_cli.main import cli

    dry = CliRunner().invoke(cli, ["--profile", "loopback", "workflow", "create", "--file", str(path), "--dry-run"],
                             catch_exceptions=False)  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.count("#SBATCH --array=0-2") == 3  # what each stage submits, shown before it is
    assert "stage 2: ONE job array over the 3 replicas" in dry.stdout
    assert "aftercorr" in dry.stdout
    bad = tmp_path / "zero.toml"
    bad.write_text(text.replace("replicas = 3", "replicas = 0"))
    with pytest.raises(ValidationError, match="replicas"):
        plan_workflow_file(FakeSlurm(tmp_path / "f2").profile(), None, bad)
    over = tmp_path / "over.toml"  # more replicas than one job array may hold on this cluster
    over.write_text(text.replace("replicas = 3", "replicas = 300"))
    profile = attrs.evolve(FakeSlurm(tmp_path / "f3").profile(), max_array_size=201)
    with pytest.raises(ValidationError, match="MaxArraySize is 201") as caught:
        plan_workflow_file(profile, None, over)
    assert caught.value.field == "over.toml: replicas"


def test_the_library_lists_builtins_imports_your_own_and_runs_them_from_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from namdrunner_cli.main import cli
    from namdrunner_core.workflow import (
        export_workflow_template,
        import_workflow_file,
        list_workflow_files,
        workflow_file_path,
    )

    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("NAMDRUNNER_DB", str(tmp_path / "db.sqlite"))
    monkeypatch.setenv("NAMDRUNNER_PROFILE", "loopback")
    assert [(i.id, i.builtin, i.stages) for i in list_workflow_files()] == [
        ("dna_origami_equilibration", True, 5),
        ("solvated_equilibration", True, 4),
    ]
    mine = import_workflow_file(EXAMPLE, workflow_id="three")
    assert (mine.id, mine.stages) == ("three", 3)
    assert [i.id for i in list_workflow_files()] == ["dna_origami_equilibration", "solvated_equilibration", "three"]
    with pytest.raises(ValidationError, match="builtin"):
        import_workflow_file(EXAMPLE, workflow_id="solvated_equilibration")
    with pytest.raises(ValidationError, match="did you mean solvated_equilibration"):
        workflow_file_path("solvated_equilibrations")
    out = export_workflow_template("three", tmp_path / "out.toml")
    assert out.read_text() == EXAMPLE.read_text()
    tiny = ROOT / "tests" / "data" / "tiny"
    here = tmp_path / "here"
    here.mkdir()
    for src, dst in (("tiny.psf", "system.psf"), ("tiny.pdb", "system.pdb"), ("par_tiny.prm", "parameters.prm")):
        (here / dst).write_bytes((tiny / src).read_bytes())
    monkeypatch.chdir(here)  # a library file reads its inputs where you run it
    result = CliRunner().invoke(
        cli, ["--json", "workflow", "create", "--from", "solvated_equilibration", "--cores", "2", "--memory", "1",
              "--dry-run"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert [s["job"]["name"].split(" / ")[1] for s in plan["stages"]] == [
        "minimize",
        "heat",
        "equilibrate",
        "production",
    ]
    assert all(s["job"]["resources"]["cores"] == 2 for s in plan["stages"])  # --cores over the file's 16


def test_references_to_earlier_stages_and_the_cycles_a_file_could_write(tmp_path: Path) -> None:
    tiny = (ROOT / "tests" / "data" / "tiny").as_posix()
    text = EXAMPLE.read_text().replace("../../tests/data/tiny", tiny)
    good = tmp_path / "good.toml"
    good.write_text(text.replace('output_name = "prod"', 'output_name = "prod_after_{{stages.minimize.output_name}}"'))
    profile = FakeSlurm(tmp_path / "fake").profile()
    (plan,) = plan_workflow_file(profile, None, good).plan
    assert "outputName         outputs/prod_after_min" in plan.prepared[2].config_text
    bad = tmp_path / "bad.toml"
    bad.write_text(
        text.replace('output_name = "min"', 'output_name = "min_{{prev.output_name}}"')
        .replace('output_name = "heat_from_{{prev.output_name}}"', 'output_name = "h_{{stages.production.steps}}"')
        .replace('output_name = "prod"', 'output_name = "p_{{stages.prod.steps}}_{{ heat.steps }}"')
    )  # fmt: skip
    with pytest.raises(ValidationErrors) as caught:
        plan_workflow_file(profile, None, bad)
    problems = caught.value.problems
    assert ("stage minimize: output_name", "{{prev.output_name}}: the first stage has no previous stage") in problems
    heat = dict(problems)["stage heat: output_name"]
    assert "runs at or after this one (a cycle)" in heat
    prod = [m for f, m in problems if f == "stage production: output_name"]
    assert len(prod) == 1  # the first bad reference of a value is named; fixing it shows the next
    assert "no stage 'prod'" in prod[0]
    bad.write_text(text.replace('output_name = "prod"', 'output_name = "p_{{ heat.steps }}"'))
    with pytest.raises(ValidationErrors, match=r"not a reference; use prev.KEY, shared.KEY or stages.NAME.KEY"):
        plan_workflow_file(profile, None, bad)
    bad.write_text(text.replace('output_name = "prod"', 'output_name = "p_{{stages.minimize.nope}}"'))
    with pytest.raises(ValidationErrors, match=r"stage 'minimize' has no value 'nope'"):
        plan_workflow_file(profile, None, bad)


def test_the_last_stage_of_a_file_may_be_a_campaign(tmp_path: Path) -> None:
    from namdrunner_core.profile import load_profile
    from namdrunner_core.workflow import validate_workflow_file

    tiny = ROOT / "tests" / "data" / "tiny"
    text = (
        'name = "to 1 ns"\nfiles = ["tiny.psf", "tiny.pdb", "par_tiny.prm"]\n'
        '[resources]\ncores = 1\nmemory_gb = 0.5\nwalltime = "01:00:00"\n'
        '[[stages]]\nname = "min"\ntemplate = "vacuum_optimization_v1"\nvalues = { steps = 240 }\n'
        '[[stages]]\nname = "prod"\ntemplate = "vacuum_optimization_v1"\ntarget_ns = 1.0\n'
        'values = { execution_command = "run", steps = 240 }\n'
    )
    for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm"):
        (tmp_path / n).write_bytes((tiny / n).read_bytes())
    path = tmp_path / "wf.toml"
    path.write_text(text)
    (plan,) = validate_workflow_file(load_profile("loopback"), path)
    prod = plan.prepared[-1]
    assert prod.record.campaign is not None
    assert prod.record.campaign["target_step"] == 500_004  # 1 ns at 2 fs, to stepspercycle 12
    assert "campaign_step.py" in prod.extra_files
    assert plan.prepared[0].record.campaign is None
    path.write_text(text.replace('name = "min"\n', 'name = "min"\ntarget_ns = 0.1\n'))
    with pytest.raises(ValidationError, match="only the last stage may be a campaign"):
        validate_workflow_file(load_profile("loopback"), path)
