"""Statistics of a correlated time series, as a reviewer would accept them (numpy only).

- :func:`statistical_inefficiency`: g = 1 + 2 sum of the normalized autocorrelation, summed until it
  first drops to zero or below (Chodera et al., J. Chem. Theory Comput. 3, 26 (2007), with the
  increasing lag increments of pymbar's ``timeseries.statistical_inefficiency``);
- :func:`detect_equilibration`: the start t0 that maximizes the number of effectively uncorrelated
  samples N_eff = (N - t0) / g(t0) (Chodera, J. Chem. Theory Comput. 12, 1799 (2016) - the method of
  pymbar's ``detect_equilibration``);
- :func:`block_standard_error`: the standard error of the mean by blocking (Flyvbjerg & Petersen,
  J. Chem. Phys. 91, 461 (1989)), the plateau of the block-average error estimates;
- :func:`drift`: the least-squares slope and its 95 % interval, its standard error widened by sqrt(g)
  for the correlation of the samples;
- :func:`judge`: all of it for one series, with a verdict - ``equilibrated``, ``drifting`` or
  ``too short`` - and the numbers behind it (:class:`SeriesVerdict`).
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

#: fewer effectively uncorrelated samples than this after equilibration: "too short" to say
MIN_EFFECTIVE_SAMPLES = 20
#: candidate equilibration starts examined (evenly spaced over the series)
EQUILIBRATION_CANDIDATES = 100


def _array(x: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError("a time series is one-dimensional")
    return a


def autocorrelation(x: ArrayLike) -> NDArray[np.float64]:
    """The normalized autocorrelation function C(t), t = 0 .. N-1, by FFT (O(N log N)); each lag averaged
    over the N - t pairs it has."""
    a = _array(x)
    n = a.size
    d = a - a.mean()
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(d, size)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), size)[:n] / np.arange(n, 0, -1)
    return acov / acov[0] if acov[0] > 0 else np.zeros(n)


def statistical_inefficiency(x: ArrayLike, *, mintime: int = 3) -> float:
    """g >= 1: how many samples make one uncorrelated one (1.0 for a constant or too short series):
    1 + 2 sum_t C(t) (1 - t/N), summed over every lag until C first drops to zero or below (after
    ``mintime`` lags)."""
    a = _array(x)
    n = a.size
    if n < 2 or float(np.ptp(a)) == 0.0:
        return 1.0
    c = autocorrelation(a)[1:]
    nonpositive = np.nonzero(c[mintime:] <= 0.0)[0]
    stop = int(nonpositive[0]) + mintime if nonpositive.size else c.size
    t = np.arange(1, stop + 1)
    return max(1.0, 1.0 + 2.0 * float(np.sum(c[:stop] * (1.0 - t / n))))


@attrs.frozen(slots=True)
class Equilibration:
    """Where a series is equilibrated from: index ``t0``, its inefficiency ``g`` and ``n_eff`` after it."""

    t0: int
    g: float
    n_eff: float


def detect_equilibration(x: ArrayLike, *, candidates: int = EQUILIBRATION_CANDIDATES) -> Equilibration:
    """The start that leaves the most effectively uncorrelated samples (Chodera 2016)."""
    a = _array(x)
    n = a.size
    if n < 4:
        return Equilibration(0, 1.0, float(n))
    best = Equilibration(0, 1.0, -1.0)
    starts = sorted({int(s) for s in np.linspace(0, n - 3, num=min(candidates, n - 2))})
    for t0 in starts:
        g = statistical_inefficiency(a[t0:])
        n_eff = (n - t0) / g
        if n_eff > best.n_eff:
            best = Equilibration(t0, g, n_eff)
    return best


def block_standard_error(x: ArrayLike, *, min_blocks: int = 16) -> float:
    """The standard error of the mean by blocking: the largest estimate over block sizes that leave at
    least ``min_blocks`` blocks (the plateau, from below, as correlation is blocked away)."""
    a = _array(x)
    n = a.size
    if n < 2:
        return math.nan
    best = float(np.std(a, ddof=1) / math.sqrt(n))
    size = 2
    while n // size >= min_blocks:
        m = n // size
        blocks = a[: m * size].reshape(m, size).mean(axis=1)
        best = max(best, float(np.std(blocks, ddof=1) / math.sqrt(m)))
        size *= 2
    return best


@attrs.frozen(slots=True)
class Drift:
    """The slope of a series against time (per ns) with its 95 % interval."""

    slope: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.low > 0.0 or self.high < 0.0


def drift(t: ArrayLike, x: ArrayLike, *, g: float = 1.0) -> Drift:
    """Least-squares slope of ``x`` against ``t``, its interval widened by sqrt(``g``) (correlated samples)."""
    tt, a = _array(t), _array(x)
    n = a.size
    if n < 3 or float(np.ptp(tt)) == 0.0:
        return Drift(0.0, -math.inf, math.inf)
    tc = tt - tt.mean()
    sxx = float(np.dot(tc, tc))
    slope = float(np.dot(tc, a - a.mean())) / sxx
    resid = a - a.mean() - slope * tc
    s2 = float(np.dot(resid, resid)) / (n - 2)
    se = math.sqrt(s2 / sxx * max(1.0, g))
    return Drift(slope, slope - 1.96 * se, slope + 1.96 * se)


@attrs.frozen(slots=True)
class SeriesVerdict:
    """One series judged: equilibrated from ``equilibrated_from`` (a step), its mean +/- ``error`` over
    the equilibrated part, statistical inefficiency, effective samples, drift per ns, and the verdict."""

    name: str
    samples: int
    equilibrated_from: int | None
    mean: float
    #: None: too few samples to say (JSON has no NaN or infinity)
    error: float | None
    g: float
    n_eff: float
    drift_per_ns: float
    drift_low: float | None
    drift_high: float | None
    verdict: str
    why: str


def judge(name: str, steps: ArrayLike, values: ArrayLike, *, timestep_fs: float = 2.0) -> SeriesVerdict:
    """A series of NAMD's (``steps`` of ``values``) judged: equilibration detected, mean and its error
    (the larger of the blocking and the inefficiency estimates) after it, drift after it, verdict."""
    s, v = _array(steps), _array(values)
    n = v.size
    if n < 8:
        return SeriesVerdict(name, n, None, float(v.mean()) if n else 0.0, None, 1.0, float(n),
                             0.0, None, None, "too short", f"{n} samples; at least 8 are needed")  # fmt: skip
    eq = detect_equilibration(v)
    tail_s, tail_v = s[eq.t0 :], v[eq.t0 :]
    mean = float(tail_v.mean())
    naive = float(np.std(tail_v, ddof=1)) * math.sqrt(eq.g / tail_v.size) if tail_v.size > 1 else math.nan
    error = max(naive, block_standard_error(tail_v))
    d = drift(tail_s * timestep_fs * 1e-6, tail_v, g=eq.g)
    if eq.t0 > n // 2:
        verdict, why = "drifting", f"it settles only in the last half of the run (from step {int(s[eq.t0])})"
    elif eq.n_eff < MIN_EFFECTIVE_SAMPLES:
        verdict, why = "too short", f"{eq.n_eff:.0f} effectively independent samples; {MIN_EFFECTIVE_SAMPLES} needed"
    elif d.significant and abs(d.slope * float(np.ptp(tail_s)) * timestep_fs * 1e-6) > 2.0 * error:
        verdict, why = "drifting", f"slope {d.slope:.3g}/ns (95 %: {d.low:.3g} to {d.high:.3g}) moves it past 2 errors"
    else:
        verdict, why = "equilibrated", f"no significant drift after step {int(s[eq.t0])}; {eq.n_eff:.0f} samples"
    low, high = (d.low, d.high) if math.isfinite(d.low) and math.isfinite(d.high) else (None, None)
    return SeriesVerdict(name, n, int(s[eq.t0]), mean, error if math.isfinite(error) else None, eq.g, eq.n_eff,
                         d.slope, low, high, verdict, why)  # fmt: skip
