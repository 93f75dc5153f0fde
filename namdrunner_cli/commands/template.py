"""``namdrunner template list|show|preview|import|export|delete``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from namdrunner_cli.main import AppContext


@click.group()
def template() -> None:
    """NAMD config templates: builtin and your own."""


@template.command("list")
@click.pass_obj
def list_templates(app: AppContext) -> None:
    """Builtin and user templates."""
    from namdrunner_core.namd.library import builtin_templates

    rows = [
        {"id": t.id, "name": t.name, "builtin": True, "description": t.description}
        for t in builtin_templates().values()
    ]
    rows += [
        {"id": t.id, "name": t.name, "builtin": False, "description": t.description} for t in app.store.list_templates()
    ]
    if app.json:
        from namdrunner_cli.render import print_json

        print_json(rows)
        return
    from namdrunner_cli.render import Column, print_table

    cols = [Column("ID", key=True), Column("Name", key=True, wrap=True), Column("Kind", priority=2),
            Column("Description", priority=1, wrap=True)]  # fmt: skip
    cells = [[str(r["id"]), str(r["name"]), "builtin" if r["builtin"] else "user", str(r["description"])] for r in rows]
    print_table(cols, cells, empty="no templates")


@template.command("show")
@click.argument("template_id")
@click.pass_obj
def show(app: AppContext, template_id: str) -> None:
    """A template's variables: type, default, bounds, help."""
    from namdrunner_core.jobs.job import resolve_template
    from namdrunner_core.serde import unstructure

    t = resolve_template(app.store, template_id)
    if app.json:
        from namdrunner_cli.render import print_json

        print_json(unstructure(t))
        return
    from namdrunner_cli.render import Column, print_table

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


@template.command("preview")
@click.argument("template_id")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="A variable's value (repeatable).")
@click.pass_obj
def preview(app: AppContext, template_id: str, assignments: tuple[str, ...]) -> None:
    """Render a template with its defaults and your values (file names as placeholders), checked by
    the same preflight as `job create --dry-run`: exit 1 when NAMD would refuse it."""
    from namdrunner_core.errors import ValidationError
    from namdrunner_core.jobs.job import resolve_template
    from namdrunner_core.namd.config import check_config, parse_assignments, preview_config, read_config

    t = resolve_template(app.store, template_id)
    text = preview_config(t, parse_assignments(list(assignments)))
    report = check_config(text)
    if app.json:
        from namdrunner_cli.render import print_json

        print_json(
            {
                "template": t.id,
                "config": text,
                "keywords": read_config(text).keywords,
                "problems": report.problems,
                "warnings": report.warnings,
            }
        )
    else:
        click.echo(text, nl=False)
        for note in report.warnings:
            click.echo(f"warning: not checked: {note}", err=True)
    if report.problems:
        raise ValidationError("config", "NAMD would refuse this config: " + "; ".join(report.problems))


@template.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "template_id", help="Id for a raw config's template (default: from the file name).")
@click.pass_obj
def import_template(app: AppContext, file: Path, template_id: str | None) -> None:
    """Import a template: TOML or JSON (as exported), or a raw NAMD config (.namd, .conf, .inp), whose
    input files become file variables; `template show ID` says what was recognised."""
    from namdrunner_core.namd.library import import_template_file

    t = import_template_file(app.store, file, template_id=template_id)
    if app.json:
        from namdrunner_cli.render import print_json

        print_json({"id": t.id, "imported": True, "variables": [v.key for v in t.variables]})
    else:
        click.echo(f"imported template {t.id}: {', '.join(v.key for v in t.variables) or 'no variables'}")


@template.command("export")
@click.argument("template_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (.toml or .json).")
@click.pass_obj
def export(app: AppContext, template_id: str, output: Path | None) -> None:
    """Export a template (builtin or yours) as TOML (or JSON with -o x.json)."""
    from namdrunner_core.jobs.job import resolve_template
    from namdrunner_core.namd.library import template_to_text

    t = resolve_template(app.store, template_id)
    fmt: Literal["toml", "json"] = "json" if output is not None and output.suffix.lower() == ".json" else "toml"
    text = template_to_text(t, fmt=fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        tmp = output.with_name(f".{output.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
        click.echo(f"exported {t.id} to {output}", err=True)


@template.command("delete")
@click.argument("template_id")
@click.pass_obj
def delete(app: AppContext, template_id: str) -> None:
    """Delete one of your templates (builtins cannot be deleted)."""
    from namdrunner_core.errors import ValidationError
    from namdrunner_core.namd.library import builtin_templates

    if template_id in builtin_templates():
        raise ValidationError("template", f"{template_id!r} is builtin and cannot be deleted")
    app.store.delete_template(template_id)
    click.echo(f"deleted template {template_id}")
