"""The energy chart of a job page: an SVG drawn from the NAMD log's ENERGY rows (no plotting library
in the browser, nothing fetched from elsewhere)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from namdrunner_cli.web.views import (
    _job,
)
from namdrunner_core.errors import NotFoundError

if TYPE_CHECKING:
    from namdrunner_cli.web.state import UiState
    from namdrunner_core.analysis.report import Analysis


#: how often a running job's energy plot is read again at most (it reads the log's last 50,000 lines)
PLOT_FRESH_S = 60.0


def energy_svg(state: UiState, job_id: str, *, dark: bool = False, auto: bool = False) -> str:
    """TOTAL energy and TEMP of the NAMD log as an SVG chart. The series (step, TOTAL, TEMP) is read
    once for every tab and theme, again at most every PLOT_FRESH_S while the job runs."""
    import json

    from namdrunner_core.namd.log import parse_log_text

    record = state.store.get_job(job_id)

    def read(session: Any) -> str:
        try:
            text = _job(state, session, job_id).logs("namd", tail=50_000)
        except NotFoundError:
            text = ""
        rows = parse_log_text(text, keep_energies=True).energies
        return json.dumps([[r.step, r.values.get("TOTAL"), r.values.get("TEMP")] for r in rows])

    series = json.loads(state.cached_read((job_id, "energy"), read, active=record.is_active, auto=auto,
                                          fresh_s=PLOT_FRESH_S))  # fmt: skip
    points = [(int(step), {k: v for k, v in (("TOTAL", total), ("TEMP", temp)) if v is not None})
              for step, total, temp in series]  # fmt: skip
    return svg_chart(points, ("TOTAL", "TEMP"), dark=dark)


def svg_chart(points: list[tuple[int, dict[str, float]]], columns: tuple[str, ...], *, dark: bool = False) -> str:
    """Small line charts, one panel per column (SVG text; values are numbers, nothing to escape)."""
    width, panel, pad = 640, 150, 44
    height = panel * len(columns) + 10
    # presentation attributes, not CSS: an SVG shown by <img> is its own document (and the CSP
    # forbids inline styles)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" font-family="sans-serif" '
        f'font-size="11" fill="{"#9aa7b8" if dark else "#5d6b7d"}">'
        f'<rect width="{width}" height="{height}" fill="{"#1c222b" if dark else "#ffffff"}"/>'
    ]
    if not points:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no ENERGY lines yet</text></svg>')
        return "".join(parts)
    steps = [p[0] for p in points]
    s0, s1 = min(steps), max(steps) or 1
    for i, col in enumerate(columns):
        ys = [p[1].get(col) for p in points]
        vals = [v for v in ys if v is not None]
        top = 10 + i * panel
        parts.append(
            f'<text x="4" y="{top + 12}" font-weight="bold" fill="{"#e3e8ef" if dark else "#1c2430"}">{col}</text>'
        )
        if not vals:
            continue
        lo, hi = min(vals), max(vals)
        span = (hi - lo) or 1.0
        sx = (width - pad - 10) / ((s1 - s0) or 1)
        xy = [
            f"{pad + (s - s0) * sx:.1f},{top + panel - 24 - (v - lo) / span * (panel - 44):.1f}"
            for s, v in zip(steps, ys, strict=True)
            if v is not None
        ]
        color = (("#7fb0ff", "#ff8a80", "#5fcf83") if dark else ("#2457c5", "#c0392b", "#1d7a3a"))[i % 3]
        parts.append(
            f'<polyline class="series" fill="none" stroke="{color}" stroke-width="1.5" points="{" ".join(xy)}"/>'
        )
        parts.append(f'<text x="{pad}" y="{top + panel - 8}">step {s0}</text>')
        parts.append(f'<text x="{width - 10}" y="{top + panel - 8}" text-anchor="end">{s1}</text>')
        parts.append(f'<text x="{width - 10}" y="{top + 12}" text-anchor="end">{lo:.6g} .. {hi:.6g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def analysis_svg(analysis: Analysis, name: str, *, dark: bool = False) -> str:
    """One judged series as an SVG chart: its values over time, where it is equilibrated from (a dashed
    line) and the mean +/- error band after it, the verdict above (numbers only: nothing to escape but
    the series name, which is NAMD's own column title and checked by the caller)."""
    verdict = analysis.get(name)
    if verdict is None or name not in analysis.points:
        raise NotFoundError(f"no series {name!r} in this analysis")
    steps, values = analysis.points[name]
    width, height, pad, top = 640, 200, 52, 26
    fg, bg = ("#9aa7b8", "#1c222b") if dark else ("#5d6b7d", "#ffffff")
    line, good = ("#7fb0ff", "#5fcf83") if dark else ("#2457c5", "#1d7a3a")
    long_run = float(steps[-1]) * analysis.timestep_fs >= 1e5  # 0.1 ns: in ns, else in ps (not 9.6e-05 ns)
    scale, unit = (1e-6, "ns") if long_run else (1e-3, "ps")
    ns = steps * analysis.timestep_fs * scale
    t0, t1 = float(ns[0]), float(ns[-1]) if ns[-1] > ns[0] else float(ns[0]) + 1.0
    lo, hi = float(values.min()), float(values.max())
    if verdict.error is not None:
        lo, hi = min(lo, verdict.mean - verdict.error), max(hi, verdict.mean + verdict.error)
    span = (hi - lo) or 1.0

    def x(t: float) -> float:
        return pad + (t - t0) / (t1 - t0) * (width - pad - 10)

    def y(v: float) -> float:
        return top + (hi - v) / span * (height - top - 28)

    stride = max(1, len(values) // 1200)  # an SVG of at most ~1200 points per series
    xy = " ".join(f"{x(float(t)):.1f},{y(float(v)):.1f}" for t, v in zip(ns[::stride], values[::stride], strict=True))
    err = f" +/- {verdict.error:.2g}" if verdict.error is not None else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" font-family="sans-serif" '
        f'font-size="11" fill="{fg}"><rect width="{width}" height="{height}" fill="{bg}"/>',
        f'<text x="4" y="14" font-weight="bold" fill="{"#e3e8ef" if dark else "#1c2430"}">'
        f"{html.escape(name)}: {verdict.verdict} - mean {verdict.mean:.6g}{err}</text>",
    ]
    if verdict.equilibrated_from is not None:
        te = verdict.equilibrated_from * analysis.timestep_fs * scale
        if verdict.error is not None:
            y_hi, y_lo = y(verdict.mean + verdict.error), y(verdict.mean - verdict.error)
            parts.append(f'<rect class="band" x="{x(te):.1f}" y="{y_hi:.1f}" width="{x(t1) - x(te):.1f}" '
                         f'height="{max(1.0, y_lo - y_hi):.1f}" fill="{good}" fill-opacity="0.25"/>')  # fmt: skip
        parts.append(f'<line class="from" x1="{x(te):.1f}" x2="{x(te):.1f}" y1="{top}" y2="{height - 28}" '
                     f'stroke="{good}" stroke-dasharray="4 3"/>')  # fmt: skip
    parts.append(f'<polyline class="series" fill="none" stroke="{line}" stroke-width="1.2" points="{xy}"/>')
    parts.append(f'<text x="{pad}" y="{height - 10}">{t0:.4g} {unit}</text>')
    parts.append(f'<text x="{width - 10}" y="{height - 10}" text-anchor="end">{t1:.4g} {unit}</text>')
    parts.append(f'<text x="{pad - 4}" y="{top + 4}" text-anchor="end">{hi:.4g}</text>')
    parts.append(f'<text x="{pad - 4}" y="{height - 28}" text-anchor="end">{lo:.4g}</text>')
    parts.append("</svg>")
    return "".join(parts)
