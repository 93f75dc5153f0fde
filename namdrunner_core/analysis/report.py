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

from namdrunner_core.analysis.series import Series, log_series, psf_mass, xst_series
from namdrunner_core.analysis.stats import SeriesVerdict, judge
from namdrunner_core.errors import ValidationError

_TIMESTEP = re.compile(rb"^Info: TIMESTEP\s+([0-9.eE+-]+)", re.MULTILINE)


@attrs.frozen(slots=True)
class Analysis:
    """The series of one run, each judged (:class:`~namdrunner_core.analysis.stats.SeriesVerdict`)."""

    source: str
    timestep_fs: float
    rows: int
    stride: int
    series: list[SeriesVerdict]

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
        return attrs.evolve(self, series=[s for s in self.series if s.name in wanted])

    def get(self, name: str) -> SeriesVerdict | None:
        """The verdict of one series (``TEMP``, ``TOTAL``, ``VOLUME``, ``DENSITY``...), or None."""
        return next((s for s in self.series if s.name == name), None)


def _timestep(path: Path) -> float:
    with path.open("rb") as fh:
        m = _TIMESTEP.search(fh.read(1 << 20))
    return float(m.group(1)) if m else 2.0


def _judged(series: Series, timestep_fs: float) -> list[SeriesVerdict]:
    out = []
    for name in series.names():
        steps, values = series.array(name)
        if values.size == 0 or float(np.ptp(values)) == 0.0:
            continue  # a column NAMD prints as zeros (BOUNDARY, MISC without them): nothing to judge
        out.append(judge(name, steps, values, timestep_fs=timestep_fs))
    return out


def analyze_log(log: Path, *, xst: Path | None = None, psf: Path | None = None, xst_optional: bool = False) -> Analysis:
    """Every varying ENERGY column of ``log`` judged, and the cell of ``xst`` (``VOLUME``; ``DENSITY``
    with the ``psf``'s total mass). Streamed: memory stays flat for any log size. ``xst_optional``: an
    ``.xst`` without cell rows (``xstFreq`` not set) is passed over instead of refused."""
    dt = _timestep(log)
    energies = log_series(log)
    verdicts = _judged(energies, dt)
    if xst is not None and (xst.is_file() or not xst_optional):
        try:
            cell = xst_series(xst, total_mass_amu=psf_mass(psf) if psf is not None and psf.is_file() else None)
        except ValidationError:
            if not xst_optional:
                raise
            cell = None
        if cell is not None:
            verdicts += [v for v in _judged(cell, dt) if v.name != "VOLUME" or "VOLUME" not in energies.names()]
    return Analysis(str(log), dt, energies.seen, energies.stride, verdicts)
