"""The NAMDRunner desktop app's own job_info.json shapes (tests/fixtures/namdrunner-app, see its
SOURCES.md): its four documents are read with the right states and values, and every document
namdrunner writes is accepted by the app's reader (its JSON Schema)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest

from benchmarks._fixtures import make_store
from namdrunner_core.job_info import job_info, record_from_job_info
from namdrunner_core.models import JobRecord, OutputFile
from namdrunner_core.namd.config import validate_values
from namdrunner_core.namd.template_files import builtin_template
from namdrunner_core.slurm.states import JobStatus

APP = Path(__file__).resolve().parent.parent / "fixtures" / "namdrunner-app"
SCHEMA = json.loads((APP / "job_info.schema.json").read_text())
ROOTS = {"jobs_root": "/projects/jdoe/namdrunner_jobs", "scratch_root": "/scratch/alpine/jdoe/namdrunner_jobs"}
STATES = {
    "created": JobStatus.CREATED,
    "running": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
}


def app_doc(state: str) -> dict[str, Any]:
    doc = json.loads((APP / f"job_info.{state}.json").read_text())
    assert isinstance(doc, dict)
    return doc


def read(doc: dict[str, Any]) -> JobRecord:
    return record_from_job_info(doc, profile="alpine", remote_user="jdoe", dir_name=doc["job_id"], **ROOTS)


@pytest.mark.parametrize("state", sorted(STATES))
def test_the_apps_documents_are_read_with_their_states(state: str) -> None:
    doc = app_doc(state)
    jsonschema.validate(doc, SCHEMA)  # the fixture is what the app accepts
    r = read(doc)
    assert r.status is STATES[state]
    assert r.finalized is STATES[state].is_terminal
    assert r.resources.memory_gb == 16
    # the app's keys become the template's variable keys, and validate as such
    assert r.template_values["structure"] == "hextube.psf"
    assert "structure_file" not in r.template_values
    checked = validate_values(builtin_template("vacuum_optimization_v1"), r.template_values)
    assert checked["steps"] == 4800
    assert checked["extrabonds"] == "hextube.exb"


def test_the_app_keys_are_accepted_as_values_too() -> None:
    t = builtin_template("explicit_solvent_npt_v1")
    files = {"structure_file": "a.psf", "coordinates_file": "a.pdb", "parameters_file": "a.prm"}
    checked = validate_values(t, {**files, "output_energies_freq": 500.0, "steps": 2400.0})
    assert (checked["structure"], checked["energy_freq"], checked["steps"]) == ("a.psf", 500, 2400)
    with pytest.raises(Exception, match="given twice"):
        validate_values(t, {**files, "structure": "b.psf"})


@pytest.mark.parametrize("status", list(JobStatus))
def test_every_document_we_write_is_accepted_by_the_app(status: JobStatus, tmp_path: Path) -> None:
    rec = make_store(tmp_path / "s.db", 1).list_jobs()[0]
    rec = attrs.evolve(
        rec,
        project_dir=f"/projects/nrtest/namdrunner_jobs/{rec.job_id}",
        scratch_dir=f"/scratch/nrtest/namdrunner_jobs/{rec.job_id}",
        status=status,
        template_id="vacuum_optimization_v1",
        template_values={"structure": "a.psf", "energy_freq": 100, "steps": 4800},
        output_files=[OutputFile("outputs/a.coor", 10, None), OutputFile("outputs/a.dcd", 20, "2026-11-20T11:00:00Z")],
    )
    doc = json.loads(json.dumps(job_info(rec)))
    jsonschema.validate(doc, SCHEMA)
    assert doc["status"] == ("RUNNING" if status is JobStatus.UNKNOWN else status.value.upper())
    assert doc["template_values"] == {"structure_file": "a.psf", "output_energies_freq": 100, "steps": 4800}
    roots = {"jobs_root": rec.project_dir.rsplit("/", 1)[0], "scratch_root": rec.scratch_dir.rsplit("/", 1)[0]}
    back = record_from_job_info(doc, profile=rec.profile, remote_user=rec.remote_user, dir_name=rec.job_id, **roots)
    assert back.status is status  # our own spelling rides along in the "namdrunner" part
    assert back.template_values == rec.template_values
    assert back.output_files == rec.output_files


def test_app_documents_without_optional_dirs_use_the_layout() -> None:
    doc = app_doc("created")
    del doc["project_dir"]
    doc["scratch_dir"] = None
    r = read(doc)
    assert r.project_dir == f"{ROOTS['jobs_root']}/{doc['job_id']}"
    assert r.scratch_dir == f"{ROOTS['scratch_root']}/{doc['job_id']}"


APP_TEMPLATE = {
    "id": "lab_min_v1",
    "name": "Lab minimization",
    "description": "as the desktop app exports it",
    "namd_config_template": (
        "structure          input_files/{{structure_file}}\n"
        "coordinates        input_files/{{coordinates_file}}\n"
        "parameters         {{parameters_file}}\n"
        "temperature        {{temperature}}\n"
        "outputName         outputs/{{output_name}}\n"
        "exclude scaled1-4\ncutoff 12\n"
        "{{execution_command}} {{steps}}\n"
    ),
    "variables": {
        "structure_file": {"FileUpload": {"extensions": [".psf"]}},
        "coordinates_file": {"FileUpload": {"extensions": ["pdb"]}},
        "parameters_file": {"FileUpload": {"extensions": [".prm", ".str"]}},
        "temperature": {"Number": {"min": 0.0, "max": 1000.0, "default": 300.0}},
        "output_name": {"Text": {"default": "min"}},
        "execution_command": {"Text": {"default": "minimize"}},
        "steps": {"Number": {"min": 0.0, "max": 1e9, "default": 4800.0}},
    },
    "created_at": "2026-11-20T10:00:00Z",
    "updated_at": "2026-11-20T10:00:00Z",
}


def test_the_apps_template_json_imports(tmp_path: Path) -> None:
    from namdrunner_core.namd.config import VariableType, render_config
    from namdrunner_core.store import JobStore
    from namdrunner_core.template_library import import_template_file

    path = tmp_path / "lab_min_v1.json"
    path.write_text(json.dumps(APP_TEMPLATE))
    t = import_template_file(JobStore(tmp_path / "s.db"), path)
    assert t.id == "lab_min_v1"
    kinds = {v.key: (v.type, v.extensions, v.default) for v in t.variables}
    assert kinds["coordinates_file"] == (VariableType.FILE, [".pdb"], None)
    assert kinds["temperature"] == (VariableType.NUMBER, [], 300.0)
    text = render_config(t, {"structure_file": "a.psf", "coordinates_file": "a.pdb", "parameters_file": "a.prm"})
    assert "structure          input_files/a.psf\n" in text  # never input_files/input_files/
    assert "parameters         input_files/a.prm\n" in text
    assert "temperature        300\n" in text
    assert text.endswith("minimize 4800\n")
