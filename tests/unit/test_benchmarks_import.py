"""Every benchmark script imports (they run by hand, so a rename elsewhere must not break them unseen)."""

from __future__ import annotations

import importlib

import pytest

from tests.conftest import ROOT

SCRIPTS = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_"))


@pytest.mark.parametrize("name", SCRIPTS)
def test_benchmark_imports(name: str) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    assert callable(module.main)
