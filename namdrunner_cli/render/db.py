"""`namdrunner db ...`: the local store's facts and what a backup, restore or reset did."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from namdrunner_cli.render.base import humanize_bytes, print_json

if TYPE_CHECKING:
    from namdrunner_core.store.maintenance import StoreFacts


def print_facts(as_json: bool, facts: StoreFacts) -> None:
    """``db show``."""
    if as_json:
        print_json(facts)
        return
    click.echo(f"store:     {facts.path} ({humanize_bytes(facts.size_bytes)}, schema {facts.schema_version})")
    click.echo(
        f"holds:     {facts.jobs} job(s), {facts.workflows} workflow(s) and sweep(s), {facts.templates} template(s)"
    )


def print_done(as_json: bool, what: str, path: Path) -> None:
    """``db backup|restore|reset``: the file written (the backup; before a restore or reset, the copy kept)."""
    if as_json:
        print_json({"done": what, "file": str(path)})
        return
    said = {"backup": "backed up to", "restore": "restored; the store as it was is kept in",
            "reset": "emptied; the store as it was is kept in"}[what]  # fmt: skip
    click.echo(f"{said} {path}")
