"""The numbers of the structure series, numpy alone (this module, :mod:`dcd` and :mod:`topology` also run
on a cluster node as a small Slurm job, :mod:`namdrunner_core.analysis.remote`): each frame's optimal
superposition on the reference (Kabsch, by SVD, batched over a chunk of frames), the RMSD it leaves, the
mass-weighted radius of gyration, and each atom's fluctuation about its mean superposed position."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from namdrunner_core.analysis.dcd import Dcd
from namdrunner_core.analysis.topology import Atoms
from namdrunner_core.errors import ValidationError

#: frames analysed at once: a few arrays of this size are alive (8 MB: ~3 frames of 100,000 atoms)
CHUNK_BYTES = 8 << 20


def require_match(dcd: Dcd, atoms: Atoms) -> None:
    """Refuse, naming both files and the fix, a DCD that is not of the PSF's system or has no frame yet."""
    if dcd.atoms != atoms.count:
        raise ValidationError(
            "--dcd",
            f"{dcd.path}: {dcd.atoms} atoms, the PSF {atoms.path.name} has {atoms.count}; give the PSF the run used",
        )
    if dcd.frames == 0:
        raise ValidationError("--dcd", f"{dcd.path}: no whole frame yet (dcdFreq steps have not passed)")


def first_frame(dcd: Dcd) -> NDArray[np.float64]:
    """The first frame's coordinates ``[atoms, 3]``."""
    _, xyz = next(dcd.chunks(1))
    first: NDArray[np.float64] = xyz[0]
    return first


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


def fit_trajectory(
    dcd: Dcd, mass: NDArray[np.float64], picked: NDArray[np.int64], ref: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per frame the RMSD of the ``picked`` atoms to ``ref`` after the optimal superposition and their
    radius of gyration (``mass``-weighted); per picked atom its RMSF after that superposition."""
    ref_c = ref - ref.mean(axis=0)
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
