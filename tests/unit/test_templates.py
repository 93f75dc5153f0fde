"""Builtin templates render configs that NAMD would read with the intended physics."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from namdrunner_core.errors import NotFoundError, ValidationError
from namdrunner_core.namd.config import preflight, read_config, render_config, total_steps
from namdrunner_core.namd.template_files import (
    builtin_template,
    builtin_templates,
    template_from_text,
    template_to_text,
)
from tests.namd_checker import on, read_keywords

FILES = {"structure": "hextube.psf", "coordinates": "hextube.pdb", "parameters": "par_all36_na.prm"}


def render(tid: str, **values: Any) -> tuple[dict[str, list[str]], list[tuple[str, int]], str]:
    text = render_config(builtin_template(tid), {**FILES, **values})
    keys, commands = read_keywords(text)
    return keys, commands, text


def test_builtins_are_there() -> None:
    assert {"vacuum_optimization_v1", "explicit_solvent_npt_v1"} <= set(builtin_templates())
    with pytest.raises(NotFoundError):
        builtin_template("nope")


def test_vacuum_physics() -> None:
    keys, commands, text = render("vacuum_optimization_v1", extrabonds="hextube.exb")
    assert not on(keys, "PME")
    assert not on(keys, "langevinPiston")
    assert keys["margin"] == ["30"]
    assert keys["langevindamping"] == ["0.1"]
    assert keys["fullelectfrequency"] == ["3"]
    assert keys["extrabondsfile"] == ["input_files/hextube.exb"]
    assert on(keys, "extraBonds")
    assert keys["outputname"] == ["outputs/vacuum_opt"]
    assert commands == [("minimize", 4800)]
    assert preflight(text) == []


def test_npt_physics_has_cell_with_pme_and_separate_frequencies() -> None:
    keys, commands, text = render(
        "explicit_solvent_npt_v1",
        execution_command="run",
        steps=2400,
        dcd_freq=600,
        xst_freq=300,
        energy_freq=120,
        pressure_freq=240,
        restart_freq=1200,
    )
    assert on(keys, "PME")
    assert keys["cellbasisvector1"] == ["124 0 0"]
    assert keys["cellbasisvector3"] == ["0 0 323"]
    assert on(keys, "langevinPiston")
    assert keys["langevinpistontarget"] == ["1.01325"]
    assert (keys["dcdfreq"], keys["xstfreq"], keys["outputenergies"], keys["outputpressure"], keys["restartfreq"]) == (
        ["600"],
        ["300"],
        ["120"],
        ["240"],
        ["1200"],
    )
    assert commands == [("run", 2400)]
    assert "extrabonds" not in keys  # no restraint file, no extraBonds block
    assert preflight(text) == []


def test_nvt_and_vacuum_switches() -> None:
    keys, _, _ = render("explicit_solvent_npt_v1", pme=False, pressure_control=False)
    assert not on(keys, "PME")
    assert "langevinpiston" not in keys
    assert "outputpressure" not in keys


def test_restart_mode_reads_binaries_without_temperature() -> None:
    keys, _commands, text = render(
        "explicit_solvent_npt_v1",
        execution_command="run",
        steps=1200,
        first_timestep=4800,
        restart_coordinates="prev.restart.coor",
        restart_velocities="prev.restart.vel",
        restart_xsc="prev.restart.xsc",
    )
    assert keys["bincoordinates"] == ["input_files/prev.restart.coor"]
    assert keys["binvelocities"] == ["input_files/prev.restart.vel"]
    assert keys["extendedsystem"] == ["input_files/prev.restart.xsc"]
    assert keys["firsttimestep"] == ["4800"]
    assert "temperature" not in keys
    assert preflight(text) == []


def test_file_names_with_spaces_stay_one_word() -> None:
    keys, _, _ = render("vacuum_optimization_v1", structure="hex tube.psf")
    assert keys["structure"] == ["input_files/hex tube.psf"]


@pytest.mark.parametrize(
    ("values", "field", "fragment"),
    [
        ({"temperature": 500}, "temperature", "above the maximum 400"),
        ({"temperature": "warm"}, "temperature", "not a number"),
        ({"steps": 12.5}, "steps", "whole number"),
        ({"execution_command": "equilibrate"}, "execution_command", "one of minimize, run"),
        ({"structure": "x.pdb"}, "structure", "must end in .psf"),
        ({"structure": "../x.psf"}, "structure", "path separator"),
        ({"structure": "-x.psf"}, "structure", "starts with '-'"),
        ({"pme": "maybe"}, "pme", "true/false"),
        ({"nonsense": 1}, "nonsense", "has no variable"),
        ({"output_name": "x[exec rm -rf ~]"}, "output_name", "NAMD's Tcl"),
        ({"output_name": "out$HOME"}, "output_name", "NAMD's Tcl"),
        ({"structure": "a[1].psf"}, "structure", "NAMD's Tcl"),
    ],
)
def test_bad_values_name_the_variable(values: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        render_config(builtin_template("explicit_solvent_npt_v1"), {**FILES, **values})
    assert err.value.field == field
    assert fragment in str(err.value)


def test_missing_required_file() -> None:
    with pytest.raises(ValidationError, match="structure: is required"):
        render_config(builtin_template("vacuum_optimization_v1"), {"coordinates": "a.pdb", "parameters": "p.prm"})


def test_preflight_catches_what_namd_refuses() -> None:
    base = "structure a.psf\ncoordinates a.pdb\nparameters p.prm\noutputName o\ncutoff 12\nexclude scaled1-4\n"
    assert any("PME requires periodic" in p for p in preflight(base + "PME yes\nPMEGridSpacing 1\ntemperature 300\n"))
    assert any("extraBondsFile" in p for p in preflight(base + "extraBonds on\ntemperature 300\n"))
    assert any("both an initial temperature" in p for p in preflight(base + "temperature 3\nbinvelocities a.vel\n"))
    assert any("multiple of stepspercycle" in p for p in preflight(base + "temperature 3\nstepspercycle 12\nrun 100\n"))
    assert any("defined more than once" in p for p in preflight(base + "cutoff 10\ntemperature 3\n"))
    assert any(
        "'outputName' is a required" in p for p in preflight(base.replace("outputName o\n", "") + "temperature 1\n")
    )


def test_reader_follows_set_and_comments() -> None:
    cfg = read_config("set t 310\nlangevinTemp $t ;# K\nTimeStep 2 # fs\n# run 10\nrun 20\n")
    assert cfg.get("langevintemp") == "310"
    assert cfg.get("TIMESTEP") == "2"
    assert cfg.commands == [("run", 20)]
    assert total_steps("minimize 10\nrun 20\n") == 30


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_export_import_round_trip(fmt: str) -> None:
    t = builtin_template("explicit_solvent_npt_v1")
    back = template_from_text(template_to_text(t, fmt=fmt), fmt=fmt, source="x")  # type: ignore[arg-type]
    assert back.variables == t.variables
    assert back.text == t.text
    assert back.builtin is False


def test_import_errors_name_the_key() -> None:
    with pytest.raises(ValidationError, match=r"variables\[0\]"):
        template_from_text(
            '{"id": "x", "name": "n", "text": "t", "variables": [{"key": "a"}]}', fmt="json", source="mine.json"
        )


@settings(max_examples=60, deadline=None)
@given(
    temperature=st.floats(200, 400, allow_nan=False),
    damping=st.floats(0.1, 10),
    cell=st.tuples(st.integers(10, 500), st.integers(10, 500), st.integers(10, 500)),
    cycles=st.integers(1, 1000),
    pme=st.booleans(),
    npt=st.booleans(),
    run=st.booleans(),
)
def test_render_then_parse_round_trips(
    temperature: float, damping: float, cell: tuple[int, int, int], cycles: int, pme: bool, npt: bool, run: bool
) -> None:
    keys, commands, text = render(
        "explicit_solvent_npt_v1",
        temperature=temperature,
        langevin_damping=damping,
        cell_x=cell[0],
        cell_y=cell[1],
        cell_z=cell[2],
        steps=12 * cycles,
        pme=pme,
        pressure_control=npt,
        execution_command="run" if run else "minimize",
    )
    assert float(keys["langevintemp"][0]) == pytest.approx(temperature)
    assert float(keys["langevindamping"][0]) == pytest.approx(damping)
    assert [float(x) for x in keys["cellbasisvector2"][0].split()] == [0, cell[1], 0]
    assert on(keys, "PME") is pme
    assert on(keys, "langevinPiston") is npt
    assert commands == [("run" if run else "minimize", 12 * cycles)]
    assert preflight(text) == []
