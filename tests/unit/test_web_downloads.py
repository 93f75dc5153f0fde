"""The page's "Download all" (namdrunner_cli/web/downloads.py): fetched in the background with the
bytes shown as they arrive, one at a time per job, then one zip; a failure is said, its files removed."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from namdrunner_cli.web import downloads, views
from namdrunner_cli.web import html as web_app
from namdrunner_cli.web.state import UiState
from namdrunner_cli.web.tasks import KEEP_S, Task, Tasks
from namdrunner_core.archive import zip_stream
from namdrunner_core.errors import NotFoundError, TransferError, ValidationError
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.store import JobStore
from tests.unit.test_web_pages import _record


def _wait(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _render(state: UiState, job_id: str, fetches: list[Task]) -> str:
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(ui=state)), url=None)
    response = web_app.page(request, "_fetches.html", job_id=job_id, fetches=fetches)  # type: ignore[arg-type]
    return bytes(response.body).decode()


def test_download_all_shows_its_bytes_then_offers_one_zip(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "db.sqlite")
    store.add_job(_record("prod_1", JobStatus.COMPLETED))
    half, go_on = threading.Event(), threading.Event()

    def fetch_files(job_id: str, into: Path, progress: Callable[[int, int], None]) -> object:
        (into / "input_files").mkdir(parents=True)
        (into / "input_files" / "tiny.psf").write_bytes(b"P" * 4000)
        progress(4000, 10_000)
        half.set()
        go_on.wait(10)
        (into / "namd_output.log").write_bytes(b"ENERGY: 0\n" * 600)
        progress(10_000, 10_000)
        return None

    fetches = downloads.Fetches(tmp_path / "drafts", store, fetch_files)
    (tmp_path / "drafts").mkdir()
    state = UiState("loopback", store)
    first = fetches.start("prod_1")
    half.wait(10)
    assert fetches.start("prod_1") is first  # one at a time per job
    html = _render(state, "prod_1", fetches.of_job("prod_1"))
    assert 'data-state="running"' in html
    assert "4.0 kB of 10.0 kB (40 %)" in html or "3.9 KiB of 9.8 KiB (40 %)" in html, html
    go_on.set()
    _wait(lambda: first.state == "ready")
    assert (first.files, first.total) == (2, 10_000)
    html = _render(state, "prod_1", fetches.of_job("prod_1"))
    assert f'href="/jobs/prod_1/all/{first.id}.zip"' in html
    # the job page holds the same, for the job it shows
    page = web_app.page(SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(ui=state)), url=None),  # type: ignore[arg-type]
                        "job.html", fetches=fetches.of_job("prod_1"), **views.job_context(state, "prod_1"))  # fmt: skip
    assert f'href="/jobs/prod_1/all/{first.id}.zip"' in bytes(page.body).decode()
    assert "2 files" in html
    zf = zipfile.ZipFile(io.BytesIO(b"".join(zip_stream(first.folder / "files", folder="prod_1"))))
    assert sorted(zf.namelist()) == ["prod_1/input_files/tiny.psf", "prod_1/namd_output.log"]
    with pytest.raises(NotFoundError):
        fetches.get(first.id, "another_job")  # a download of one job is never served as another's
    fetches.tasks.expire(now=time.monotonic() + KEEP_S + 1)
    assert not first.folder.exists()
    assert fetches.of_job("prod_1") == []


def test_a_failed_download_is_said_and_leaves_nothing(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "db.sqlite")
    store.add_job(_record("prod_1", JobStatus.COMPLETED))

    def fetch_files(job_id: str, into: Path, progress: Callable[[int, int], None]) -> object:
        into.mkdir(parents=True)
        (into / "part").write_bytes(b"x")
        raise TransferError("the connection dropped after 3 retries")

    (tmp_path / "drafts").mkdir()
    fetches = downloads.Fetches(tmp_path / "drafts", store, fetch_files)
    f = fetches.start("prod_1")
    _wait(lambda: f.state == "failed")
    assert f.error == "the connection dropped after 3 retries"
    assert not f.folder.exists()
    assert "Download all failed: the connection dropped" in _render(UiState("loopback", store), "prod_1", [f])
    with pytest.raises(NotFoundError):
        fetches.start("no_such_job")
    assert list((tmp_path / "drafts").iterdir()) == []  # nothing left behind


def test_no_more_than_two_downloads_run_at_once(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "db.sqlite")
    for j in ("a_1", "b_1", "c_1"):
        store.add_job(_record(j, JobStatus.COMPLETED))
    release = threading.Event()
    (tmp_path / "drafts").mkdir()
    fetches = downloads.Fetches(tmp_path / "drafts", store, lambda j, into, p: release.wait(10))
    fetches.start("a_1")
    fetches.start("b_1")
    with pytest.raises(ValidationError, match="2 downloads are running"):
        fetches.start("c_1")
    release.set()


def test_create_runs_in_the_background_with_its_bytes_and_opens_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Create button: the reviewed job is created over a session of its own, in the background; the
    task counts the bytes of its uploads and ends with the job's id; the draft is dropped after."""
    import asyncio

    from namdrunner_cli.web import wizards
    from namdrunner_core.profile import load_profile
    from namdrunner_core.testing import FakeSlurm
    from tests.conftest import ROOT

    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    tiny = ROOT / "tests" / "data" / "tiny"
    with FakeSlurm(tmp_path / "fake", namd=ROOT / "tests" / "cluster" / "namd3_standin.py") as fake:
        fake.install_profile("fake")
        state = UiState("fake", JobStore(tmp_path / "db.sqlite"))
        opened: list[object] = []

        def connect() -> object:
            opened.append(object())
            return fake.session(load_profile("fake"))

        monkeypatch.setattr(state, "connect", connect)
        monkeypatch.setattr(state, "remote", None)  # the page's own session is never taken for it
        fields = {"template": "vacuum_optimization_v1", "name": "made in the background", "cores": "1",
                  "memory_gb": "0.5", "walltime": "00:10:00", "steps": "120",
                  "execution_command": "minimize"}  # fmt: skip
        uploads = {}
        for key, name in (("structure", "tiny.psf"), ("coordinates", "tiny.pdb"), ("parameters", "par_tiny.prm")):
            uploads[key] = _Upload(name, (tiny / name).read_bytes())
        draft, planned = asyncio.run(wizards.review(state, fields, uploads))  # type: ignore[arg-type]
        assert planned, state.forms[draft]["errors"]
        job_id = state.plans[draft].plan.record.job_id
        tasks = Tasks(state.drafts, 4, "creations")
        task = wizards.start_create(state, tasks, {"draft": draft})
        _wait(lambda: task.state != "running")
        assert task.state == "ready", task.error
        assert task.result == job_id
        sizes = sum((tiny / n).stat().st_size for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm"))
        assert task.total >= sizes
        assert task.done == task.total
        assert len(opened) == 1
        record = state.store.get_job(job_id)
        assert (Path(record.project_dir) / "input_files" / "tiny.psf").read_bytes() == (tiny / "tiny.psf").read_bytes()
        assert draft not in state.plans
        assert not (state.drafts / draft).exists()
        with pytest.raises(NotFoundError, match="no longer there"):
            wizards.start_create(state, tasks, {"draft": draft})  # a second click after it is made


class _Upload:
    """What Starlette hands the wizard for one chosen file."""

    def __init__(self, filename: str, data: bytes) -> None:
        self.filename = filename
        self._data = [data, b""]

    async def read(self, size: int = -1) -> bytes:
        return self._data.pop(0) if self._data else b""


def test_a_bulk_delete_is_said_as_it_is() -> None:
    task = Task("t", "bulk", "delete", 0.0)
    assert views.bulk_said(task) == "Checking the selected jobs..."
    task.progress(2, 5)
    assert views.bulk_said(task) == "Deleting the selected jobs: 2 of 5 deleted"
    task.error, task.state = "lost the connection", "failed"
    assert views.bulk_said(task) == "2 of 5 jobs deleted, then: lost the connection"
    refused = Task("u", "bulk", "delete", 0.0, state="failed", error="results only on scratch")
    assert views.bulk_said(refused) == "Nothing was deleted: results only on scratch"
    task.state = "ready"
    task.progress(5, 5)
    assert views.bulk_said(task) == "Deleted 5 job(s), with their directories."
