"""NAMD's trajectories, read frame by frame: the CHARMM/NAMD DCD format (Fortran records, either byte
order, with or without the unit cell) and reference coordinates from a PDB or a NAMD binary ``.coor``.
A 20 GB DCD is never held in memory: :meth:`Dcd.chunks` yields a few frames at a time.

Layout (NAMD's ``dcdlib``): a record ``CORD`` + 20 int32 (frames, first step, steps between frames, ...,
fixed atoms at [8], the timestep as float32 at [9], "has a unit cell" at [10], 4D at [11], the CHARMM
version at [19]); a title record; a record with the atom count; then per frame an optional 48-byte cell
record and three records of float32 (x, y, z). The frame count in the header may lag a file still being
written: the frames are counted from the file's size, and a partly written last frame is left out."""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from namdrunner_core.errors import ValidationError

#: frames read at once by default (as float64 coordinates)
CHUNK_BYTES = 8 << 20


@dataclasses.dataclass(frozen=True, slots=True)  # stdlib: this module also runs on a node (remote.py)
class Dcd:
    """A DCD's header, and where its frames are."""

    path: Path
    atoms: int
    frames: int
    first_step: int
    step_interval: int
    timestep: float
    has_cell: bool
    #: ``<`` or ``>``
    order: str
    header_bytes: int
    frame_bytes: int
    #: bytes after the last whole frame (a frame being written): left out
    partial_bytes: int

    def steps(self) -> NDArray[np.float64]:
        """The step of each frame (first step + i * steps between frames)."""
        return self.first_step + self.step_interval * np.arange(self.frames, dtype=np.float64)

    def chunks(self, frames_per_chunk: int | None = None) -> Iterator[tuple[int, NDArray[np.float64]]]:
        """``(index of the first frame, coordinates[frames, atoms, 3])`` for a few frames at a time."""
        per = frames_per_chunk or max(1, CHUNK_BYTES // max(1, 24 * self.atoms))
        n, order = self.atoms, self.order
        with self.path.open("rb") as fh:
            fh.seek(self.header_bytes)
            for start in range(0, self.frames, per):
                count = min(per, self.frames - start)
                words = np.frombuffer(fh.read(count * self.frame_bytes), dtype=f"{order}f4")
                words = words.reshape(count, self.frame_bytes // 4)
                skip = (56 // 4) if self.has_cell else 0  # the cell record: marker, 6 doubles, marker
                xyz = np.empty((count, n, 3), dtype=np.float64)
                for axis in range(3):
                    begin = skip + 1 + axis * (n + 2)
                    xyz[:, :, axis] = words[:, begin : begin + n]
                yield start, xyz


def _record(fh: object, order: str, path: Path, what: str) -> bytes:
    read = fh.read  # type: ignore[attr-defined]
    head = read(4)
    if len(head) < 4:
        raise ValidationError("dcd", f"{path}: ends inside its header ({what}); is the file whole?")
    (size,) = struct.unpack(f"{order}i", head)
    body = read(size)
    tail = read(4)
    if len(body) < size or len(tail) < 4 or struct.unpack(f"{order}i", tail)[0] != size:
        raise ValidationError("dcd", f"{path}: its {what} record is damaged; is it a DCD?")
    return bytes(body)


def open_dcd(path: Path) -> Dcd:
    """Read a DCD's header (one clear error naming the file when it is not a DCD NAMD can write)."""
    if not path.is_file():
        raise ValidationError("dcd", f"{path}: no such file")
    with path.open("rb") as fh:
        first = fh.read(8)
        order = next((o for o in "<>" if len(first) == 8 and struct.unpack(f"{o}i", first[:4])[0] == 84), None)
        if order is None or first[4:8] != b"CORD":
            raise ValidationError("dcd", f"{path}: not a DCD trajectory (no CORD header); give NAMD's dcdFile")
        fh.seek(0)
        head = _record(fh, order, path, "header")
        icntrl = struct.unpack(f"{order}9if10i", head[4:84])
        if icntrl[11]:
            raise ValidationError("dcd", f"{path}: a 4D DCD (CHARMM's 4th dimension) is not a NAMD trajectory")
        if icntrl[8]:
            raise ValidationError("dcd", f"{path}: it has {icntrl[8]} fixed atoms written once; write it "
                                  "with all atoms moving (NAMD's DCD of a run without fixedAtoms)")  # fmt: skip
        _record(fh, order, path, "title")
        (atoms,) = struct.unpack(f"{order}i", _record(fh, order, path, "atom count"))
        header_bytes = fh.tell()
    has_cell = bool(icntrl[10])
    frame_bytes = (56 if has_cell else 0) + 3 * (4 * atoms + 8)
    body = path.stat().st_size - header_bytes
    frames, partial = divmod(max(0, body), frame_bytes)
    return Dcd(path, atoms, frames, icntrl[1], max(1, icntrl[2]), icntrl[9], has_cell, order, header_bytes,
               frame_bytes, partial)  # fmt: skip


def read_reference(path: Path, atoms: int) -> NDArray[np.float64]:
    """Coordinates ``[atoms, 3]`` from a PDB (ATOM/HETATM records, as NAMD writes them) or a NAMD
    binary ``.coor`` (int32 atom count, then x, y, z as float64 per atom)."""
    if not path.is_file():
        raise ValidationError("--reference", f"{path}: no such file")
    with path.open("rb") as fh:
        start = fh.read(4)
    if len(start) == 4 and struct.unpack("<i", start)[0] * 24 + 4 == path.stat().st_size:
        n = struct.unpack("<i", start)[0]
        xyz = np.fromfile(path, dtype="<f8", offset=4).reshape(n, 3)
    else:
        rows = [
            (float(line[30:38]), float(line[38:46]), float(line[46:54]))
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.startswith(("ATOM", "HETATM"))
        ]
        xyz = np.array(rows, dtype=np.float64).reshape(-1, 3)
    if xyz.shape[0] != atoms:
        raise ValidationError(
            "--reference",
            f"{path}: {xyz.shape[0]} atoms, the trajectory has {atoms}; give the PDB or .coor of the same system",
        )
    return xyz
