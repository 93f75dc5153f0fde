"""Plots of an analysis with matplotlib (``namdrunner[analysis]``): one figure per series - the values
over time, where it is equilibrated from, the mean +/- error band after it, the verdict in the title -
and the RMSF per selected atom. PNG and SVG, light or dark. Figures are made without pyplot (no global
state: safe in a web server's threads) and each file is written whole or not at all."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from namdrunner_core.analysis.report import Analysis
from namdrunner_core.analysis.stats import SeriesVerdict
from namdrunner_core.errors import ValidationError

FORMATS = ("png", "svg")
_THEMES = {
    "light": {
        "bg": "#ffffff",
        "fg": "#1f2328",
        "grid": "#d0d7de",
        "line": "#0969da",
        "eq": "#1a7f37",
        "band": "#1a7f37",
    },
    "dark": {
        "bg": "#0d1117",
        "fg": "#e6edf3",
        "grid": "#30363d",
        "line": "#58a6ff",
        "eq": "#3fb950",
        "band": "#3fb950",
    },
}


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ValidationError(
            "--plot", "plots need matplotlib: pip install 'namdrunner[analysis]' (or leave out --plot)"
        ) from exc
    return Figure


def _unit(name: str) -> str:
    """The unit NAMD prints a series in."""
    if name in ("RMSD", "RGYR"):
        return "Å"
    if "TEMP" in name:
        return "K"
    if "PRESS" in name:
        return "bar"
    return {"VOLUME": "Å³", "DENSITY": "g/cm³"}.get(name, "kcal/mol")


def _time_unit(last_fs: float) -> tuple[float, str]:
    """fs -> ns for a run of 0.1 ns or more, else ps (a short run reads 0-80 ps, not 0-8e-5 ns)."""
    return (1e-6, "ns") if last_fs >= 1e5 else (1e-3, "ps")


def _style(ax: Any, theme: dict[str, str]) -> None:
    ax.set_facecolor(theme["bg"])
    ax.tick_params(colors=theme["fg"])
    for spine in ax.spines.values():
        spine.set_color(theme["grid"])
    ax.grid(True, color=theme["grid"], linewidth=0.5)
    ax.xaxis.label.set_color(theme["fg"])
    ax.yaxis.label.set_color(theme["fg"])
    ax.title.set_color(theme["fg"])


def _series_figure(figure: Any, analysis: Analysis, verdict: SeriesVerdict, theme: dict[str, str]) -> Any:
    steps, values = analysis.points[verdict.name]
    scale, unit = _time_unit(float(steps[-1]) * analysis.timestep_fs)
    ns = steps * analysis.timestep_fs * scale
    fig = figure(figsize=(7.0, 3.2), dpi=110, facecolor=theme["bg"], layout="constrained")
    ax = fig.add_subplot()
    _style(ax, theme)
    ax.plot(ns, values, color=theme["line"], linewidth=0.8)
    if verdict.equilibrated_from is not None:
        t0 = verdict.equilibrated_from * analysis.timestep_fs * scale
        ax.axvline(t0, color=theme["eq"], linestyle="--", linewidth=1.0)
        if verdict.error is not None:
            ax.fill_between([t0, float(ns[-1])], verdict.mean - verdict.error, verdict.mean + verdict.error,
                            color=theme["band"], alpha=0.25, linewidth=0)  # fmt: skip
        ax.hlines(verdict.mean, t0, float(ns[-1]), color=theme["eq"], linewidth=1.2)
    error = f" +/- {verdict.error:.2g}" if verdict.error is not None else ""
    ax.set_title(f"{verdict.name}: {verdict.verdict} - mean {verdict.mean:.6g}{error}", fontsize=10)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel(f"{verdict.name} ({_unit(verdict.name)})")
    return fig


def _rmsf_figure(figure: Any, analysis: Analysis, theme: dict[str, str]) -> Any:
    assert analysis.structure is not None
    atoms = analysis.structure.rmsf
    fig = figure(figsize=(7.0, 3.2), dpi=110, facecolor=theme["bg"], layout="constrained")
    ax = fig.add_subplot()
    _style(ax, theme)
    ax.plot(range(len(atoms)), [a.rmsf for a in atoms], color=theme["line"], linewidth=0.8)
    ax.set_title(f"RMSF of '{analysis.structure.selection}' ({len(atoms)} atoms)", fontsize=10)
    ax.set_xlabel("selected atom")
    ax.set_ylabel("RMSF (Å)")
    return fig


def _save(fig: Any, target: Path, fmt: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format=fmt, facecolor=fig.get_facecolor())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def plot_analysis(
    analysis: Analysis, directory: Path, *, formats: Sequence[str] = FORMATS, dark: bool = False
) -> list[Path]:
    """One file per series and format in ``directory`` (``TEMP.png``, ``TEMP.svg``, ``RMSF.png``...,
    ``-dark`` before the suffix for the dark theme); returns the paths written."""
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValidationError("--format", f"{', '.join(bad)}: plots are {' or '.join(FORMATS)}")
    figure = _figure_class()
    directory.mkdir(parents=True, exist_ok=True)
    theme = _THEMES["dark" if dark else "light"]
    figures = [
        (v.name, _series_figure(figure, analysis, v, theme)) for v in analysis.series if v.name in analysis.points
    ]
    if analysis.structure is not None and analysis.structure.rmsf:
        figures.append(("RMSF", _rmsf_figure(figure, analysis, theme)))
    written = []
    for name, fig in figures:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ("-dark" if dark else "")
        for fmt in formats:
            target = directory / f"{stem}.{fmt}"
            _save(fig, target, fmt)
            written.append(target)
    return written
