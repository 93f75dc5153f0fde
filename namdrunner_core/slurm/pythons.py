"""The Pythons a cluster offers an analysis job (``cluster detect``): the plain ``python3`` and the
Python modules (``python``, ``anaconda``, ``miniforge``...), each with its numpy and MDAnalysis versions,
read by ``lib_detect.sh`` in the same one command as the rest; and what the profile's
``analysis_modules`` should be when they give no numpy."""

from __future__ import annotations

from typing import Any

import attrs

from namdrunner_core.profile import ClusterProfile
from namdrunner_core.slurm.inventory import Difference


@attrs.frozen(slots=True)
class AnalysisPython:
    """One Python: its module (``None``: the plain ``python3``), its path, numpy's and MDAnalysis's
    versions (``None``: not installed)."""

    module: str | None
    python: str
    numpy: str | None
    mdanalysis: str | None


def parse_pythons(text: str) -> list[AnalysisPython]:
    """The ``@@PYTHON module|path|numpy|MDAnalysis`` lines (``-``: none)."""
    out = []
    for line in text.splitlines():
        if line.startswith("@@PYTHON "):
            parts = line[9:].split("|")
            if len(parts) == 4:
                module, path, numpy, mda = (p.strip() for p in parts)
                out.append(AnalysisPython(None if module == "-" else module, path, None if numpy == "-" else numpy,
                                          None if mda == "-" else mda))  # fmt: skip
    return out


def best(pythons: list[AnalysisPython]) -> AnalysisPython | None:
    """The Python an analysis job should use: with MDAnalysis before numpy alone, no module before one."""
    usable = [p for p in pythons if p.numpy]
    return min(usable, key=lambda p: (p.mdanalysis is None, p.module is not None), default=None)


def _current(pythons: list[AnalysisPython], profile: ClusterProfile) -> AnalysisPython | None:
    """The Python the profile's ``analysis_modules`` give (the last module of the list, or none)."""
    wanted = profile.analysis_modules[-1] if profile.analysis_modules else None
    exact = next((p for p in pythons if p.module == wanted), None)
    if exact is not None or wanted is None or "/" in wanted:
        return exact
    return next((p for p in pythons if p.module and p.module.split("/")[0] == wanted), None)  # its default version


def python_differences(pythons: list[AnalysisPython], profile: ClusterProfile) -> list[Difference]:
    """A difference when the profile's analysis Python has no numpy but another has (or lacks MDAnalysis
    that another has)."""
    chosen, now = best(pythons), _current(pythons, profile)
    if chosen is None or not pythons:
        return []
    if now is not None and now.numpy and (now.mdanalysis or not chosen.mdanalysis):
        return []
    said = (now.module or "the plain python3") if now is not None else f"module {profile.analysis_modules[-1]}"
    lacks = "MDAnalysis" if now is not None and now.numpy else "numpy"
    gives = f"module {chosen.module}" if chosen.module else "the plain python3"
    extra = f" and MDAnalysis {chosen.mdanalysis}" if chosen.mdanalysis else ""
    message = f"the analysis Python ({said}) has no {lacks}; {gives} has numpy {chosen.numpy}{extra}"
    return [Difference("analysis_modules", profile.analysis_modules, [chosen.module] if chosen.module else [], message)]


def python_overrides(pythons: list[AnalysisPython], profile: ClusterProfile) -> dict[str, Any]:
    """``analysis_modules`` for a written profile, when it differs."""
    diffs = python_differences(pythons, profile)
    return {"analysis_modules": diffs[0].cluster} if diffs else {}
