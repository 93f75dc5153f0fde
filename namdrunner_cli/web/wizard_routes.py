"""The two creation wizards' routes: a job from a template (form in steps, review with its cost and
Slurm's start estimate, creation in the background with its bytes shown) and the DNA-origami ladder
(form, review, creation in the background). The rules are in :mod:`namdrunner_cli.web.wizards` and the core."""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from namdrunner_cli.web import wizards
from namdrunner_cli.web.html import page


async def _fields_and_uploads(request: Request) -> tuple[dict[str, str], dict[str, UploadFile]]:
    """A multipart form: its text fields, and its chosen files (spooled to disk by the parser)."""
    form = await request.form()
    uploads = {k: v for k, v in form.multi_items() if isinstance(v, UploadFile) and v.filename}
    fields = {k: str(v) for k, v in form.multi_items() if not isinstance(v, UploadFile)}
    return fields, uploads


def create(request: Request) -> Response:
    """``/create``: template picker, and the form made from the chosen template's variables (or a
    draft's form again, each error at its field)."""
    ctx = wizards.create_context(request.app.state.ui, request.query_params)
    return page(request, "create.html", status_code=400 if ctx["errors"] else 200, **ctx)


def create_reviewed(request: Request) -> Response:
    """``/create/review/<draft>``: the rendered config and sbatch script of a planned job."""
    return page(request, "review.html", **wizards.review_context(request.app.state.ui, request.path_params["draft"]))


async def create_estimate(request: Request) -> Response:
    """POST ``/create/review/<draft>/estimate``: Slurm's start estimate for the plan, then the review."""
    draft = request.path_params["draft"]
    await asyncio.to_thread(wizards.estimate_start, request.app.state.ui, draft)
    return RedirectResponse(f"/create/review/{urllib.parse.quote(draft)}#start-estimate", status_code=303)


async def create_review(request: Request) -> Response:
    """POST ``/create/review``: the uploads kept as a draft and the job planned (nothing remote);
    then the review page, or the form again with each error at its field (a redirect either way)."""
    fields, uploads = await _fields_and_uploads(request)
    draft, ok = await wizards.review(request.app.state.ui, fields, uploads)
    return RedirectResponse(f"/create/review/{draft}" if ok else f"/create?draft={draft}", status_code=303)


async def create_submit(request: Request) -> Response:
    """POST ``/create/submit``: create the reviewed draft on the cluster (and submit it) in the
    background; its page shows the bytes going up, then opens the job."""
    form = await request.form()
    task = wizards.start_create(request.app.state.ui, request.app.state.creating, {k: str(v) for k, v in form.items()})
    return RedirectResponse(f"/create/progress/{task.id}", status_code=303)


def create_progress(request: Request) -> Response:
    """``/create/progress/<task>`` (a job) or ``/workflows/progress/<task>`` (a ladder): the upload to the
    cluster as it goes (JSON for the page's poll); the made job's or workflow's page once it is made."""
    kind = "workflow" if request.url.path.startswith("/workflows/") else "create"
    task = request.app.state.creating.get(request.path_params["task"], kind)
    made = "" if task.result is None else urllib.parse.quote(task.result)
    ready = f"/jobs/{made}?done=created" if kind == "create" else "/?done=workflow-created"
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"state": task.state, "done": task.done, "total": task.total, "percent": task.percent,
                             "job": task.result, "error": task.error, "next": ready})  # fmt: skip
    if task.state == "ready":
        return RedirectResponse(ready, status_code=303)
    return page(request, "creating.html", task=task, what="job" if kind == "create" else "workflow")


# -- workflows ---------------------------------------------------------------------------------
def workflows(request: Request) -> Response:
    """``/workflows``: every workflow and sweep, and the DNA-origami ladder form."""
    ctx = wizards.workflows_context(request.app.state.ui, request.query_params)
    return page(request, "workflows.html", status_code=400 if ctx["errors"] else 200, **ctx)


async def workflows_review(request: Request) -> Response:
    """POST ``/workflows/review``: uploads kept, the ladder planned (nothing remote), then its review."""
    fields, uploads = await _fields_and_uploads(request)
    draft, ok = await wizards.workflow_review(request.app.state.ui, fields, uploads)
    return RedirectResponse(f"/workflows/review/{draft}" if ok else f"/workflows?draft={draft}", status_code=303)


def workflows_reviewed(request: Request) -> Response:
    """``/workflows/review/<draft>``: the planned stages with their configs."""
    ctx = wizards.workflow_review_context(request.app.state.ui, request.path_params["draft"])
    return page(request, "workflow_review.html", **ctx)


async def workflows_submit(request: Request) -> Response:
    """POST ``/workflows/submit``: create the reviewed ladder (and submit it) in the background."""
    form = await request.form()
    fields = {k: str(v) for k, v in form.items()}
    task = wizards.start_create_workflow(request.app.state.ui, request.app.state.creating, fields)
    return RedirectResponse(f"/workflows/progress/{task.id}", status_code=303)


ROUTES: list[Any] = [
    Route("/create", create),
    Route("/create/review", create_review, methods=["POST"]),
    Route("/create/review/{draft}", create_reviewed),
    Route("/create/review/{draft}/estimate", create_estimate, methods=["POST"]),
    Route("/create/submit", create_submit, methods=["POST"]),
    Route("/create/progress/{task}", create_progress),
    Route("/workflows", workflows),
    Route("/workflows/review", workflows_review, methods=["POST"]),
    Route("/workflows/review/{draft}", workflows_reviewed),
    Route("/workflows/submit", workflows_submit, methods=["POST"]),
    Route("/workflows/progress/{task}", create_progress),
]
