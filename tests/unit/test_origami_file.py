"""The DNA-origami ladder as a shipped workflow file (issue 15): the file, planned through the general
workflow-file path, gives exactly what the dedicated code gave before (a golden snapshot taken from
that code: every stage's config, batch script, values, inputs and the scaled ENM files' bytes)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from namdrunner_core.profile import load_profile
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.workflow import WorkflowPlan, origami_inputs, origami_plan

GOLDEN = Path(__file__).parent / "golden" / "origami_ladder_plan.json"
TINY = Path(__file__).resolve().parent.parent / "data" / "tiny"


def _ts(value: Any) -> Any:
    """Ids carry the time they were made: normalised."""
    text = json.dumps(value, sort_keys=True, default=str)
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
