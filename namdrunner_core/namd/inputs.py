"""Input files: kinds by extension, safe names, and cheap content checks with clear errors."""

from __future__ import annotations

import enum
import re
from pathlib import Path

from namdrunner_core.errors import ValidationError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: NAMD reads its config through Tcl: these would be substituted or executed there.
TCL_SPECIAL = re.compile(r'[\[\]{}$"\\;]')


class FileKind(enum.StrEnum):
    """What an input file is, by its extension."""

    STRUCTURE = "structure"  # .psf
    COORDINATES = "coordinates"  # .pdb
    PARAMETERS = "parameters"  # .prm .par .str .inp
    EXTRABONDS = "extrabonds"  # .exb .enm.extra .extra
    BINARY_COORDINATES = "binary_coordinates"  # .coor
    BINARY_VELOCITIES = "binary_velocities"  # .vel
    EXTENDED_SYSTEM = "extended_system"  # .xsc
    OTHER = "other"


_KINDS: list[tuple[tuple[str, ...], FileKind]] = [
    ((".enm.extra", ".extra", ".exb"), FileKind.EXTRABONDS),
    ((".psf",), FileKind.STRUCTURE),
    ((".pdb",), FileKind.COORDINATES),
    ((".prm", ".par", ".str", ".inp", ".rtf"), FileKind.PARAMETERS),
    ((".coor",), FileKind.BINARY_COORDINATES),
    ((".vel",), FileKind.BINARY_VELOCITIES),
    ((".xsc",), FileKind.EXTENDED_SYSTEM),
]


def file_kind(name: str) -> FileKind:
    """The kind of an input file from its name."""
    lower = name.lower()
    for exts, kind in _KINDS:
        if lower.endswith(exts):
            return kind
    return FileKind.OTHER


def check_file_name(name: str, *, field: str = "file") -> str:
    """Refuse names with path separators, a leading dash, control characters, '..' or nothing.

    Spaces are allowed (they are quoted wherever they reach a shell).
    """
    if not name or not name.strip():
        raise ValidationError(field, "the file name is empty")
    if "/" in name or "\\" in name:
        raise ValidationError(field, f"{name!r} holds a path separator; give the file's name only")
    if name.startswith("-"):
        raise ValidationError(field, f"{name!r} starts with '-'; rename the file")
    if _CONTROL.search(name):
        raise ValidationError(field, f"{name!r} holds control characters; rename the file")
    if TCL_SPECIAL.search(name):
        raise ValidationError(
            field, f"{name!r} holds one of [ ] {{ }} $ \" \\ ; which NAMD's Tcl would interpret; rename the file"
        )
    if name in (".", "..") or name.startswith("."):
        raise ValidationError(field, f"{name!r} is hidden or special; rename the file")
    if len(name.encode()) > 255:
        raise ValidationError(field, f"{name[:40]!r}... is longer than 255 bytes")
    return name


def _count_pdb_atoms(path: Path) -> int:
    n = 0
    with path.open("rb") as fh:
        for line in fh:
            if line.startswith((b"ATOM  ", b"HETATM", b"ATOM", b"HETATM")):
                n += 1
    return n


def _psf_natom(path: Path) -> int:
    with path.open("rb") as fh:
        first = fh.readline()
        if not first.startswith(b"PSF"):
            raise ValidationError(path.name, "not a PSF file: the first line must start with 'PSF'")
        for line in fh:
            if b"!NATOM" in line:
                try:
                    return int(line.split()[0])
                except (ValueError, IndexError):
                    raise ValidationError(path.name, "PSF '!NATOM' line has no atom count") from None
    raise ValidationError(path.name, "PSF file has no '!NATOM' section")


def _is_text(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(65536)
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the block is still text.
        return exc.start >= len(head) - 3
    return True


def check_input_files(paths: list[Path]) -> dict[str, FileKind]:
    """Check every input file exists, has a safe name and plausible content.

    PDB: ATOM/HETATM records; PSF: 'PSF' header and '!NATOM'; PSF and PDB atom counts agree;
    parameter and extra-bonds files are text; binary coordinates have NAMD's size (4 + 24 x atoms).
    Returns the kinds by file name.
    """
    kinds: dict[str, FileKind] = {}
    counts: dict[str, int] = {}
    for path in paths:
        name = check_file_name(path.name, field=f"file {path.name}")
        if name in kinds:
            raise ValidationError(f"file {name}", "given twice; every input file needs a distinct name")
        if not path.is_file():
            raise ValidationError(f"file {name}", f"not found at {path}")
        kind = file_kind(name)
        kinds[name] = kind
        if kind is FileKind.COORDINATES:
            n = _count_pdb_atoms(path)
            if n == 0:
                raise ValidationError(f"file {name}", "PDB has no ATOM or HETATM records")
            counts["pdb"] = n
        elif kind is FileKind.STRUCTURE:
            counts["psf"] = _psf_natom(path)
        elif kind in (FileKind.PARAMETERS, FileKind.EXTRABONDS) and not _is_text(path):
            raise ValidationError(f"file {name}", f"a {kind.value} file must be text; this one is binary")
        elif kind in (FileKind.BINARY_COORDINATES, FileKind.BINARY_VELOCITIES):
            size = path.stat().st_size
            if size < 4 or (size - 4) % 24:
                raise ValidationError(f"file {name}", f"{size} bytes is not a NAMD binary file (4 + 24 x atoms)")
            counts[name] = (size - 4) // 24
    if "pdb" in counts and "psf" in counts and counts["pdb"] != counts["psf"]:
        raise ValidationError(
            "files",
            f"the PSF has {counts['psf']} atoms but the PDB has {counts['pdb']}: they must describe one system",
        )
    for key, n in counts.items():
        if key not in ("pdb", "psf") and "psf" in counts and n != counts["psf"]:
            raise ValidationError(f"file {key}", f"holds {n} atoms but the PSF has {counts['psf']}")
    return kinds
