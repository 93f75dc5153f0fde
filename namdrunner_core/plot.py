"""Plots of NAMD energies (matplotlib, optional: ``pip install namdrunner[notebooks]``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from namdrunner_core.errors import ValidationError
from namdrunner_core.namd.log import EnergyRow

if TYPE_CHECKING:
    from matplotlib.figure import Figure

UNITS = {"TEMP": "K", "TEMPAVG": "K", "PRESSURE": "bar", "PRESSAVG": "bar", "VOLUME": "Å³"}


def plot_energies(
    rows: Iterable[EnergyRow],
    columns: Sequence[str] = ("TOTAL", "TEMP"),
    *,
    timestep_fs: float | None = None,
    title: str | None = None,
) -> Figure:
    """One panel per column against step (or time in ps with ``timestep_fs``); returns the Figure."""
    from matplotlib.figure import Figure

    data = list(rows)
    if not data:
        raise ValidationError("rows", "no ENERGY rows to plot (is the log empty, or was it a minimisation only?)")
    missing = [c for c in columns if c not in data[-1].values]
    if missing:
        raise ValidationError("columns", f"{', '.join(missing)} not in the log; it has {', '.join(data[-1].values)}")
    x = [r.step * timestep_fs / 1000 if timestep_fs else r.step for r in data]
    fig = Figure(figsize=(7, 2.2 * len(columns)), layout="constrained")
    axes = fig.subplots(len(columns), 1, sharex=True, squeeze=False)[:, 0]
    for ax, col in zip(axes, columns, strict=True):
        ax.plot(x, [r.values[col] for r in data], lw=1)
        ax.set_ylabel(f"{col} ({UNITS.get(col, 'kcal/mol')})")
    axes[-1].set_xlabel("time (ps)" if timestep_fs else "step")
    if title:
        fig.suptitle(title)
    return fig


def plot_service_units(su: Mapping[str, float], *, title: str | None = None) -> Figure:
    """A bar chart of SUs per label (e.g. :meth:`namdrunner_core.usage.UsageReport.su_by_stage`)."""
    from matplotlib.figure import Figure

    if not su:
        raise ValidationError("su", "no jobs with accounting to plot (were they submitted and synced?)")
    fig = Figure(figsize=(max(4.0, 1.1 * len(su) + 2), 3.2), layout="constrained")
    ax = fig.subplots()
    labels = list(su)
    bars = ax.bar(labels, [su[k] for k in labels], color="#4c72b0")
    ax.bar_label(bars, fmt="%.3g")
    ax.set_ylabel("service units (SU)")
    ax.tick_params(axis="x", labelrotation=20)
    if title:
        ax.set_title(title)
    return fig
