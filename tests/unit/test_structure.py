"""Structure series from a DCD (namdrunner_core/analysis/dcd.py, topology.py, structure.py) checked
against MDAnalysis itself: a trajectory of known motion written by MDAnalysis's DCDWriter, then RMSD
(``rms.RMSD``), radius of gyration and RMSF (after ``AlignTraj``) compared to 1e-6 Å."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from namdrunner_core.analysis.dcd import open_dcd, read_reference
from namdrunner_core.analysis.structure import structure_series
from namdrunner_core.analysis.topology import read_psf, select
from namdrunner_core.errors import ValidationError

mda: Any = pytest.importorskip("MDAnalysis", reason="MDAnalysis is a dev dependency (namdrunner[analysis])")

RESIDUES = [("DNA1", i + 1, "DA" if i % 2 else "DT") for i in range(6)] + [("WAT", i + 1, "TIP3") for i in range(5)]
NUCLEIC_NAMES = [("P", "P", 30.974), ("O5'", "ON2", 15.999), ("C5'", "CN8B", 12.011), ("C4'", "CN7", 12.011),
                 ("N1", "NN2", 14.007), ("H1", "HN1", 1.008)]  # fmt: skip
WATER_NAMES = [("OH2", "OT", 15.999), ("H1", "HT", 1.008), ("H2", "HT", 1.008)]


def write_psf(path: Path) -> int:
    lines = []
    for segid, resid, resname in RESIDUES:
        for name, typ, mass in NUCLEIC_NAMES if segid == "DNA1" else WATER_NAMES:
            lines.append((segid, resid, resname, name, typ, mass))
    body = [f"{i + 1:8d} {s:<4} {r:<4d} {rn:<4} {n:<4} {t:<4} {0.0:10.6f} {m:13.4f}           0"
            for i, (s, r, rn, n, t, m) in enumerate(lines)]  # fmt: skip
    path.write_text("PSF\n\n       1 !NTITLE\n REMARKS test\n\n" + f"{len(lines):8d} !NATOM\n" + "\n".join(body)
                    + "\n\n       0 !NBOND: bonds\n\n")  # fmt: skip
    return len(lines)


def rotation(rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    out: np.ndarray = q * np.sign(np.linalg.det(q))
    return out


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, np.ndarray]:
    d = tmp_path_factory.mktemp("dcd")
    psf, dcd = d / "sys.psf", d / "sys.dcd"
    n = write_psf(psf)
    rng = np.random.default_rng(7)
    base = rng.normal(scale=12.0, size=(n, 3)) + 40.0
    frames = np.array([(base + rng.normal(scale=0.3 + 0.02 * k, size=base.shape)) @ rotation(rng).T
                       + rng.normal(scale=5.0, size=3) for k in range(40)], dtype=np.float32)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cell = np.tile(np.array([60.0, 60.0, 60.0, 90.0, 90.0, 90.0], dtype=np.float32), (len(frames), 1))
        u = mda.Universe(str(psf), frames, format=mda.coordinates.memory.MemoryReader, topology_format="PSF",
                         dimensions=cell)  # fmt: skip
        with mda.Writer(str(dcd), n_atoms=n) as w:
            for _ in u.trajectory:
                w.write(u.atoms)
    return psf, dcd, frames


def universe(psf: Path, dcd: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mda.Universe(str(psf), str(dcd))


@pytest.mark.parametrize("selection", ["all", "nucleic", "name P or name C4'", "segid DNA1 and not name H*"])
def test_rmsd_rg_and_rmsf_match_mdanalysis(system: tuple[Path, Path, np.ndarray], selection: str) -> None:
    from MDAnalysis.analysis import align, rms

    psf, dcd, _ = system
    ours = structure_series(dcd, psf, selection)
    u = universe(psf, dcd)
    theirs = rms.RMSD(u, select=selection).run().results.rmsd[:, 2]
    assert ours.frames == 40
    assert theirs.size == 40
    np.testing.assert_allclose(ours.rmsd, theirs, atol=1e-6, rtol=0)
    assert ours.rmsd.max() > 0.3  # the frames differ: the comparison is not of zeros
    group = u.select_atoms(selection)
    rg = [group.radius_of_gyration() for _ in u.trajectory]
    np.testing.assert_allclose(ours.radius_of_gyration, rg, atol=1e-6, rtol=0)
    # RMSF after aligning every frame on the first with the same selection
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        moved = universe(psf, dcd)
        align.AlignTraj(moved, universe(psf, dcd), select=selection, in_memory=True).run()
        theirs_f = rms.RMSF(moved.select_atoms(selection)).run().results.rmsf
    np.testing.assert_allclose([a.rmsf for a in ours.rmsf], theirs_f, atol=1e-5, rtol=0)
    assert [a.index for a in ours.rmsf] == list(group.indices)


def test_the_selection_without_mdanalysis_picks_what_mdanalysis_picks(system: tuple[Path, Path, np.ndarray]) -> None:
    psf, dcd, _ = system
    atoms = read_psf(psf)
    u = universe(psf, dcd)
    for sel in ("all", "nucleic", "nucleicbackbone", "name P C4'", "resname DA and resid 2:4", "not (segid WAT)",
                "index 3-7 or name OH2", "name H*", "segid DNA1 and not name H* and resid 1 - 3"):  # fmt: skip
        native = select(atoms, sel, use_mdanalysis=False)
        assert list(native) == list(u.select_atoms(sel).indices), (sel, list(native), list(u.select_atoms(sel).indices))


def test_a_keyword_beyond_the_subset_goes_to_mdanalysis(system: tuple[Path, Path, np.ndarray]) -> None:
    psf, dcd, _ = system
    atoms = read_psf(psf)
    u = universe(psf, dcd)
    sel = "around 3.0 name P"  # geometric: MDAnalysis's own (on the PSF alone it has no coordinates)
    with pytest.raises(ValidationError, match=r"'around' is not a keyword understood without MDAnalysis"):
        select(atoms, sel, use_mdanalysis=False)
    assert list(select(atoms, "prop mass > 14", use_mdanalysis=True)) == list(u.select_atoms("prop mass > 14").indices)


def test_the_header_frames_and_steps(system: tuple[Path, Path, np.ndarray], tmp_path: Path) -> None:
    psf, dcd, frames = system
    d = open_dcd(dcd)
    assert (d.atoms, d.frames, d.has_cell, d.partial_bytes) == (frames.shape[1], 40, True, 0)
    first = next(d.chunks(3))[1]
    np.testing.assert_allclose(first, frames[:3], atol=0)
    # a DCD still being written: the partly written frame is left out
    growing = tmp_path / "growing.dcd"
    growing.write_bytes(dcd.read_bytes()[: d.header_bytes + 5 * d.frame_bytes + 100])
    g = open_dcd(growing)
    assert (g.frames, g.partial_bytes) == (5, 100)
    assert structure_series(growing, psf).frames == 5


def test_a_reference_structure(system: tuple[Path, Path, np.ndarray], tmp_path: Path) -> None:
    psf, dcd, frames = system
    coor = tmp_path / "ref.coor"  # NAMD's binary coordinates: int32 count, then float64 x y z per atom
    ref = frames[10].astype(np.float64)
    coor.write_bytes(np.int32(ref.shape[0]).tobytes() + ref.astype("<f8").tobytes())
    pdb = tmp_path / "ref.pdb"
    pdb.write_text("".join(f"ATOM  {i + 1:5d}  X   RES A   1    {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00\n"
                           for i, (x, y, z) in enumerate(ref)))  # fmt: skip
    by_coor = structure_series(dcd, psf, "all", reference=coor)
    assert by_coor.rmsd[10] < 1e-5
    assert by_coor.rmsd[0] > 0.1
    by_pdb = structure_series(dcd, psf, "all", reference=pdb)
    np.testing.assert_allclose(by_pdb.rmsd, by_coor.rmsd, atol=2e-3)  # a PDB keeps 3 decimals
    with pytest.raises(ValidationError, match=r"--reference.*atoms, the trajectory has"):
        read_reference(pdb.with_name("short.pdb") if False else _short(pdb), frames.shape[1])


def _short(pdb: Path) -> Path:
    out = pdb.with_name("short.pdb")
    out.write_text("".join(pdb.read_text().splitlines(keepends=True)[:-2]))
    return out


def test_bad_input_is_one_clear_line(system: tuple[Path, Path, np.ndarray], tmp_path: Path) -> None:
    psf, dcd, _ = system
    other = tmp_path / "other.psf"
    other.write_text(psf.read_text().replace(" !NATOM", " !NATOM", 1).rsplit("\n\n       0 !NBOND", 1)[0]
                     .rsplit("\n", 1)[0].replace(f"{read_psf(psf).count:8d} !NATOM",
                                                 f"{read_psf(psf).count - 1:8d} !NATOM") + "\n")  # fmt: skip
    with pytest.raises(ValidationError, match=r"--dcd: .*sys.dcd: 51 atoms, the PSF other.psf has 50; give the PSF"):
        structure_series(dcd, other)
    with pytest.raises(ValidationError, match=r"'name ZZZ' matches no atom of sys.psf"):
        structure_series(dcd, psf, "name ZZZ")
    with pytest.raises(ValidationError, match=r"--select: 'resid 1 and \(name P': "):
        select(read_psf(psf), "resid 1 and (name P", use_mdanalysis=False)
    not_dcd = tmp_path / "x.dcd"
    not_dcd.write_bytes(b"hello world, not a trajectory")
    with pytest.raises(ValidationError, match=r"x.dcd: not a DCD trajectory \(no CORD header\)"):
        open_dcd(not_dcd)
