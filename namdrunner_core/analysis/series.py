"""Time series from what NAMD writes, streamed: every ENERGY column of a log (named by the ETITLE in
force, any NAMD version, FEP and multiple-copy logs included) and the cell of an ``.xst`` (volume; the
density from the PSF's total mass). A 10 GB log is never held in memory: past :data:`MAX_POINTS` rows a
series keeps every second row (then every fourth, ...), evenly over the whole run, which is what the
statistics need (they decimate correlated samples anyway)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
import numpy as np
from numpy.typing import NDArray

from namdrunner_core.analysis.topology import natom_rows
from namdrunner_core.errors import ValidationError
from namdrunner_core.namd.log import CPU_TITLES, PERIODIC_TITLES, EnergyRow

#: the most rows a series keeps (each a step and its values): memory stays flat for any log
MAX_POINTS = 50_000
#: grams per mole -> g/cm^3 for a volume in Å^3
_AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660


@attrs.define
class _Chunk:
    index: NDArray[np.int64]  # each row's number in the whole run (0, 1, ...): what decimation keeps
    steps: NDArray[np.float64]
    columns: dict[str, NDArray[np.float64]]


@attrs.define
class Series:
    """Rows of named columns at steps, kept in numpy chunks and decimated evenly past :data:`MAX_POINTS`
    rows (every ``stride``-th row of the run is kept)."""

    chunks: list[_Chunk] = attrs.Factory(list)
    stride: int = 1
    seen: int = 0
    kept: int = 0

    def add_rows(self, steps: NDArray[np.float64], names: list[str], values: NDArray[np.float64]) -> None:
        """Rows of one shape (``values[i, j]`` is column ``names[j]`` at ``steps[i]``)."""
        index = np.arange(self.seen, self.seen + steps.size, dtype=np.int64)
        self.seen += steps.size
        keep = index % self.stride == 0
        if keep.any():
            cols = {n: values[keep, j] for j, n in enumerate(names)}
            self.chunks.append(_Chunk(index[keep], steps[keep], cols))
            self.kept += int(keep.sum())
        while self.kept >= MAX_POINTS:
            self.stride *= 2
            for c in self.chunks:
                k = c.index % self.stride == 0
                c.index, c.steps = c.index[k], c.steps[k]
                c.columns = {n: v[k] for n, v in c.columns.items()}
            self.chunks = [c for c in self.chunks if c.index.size]
            self.kept = sum(c.index.size for c in self.chunks)

    def add(self, step: int, values: dict[str, float]) -> None:
        """One row (the slow path, for a few rows)."""
        names = list(values)
        self.add_rows(np.array([step], dtype=np.float64), names, np.array([[values[n] for n in names]]))

    @property
    def steps(self) -> list[int]:
        """Every kept row's step."""
        return [int(x) for c in self.chunks for x in c.steps]

    @property
    def columns(self) -> dict[str, list[float]]:
        """Every column over every kept row (NaN where a row lacks it)."""
        names = list(dict.fromkeys(n for c in self.chunks for n in c.columns))

        def values(c: _Chunk, n: str) -> NDArray[np.float64]:
            return c.columns[n] if n in c.columns else np.full(c.steps.size, np.nan)

        return {n: [float(x) for c in self.chunks for x in values(c, n)] for n in names}

    def names(self) -> list[str]:
        """The columns, in the order NAMD printed them."""
        return list(dict.fromkeys(n for c in self.chunks for n in c.columns))

    def array(self, name: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(steps, values) of one column, over the rows that have it."""
        parts = [(c.steps, c.columns[name]) for c in self.chunks if name in c.columns]
        if not parts:
            return np.empty(0), np.empty(0)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def energy_series(rows: Iterable[EnergyRow]) -> Series:
    """Every ENERGY column of ``rows`` (``TS``, the step, is the x axis and not a column)."""
    out = Series()
    for row in rows:
        out.add(row.step, {k: v for k, v in row.values.items() if k != "TS"})
    return out


_LINES = re.compile(rb"^(ENERGY|ETITLE):([^\n]*)\n", re.MULTILINE)
BLOCK = 4 * 1024 * 1024


def log_series(path: Path) -> Series:
    """Every ENERGY column of a NAMD log file, named by the ETITLE in force, streamed in 4 MiB blocks
    and parsed by numpy (no Python object per row); a log with none is one clear error."""
    out = Series()
    titles: list[str] = []
    rest = b""
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            data = rest + block
            cut = data.rfind(b"\n") + 1  # a line cut by the block's end waits for the next block
            rest = data[cut:]
            titles = _parse_block(data[:cut], titles, out)
    if rest:
        _parse_block(rest + b"\n", titles, out)
    if not out.seen:
        raise ValidationError(
            "log", f"{path}: no ENERGY lines (is it a NAMD log? a run writes them every outputEnergies steps)"
        )
    return out


def _parse_block(data: bytes, titles: list[str], out: Series) -> list[str]:
    """The ENERGY rows of ``data``, in runs of the same ETITLE and width, into ``out``; the ETITLE in force."""
    run: list[bytes] = []

    def flush() -> None:
        if not run:
            return
        width = len(run[0].split())
        same = run
        flat = np.fromstring(b" ".join(same), dtype=np.float64, sep=" ")  # C, no Python object per number
        if flat.size % width:  # rows of another width among them (rare: FEP, a torn line): row by row
            same = [r for r in run if len(r.split()) == width]
            flat = np.fromstring(b" ".join(same), dtype=np.float64, sep=" ")
        if flat.size != len(same) * width:
            run.clear()
            return
        table = flat.reshape(len(same), width)
        if len(titles) - 1 == width:
            names = titles[1:]
        elif width - 1 in (len(CPU_TITLES), len(CPU_TITLES) + len(PERIODIC_TITLES)):  # no ETITLE: NAMD's own sets
            names = ["TS", *(CPU_TITLES + list(PERIODIC_TITLES))[: width - 1]]
        else:
            names = ["TS"] + [f"C{i}" for i in range(1, width)]
        out.add_rows(table[:, 0], names[1:], table[:, 1:])  # TS, the step, is the x axis
        run.clear()

    for m in _LINES.finditer(data):
        if m.group(1) == b"ETITLE":
            flush()
            titles = ["ETITLE", *m.group(2).decode("ascii", "replace").split()]
        else:
            run.append(m.group(2))
    flush()
    return titles


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
    return sum(float(words[7]) for words in natom_rows(path, "psf"))
