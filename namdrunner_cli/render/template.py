"""`namdrunner template ...`: the template library, one template, a preview."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from namdrunner_cli.render.base import (
    Column,
    print_json,
    print_table,
)

if TYPE_CHECKING:
    from namdrunner_core.namd.config import Template
    from namdrunner_core.template_library import TemplateInfo, TemplatePreview


def print_templates(as_json: bool, infos: Sequence[TemplateInfo]) -> None:
    """``template list``."""
    if as_json:
        print_json(infos)
        return
    cols = [Column("ID", key=True), Column("Name", key=True, wrap=True), Column("Kind", priority=2),
            Column("Description", priority=1, wrap=True)]  # fmt: skip
    cells = [[t.id, t.name, "builtin" if t.builtin else "user", t.description] for t in infos]
    print_table(cols, cells, empty="no templates")


def print_template(as_json: bool, t: Template) -> None:
    """``template show``: the variables with type, default, bounds and help."""
    if as_json:
        print_json(t)
        return
    click.echo(f"{t.id}  {t.name}\n{t.description}")
    cols = [Column("Variable", key=True), Column("Type", priority=4), Column("Default", priority=3),
            Column("Range / choices", priority=2, wrap=True), Column("Help", priority=1, wrap=True)]  # fmt: skip
    cells = []
    for v in t.variables:
        if v.type.value == "file":
            rng = " ".join(v.extensions)
        elif v.choices:
            rng = ", ".join(v.choices)
        else:
            rng = f"{'' if v.min is None else f'{v.min:g}'} .. {'' if v.max is None else f'{v.max:g}'}".strip()
        default = "" if v.default is None else str(v.default)
        cells.append([v.key + ("" if v.required else " (optional)"), v.type.value, default, rng, v.help])
    print_table(cols, cells, empty="no variables")


def print_preview(as_json: bool, preview: TemplatePreview) -> None:
    """``template preview``: the rendered config (warnings on stderr)."""
    if as_json:
        print_json(preview)
        return
    click.echo(preview.config, nl=False)
    for note in preview.warnings:
        click.echo(f"warning: not checked: {note}", err=True)


def print_imported(as_json: bool, t: Template) -> None:
    """``template import``: the id and the variables recognised."""
    if as_json:
        from namdrunner_core.answers import Imported

        print_json(Imported(t.id, [v.key for v in t.variables]))
    else:
        click.echo(f"imported template {t.id}: {', '.join(v.key for v in t.variables) or 'no variables'}")


def print_duplicated(as_json: bool, source: str, t: Template) -> None:
    """``template duplicate``: the copy's id (and where to change it)."""
    if as_json:
        from namdrunner_core.answers import Duplicated

        print_json(Duplicated(t.id, source, [v.key for v in t.variables]))
    else:
        click.echo(f"duplicated {source} as {t.id}: change it on the page (Templates) or with "
                   f"`template export {t.id} -o {t.id}.toml` + `template import`")  # fmt: skip
