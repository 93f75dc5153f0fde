"""The pages themselves: the Jinja environment every page is rendered with, :func:`page`, and the pages
of what went wrong (a core error with its one-line message, an unknown address, a bug)."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from namdrunner_cli.web import views
from namdrunner_cli.web.state import LoginNeeded, UiState
from namdrunner_core.errors import NamdRunnerError, NotFoundError, ValidationError, problems_of

HERE = Path(__file__).parent
PAGES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "pages"),
    autoescape=jinja2.select_autoescape(["html"], default=True),
    undefined=jinja2.StrictUndefined,
)
PAGES.filters["duration"] = views.duration
PAGES.filters["age"] = views.age
PAGES.filters["bytes"] = views.size
PAGES.filters["num"] = lambda x: int(x) if isinstance(x, float) and x.is_integer() else x
PAGES.filters["zip"] = lambda a, b: list(zip(a, b, strict=True))


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``templates/<name>`` with what every page shows (profile, CSRF token, sync state)."""
    state: UiState = request.app.state.ui
    query = getattr(request, "query_params", None) or {}
    context.setdefault("toast", views.ACTION_DONE.get(query.get("done", "")) if not name.startswith("_") else None)
    context.setdefault("form_errors", {})  # a form refused: its page again, each mistake at its field
    html = PAGES.get_template(name).render(
        request=request, profile=state.profile, csrf=state.csrf, state=state, nav=name.split(".")[0], **context
    )
    return HTMLResponse(html, status_code=status_code)


def reasons(exc: NamdRunnerError) -> str:
    """What a refusal says, without the field names (the page shows it at its field): every problem of
    a :class:`ValidationError`, joined; another error's own message."""
    return "; ".join(m for _, m in problems_of(exc)) if isinstance(exc, ValidationError) else str(exc)


def refused(request: Request, name: str, field: str, exc: NamdRunnerError, **context: Any) -> HTMLResponse:
    """A form refused: its page ``name`` again (400), the reason at ``field`` (``form_errors``)."""
    return page(request, name, status_code=400, form_errors={field: reasons(exc)}, **context)


def error_page(request: Request, exc: Exception) -> Response:
    """A core error as a page (or JSON for scripts' fetches): its own one-line message. A login
    that needs a person's answers sends a page to Log in (and a fetch a 401 that says so)."""
    if isinstance(exc, LoginNeeded):
        if request.headers.get("accept", "").startswith("application/json"):
            return JSONResponse({"error": str(exc), "login": "/login"}, status_code=401)
        # back to the page the person was on (a form's POST address cannot be opened again)
        back = request.url.path if request.method == "GET" else urllib.parse.urlparse(
            request.headers.get("referer", "")).path or "/"  # fmt: skip
        return RedirectResponse(f"/login?next={urllib.parse.quote(back)}", status_code=303)
    status = 404 if isinstance(exc, NotFoundError) else 400 if isinstance(exc, ValidationError) else 502
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"error": str(exc)}, status_code=status)
    return page(request, "error.html", status_code=status, message=str(exc))


def not_found_page(request: Request, exc: Exception) -> Response:
    """An address the server does not have: the site's own page (a fetch gets JSON), not a bare 404."""
    message = f"There is no page {request.url.path!r} here."
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"error": message}, status_code=404)
    return page(request, "error.html", status_code=404, message=message)


def not_allowed_page(request: Request, exc: Exception) -> Response:
    """An address opened the wrong way (a form's answer reloaded as a page): the site's own page."""
    message = f"{request.url.path!r} is the answer to a form, not a page to open: go back and use the form."
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"error": message}, status_code=405)
    return page(request, "error.html", status_code=405, message=message)


def server_error_page(request: Request, exc: Exception) -> Response:
    """A bug: the traceback goes to the server's terminal, the person gets a page that says so."""
    import logging

    logging.getLogger("namdrunner.ui").error("%s %s failed", request.method, request.url.path, exc_info=exc)
    message = "Something went wrong on this server (its terminal shows what); the page may be tried again."
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"error": message}, status_code=500)
    try:
        return page(request, "error.html", status_code=500, message=message)
    except Exception:  # noqa: BLE001 - the page itself may be what fails: plain words then
        return PlainTextResponse(message, status_code=500)
