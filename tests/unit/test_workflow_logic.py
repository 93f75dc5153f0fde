"""Workflow logic without a cluster: planning, aggregate status, settlement, ENM scaling, grids."""

from __future__ import annotations

import attrs
import pytest

from benchmarks._fixtures import make_store
from namdrunner_core.errors import ValidationError
from namdrunner_core.jobs.sync import _expand_arrays
from namdrunner_core.models import GroupRecord
from namdrunner_core.namd.config import read_config
from namdrunner_core.profile import load_profile
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.workflow import (
    StageSpec,
    aggregate_status,
    parse_grid,
    parse_stage_assignments,
    plan_settlement,
    plan_workflow,
    scale_extrabonds,
)
from namdrunner_core.workflow.sweep import _grid_points
from tests.conftest import DATA

TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]
RES = Resources(cores=1, memory_gb=0.5, walltime="00:10:00")


def spec(name: str, mode: str, steps: int, **values: object) -> StageSpec:
    return StageSpec(
        name, "explicit_solvent_npt_v1", {"execution_command": mode, "steps": steps, "output_name": name, **values}, RES
    )


def test_plan_chains_outputs_and_timesteps() -> None:
    plan = plan_workflow(
        load_profile("loopback"),
        "me",
        None,
        name="w",
        shared_files=TINY,
        stages=[spec("min", "minimize", 240), spec("eq", "run", 600), spec("prod", "run", 60)],
    )
    wid, prepared = plan.id, plan.prepared
    assert wid.startswith("wf_w_")
    assert plan.stage_names == ("min", "eq", "prod")
    cfgs = [read_config(p.config_text) for p in prepared]
    assert [c.get("firsttimestep") for c in cfgs] == ["0", "240", "840"]
    assert cfgs[1].get("bincoordinates") == "input_files/min.coor"
    assert cfgs[1].get("binvelocities") is None  # after a minimisation: fresh velocities
    assert cfgs[1].get("temperature") is not None
    assert cfgs[2].get("binvelocities") == "input_files/eq.vel"
    assert "cp -- " in prepared[2].sbatch_text
    assert f"{prepared[1].record.scratch_dir}/outputs/eq.vel" in prepared[2].sbatch_text
    assert [p.record.workflow_stage for p in prepared] == [0, 1, 2]
    assert len({p.record.job_id for p in prepared}) == 3


def test_plan_refuses_a_chain_off_the_cycle() -> None:
    with pytest.raises(ValidationError, match="multiple of stepspercycle 12"):
        plan_workflow(
            load_profile("loopback"),
            "me",
            None,
            name="w",
            shared_files=TINY,
            stages=[spec("min", "minimize", 250), spec("eq", "run", 600)],
        )
    with pytest.raises(ValidationError, match="stage names must differ"):
        plan_workflow(
            load_profile("loopback"),
            "me",
            None,
            name="w",
            shared_files=TINY,
            stages=[spec("a", "run", 12), spec("a", "run", 12)],
        )


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([JobStatus.COMPLETED, JobStatus.COMPLETED], JobStatus.COMPLETED),
        ([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED], JobStatus.FAILED),
        ([JobStatus.COMPLETED, JobStatus.RUNNING, JobStatus.PENDING], JobStatus.RUNNING),
        ([JobStatus.PENDING, JobStatus.PENDING], JobStatus.PENDING),
        ([JobStatus.CREATED], JobStatus.CREATED),
        ([JobStatus.COMPLETED, JobStatus.CANCELLED], JobStatus.CANCELLED),
    ],
)
def test_aggregate_status(statuses: list[JobStatus], expected: JobStatus) -> None:
    assert aggregate_status(statuses) is expected


def test_settlement_marks_what_a_failure_stopped(tmp_path: object) -> None:
    base = make_store(tmp_path / "s.db", 3).list_jobs()  # type: ignore[operator]
    stages = [
        attrs.evolve(r, workflow_id="wf_x", workflow_stage=i, job_name=f"x / s{i}", slurm_job_id=str(10 + i))
        for i, r in enumerate(sorted(base, key=lambda r: r.job_id))
    ]
    stages[0] = attrs.evolve(stages[0], status=JobStatus.COMPLETED)
    stages[1] = attrs.evolve(stages[1], status=JobStatus.FAILED)
    stages[2] = attrs.evolve(stages[2], status=JobStatus.PENDING)
    group = GroupRecord(
        id="wf_x",
        name="x",
        kind="workflow",
        stages=tuple(r.job_id for r in stages),
        stage_names=("s0", "s1", "s2"),
        profile="loopback",
        created_at="",
    )
    groups = {"wf_x": group}
    assert plan_settlement(stages, {}) == ([], [])  # a group it was not given is left alone
    sweep = {"wf_x": attrs.evolve(group, kind="sweep")}
    assert plan_settlement(stages, sweep) == ([], [])  # a sweep's points are independent
    marked, cancel = plan_settlement(stages, groups)
    assert [r.workflow_stage for r in marked] == [2]
    assert marked[0].status is JobStatus.CANCELLED
    assert marked[0].error_info == "not run: stage 's1' failed"
    assert cancel == ["12"]
    again, cancel2 = plan_settlement([stages[0], stages[1], marked[0]], groups)
    assert again == []
    assert cancel2 == []


def test_scale_extrabonds_rewrites_only_spring_constants() -> None:
    text = "# ENM\nbond 0 2 0.5 3.0\n  BOND 4 6 1.0 2.5\nangle 1 2 3 10 90\n"
    assert scale_extrabonds(text, 0.01) == "# ENM\nbond 0 2 0.01 3.0\n  BOND 4 6 0.01 2.5\nangle 1 2 3 10 90\n"


def test_grid_points_are_every_combination() -> None:
    points = _grid_points({"t": [1, 2, 3], "s": ["a", "b"]})
    assert len(points) == 6
    assert {"t": 3, "s": "b"} in points
    with pytest.raises(ValidationError, match=r"grid\.t"):
        _grid_points({"t": []})


def test_grid_and_stage_assignments_are_parsed_by_the_core() -> None:
    assert parse_grid(["temperature=290, 300,310", "seed=1"]) == {"temperature": ["290", "300", "310"], "seed": ["1"]}
    with pytest.raises(ValidationError, match="--grid"):
        parse_grid(["temperature="])
    assert parse_stage_assignments(["production.temperature=310", "min.steps=24"]) == {
        "production": {"temperature": "310"},
        "min": {"steps": "24"},
    }
    with pytest.raises(ValidationError, match=r"--set.*STAGE\.KEY"):
        parse_stage_assignments(["temperature=310"])


def test_pending_array_ranges_answer_for_each_task() -> None:
    rows = _expand_arrays({"7_[0-2,5%2]": "pending", "7_3": "running"})
    assert rows["7_0"] == rows["7_2"] == rows["7_5"] == "pending"
    assert rows["7_3"] == "running"
    assert "7_4" not in rows
