"""The page's downloads: one file (outputs and inputs), and "Download all" - every file of the job,
fetched verified in the BACKGROUND with its own connection (the page and its sync are never held up;
the job page shows the bytes as they arrive), then streamed to the browser as one zip."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from namdrunner_cli.web import views
from namdrunner_cli.web.html import page
from namdrunner_cli.web.tasks import Task, Tasks
from namdrunner_core.archive import zip_stream
from namdrunner_core.cluster import Session
from namdrunner_core.errors import ValidationError
from namdrunner_core.jobs.job import Job
from namdrunner_core.store.jobstore import JobStore

#: downloads running at once; another is refused with the reason
MAX_RUNNING = 2

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
    """The "Download all" of each job: :class:`~namdrunner_cli.web.tasks.Task` s of kind ``fetch``."""

    def __init__(self, root: Path, store: JobStore, fetch_files: FetchFiles) -> None:
        self.tasks = Tasks(root, MAX_RUNNING, "downloads")
        self.store = store
        self.fetch_files = fetch_files

    def start(self, job_id: str) -> Task:
        """Start fetching every file of ``job_id`` (one at a time per job: a running one is returned)."""
        self.store.get_job(job_id)  # an unknown job: NotFoundError before anything starts

        def work(task: Task) -> None:
            assert task.folder is not None
            self.fetch_files(job_id, task.folder / "files", task.progress)
            here = [p.stat().st_size for p in (task.folder / "files").rglob("*") if p.is_file()]
            task.files, task.done, task.total = len(here), sum(here), sum(here)  # what the zip holds

        return self.tasks.start("fetch", job_id, work, folder=True)

    def of_job(self, job_id: str) -> list[Task]:
        """The job's downloads, newest first."""
        return self.tasks.of("fetch", job_id)

    def get(self, fetch_id: str, job_id: str) -> Task:
        return self.tasks.get(fetch_id, "fetch", job_id)


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
    assert fetch.folder is not None
    stream: Iterator[bytes] = zip_stream(fetch.folder / "files", folder=job_id)
    headers = {"Content-Disposition": f'attachment; filename="{job_id}.zip"'}
    return StreamingResponse(stream, media_type="application/zip", headers=headers)


ROUTES: list[Any] = [
    Route("/jobs/{job_id}/files/{name:path}", job_file),
    Route("/jobs/{job_id}/download-all", download_all, methods=["POST"]),
    Route("/jobs/{job_id}/all/{fetch}.zip", fetched_zip),
    Route("/fragments/fetches/{job_id}", fetches_fragment),
]
