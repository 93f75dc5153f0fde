"""Structure series from a DCD and its PSF, streamed a few frames at a time: the RMSD of a selection
to the first frame (or a reference) after the optimal superposition (Kabsch: the same minimum MDAnalysis's
``rms.RMSD`` finds with QCP), the RMSF of each selected atom about its mean position after that same
superposition (what MDAnalysis's ``RMSF`` gives on a trajectory aligned with ``AlignTraj``), and the
mass-weighted radius of gyration. Memory is one chunk of frames, whatever the trajectory's size."""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
from numpy.typing import NDArray

from namdrunner_core.analysis.dcd import Dcd, open_dcd, read_reference
from namdrunner_core.analysis.topology import Atoms, read_psf, select
from namdrunner_core.errors import ValidationError
from namdrunner_core.serde import HIDDEN

#: frames analysed at once: a few arrays of this size are alive (8 MB: ~3 frames of 100,000 atoms)
CHUNK_BYTES = 8 << 20


@attrs.frozen(slots=True)
class AtomFluctuation:
    """One selected atom's RMSF (Å)."""

    index: int
    segid: str
    resid: int
    resname: str
    name: str
    rmsf: float


@attrs.frozen(slots=True, eq=False)
class StructureSeries:
    """The structure series of one trajectory: per frame RMSD and radius of gyration (Å), per selected
    atom the RMSF (Å)."""

    dcd: str
    psf: str
    selection: str
    atoms: int
    frames: int
    reference: str
    rmsf: list[AtomFluctuation]
    steps: NDArray[np.float64] = attrs.field(metadata=HIDDEN)
    rmsd: NDArray[np.float64] = attrs.field(metadata=HIDDEN)
    radius_of_gyration: NDArray[np.float64] = attrs.field(metadata=HIDDEN)


def _fit(x: NDArray[np.float64], ref: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centred frames ``x[k, n, 3]`` superposed on the centred ``ref[n, 3]``: (rotated frames, RMSD)."""
    h = np.einsum("kni,nj->kij", x, ref)
    u, s, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    u[:, :, 2] *= d[:, None]
    s[:, 2] *= d
    rot = u @ vt
    n = ref.shape[0]
    e = np.einsum("kni,kni->k", x, x) + float(np.einsum("ni,ni->", ref, ref)) - 2.0 * s.sum(axis=1)
    return x @ rot, np.sqrt(np.maximum(e, 0.0) / n)


def structure_series(
    dcd_path: Path, psf_path: Path, selection: str = "all", *, reference: Path | None = None
) -> StructureSeries:
    """RMSD, RMSF and radius of gyration of ``selection`` over the DCD (refused, naming the file and the
    fix, when its atom count is not the PSF's or the selection matches nothing)."""
    dcd = open_dcd(dcd_path)
    atoms = read_psf(psf_path)
    if dcd.atoms != atoms.count:
        raise ValidationError(
            "--dcd",
            f"{dcd_path}: {dcd.atoms} atoms, the PSF {psf_path.name} has {atoms.count}; give the PSF the run used",
        )
    if dcd.frames == 0:
        raise ValidationError("--dcd", f"{dcd_path}: no whole frame yet (dcdFreq steps have not passed)")
    picked = select(atoms, selection)
    ref_all = read_reference(reference, dcd.atoms) if reference is not None else _first_frame(dcd)
    rmsd, rg, rmsf = _stream(dcd, atoms, picked, ref_all[picked])
    fluct = [
        AtomFluctuation(int(i), str(atoms.segid[i]), int(atoms.resid[i]), str(atoms.resname[i]), str(atoms.name[i]),
                        round(float(f), 6))
        for i, f in zip(picked, rmsf, strict=True)
    ]  # fmt: skip
    return StructureSeries(str(dcd_path), str(psf_path), selection, int(picked.size), dcd.frames,
                           str(reference) if reference else "first frame", fluct, dcd.steps(), rmsd, rg)  # fmt: skip


def _first_frame(dcd: Dcd) -> NDArray[np.float64]:
    _, xyz = next(dcd.chunks(1))
    first: NDArray[np.float64] = xyz[0]
    return first


def _stream(
    dcd: Dcd, atoms: Atoms, picked: NDArray[np.int64], ref: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    ref_c = ref - ref.mean(axis=0)
    mass = atoms.mass[picked]
    total = float(mass.sum()) or 1.0
    everything = picked.size == dcd.atoms
    rmsd = np.empty(dcd.frames)
    rg = np.empty(dcd.frames)
    # fluctuations about the reference, summed in float64 (no cancellation of large coordinates)
    s1 = np.zeros_like(ref_c)
    s2 = np.zeros_like(ref_c)
    for start, xyz in dcd.chunks(max(1, CHUNK_BYTES // max(1, 24 * dcd.atoms))):
        x = xyz if everything else xyz[:, picked, :]
        del xyz
        k = slice(start, start + x.shape[0])
        x -= x.mean(axis=1, keepdims=True)  # centred in place: the arrays of a chunk are few
        com = np.einsum("n,kni->ki", mass, x) / total  # the centre of mass, from the centroid
        rg[k] = np.sqrt(np.maximum(np.einsum("n,kni,kni->k", mass, x, x) / total - (com * com).sum(axis=1), 0.0))
        fitted, rmsd[k] = _fit(x, ref_c)
        del x
        fitted -= ref_c
        s1 += fitted.sum(axis=0)
        fitted *= fitted
        s2 += fitted.sum(axis=0)
    n = dcd.frames
    mean = s1 / n
    var = (s2 / n - mean * mean).sum(axis=1)
    return rmsd, rg, np.sqrt(np.maximum(var, 0.0))
