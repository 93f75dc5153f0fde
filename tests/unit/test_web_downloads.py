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


def _render(state: UiState, job_id: str, fetches: list[downloads.Fetch]) -> str:
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
    fetches.expire(now=time.monotonic() + downloads.KEEP_S + 1)
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
