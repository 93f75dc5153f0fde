"""``namdrunner template list|show|preview|import|export|delete|duplicate``."""

from __future__ import annotations

from pathlib import Path

import click

from namdrunner_cli import complete
from namdrunner_cli.context import AppContext


@click.group()
def template() -> None:
    """NAMD config templates: builtin and your own."""


@template.command("list")
@click.pass_obj
def list_templates(app: AppContext) -> None:
    """Builtin and user templates.

    \b
    Examples:
      namdrunner template list
    """
    from namdrunner_cli.render.template import print_templates
    from namdrunner_core.template_library import list_templates as templates

    print_templates(app.json, templates(app.existing_store))


@template.command("show")
@click.argument("template_id", shell_complete=complete.template_ids)
@click.pass_obj
def show(app: AppContext, template_id: str) -> None:
    """A template's variables: type, default, bounds, help.

    \b
    Examples:
      namdrunner template show explicit_solvent_npt_v1
    """
    from namdrunner_cli.render.template import print_template
    from namdrunner_core.template_library import get_template

    print_template(app.json, get_template(app.existing_store, template_id))


@template.command("preview")
@click.argument("template_id", shell_complete=complete.template_ids)
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="A variable's value (repeatable).")
@click.pass_obj
def preview(app: AppContext, template_id: str, assignments: tuple[str, ...]) -> None:
    """Render a template with its defaults and your values (file names as placeholders), checked by
    the same preflight as `job create --dry-run`: exit 1 when NAMD would refuse it.

    \b
    Examples:
      namdrunner template preview explicit_solvent_npt_v1 --set temperature=310 --set steps=24000
    """
    from namdrunner_cli.render.template import print_preview
    from namdrunner_core.errors import ValidationError
    from namdrunner_core.template_library import preview_template

    result = preview_template(app.existing_store, template_id, list(assignments))
    print_preview(app.json, result)
    if result.refused:
        raise ValidationError("config", "NAMD would refuse this config: " + "; ".join(result.problems))


@template.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "template_id", help="Id for a raw config's template (default: from the file name).")
@click.pass_obj
def import_template(app: AppContext, file: Path, template_id: str | None) -> None:
    """Import a template: TOML or JSON (as exported, or the desktop app's), or a raw NAMD config
    (.namd, .conf, .inp), whose input files become file variables; `template show ID` says what was
    recognised.

    \b
    Examples:
      namdrunner template import my_npt.namd --id my_npt
      namdrunner template import shared/origami_npt.toml
    """
    from namdrunner_cli.render.template import print_imported
    from namdrunner_core.template_library import import_template_file

    print_imported(app.json, import_template_file(app.store, file, template_id=template_id))


@template.command("export")
@click.argument("template_id", shell_complete=complete.template_ids)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (.toml or .json).")
@click.pass_obj
def export(app: AppContext, template_id: str, output: Path | None) -> None:
    """Export a template (builtin or yours) as TOML (or JSON with -o x.json).

    \b
    Examples:
      namdrunner template export explicit_solvent_npt_v1 -o npt.toml
    """
    from namdrunner_core.template_library import export_template

    text = export_template(app.existing_store, template_id, output)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"exported {template_id} to {output}", err=True)


@template.command("delete")
@click.argument("template_id", shell_complete=complete.template_ids)
@click.pass_obj
def delete(app: AppContext, template_id: str) -> None:
    """Delete one of your templates (builtins cannot be deleted).

    \b
    Examples:
      namdrunner template delete my_npt
    """
    from namdrunner_core.template_library import delete_template

    delete_template(app.store, template_id)
    click.echo(f"deleted template {template_id}")


@template.command("duplicate")
@click.argument("template_id", shell_complete=complete.template_ids)
@click.option("--id", "new_id", help="The copy's id (default: <id>_copy, or the next free one).")
@click.pass_obj
def duplicate(app: AppContext, template_id: str, new_id: str | None) -> None:
    """Copy a template (a builtin too: how you change one) as yours, to edit on the page or with
    export/import.

    \b
    Examples:
      namdrunner template duplicate explicit_solvent_npt_v1 --id my_npt
    """
    from namdrunner_cli.render.template import print_duplicated
    from namdrunner_core.template_form import duplicate_template

    print_duplicated(app.json, template_id, duplicate_template(app.store, template_id, new_id))
