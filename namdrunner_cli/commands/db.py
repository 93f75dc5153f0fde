"""``namdrunner db show|backup|restore|reset``: the local store of jobs, workflows and templates."""

from __future__ import annotations

from pathlib import Path

import click

from namdrunner_cli.context import AppContext


@click.group()
def db() -> None:
    """The local store: what it holds, backups, restore, reset (``discover`` rebuilds it from a cluster)."""


@db.command("show")
@click.pass_obj
def show(app: AppContext) -> None:
    """Where the store is, its size and what it holds.

    \b
    Examples:
      namdrunner db show
    """
    from namdrunner_cli.render.db import print_facts
    from namdrunner_core.store.maintenance import store_facts

    print_facts(app.json, store_facts(app.store))


@db.command("backup")
@click.argument("target", type=click.Path(path_type=Path), metavar="FILE_OR_FOLDER")
@click.pass_obj
def backup(app: AppContext, target: Path) -> None:
    """A consistent copy of the store (safe while namdrunner runs); a folder gets a dated file.

    \b
    Examples:
      namdrunner db backup ~/backups/
      namdrunner db backup namdrunner-2026-12-07.sqlite
    """
    from namdrunner_cli.render.db import print_done
    from namdrunner_core.store.maintenance import backup_store

    print_done(app.json, "backup", backup_store(app.store, target))


@db.command("restore")
@click.argument("source", type=click.Path(path_type=Path), metavar="FILE")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def restore(app: AppContext, source: Path, yes: bool) -> None:
    """Replace the store's contents by a backup's (checked first); the store as it was is kept beside it.

    \b
    Examples:
      namdrunner db restore ~/backups/namdrunner-backup-20261207-101500.sqlite
    """
    from namdrunner_cli.render.db import print_done
    from namdrunner_core.store.maintenance import restore_store

    if not yes and not app.json:
        click.confirm(f"Replace every job, workflow and template of {app.store.path} by {source}'s?", abort=True)
    print_done(app.json, "restore", restore_store(app.store, source))


@db.command("reset")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def reset(app: AppContext, yes: bool) -> None:
    """Empty the store (kept beside it as a backup first). Nothing on any cluster is touched;
    `namdrunner discover PROFILE` finds its jobs again.

    \b
    Examples:
      namdrunner db reset --yes
    """
    from namdrunner_cli.render.db import print_done
    from namdrunner_core.store.maintenance import reset_store

    if not yes and not app.json:
        click.confirm(f"Forget every job, workflow and template in {app.store.path} (a backup is kept)?", abort=True)
    print_done(app.json, "reset", reset_store(app.store))
