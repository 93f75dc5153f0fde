"""Input files: kinds, safe names, and content checks with clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from namdrunner_core.errors import ValidationError
from namdrunner_core.namd.inputs import FileKind, check_file_name, check_input_files, file_kind
from tests.conftest import DATA


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.psf", FileKind.STRUCTURE),
        ("a.PDB", FileKind.COORDINATES),
        ("par.prm", FileKind.PARAMETERS),
        ("x.str", FileKind.PARAMETERS),
        ("h.exb", FileKind.EXTRABONDS),
        ("h_k0.5.enm.extra", FileKind.EXTRABONDS),
        ("a.coor", FileKind.BINARY_COORDINATES),
        ("a.vel", FileKind.BINARY_VELOCITIES),
        ("a.xsc", FileKind.EXTENDED_SYSTEM),
        ("notes.txt", FileKind.OTHER),
    ],
)
def test_kinds(name: str, kind: FileKind) -> None:
    assert file_kind(name) is kind


@pytest.mark.parametrize(
    "bad",
    ["", "a/b.pdb", "a\\b.pdb", "-rf.pdb", "a\nb.pdb", "..", ".hidden", "x\x00.pdb", "a$b.pdb", "[x].pdb", "a;b.pdb"],
)
def test_unsafe_names_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        check_file_name(bad)


def test_spaces_are_allowed() -> None:
    assert check_file_name("hex tube.pdb") == "hex tube.pdb"


def tiny(tmp_path: Path) -> list[Path]:
    out = []
    for f in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb"):
        shutil.copy(DATA / "tiny" / f, tmp_path / f)
        out.append(tmp_path / f)
    return out


def test_good_set_passes(tmp_path: Path) -> None:
    kinds = check_input_files(tiny(tmp_path))
    assert kinds["tiny.psf"] is FileKind.STRUCTURE


def test_pdb_without_atoms(tmp_path: Path) -> None:
    files = tiny(tmp_path)
    (tmp_path / "tiny.pdb").write_text("REMARK nothing\nEND\n")
    with pytest.raises(ValidationError, match="no ATOM or HETATM"):
        check_input_files(files)


def test_psf_without_header(tmp_path: Path) -> None:
    files = tiny(tmp_path)
    (tmp_path / "tiny.psf").write_text("hello\n")
    with pytest.raises(ValidationError, match="first line must start with 'PSF'"):
        check_input_files(files)


def test_atom_counts_must_agree(tmp_path: Path) -> None:
    files = tiny(tmp_path)
    pdb = (tmp_path / "tiny.pdb").read_text().splitlines()
    (tmp_path / "tiny.pdb").write_text("\n".join([*pdb[:-3], "END"]) + "\n")
    with pytest.raises(ValidationError, match="PSF has 12 atoms but the PDB has 10"):
        check_input_files(files)


def test_binary_parameters_refused(tmp_path: Path) -> None:
    files = tiny(tmp_path)
    (tmp_path / "par_tiny.prm").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(ValidationError, match="must be text"):
        check_input_files(files)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not found"):
        check_input_files([tmp_path / "nope.pdb"])
