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

from namdrunner_core.analysis.dcd import open_dcd, read_reference
from namdrunner_core.analysis.fit import first_frame, fit_trajectory, require_match
from namdrunner_core.analysis.topology import Atoms, read_psf, select
from namdrunner_core.serde import HIDDEN


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


def structure_series(
    dcd_path: Path, psf_path: Path, selection: str = "all", *, reference: Path | None = None
) -> StructureSeries:
    """RMSD, RMSF and radius of gyration of ``selection`` over the DCD (refused, naming the file and the
    fix, when its atom count is not the PSF's or the selection matches nothing)."""
    dcd = open_dcd(dcd_path)
    atoms = read_psf(psf_path)
    require_match(dcd, atoms)
    picked = select(atoms, selection)
    ref_all = read_reference(reference, dcd.atoms) if reference is not None else first_frame(dcd)
    rmsd, rg, rmsf = fit_trajectory(dcd, atoms.mass[picked], picked, ref_all[picked])
    label = str(reference) if reference else "first frame"
    return assemble(str(dcd_path), atoms, selection, label, picked, dcd.steps(), rmsd, rg, rmsf)


def assemble(
    dcd: str,
    atoms: Atoms,
    selection: str,
    reference: str,
    picked: NDArray[np.int64],
    steps: NDArray[np.float64],
    rmsd: NDArray[np.float64],
    rg: NDArray[np.float64],
    rmsf: NDArray[np.float64],
) -> StructureSeries:
    """The typed result from the arrays (computed here, or by the Slurm job on the cluster)."""
    fluct = [
        AtomFluctuation(int(i), str(atoms.segid[i]), int(atoms.resid[i]), str(atoms.resname[i]), str(atoms.name[i]),
                        round(float(f), 6))
        for i, f in zip(picked, rmsf, strict=True)
    ]  # fmt: skip
    return StructureSeries(dcd, str(atoms.path), selection, int(picked.size), int(rmsd.size), reference, fluct,
                           steps, rmsd, rg)  # fmt: skip
