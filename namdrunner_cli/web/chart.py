"""The energy chart of a job page: an SVG drawn from the NAMD log's ENERGY rows (no plotting library
in the browser, nothing fetched from elsewhere)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from namdrunner_cli.web.views import (
    _job,
)
from namdrunner_core.errors import NotFoundError

if TYPE_CHECKING:
    from namdrunner_cli.web.state import UiState


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
