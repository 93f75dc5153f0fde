"""Replicas side by side: do their equilibrated means agree within their errors, and which one is off?

For each series every run has, the error-weighted mean of the runs' means, the chi-square of their
deviations from it (each over its own error) and the verdict at the 95 % level (the chi-square
quantile by the Wilson-Hilferty approximation, good to a few per cent for any number of runs); when
they disagree, the run that deviates most (in its own errors) is named.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import attrs

from namdrunner_core.analysis.report import Analysis

#: the standard normal quantile of 0.95 (one-sided): the chi-square test at the 95 % level
_Z95 = 1.6448536269514722


def chi2_quantile_95(dof: int) -> float:
    """The 95 % quantile of the chi-square distribution with ``dof`` degrees of freedom (Wilson-Hilferty)."""
    k = float(dof)
    return k * (1.0 - 2.0 / (9.0 * k) + _Z95 * math.sqrt(2.0 / (9.0 * k))) ** 3


@attrs.frozen(slots=True)
class SeriesComparison:
    """One series over several runs: each run's mean and error, the weighted mean, chi-square and whether
    they agree; ``off`` names the run that deviates most when they do not."""

    name: str
    means: dict[str, float]
    errors: dict[str, float]
    mean: float
    chi2: float
    dof: int
    agree: bool
    off: str | None


def compare(analyses: Mapping[str, Analysis]) -> list[SeriesComparison]:
    """Every series that at least two runs judged with an error, compared (runs keyed by their label)."""
    names = list(dict.fromkeys(s.name for a in analyses.values() for s in a.series))
    out: list[SeriesComparison] = []
    for name in names:
        runs = {label: a.get(name) for label, a in analyses.items()}
        usable = {k: v for k, v in runs.items() if v is not None and v.error is not None and v.error > 0}
        if len(usable) < 2:
            continue
        means = {k: v.mean for k, v in usable.items()}
        errors = {k: float(v.error or 0.0) for k, v in usable.items()}
        weights = {k: 1.0 / errors[k] ** 2 for k in usable}
        mean = sum(weights[k] * means[k] for k in usable) / sum(weights.values())
        deviations = {k: (means[k] - mean) / errors[k] for k in usable}
        chi2 = sum(d * d for d in deviations.values())
        dof = len(usable) - 1
        agree = chi2 <= chi2_quantile_95(dof)
        off = None if agree else max(deviations, key=lambda k: abs(deviations[k]))
        out.append(SeriesComparison(name, means, errors, mean, chi2, dof, agree, off))
    return out
