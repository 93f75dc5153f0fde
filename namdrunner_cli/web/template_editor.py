"""Templates from the page: create, edit (a config editor with NAMD highlighting and a live
preflight), duplicate and delete; the rules are the core's (:mod:`namdrunner_core.template_form`)."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from namdrunner_cli.web.html import page
from namdrunner_cli.web.state import UiState
from namdrunner_core.errors import ValidationError, problems_of
from namdrunner_core.template_form import (
    TYPES,
    TemplateForm,
    VariableForm,
    check_form,
    duplicate_template,
    form_from_fields,
    form_of,
    save_template_form,
)
from namdrunner_core.template_library import delete_template, get_template


def _editor(request: Request, form: TemplateForm, errors: Mapping[str, str] | None = None, status: int = 200
            ) -> Response:  # fmt: skip
    rows = (*form.variables, VariableForm(required=True))  # one blank row: a variable can be added without JS
    return page(request, "template_edit.html", status_code=status, form=form, rows=rows, types=TYPES,
                errors=dict(errors or {}), new=not form.was)  # fmt: skip


def new_template(request: Request) -> Response:
    """``/templates/new``: an empty editor (``?from=ID``: a new template starting from ``ID``'s text)."""
    state: UiState = request.app.state.ui
    start = request.query_params.get("from", "")
    form = TemplateForm(text="# a NAMD config: a variable's key in double braces inserts its value\n")
    if start:
        form = attrs.evolve(form_of(get_template(state.store, start)), id="", name="", was="")
    return _editor(request, form)


def edit_template(request: Request) -> Response:
    """``/templates/<id>/edit``: the user's own template in the editor (a builtin is read-only)."""
    state: UiState = request.app.state.ui
    template = get_template(state.store, request.path_params["template_id"])
    if template.builtin:
        raise ValidationError("template", f"{template.id!r} is builtin and read-only: duplicate it to change it")
    return _editor(request, form_of(template))


async def _form(request: Request) -> TemplateForm:
    posted = await request.form()
    fields = {k: v for k, v in posted.items() if isinstance(v, str)}
    checked = {k for k, v in posted.multi_items() if k.endswith(".required") and v == "on"}
    return form_from_fields(fields, checked)


async def save(request: Request) -> Response:
    """POST ``/templates/save``: saved and shown, or the editor again with every mistake at its field."""
    state: UiState = request.app.state.ui
    form = await _form(request)
    try:
        template = await asyncio.to_thread(save_template_form, state.store, form)
    except ValidationError as exc:
        return _editor(request, form, dict(problems_of(exc)), status=400)
    return RedirectResponse(f"/templates/{urllib.parse.quote(template.id)}?done=template-saved", status_code=303)


async def check(request: Request) -> Response:
    """POST ``/templates/check``: the editor's live check (problems by field, the config rendered with
    the defaults, what NAMD would refuse or warn about), as JSON."""
    state: UiState = request.app.state.ui
    result = check_form(state.store, await _form(request))
    return JSONResponse({"problems": [list(p) for p in result.problems], "config": result.config,
                         "refused": list(result.refused), "warnings": list(result.warnings)})  # fmt: skip


def duplicate(request: Request) -> Response:
    """POST ``/templates/<id>/duplicate``: a copy the user owns, opened in the editor."""
    state: UiState = request.app.state.ui
    copy = duplicate_template(state.store, request.path_params["template_id"])
    return RedirectResponse(f"/templates/{urllib.parse.quote(copy.id)}/edit?done=template-duplicated", status_code=303)


def delete(request: Request) -> Response:
    """POST ``/templates/<id>/delete``: one of the user's templates removed (builtins are refused)."""
    state: UiState = request.app.state.ui
    delete_template(state.store, request.path_params["template_id"])
    return RedirectResponse("/templates?done=template-deleted", status_code=303)


#: before ``/templates/{template_id}`` (``new``, ``save`` and ``check`` are not ids)
ROUTES: list[Any] = [
    Route("/templates/new", new_template),
    Route("/templates/save", save, methods=["POST"]),
    Route("/templates/check", check, methods=["POST"]),
    Route("/templates/{template_id}/edit", edit_template),
    Route("/templates/{template_id}/duplicate", duplicate, methods=["POST"]),
    Route("/templates/{template_id}/delete", delete, methods=["POST"]),
]
