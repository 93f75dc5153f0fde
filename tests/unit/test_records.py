"""job_info.json: the desktop app's schema both ways, and untrusted input refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from benchmarks._fixtures import make_store
from namdrunner_core.errors import ValidationError
from namdrunner_core.job_info import job_info, parse_memory_gb, record_from_job_info
from namdrunner_core.jobs.prepare import make_job_id
from namdrunner_core.slurm.states import JobStatus

ROOTS = {"jobs_root": "/projects/jdoe/namdrunner_jobs", "scratch_root": "/scratch/alpine/jdoe/namdrunner_jobs"}

# What the desktop app writes (field names and spellings of its job record).
APP_DOC: dict[str, Any] = {
    "job_id": "test2_1765444671482768",
    "job_name": "test2",
    "status": "COMPLETED",
    "slurm_job_id": "18290123",
    "created_at": "2025-12-11T09:17:51.482768Z",
    "updated_at": "2025-12-11T10:01:00Z",
    "submitted_at": "2025-12-11T09:18:00Z",
    "completed_at": "2025-12-11T10:00:00Z",
    "project_dir": "/projects/jdoe/namdrunner_jobs/test2_1765444671482768",
    "scratch_dir": "/scratch/alpine/jdoe/namdrunner_jobs/test2_1765444671482768",
    "error_info": None,
    "slurm_stdout": "done\n",
    "slurm_stderr": "",
    "template_id": "vacuum_optimization_v1",
    "template_values": {"temperature": 300, "steps": 4800},
    "slurm_config": {"cores": 24, "memory": "16", "walltime": "04:00:00", "partition": "amilan", "qos": "normal"},
    "input_files": ["hextube.psf", "hextube.pdb"],
    "output_files": [{"name": "vacuum_opt.coor", "size": 100, "modified_at": "2025-12-11T10:00:00Z"}],
}


def parse(doc: dict[str, Any], dir_name: str = "test2_1765444671482768") -> Any:
    return record_from_job_info(doc, profile="alpine", remote_user="jdoe", dir_name=dir_name, **ROOTS)


def test_reads_a_desktop_app_job() -> None:
    r = parse(APP_DOC)
    assert r.status is JobStatus.COMPLETED
    assert r.resources.memory_gb == 16
    assert r.resources.cores == 24
    assert r.slurm_job_id == "18290123"
    assert r.finalized
    assert r.output_files[0].name == "vacuum_opt.coor"


def test_written_json_reads_back_the_same(tmp_path: Any) -> None:
    rec = make_store(tmp_path / "s.db", 3).list_jobs()[0]
    doc = job_info(rec)
    assert doc["slurm_config"]["memory"] == "16GB"
    assert doc["status"] in {"CREATED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"}
    roots = {"jobs_root": rec.project_dir.rsplit("/", 1)[0], "scratch_root": rec.scratch_dir.rsplit("/", 1)[0]}
    doc["project_dir"] = f"{roots['jobs_root']}/{rec.job_id}"
    doc["scratch_dir"] = f"{roots['scratch_root']}/{rec.job_id}"
    back = record_from_job_info(
        json.loads(json.dumps(doc)), profile=rec.profile, remote_user=rec.remote_user, dir_name=rec.job_id, **roots
    )
    assert back.status is rec.status
    assert back.resources == rec.resources
    assert back.progress == rec.progress
    assert back.created_at == rec.created_at


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"job_id": "../etc"}, "job_id"),
        ({"job_id": "other_1"}, "job_id"),
        ({"project_dir": "/etc"}, "project_dir"),
        ({"project_dir": "/projects/jdoe/namdrunner_jobs/../../x"}, "project_dir"),
        ({"scratch_dir": "/home/jdoe"}, "scratch_dir"),
        ({"status": "Exploded"}, "status"),
        ({"slurm_config": {"cores": "many"}}, "slurm_config.cores"),
        ({"slurm_config": {"cores": 2, "memory": "lots", "walltime": "01:00:00"}}, "slurm_config.memory"),
        ({"slurm_job_id": "1; rm -rf ~"}, "slurm_job_id"),
        ({"created_at": 12}, "created_at"),
        ({"input_files": "x"}, "input_files"),
    ],
)
def test_untrusted_json_is_refused(change: dict[str, Any], field: str) -> None:
    doc = copy.deepcopy(APP_DOC)
    doc.update(change)
    with pytest.raises(ValidationError) as err:
        parse(doc)
    assert err.value.field == field


@pytest.mark.parametrize(("text", "gb"), [("16", 16), ("16GB", 16), ("2048MB", 2), ("1T", 1024), (8, 8)])
def test_memory_strings(text: object, gb: float) -> None:
    assert parse_memory_gb(text) == gb


def test_job_ids_from_any_printable_name() -> None:
    assert make_job_id("hex tube: min #1").startswith("hex_tube_min_1_")
    assert make_job_id("..").startswith("job_")
    assert make_job_id("ünïcode").split("_")[0] in ("n", "job")
    with pytest.raises(ValidationError, match="name"):
        make_job_id("   ")
    with pytest.raises(ValidationError, match="control"):
        make_job_id("a\nb")
