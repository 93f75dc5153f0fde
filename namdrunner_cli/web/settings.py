"""Settings / This computer: the local store backed up (downloaded), restored from a backup, emptied, or
rebuilt from the cluster (`namdrunner db ...` and `discover` in the CLI)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from namdrunner_cli.web import views
from namdrunner_cli.web.html import reasons, refused
from namdrunner_cli.web.state import UiState
from namdrunner_core.errors import ValidationError


def local_backup(request: Request) -> Response:
    """``/settings/backup``: a fresh, consistent backup of the local store, downloaded (then removed here)."""
    from namdrunner_core.store.maintenance import backup_store

    state: UiState = request.app.state.ui
    folder = Path(tempfile.mkdtemp(dir=state.drafts))
    made = backup_store(state.store, folder)
    return FileResponse(made, filename=made.name, media_type="application/vnd.sqlite3",
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))  # fmt: skip


async def local_action(request: Request) -> Response:
    """POST ``/settings/(restore|reset|discover)``: the local store restored from an uploaded backup,
    emptied (confirmed), or rebuilt from the cluster."""
    state: UiState = request.app.state.ui
    form = await request.form()
    unexpected = [k for k, v in form.multi_items() if isinstance(v, UploadFile) and k != "backup"]
    if unexpected:
        raise ValidationError("file", f"{unexpected[0][:60]!r} is not a file field of this form")
    upload = form.get("backup")
    saved = None
    folder = Path(tempfile.mkdtemp(dir=state.drafts))
    try:
        if isinstance(upload, UploadFile) and upload.filename:  # its name is not what is restored
            saved = await views.save_upload(upload, folder, as_name="backup.sqlite")
        target = await asyncio.to_thread(views.local_action, state, request.path_params["action"], dict(form), saved)
    except ValidationError as exc:  # the Cluster page again, the reason at the form's field, of the file chosen
        field = {"restore": "backup", "reset": "confirm"}.get(request.path_params["action"], "action")
        if saved is not None and isinstance(upload, UploadFile):
            exc = ValidationError(field, reasons(exc).replace(str(saved), repr(upload.filename)))
        return refused(request, "cluster.html", field, exc, **views.cluster_context(state, {}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return RedirectResponse(target, status_code=303)


ROUTES: list[Any] = [
    Route("/settings/backup", local_backup),
    Route("/settings/{action}", local_action, methods=["POST"]),
]
