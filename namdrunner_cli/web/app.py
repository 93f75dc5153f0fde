"""``namdrunner ui``: the desktop app's screens as a local web app (Starlette, server-side Jinja2).

A THIN frontend: every route parses the request, calls the public core functions the command line
calls, and renders a template. Security: the server listens on 127.0.0.1 only; every route needs
the cookie that the printed URL's random token sets (HttpOnly, SameSite=Strict), else 401; the
Host header must be the loopback address (no DNS rebinding); every POST needs the CSRF token and,
when the browser sends one, an Origin of this server; downloads only serve files the job lists.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from namdrunner_cli.web import chart, downloads, profile_editor, settings, template_editor, views, wizard_routes
from namdrunner_cli.web.html import (
    PAGES,
    error_page,
    not_allowed_page,
    not_found_page,
    page,
    refused,
    server_error_page,
)
from namdrunner_cli.web.state import SESSION_MAX_S, SyncBusy, UiState
from namdrunner_cli.web.tasks import Tasks
from namdrunner_core.errors import NamdRunnerError, NotFoundError, ProfileError, ValidationError, problems_of

HERE = Path(__file__).parent
COOKIE = "namdrunner_ui"


def cookie_name(request: Request) -> str:
    """The session cookie's name: one per port, so that two `namdrunner ui` servers (cookies are per
    host, not per port) never overwrite each other's."""
    return f"{COOKIE}_{request.url.port}"


def safe_next(target: str | None) -> str:
    """A ``next=`` address that stays on this server: a path of ours, never ``//host`` or ``/\\host``
    (which browsers read as another site), never a scheme; anything else is ``/``."""
    if not target or not _SAFE_NEXT.fullmatch(target) or target.startswith(("//", "/\\")):
        return "/"
    decoded = urllib.parse.unquote(target)
    if decoded.startswith(("//", "/\\")) or "\\" in decoded or any(ord(c) < 32 for c in decoded):
        return "/"
    return target


_SAFE_NEXT = re.compile(r"/[A-Za-z0-9_\-./?=&%]*")
#: answers that must never be kept by the browser's cache (pages carry the CSRF token, logs, paths)
NO_STORE = "no-store"


def _here(request: Request) -> str:
    """The address asked for, its query kept (a bookmark of a filled-in form opens as it was)."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def key_page(request: Request, *, status_code: int = 401, wrong: bool = False) -> HTMLResponse:
    """The page a browser without a session gets: a form for the key `namdrunner ui` printed."""
    html = PAGES.get_template("key.html").render(
        request=request, wrong=wrong, next=safe_next(request.query_params.get("next") or _here(request))
    )
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": NO_STORE})


async def _form_field(request: Request, name: str) -> str:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return ""
    body = await request.body()
    if len(body) > 4096:
        return ""
    return (urllib.parse.parse_qs(body.decode("utf-8", "replace")).get(name) or [""])[0]


class Guard(BaseHTTPMiddleware):
    """Loopback Host; the key (POSTed once, never in an address) -> a session cookie that expires
    and can be ended; the cookie on every request; CSRF + Origin on every POST; no-store."""

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        state: UiState = request.app.state.ui
        host = request.headers.get("host", "").rsplit(":", 1)[0]
        if host not in ("127.0.0.1", "localhost", "[::1]"):
            return PlainTextResponse("this server answers on 127.0.0.1 only", status_code=403)
        if request.url.path == "/key" and request.method == "POST":
            return await self._key(request, state)
        if request.url.path.startswith("/static/") and request.method == "GET":
            return await call_next(request)  # the package's own CSS and JS: nothing secret (the key page needs them)
        if not state.cookie_ok(request.cookies.get(cookie_name(request))):
            if request.method == "GET" and not request.url.path.startswith("/fragments/"):
                return key_page(request)
            return PlainTextResponse(
                "401: open this page in the browser and give the key `namdrunner ui` printed",
                status_code=401,
                headers={"Cache-Control": NO_STORE},
            )
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin is not None and origin.rstrip("/") not in views.own_origins(request):
                return PlainTextResponse("403: a request from another site", status_code=403)
            # the header (scripts' fetches, uploads), the action URL (multipart forms: their body is
            # never read here, so a large upload streams to disk once), or a small form's field
            given = request.headers.get("x-csrf-token") or request.query_params.get("csrf")
            if given is None and request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                # the body read here is replayed to the endpoint (form() here would leave it nothing)
                fields = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
                given = (fields.get("csrf") or [""])[0]
            if not state.csrf_ok(given):
                return PlainTextResponse(
                    "403: the form's CSRF token is missing or wrong; reload the page", status_code=403
                )
        response = await call_next(request)
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on form posts
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = NO_STORE
        return response

    @staticmethod
    async def _key(request: Request, state: UiState) -> Response:
        """POST ``/key``: the key typed on the key page, or posted by the launcher file (Origin
        ``null``). Right: a new session cookie, then the page asked for - through a page of ours, so
        that the SameSite=Strict cookie goes with the next request. Wrong: the key page again, slowly."""
        origin = request.headers.get("origin")
        if origin is not None and origin != "null" and origin.rstrip("/") not in views.own_origins(request):
            return PlainTextResponse("403: a request from another site", status_code=403)
        given = await _form_field(request, "key")
        target = safe_next(await _form_field(request, "next") or "/")
        if not state.token_ok(given):
            await asyncio.sleep(0.5)  # a guess costs time (the key is 256 random bits)
            return key_page(request, wrong=True)
        html = PAGES.get_template("entered.html").render(target=target)
        response = HTMLResponse(html, headers={"Cache-Control": NO_STORE})
        response.set_cookie(
            cookie_name(request), state.new_session(), httponly=True, samesite="strict", path="/",
            max_age=int(SESSION_MAX_S),
        )  # fmt: skip
        return response


# -- the Jobs page -----------------------------------------------------------------------------
def jobs(request: Request) -> Response:
    """``/``: groups (expandable) and the paged, sortable job table (``?bulk=``: a bulk delete's progress)."""
    wanted = request.query_params.get("bulk")
    bulk = request.app.state.bulk.get(wanted, "bulk") if wanted else None
    return page(request, "jobs.html", bulk=bulk, bulk_said=views.bulk_said(bulk) if bulk else "",
                **views.jobs_context(request.app.state.ui, request.query_params))  # fmt: skip


def jobs_fragment(request: Request) -> Response:
    """The job table alone (the page's polite refresh: a local read, no remote command)."""
    ctx = views.jobs_context(request.app.state.ui, request.query_params)
    response = page(request, "_jobs.html", **ctx)
    response.headers["X-Active-Jobs"] = str(ctx["active"])
    return response


def sync(request: Request) -> Response:
    """POST ``/sync``: one sync of the profile's jobs (409 with Retry-After while one runs or just ran)."""
    state: UiState = request.app.state.ui
    try:
        report = state.sync(manual=request.query_params.get("manual") == "1")
    except SyncBusy as busy:
        return JSONResponse({"busy": str(busy)}, status_code=409, headers={"Retry-After": f"{busy.retry_after_s:.1f}"})
    return JSONResponse(views.sync_json(state, report))


def job_fragment(request: Request) -> Response:
    """The live part of a job page (status, progress, facts): a local read, no remote command."""
    ctx = views.job_context(request.app.state.ui, request.path_params["job_id"])
    return page(request, "_job_live.html", **ctx)


def commands(request: Request) -> Response:
    """The command log panel: the remote commands of this server's session (secrets redacted)."""
    log = request.app.state.ui.command_log
    return page(request, "_commands.html", entries=log.entries()[-200:] if log is not None else [])


# -- one job -----------------------------------------------------------------------------------
def job(request: Request) -> Response:
    """``/jobs/<id>``: overview, inputs, outputs, logs, energy plot and actions."""
    job_id = request.path_params["job_id"]
    fetches = request.app.state.fetches.of_job(job_id)
    return page(request, "job.html", fetches=fetches, **views.job_context(request.app.state.ui, job_id))


def job_logs(request: Request) -> Response:
    """The tail of a job's Slurm or NAMD log (one remote command), as text."""
    kind = request.query_params.get("kind", "namd")
    if kind not in ("namd", "slurm"):
        raise ValidationError("kind", "namd or slurm")
    auto = request.query_params.get("auto") == "1"  # a page's own refresh: from the polling budget
    refresh = request.query_params.get("refresh") == "1" and not auto  # a person asked: past the cache
    text = views.log_tail(request.app.state.ui, request.path_params["job_id"], kind, auto=auto, refresh=refresh)
    return PlainTextResponse(text)


def job_energy(request: Request) -> Response:
    """The energy and temperature plot of the job's NAMD log, as SVG."""
    dark = request.query_params.get("theme") == "dark"
    auto = request.query_params.get("auto") == "1"
    svg = chart.energy_svg(request.app.state.ui, request.path_params["job_id"], dark=dark, auto=auto)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def job_analysis_svg(request: Request) -> Response:
    """One series of the job's newest analysis (its Analysis tab), as SVG: a local read, no remote command."""
    state: UiState = request.app.state.ui
    job_id = request.path_params["job_id"]
    analysis = state.analyses.get(job_id)
    if analysis is None:
        raise NotFoundError(f"job {job_id} has not been analyzed here yet: press Analyze on its Analysis tab")
    svg = chart.analysis_svg(analysis, request.path_params["name"], dark=request.query_params.get("theme") == "dark")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


async def jobs_bulk(request: Request) -> Response:
    """POST ``/jobs/bulk``: cancel or delete the selected jobs; ``confirm`` must list exactly them."""
    form = await request.form()
    ids = [str(v) for v in form.getlist("job")]
    action = str(form.get("action", ""))
    task = await asyncio.to_thread(
        views.bulk_action, request.app.state.ui, request.app.state.bulk, action, ids, str(form.get("confirm", ""))
    )
    return RedirectResponse("/?done=jobs-cancelled" if task is None else f"/?bulk={task.id}", status_code=303)


def bulk_progress(request: Request) -> Response:
    """``/jobs/bulk/<task>``: a bulk delete as it goes (JSON for the Jobs page's poll)."""
    task = request.app.state.bulk.get(request.path_params["task"], "bulk")
    return JSONResponse({"state": task.state, "done": task.done, "total": task.total, "said": views.bulk_said(task)})


async def job_action(request: Request) -> Response:
    """POST ``/jobs/<id>/(submit|cancel|restart|delete)``; delete needs ``confirm`` = the job id."""
    form = await request.form()
    action, job_id = request.path_params["action"], request.path_params["job_id"]
    try:
        target = await asyncio.to_thread(views.job_action, request.app.state.ui, job_id, action, dict(form))
    except ValidationError as exc:
        if action not in ("restart", "rerun", "analyze", "delete"):
            raise
        # the job page again, every mistake at its field, what was typed kept
        ctx = {**views.job_context(request.app.state.ui, job_id), "fetches": request.app.state.fetches.of_job(job_id)}
        if action in ("restart", "rerun"):
            ctx.update(again_values={k: str(v) for k, v in form.items() if k != "csrf"},
                       again_errors=dict(problems_of(exc)))  # fmt: skip
            return page(request, "job.html", status_code=400, **ctx)
        # the analysis's one field (its selection, the run's DCD it reads), or Delete's confirmation
        return refused(request, "job.html", "select" if action == "analyze" else "confirm", exc, **ctx)
    return RedirectResponse(target, status_code=303)


# -- create a job ------------------------------------------------------------------------------
# -- templates, workflows, cluster ---------------------------------------------------------------
def templates(request: Request) -> Response:
    """``/templates``: every template, builtin and the user's."""
    return page(request, "templates.html", **views.templates_context(request.app.state.ui))


def template(request: Request) -> Response:
    """``/templates/<id>``: variables with type, bounds, defaults and help, and the template text."""
    return page(
        request, "template.html", **views.template_context(request.app.state.ui, request.path_params["template_id"])
    )


def template_export(request: Request) -> Response:
    """The template as a TOML file (what ``template export`` writes)."""
    tid = request.path_params["template_id"]
    text = views.export_template_text(request.app.state.ui, tid)
    return Response(
        text, media_type="application/toml", headers={"Content-Disposition": f'attachment; filename="{tid}.toml"'}
    )


async def template_import(request: Request) -> Response:
    """POST ``/templates/import``: a template file (TOML or JSON) into the user's library."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationError("file", "choose a template file (.toml or .json)")
    try:
        tid = await views.import_template_upload(request.app.state.ui, upload)
    except ValidationError as exc:  # the list again, the reason at the file picker
        return refused(request, "templates.html", "file", exc, **views.templates_context(request.app.state.ui))
    return RedirectResponse(f"/templates/{tid}", status_code=303)


def cluster(request: Request) -> Response:
    """``/cluster``: the profile, and (on request) ``cluster check`` and ``usage``."""
    done = {"done": request.query_params.get("done", "")}  # a GET runs nothing remote
    return page(request, "cluster.html", **views.cluster_context(request.app.state.ui, done))


def login(request: Request) -> Response:
    """``/login``: log in to the cluster here, answering its questions (password, Duo, a code)."""
    state: UiState = request.app.state.ui
    return page(request, "login.html", flow=state.login, next=safe_next(request.query_params.get("next")))


def login_start(request: Request) -> Response:
    """POST ``/login/start``: begin the login (in the background)."""
    request.app.state.ui.start_login()
    return RedirectResponse("/login", status_code=303)


async def login_answer(request: Request) -> Response:
    """POST ``/login/answer``: the answer to the current question (handed over once, never kept)."""
    state: UiState = request.app.state.ui
    if state.login is None:
        raise ValidationError("answer", "no login is running: press Log in first")
    state.login.answer(str((await request.form()).get("answer", "")))
    return RedirectResponse("/login", status_code=303)


def login_state(request: Request) -> Response:
    """Where the login is (the page polls it): the question shown, notices, error, done."""
    return JSONResponse(views.login_json(request.app.state.ui))


async def cluster_profile(request: Request) -> Response:
    """POST ``/cluster/profile``: serve another profile (Settings)."""
    form = await request.form()
    state = request.app.state.ui
    try:
        await asyncio.to_thread(state.switch_profile, str(form.get("profile", "")))
    except (ValidationError, ProfileError) as exc:  # the page again, the reason at the picker
        return refused(request, "cluster.html", "profile", exc, **views.cluster_context(state, {}))
    return RedirectResponse("/cluster", status_code=303)


def logout(request: Request) -> Response:
    """POST ``/logout``: this browser's session ends (its cookie stops working at once)."""
    name = cookie_name(request)
    request.app.state.ui.end_session(request.cookies.get(name))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(name, path="/")
    return response


async def disconnect(request: Request) -> Response:
    """POST ``/disconnect``: the page's connection closed (``end_shared``: the shared login ended too)."""
    form = await request.form()
    await asyncio.to_thread(request.app.state.ui.disconnect, end_shared=form.get("end_shared") == "1")
    back = safe_next(str(form.get("next") or "")).split("?")[0]
    return RedirectResponse(f"{back}?done=disconnected", status_code=303)


async def cluster_run(request: Request) -> Response:
    """POST ``/cluster/check`` or ``/cluster/usage``: run `cluster check` or `usage` (remote
    commands: never on a GET, which a browser may repeat or prefetch) and show the Cluster page."""
    what = request.path_params["what"]
    if what not in ("check", "usage"):
        raise NotFoundError(f"no page /cluster/{what}")
    ctx = await asyncio.to_thread(views.cluster_context, request.app.state.ui, {what: "1"})
    return page(request, "cluster.html", **ctx)


def health(request: Request) -> Response:
    """For the tests, benchmarks and the browser opener: the server answers (after the cookie check),
    and how many remote commands it ran, in all and within its polling budget."""
    state: UiState = request.app.state.ui
    log = state.command_log
    return JSONResponse({"ok": True, "profile": state.profile, "syncs": state.syncs,
                         "remote_commands": len(log.entries()) if log is not None else 0,
                         "budgeted_commands": state.budget.spent})  # fmt: skip


def _routes() -> list[Any]:
    """Every address of the server (the concepts' own route lists included, before the addresses that
    would take their names as ids)."""
    return [
        Route("/", jobs),
        Route("/fragments/jobs", jobs_fragment),
        Route("/fragments/commands", commands),
        Route("/fragments/job/{job_id}", job_fragment),
        Route("/sync", sync, methods=["POST"]),
        Route("/jobs/bulk", jobs_bulk, methods=["POST"]),
        Route("/jobs/bulk/{task}", bulk_progress),
        Route("/jobs/{job_id}", job),
        Route("/jobs/{job_id}/logs", job_logs),
        Route("/jobs/{job_id}/energy.svg", job_energy),
        Route("/jobs/{job_id}/analysis/{name}.svg", job_analysis_svg),
        *downloads.ROUTES,
        Route("/jobs/{job_id}/{action}", job_action, methods=["POST"]),
        *wizard_routes.ROUTES,
        Route("/templates", templates),
        Route("/templates/import", template_import, methods=["POST"]),
        *template_editor.ROUTES,
        Route("/templates/{template_id}", template),
        Route("/templates/{template_id}/export", template_export),
        Route("/cluster", cluster),
        *settings.ROUTES,
        *profile_editor.ROUTES,
        Route("/cluster/profile", cluster_profile, methods=["POST"]),
        Route("/cluster/{what:str}", cluster_run, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/disconnect", disconnect, methods=["POST"]),
        Route("/login", login),
        Route("/login/start", login_start, methods=["POST"]),
        Route("/login/answer", login_answer, methods=["POST"]),
        Route("/login/state", login_state),
        Route("/health", health),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def build_app(state: UiState) -> Starlette:
    """The ASGI app for ``state``. Its lifespan's end closes the state (drafts, launcher file,
    session): uvicorn runs it on Ctrl-C and on SIGTERM, before it ends the process by that signal."""
    routes = _routes()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard)],
        exception_handlers={
            NamdRunnerError: error_page,
            404: not_found_page,
            405: not_allowed_page,
            Exception: server_error_page,
        },
        lifespan=lifespan,
    )
    app.state.ui = state
    app.state.creating = Tasks(state.drafts, 4, "creations")
    app.state.bulk = Tasks(state.drafts, 1, "bulk deletes")
    app.state.fetches = downloads.Fetches(state.drafts, state.store, downloads.job_files(state.store, state.connect))
    return app
