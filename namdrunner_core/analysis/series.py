"""Time series from what NAMD writes, streamed: every ENERGY column of a log (named by the ETITLE in
force, any NAMD version, FEP and multiple-copy logs included) and the cell of an ``.xst`` (volume; the
density from the PSF's total mass). A 10 GB log is never held in memory: past :data:`MAX_POINTS` rows a
series keeps every second row (then every fourth, ...), evenly over the whole run, which is what the
statistics need (they decimate correlated samples anyway)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
import numpy as np
from numpy.typing import NDArray

from namdrunner_core.errors import ValidationError
from namdrunner_core.namd.log import EnergyRow, iter_energy_rows

#: the most rows a series keeps (each a step and its values): memory stays flat for any log
MAX_POINTS = 200_000
#: grams per mole -> g/cm^3 for a volume in Å^3
_AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660


@attrs.define
class Series:
    """Rows of named columns at steps (``steps[i]`` goes with ``columns[name][i]``), decimated evenly."""

    steps: list[int] = attrs.Factory(list)
    columns: dict[str, list[float]] = attrs.Factory(dict)
    stride: int = 1
    seen: int = 0

    def add(self, step: int, values: dict[str, float]) -> None:
        """One row; past :data:`MAX_POINTS` rows every second one is dropped and the stride doubles."""
        self.seen += 1
        if (self.seen - 1) % self.stride:
            return
        self.steps.append(step)
        for name, value in values.items():
            col = self.columns.setdefault(name, [math.nan] * (len(self.steps) - 1))
            col.append(value)
        for col in self.columns.values():  # a column that appeared later, or is missing from this row
            if len(col) < len(self.steps):
                col.append(math.nan)
        if len(self.steps) >= MAX_POINTS:
            self.steps = self.steps[::2]
            self.columns = {k: v[::2] for k, v in self.columns.items()}
            self.stride *= 2

    def array(self, name: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(steps, values) of one column, rows where it is missing left out."""
        s = np.asarray(self.steps, dtype=np.float64)
        v = np.asarray(self.columns[name], dtype=np.float64)
        keep = ~np.isnan(v)
        return s[keep], v[keep]


def energy_series(rows: Iterable[EnergyRow]) -> Series:
    """Every ENERGY column of ``rows`` (``TS``, the step, is the x axis and not a column)."""
    out = Series()
    for row in rows:
        out.add(row.step, {k: v for k, v in row.values.items() if k != "TS"})
    return out


def log_series(path: Path) -> Series:
    """Every ENERGY column of a NAMD log file, streamed; a log with none is one clear error."""
    series = energy_series(iter_energy_rows(path))
    if not series.steps:
        raise ValidationError(
            "log", f"{path}: no ENERGY lines (is it a NAMD log? a run writes them every outputEnergies steps)"
        )
    return series


def _xst_rows(path: Path) -> Iterator[tuple[int, float]]:
    labels: list[str] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("#$LABELS"):
                labels = line.split()[1:]
                continue
            if not line.strip() or line.startswith("#") or not labels:
                continue
            fields = dict(zip(labels, line.split(), strict=False))
            try:
                a = [float(fields.get(f"a_{c}", 0.0)) for c in "xyz"]
                b = [float(fields.get(f"b_{c}", 0.0)) for c in "xyz"]
                c_ = [float(fields.get(f"c_{c}", 0.0)) for c in "xyz"]
                yield int(float(fields["step"])), abs(float(np.dot(a, np.cross(b, c_))))
            except (KeyError, ValueError):
                continue


def xst_series(path: Path, *, total_mass_amu: float | None = None) -> Series:
    """The cell of an ``.xst`` (``VOLUME``, Å^3 = |a . (b x c)|) and, with the system's mass, ``DENSITY``
    (g/cm^3)."""
    out = Series()
    for step, volume in _xst_rows(path):
        values = {"VOLUME": volume}
        if total_mass_amu and volume > 0:
            values["DENSITY"] = total_mass_amu / volume * _AMU_PER_A3_TO_G_PER_CM3
        out.add(step, values)
    if not out.steps:
        raise ValidationError("xst", f"{path}: no cell rows (an .xst is written every xstFreq steps)")
    return out


def psf_mass(path: Path) -> float:
    """The total mass (amu) of a PSF's atoms, read from its ``!NATOM`` section (streamed)."""
    total, left = 0.0, None
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if left is None:
                if "!NATOM" in line:
                    left = int(line.split()[0])
                continue
            if left <= 0:
                break
            words = line.split()
            if len(words) >= 8:
                total += float(words[7])
                left -= 1
    if left is None:
        raise ValidationError("psf", f"{path}: no !NATOM section (is it a PSF?)")
    return total
