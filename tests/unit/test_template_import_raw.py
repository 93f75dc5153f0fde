"""A raw .namd config becomes a template: its files become file variables, obvious numbers typed
variables, and `template preview` with the defaults gives the config back line for line."""

from __future__ import annotations

from pathlib import Path

import pytest

from namdrunner_core.errors import ValidationError
from namdrunner_core.namd.config import VariableType, preview_config, render_config
from namdrunner_core.namd.template_files import template_from_namd_config
from namdrunner_core.store import JobStore
from namdrunner_core.template_library import export_template, import_template_file

RAW = """\
# CHARMM-GUI style production, with a Tcl block and a sourced include
structure\t\t../step5_input.psf
coordinates ../step5_input.pdb
set temp 303.15;
parameters toppar/par_all36m_prot.prm
parameters toppar/toppar_water_ions.str
source ../common.inc
bincoordinates step4.restart.coor
binvelocities step4.restart.vel
extendedSystem step4.restart.xsc
outputName step5_production
langevinTemp $temp
dcdfreq 5000;
restartfreq 5000
outputEnergies 1000
if {[info exists env(NR)]} {
    puts "{# not jinja #} and {{ not jinja }} and {% neither %}"
}
run 50000000;
"""


def test_files_become_file_variables_and_numbers_typed_variables() -> None:
    t = template_from_namd_config(RAW, template_id="prod", source="prod.namd")
    by_key = {v.key: v for v in t.variables}
    files = {k: (v.extensions, v.original) for k, v in by_key.items() if v.type is VariableType.FILE}
    assert files == {
        "structure": ([".psf"], "../step5_input.psf"),
        "coordinates": ([".pdb"], "../step5_input.pdb"),
        "parameters": ([".prm"], "toppar/par_all36m_prot.prm"),
        "parameters_2": ([".str"], "toppar/toppar_water_ions.str"),
        "source": ([".inc"], "../common.inc"),
        "restart_coordinates": ([".coor"], "step4.restart.coor"),
        "restart_velocities": ([".vel"], "step4.restart.vel"),
        "restart_xsc": ([".xsc"], "step4.restart.xsc"),
    }
    assert (by_key["steps"].type, by_key["steps"].default) == (VariableType.INTEGER, 50_000_000)
    assert by_key["dcd_freq"].default == 5000
    assert by_key["energy_freq"].default == 1000
    assert "temperature" not in by_key  # langevinTemp $temp is Tcl's, left as written


def test_preview_with_defaults_reproduces_the_config_line_for_line() -> None:
    t = template_from_namd_config(RAW, template_id="prod")
    assert preview_config(t, {}) == RAW
    crlf = template_from_namd_config(RAW.replace("\n", "\r\n"), template_id="prod_crlf")
    assert preview_config(crlf, {}) == RAW


def test_rendering_for_a_job_points_at_the_uploaded_inputs() -> None:
    t = template_from_namd_config(RAW, template_id="prod")
    values = {
        "structure": "sys.psf",
        "coordinates": "sys.pdb",
        "parameters": "par.prm",
        "parameters_2": "water.str",
        "source": "common.inc",
        "restart_coordinates": "a.coor",
        "restart_velocities": "a.vel",
        "restart_xsc": "a.xsc",
        "steps": 1000,
    }
    text = render_config(t, values)
    assert "structure\t\tinput_files/sys.psf\n" in text
    assert "source input_files/common.inc\n" in text
    assert "run 1000;\n" in text
    assert "{# not jinja #} and {{ not jinja }} and {% neither %}" in text


def test_numbers_that_would_not_render_back_stay_literal() -> None:
    t = template_from_namd_config("temperature 310.0\nrun 1000\nrun 2000\n", template_id="x")
    assert [v.key for v in t.variables] == []  # "310.0" would render "310"; two runs: no single "steps"
    assert preview_config(t, {}) == "temperature 310.0\nrun 1000\nrun 2000\n"


def test_import_file_kinds_and_errors(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "s.db")
    raw = tmp_path / "my equil.namd"
    raw.write_text(RAW)
    t = import_template_file(store, raw)
    assert t.id == "my_equil"
    assert store.get_template("my_equil").variables == t.variables
    bad = tmp_path / "latin1.namd"
    bad.write_bytes("structure caf\xe9.psf\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="not UTF-8"):
        import_template_file(store, bad)
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(ValidationError, match=r"notes\.txt: neither a template .* nor a NAMD config"):
        import_template_file(store, other)
    # decided by content, never by the name: Longbow's benchmark.in, a .namd.tcl, a config without suffix
    for name in ("benchmark.in", "r2.namd.tcl", "equilibrate"):
        path = tmp_path / name
        path.write_text(RAW)
        assert import_template_file(store, path).variables == t.variables
    # a TOML template whose name says .txt is still a template
    exported = tmp_path / "exported.txt"
    exported.write_text(export_template(store, "my_equil").replace('id = "my_equil"', 'id = "my_copy"'))
    assert import_template_file(store, exported).id == "my_copy"
    with pytest.raises(ValidationError, match="builtin"):
        import_template_file(store, raw, template_id="vacuum_optimization_v1")
