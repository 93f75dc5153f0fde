"""Settings: the served profile edited as text (saved only when it loads: :mod:`namdrunner_core.profile_files`),
and ``cluster detect`` from the page - what the cluster offers, where the profile differs, and the
differences applied as a user profile (``cluster detect --write``)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from namdrunner_cli.web.html import page
from namdrunner_cli.web.state import UiState
from namdrunner_core.errors import NamdRunnerError, NotFoundError
from namdrunner_core.profile_files import profile_text, save_profile_text


def edit(request: Request) -> Response:
    """``/cluster/profile/edit``: the served profile's user file (or a start that extends the bundled one)."""
    state: UiState = request.app.state.ui
    return page(request, "profile_edit.html", editing=profile_text(state.profile), text=None, error=None)


async def save(request: Request) -> Response:
    """POST ``/cluster/profile/save``: written when it loads; else the editor again with the loader's words."""
    state: UiState = request.app.state.ui
    form = await request.form()
    text = str(form.get("text") or "").replace("\r\n", "\n")
    try:
        await asyncio.to_thread(save_profile_text, state.profile, text)
    except NamdRunnerError as exc:
        return page(request, "profile_edit.html", status_code=400, editing=profile_text(state.profile), text=text,
                    error=str(exc))  # fmt: skip
    return RedirectResponse("/cluster?done=profile-saved", status_code=303)


async def detect(request: Request) -> Response:
    """POST ``/cluster/detect``: ``cluster detect`` (ONE remote command), kept for the page that shows it."""
    from namdrunner_core.diagnostics import detect_cluster

    state: UiState = request.app.state.ui

    def run() -> None:
        with state.remote() as session:  # asked for by a person: not the polling budget's
            state.detection = detect_cluster(session)

    await asyncio.to_thread(run)
    return RedirectResponse("/cluster/detected", status_code=303)


def detected(request: Request, *, status: int = 200, error: str | None = None, name: str | None = None) -> Response:
    """``/cluster/detected``: what the last ``cluster detect`` found and where the profile differs."""
    from namdrunner_core.diagnostics import detected_profile_name

    state: UiState = request.app.state.ui
    found = state.detection
    if found is None or found.profile != state.profile:
        raise NotFoundError("no detection of this profile yet: press Detect on the Cluster page")
    save_as = name or detected_profile_name(state.profile)
    return page(request, "detected.html", status_code=status, found=found, save_as=save_as, error=error)


async def apply(request: Request) -> Response:
    """POST ``/cluster/detected/apply``: the differences saved as user profile NAME (``--write NAME --force``)."""
    from namdrunner_core.diagnostics import write_detected_profile
    from namdrunner_core.profile import load_profile

    state: UiState = request.app.state.ui
    form = await request.form()
    name = str(form.get("name") or "").strip()
    found = state.detection
    if found is None or found.profile != state.profile:
        raise NotFoundError("no detection of this profile to apply: press Detect on the Cluster page")
    try:  # the name is checked by the core: a plain file name in the config folder's profiles/
        await asyncio.to_thread(write_detected_profile, found, load_profile(state.profile), name, force=True)
    except NamdRunnerError as exc:
        return detected(request, status=400, error=str(exc), name=name)
    if name != state.profile:
        await asyncio.to_thread(state.switch_profile, name)
    return RedirectResponse("/cluster?done=detected-applied", status_code=303)


ROUTES: list[Any] = [
    Route("/cluster/profile/edit", edit),
    Route("/cluster/profile/save", save, methods=["POST"]),
    Route("/cluster/detect", detect, methods=["POST"]),
    Route("/cluster/detected", detected),
    Route("/cluster/detected/apply", apply, methods=["POST"]),
]
