"""The notebooks run top to bottom against the loopback cluster (in a scratch copy, so the committed
files stay without outputs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT, ClusterEnv

pytestmark = pytest.mark.cluster
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_committed_notebooks_have_no_outputs() -> None:
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{path.name}: strip outputs before committing"
                assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(
    path: Path, tmp_path: Path, cluster: ClusterEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "notebooks"
    work.mkdir()
    os.symlink(ROOT / "examples", tmp_path / "examples")
    shutil.copy(path, work / path.name)
    monkeypatch.setenv("NAMDRUNNER_DB", str(tmp_path / "nb.db"))
    monkeypatch.setenv("NAMDRUNNER_PROFILE", "loopback")
    nb = nbformat.read(work / path.name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    if path.name.startswith("01_"):
        assert (work / "quickstart_energy.png").stat().st_size > 5000
        assert (work / "results_quickstart" / "outputs" / "npt_equilibration.coor").is_file()
