"""Is it equilibrated? The statistics on series with a known answer (200 seeds), every ENERGY column of
real NAMD logs, the cell of a real .xst, memory kept flat for any log, and bad input in one line."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from namdrunner_core.analysis import series as series_mod
from namdrunner_core.analysis.report import analyze_log
from namdrunner_core.analysis.series import log_series, psf_mass, xst_series
from namdrunner_core.analysis.stats import detect_equilibration, judge, statistical_inefficiency
from namdrunner_core.errors import ValidationError
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "namd"


def _relaxing(seed: int, n: int = 20_000, tau: float = 200.0, phi: float = 0.8, amp: float = 8.0) -> np.ndarray:
    """10 + amp sigma exp(-t / tau) + AR(1) noise of unit innovations (sigma its stationary deviation)."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0.0, 1.0, n)
    sigma = 1.0 / math.sqrt(1.0 - phi**2)
    ar = np.empty(n)
    ar[0] = e[0] * sigma
    for i in range(1, n):
        ar[i] = phi * ar[i - 1] + e[i]
    return 10.0 + amp * sigma * np.exp(-np.arange(n) / tau) + ar


def test_equilibration_and_mean_are_found_in_at_least_95_percent_of_200_seeds() -> None:
    n, tau, amp = 20_000, 200.0, 8.0
    t_eq = tau * math.log(amp / 0.5)  # where the relaxation has fallen to half a standard deviation
    starts, covered = [], 0
    for seed in range(200):
        v = judge("X", np.arange(n), _relaxing(seed, n, tau, amp=amp))
        assert v.equilibrated_from is not None
        assert v.error is not None
        starts.append(v.equilibrated_from)
        covered += abs(v.mean - 10.0) <= 2.0 * v.error  # the true mean inside the 95 % interval
    within = np.mean(np.abs(np.array(starts) - t_eq) <= 0.05 * n)
    assert within >= 0.95, (within, np.percentile(starts, [5, 50, 95]))
    assert covered / 200 >= 0.95


def test_the_statistical_inefficiency_of_ar1_noise_is_its_known_value() -> None:
    phi = 0.8
    x = _relaxing(7, 100_000, amp=0.0, phi=phi)
    assert statistical_inefficiency(x) == pytest.approx((1 + phi) / (1 - phi), rel=0.15)  # 9 for phi 0.8
    assert statistical_inefficiency(np.ones(100)) == 1.0
    assert detect_equilibration(x).t0 < 0.05 * x.size  # stationary from the start


def test_a_drifting_and_a_short_series_are_said_so() -> None:
    n = 5000
    rng = np.random.default_rng(3)
    drifting = judge("VOLUME", np.arange(n) * 1000, 1000.0 + 0.01 * np.arange(n) + rng.normal(0, 1, n))
    assert drifting.verdict == "drifting"
    assert "settles only in the last half" in drifting.why
    short = judge("TEMP", np.arange(5), np.arange(5.0))
    assert (short.verdict, short.error, short.drift_low) == ("too short", None, None)  # no NaN in JSON


@pytest.mark.parametrize(
    ("log", "rows"),
    [
        ("namd3.0.1_cpu_multicore_npt_complete.log", 81),
        ("namd3.0.1_gpu_resident_nvt_complete.log", 21),
        ("namd3.0.2_cpu_npt_inprogress.log", 45),
    ],
)
def test_every_energy_column_of_real_logs(log: str, rows: int) -> None:
    s = log_series(FIXTURES / log)
    assert len(s.steps) == rows
    assert {"BOND", "ELECT", "TOTAL", "TEMP", "PRESSURE"} <= set(s.columns)
    assert all(len(col) == rows for col in s.columns.values())
    assert "TS" not in s.columns  # the step is the x axis
    analysis = analyze_log(FIXTURES / log)
    assert analysis.rows == rows
    assert analysis.timestep_fs == 2.0
    assert {v.name for v in analysis.series} <= set(s.columns)


def test_the_cell_of_a_real_xst_and_the_density_from_the_psf(tmp_path: Path) -> None:
    xst = FIXTURES / "namd3.0.2_cpu_npt_inprogress.xst"
    cell = xst_series(xst)
    steps, volume = cell.array("VOLUME")
    first = next(ln for ln in xst.read_text().splitlines() if ln and not ln.startswith("#")).split()
    a, b, c = float(first[1]), float(first[5]), float(first[9])
    assert volume[0] == pytest.approx(a * b * c)  # an orthorhombic cell: |a . (b x c)| = a_x b_y c_z
    mass = psf_mass(ROOT / "tests" / "data" / "tiny" / "tiny.psf")
    assert mass > 0
    dense = xst_series(xst, total_mass_amu=mass)
    assert dense.array("DENSITY")[1][0] == pytest.approx(mass / volume[0] * 1.66053906660)
    assert len(steps) == len(dense.steps)


def test_memory_stays_flat_for_any_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(series_mod, "MAX_POINTS", 1000)
    s = series_mod.Series()
    for step in range(10_007):
        s.add(step * 10, {"TEMP": 300.0 + step % 7})
    assert len(s.steps) < 1000
    assert s.stride == 16
    assert s.steps[:3] == [0, 160, 320]  # evenly over the whole run
    assert s.steps[-1] >= 99_000


def test_bad_input_is_one_line_naming_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "not_namd.log"
    empty.write_text("Charm++: standalone mode\nInfo: NAMD 3.0\n")
    with pytest.raises(ValidationError, match=r"not_namd.log: no ENERGY lines"):
        analyze_log(empty)
    with pytest.raises(ValidationError, match=r"no !NATOM section"):
        psf_mass(empty)


def test_the_chi_square_quantile_is_close_to_the_tables() -> None:
    from namdrunner_core.analysis.compare import chi2_quantile_95

    for dof, table in ((1, 3.841), (2, 5.991), (4, 9.488), (10, 18.307), (30, 43.773)):
        assert chi2_quantile_95(dof) == pytest.approx(table, rel=0.03)


def test_replicas_that_agree_and_one_that_is_off() -> None:
    from namdrunner_core.analysis.compare import compare
    from namdrunner_core.analysis.report import Analysis

    def run(seed: int, shift: float = 0.0) -> Analysis:
        x = _relaxing(seed, 8000) + shift
        return Analysis("synthetic", 2.0, x.size, 1, [judge("TEMP", np.arange(x.size), x)])

    same = {f"r{i}": run(i) for i in range(4)}
    (agreed,) = compare(same)
    assert agreed.agree is True
    assert agreed.off is None
    assert agreed.mean == pytest.approx(10.0, abs=0.2)
    off = {**same, "r9": run(9, shift=2.0)}  # two units away: many errors
    (disagreed,) = compare(off)
    assert disagreed.agree is False
    assert disagreed.off == "r9"
    assert disagreed.dof == 4


def test_the_start_agrees_with_pymbar_detect_equilibration() -> None:
    """The same method as pymbar's ``timeseries.detect_equilibration`` (Chodera 2016), implemented here
    with numpy alone: on 40 of the seeds above both find the start within 5 % of the series of each other
    and of the known start."""
    timeseries = pytest.importorskip("pymbar.timeseries", reason="pymbar is a dev dependency")
    n, tau, amp = 20_000, 200.0, 8.0
    t_eq = tau * math.log(amp / 0.5)
    ours, theirs = [], []
    for seed in range(40):
        x = _relaxing(seed, n, tau, amp=amp)
        ours.append(detect_equilibration(x).t0)
        theirs.append(int(timeseries.detect_equilibration(x, nskip=20)[0]))  # every 20th start: 0.2 s a series
    o, t = np.array(ours), np.array(theirs)
    assert np.mean(np.abs(o - t) <= 0.05 * n) >= 0.95, list(zip(ours, theirs, strict=True))
    assert np.mean(np.abs(o - t_eq) <= 0.05 * n) >= 0.95
    assert np.mean(np.abs(t - t_eq) <= 0.05 * n) >= 0.95
