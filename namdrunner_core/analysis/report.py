"""One run analyzed: every ENERGY column of its NAMD log (and the cell of its ``.xst``) judged - where
it is equilibrated from, its mean +/- error after that, its drift, a verdict (``equilibrated``,
``drifting``, ``too short``) with the numbers behind it. The typed answer of ``job analyze``,
``Job.analysis()`` and the web page's Analysis tab."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import attrs
import numpy as np
from numpy.typing import NDArray

from namdrunner_core.analysis.series import Series, log_series, psf_mass, xst_series
from namdrunner_core.analysis.stats import SeriesVerdict, judge
from namdrunner_core.analysis.structure import StructureSeries, structure_series
from namdrunner_core.errors import ValidationError
from namdrunner_core.serde import HIDDEN

#: a series' points: (steps, values)
Points = tuple[NDArray[np.float64], NDArray[np.float64]]

_TIMESTEP = re.compile(rb"^Info: TIMESTEP\s+([0-9.eE+-]+)", re.MULTILINE)


@attrs.frozen(slots=True)
class Analysis:
    """The series of one run, each judged (:class:`~namdrunner_core.analysis.stats.SeriesVerdict`)."""

    source: str
    timestep_fs: float
    rows: int
    stride: int
    series: list[SeriesVerdict]
    #: RMSD, RMSF and radius of gyration of a selection, from the DCD (``--select``)
    structure: StructureSeries | None = None
    #: each judged series' points, for plots (not part of the JSON answer)
    points: dict[str, Points] = attrs.field(factory=dict, metadata=HIDDEN)

    def only(self, names: Sequence[str]) -> Analysis:
        """These series only (as NAMD names them, any case); one that is not there is a clear error."""
        wanted = [n.upper() for n in names]
        missing = [n for n in wanted if self.get(n) is None]
        if missing:
            have = ", ".join(s.name for s in self.series)
            raise ValidationError(
                "--series",
                f"{', '.join(missing)} is not a series of this run that varies; it has "
                f"{have} (a column that never changes, e.g. TEMP in a minimization, is left out)",
            )
        return attrs.evolve(self, series=[s for s in self.series if s.name in wanted],
                            points={n: p for n, p in self.points.items() if n in wanted})  # fmt: skip

    def get(self, name: str) -> SeriesVerdict | None:
        """The verdict of one series (``TEMP``, ``TOTAL``, ``VOLUME``, ``DENSITY``...), or None."""
        return next((s for s in self.series if s.name == name), None)


def _timestep(path: Path) -> float:
    with path.open("rb") as fh:
        m = _TIMESTEP.search(fh.read(1 << 20))
    return float(m.group(1)) if m else 2.0


def _judged(series: Series, timestep_fs: float, points: dict[str, Points]) -> list[SeriesVerdict]:
    out = []
    for name in series.names():
        steps, values = series.array(name)
        if values.size == 0 or float(np.ptp(values)) == 0.0:
            continue  # a column NAMD prints as zeros (BOUNDARY, MISC without them): nothing to judge
        out.append(judge(name, steps, values, timestep_fs=timestep_fs))
        points[name] = (steps, values)
    return out


def analyze_log(log: Path, *, xst: Path | None = None, psf: Path | None = None, xst_optional: bool = False) -> Analysis:
    """Every varying ENERGY column of ``log`` judged, and the cell of ``xst`` (``VOLUME``; ``DENSITY``
    with the ``psf``'s total mass). Streamed: memory stays flat for any log size. ``xst_optional``: an
    ``.xst`` without cell rows (``xstFreq`` not set) is passed over instead of refused."""
    dt = _timestep(log)
    energies = log_series(log)
    points: dict[str, Points] = {}
    verdicts = _judged(energies, dt, points)
    if xst is not None and (xst.is_file() or not xst_optional):
        try:
            cell = xst_series(xst, total_mass_amu=psf_mass(psf) if psf is not None and psf.is_file() else None)
        except ValidationError:
            if not xst_optional:
                raise
            cell = None
        if cell is not None:
            cell_points: dict[str, Points] = {}
            for v in _judged(cell, dt, cell_points):
                if v.name not in energies.names():  # VOLUME the log has already (pressure control)
                    verdicts.append(v)
                    points[v.name] = cell_points[v.name]
    return Analysis(str(log), dt, energies.seen, energies.stride, verdicts, points=points)


def with_structure(
    analysis: Analysis | None, dcd: Path, psf: Path, selection: str, *, reference: Path | None = None
) -> Analysis:
    """``analysis`` (or a new one of the trajectory alone) with the structure series of ``selection``
    over ``dcd``: RMSD and radius of gyration judged as the log's series are, RMSF per atom."""
    return with_series(analysis, structure_series(dcd, psf, selection, reference=reference))


def with_series(analysis: Analysis | None, s: StructureSeries) -> Analysis:
    """``analysis`` with structure series computed here or on the cluster, judged."""
    dt = analysis.timestep_fs if analysis is not None else 2.0
    base = analysis or Analysis(s.dcd, dt, s.frames, 1, [])
    verdicts = [judge(n, s.steps, v, timestep_fs=dt) for n, v in (("RMSD", s.rmsd), ("RGYR", s.radius_of_gyration))]
    points = {**base.points, "RMSD": (s.steps, s.rmsd), "RGYR": (s.steps, s.radius_of_gyration)}
    return attrs.evolve(base, series=[*base.series, *verdicts], structure=s, points=points)


def analyze_files(
    log: Path | None = None,
    *,
    xst: Path | None = None,
    psf: Path | None = None,
    dcd: Path | None = None,
    selection: str | None = None,
    reference: Path | None = None,
) -> Analysis:
    """Files on this machine analyzed (``job analyze --log/--dcd``): the log's series (and the cell of
    the ``xst``, the density from the ``psf``), the DCD's structure series of ``selection`` (all atoms
    by default) read with the ``psf``."""
    if log is None and dcd is None:
        raise ValidationError("--log", "give a NAMD log (--log FILE) or a trajectory (--dcd FILE with --psf FILE)")
    analysis = analyze_log(log, xst=xst, psf=psf) if log is not None else None
    if dcd is None:
        assert analysis is not None
        return analysis
    if psf is None:
        raise ValidationError("--psf", "a DCD is read with its PSF: add --psf FILE")
    return with_structure(analysis, dcd, psf, selection or "all", reference=reference)
