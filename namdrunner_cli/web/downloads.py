"""The page's downloads: one file (outputs and inputs), and "Download all" - every file of the job,
fetched verified in the BACKGROUND with its own connection (the page and its sync are never held up;
the job page shows the bytes as they arrive), then streamed to the browser as one zip."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from namdrunner_cli.web import views
from namdrunner_cli.web.html import page
from namdrunner_core.archive import zip_stream
from namdrunner_core.cluster import Session
from namdrunner_core.errors import NamdRunnerError, NotFoundError, ValidationError
from namdrunner_core.jobs.job import Job
from namdrunner_core.store.jobstore import JobStore

#: a fetched job waits this long for its zip to be saved (then its folder is removed)
KEEP_S = 3600.0
#: downloads running at once; another is refused with the reason
MAX_RUNNING = 2


@attrs.define
class Fetch:
    """One "Download all": ``done``/``total`` bytes to this computer; ``state`` running, ready or failed."""

    id: str
    job_id: str
    folder: Path
    started: float
    state: str = "running"
    done: int = 0
    total: int = 0
    files: int = 0
    error: str | None = None
    finished: float | None = None

    @property
    def percent(self) -> int | None:
        """Bytes arrived, in whole per cent (None until the size is known)."""
        return int(100 * self.done / self.total) if self.total else None


#: (job id, into, progress(done, total)): every file of the job fetched, verified, into the folder
FetchFiles = Callable[[str, Path, Callable[[int, int], None]], object]


def job_files(store: JobStore, connect: Callable[[], Session]) -> FetchFiles:
    """The real :data:`FetchFiles`: ``Job.download`` over a session of its own (``connect``: through the
    shared login, so no second password or Duo push), never the one the page's requests take turns on."""

    def fetch(job_id: str, into: Path, progress: Callable[[int, int], None]) -> object:
        with connect() as session:
            return Job.load(session, store, job_id).download(into, progress=progress)

    return fetch


class Fetches:
    """The background downloads of one server (thread-safe)."""

    def __init__(self, root: Path, store: JobStore, fetch_files: FetchFiles) -> None:
        self.root = root
        self.store = store
        self.fetch_files = fetch_files
        self._lock = threading.Lock()
        self._all: dict[str, Fetch] = {}

    def start(self, job_id: str) -> Fetch:
        """Start fetching every file of ``job_id`` (one at a time per job: a running one is returned)."""
        self.store.get_job(job_id)  # an unknown job: NotFoundError before anything starts
        self.expire()
        with self._lock:
            for f in self._all.values():
                if f.job_id == job_id and f.state == "running":
                    return f
            if sum(f.state == "running" for f in self._all.values()) >= MAX_RUNNING:
                raise ValidationError("download", f"{MAX_RUNNING} downloads are running; start this one when one ends")
            fetch = Fetch(secrets.token_hex(8), job_id, Path(tempfile.mkdtemp(prefix="all-", dir=self.root)),
                          time.monotonic())  # fmt: skip
            self._all[fetch.id] = fetch
        threading.Thread(target=self._run, args=(fetch,), name=f"namdrunner-ui-fetch-{job_id}", daemon=True).start()
        return fetch

    def _run(self, fetch: Fetch) -> None:
        def progress(done: int, total: int) -> None:
            fetch.done, fetch.total = done, total

        try:
            self.fetch_files(fetch.job_id, fetch.folder / "files", progress)
            here = [p.stat().st_size for p in (fetch.folder / "files").rglob("*") if p.is_file()]
            fetch.files, fetch.done, fetch.total = len(here), sum(here), sum(here)  # what the zip holds
            fetch.state = "ready"
        except NamdRunnerError as exc:
            fetch.state, fetch.error = "failed", str(exc)
            shutil.rmtree(fetch.folder, ignore_errors=True)
        except Exception as exc:  # noqa: BLE001 - a background thread: said on the page, never lost
            fetch.state, fetch.error = "failed", f"{type(exc).__name__}: {exc}"
            shutil.rmtree(fetch.folder, ignore_errors=True)
        finally:
            fetch.finished = time.monotonic()

    def of_job(self, job_id: str) -> list[Fetch]:
        """The job's downloads, newest first."""
        self.expire()
        with self._lock:
            return sorted((f for f in self._all.values() if f.job_id == job_id), key=lambda f: -f.started)

    def get(self, fetch_id: str, job_id: str) -> Fetch:
        with self._lock:
            fetch = self._all.get(fetch_id)
        if fetch is None or fetch.job_id != job_id:
            raise NotFoundError(f"no download {fetch_id!r} of job {job_id} (they are kept an hour)")
        return fetch

    def expire(self, now: float | None = None) -> None:
        """Forget (and remove the files of) downloads that ended more than :data:`KEEP_S` ago."""
        now = time.monotonic() if now is None else now
        with self._lock:
            old = [k for k, f in self._all.items() if f.finished is not None and now - f.finished > KEEP_S]
            for k in old:
                shutil.rmtree(self._all.pop(k).folder, ignore_errors=True)


def _fetches(request: Request) -> Fetches:
    fetches: Fetches = request.app.state.fetches
    return fetches


def job_file(request: Request) -> Response:
    """One file of the job (an output, or an input under ``input_files/``), streamed from a verified
    download into a temporary dir (removed after)."""
    state = request.app.state.ui
    name = request.path_params["name"]
    views.check_listed_output(state, request.path_params["job_id"], name)
    tmp = Path(tempfile.mkdtemp(prefix="nr-dl-", dir=state.drafts))
    path = views.fetch_output(state, request.path_params["job_id"], name, tmp)
    return FileResponse(path, filename=Path(name).name, background=BackgroundTask(views.remove_tree, tmp))


def download_all(request: Request) -> Response:
    """POST ``/jobs/<id>/download-all``: start fetching every file; back to the job's files, where the
    bytes are shown as they arrive."""
    job_id = request.path_params["job_id"]
    _fetches(request).start(job_id)
    return RedirectResponse(f"/jobs/{job_id}#outputs", status_code=303)


def fetches_fragment(request: Request) -> Response:
    """``/fragments/fetches/<id>``: the job's downloads and their progress (local: no remote command)."""
    fetches = _fetches(request).of_job(request.path_params["job_id"])
    running = any(f.state == "running" for f in fetches)
    response = page(request, "_fetches.html", job_id=request.path_params["job_id"], fetches=fetches)
    response.headers["X-Running"] = "1" if running else "0"
    return response


def fetched_zip(request: Request) -> Response:
    """``/jobs/<id>/all/<fetch>.zip``: the fetched files as one zip, streamed as it is written."""
    job_id = request.path_params["job_id"]
    fetch = _fetches(request).get(request.path_params["fetch"], job_id)
    if fetch.state != "ready":
        raise ValidationError("download", f"the files of {job_id} are {fetch.state}: wait until they are all here")
    stream: Iterator[bytes] = zip_stream(fetch.folder / "files", folder=job_id)
    headers = {"Content-Disposition": f'attachment; filename="{job_id}.zip"'}
    return StreamingResponse(stream, media_type="application/zip", headers=headers)


ROUTES: list[Any] = [
    Route("/jobs/{job_id}/files/{name:path}", job_file),
    Route("/jobs/{job_id}/download-all", download_all, methods=["POST"]),
    Route("/jobs/{job_id}/all/{fetch}.zip", fetched_zip),
    Route("/fragments/fetches/{job_id}", fetches_fragment),
]
