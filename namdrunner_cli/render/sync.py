"""`namdrunner sync` and `discover`: what changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from namdrunner_cli.render.base import (
    plural,
    print_json,
)
from namdrunner_cli.render.job import (
    jobs_table,
)
from namdrunner_core.serde import to_data

if TYPE_CHECKING:
    from namdrunner_core.jobs.discover import DiscoverReport
    from namdrunner_core.jobs.sync import SyncReport
    from namdrunner_core.models import JobRecord


def print_sync(as_json: bool, reports: dict[str, SyncReport], changed: Sequence[JobRecord]) -> None:
    """``sync``: how many active jobs were checked, and the ones that changed."""
    if as_json:
        print_json({name: to_data(r) for name, r in reports.items()})
        return
    from namdrunner_core.store.listing import record_to_row

    checked = sum(r.checked for r in reports.values())
    for report in reports.values():
        for line in report.warnings:
            click.echo(f"warning: {line}", err=True)
    click.echo(f"checked {plural(checked, 'active job')}, {len(changed)} changed")
    if changed:
        jobs_table([record_to_row(r) for r in changed])


def print_discover(as_json: bool, report: DiscoverReport) -> None:
    """``discover``: jobs added, updated and refused (with why, on stderr)."""
    if as_json:
        print_json(report)
        return
    click.echo(
        f"{plural(len(report.added), 'job')} added, {len(report.updated)} updated, {len(report.refused)} refused"
    )
    for name, why in report.refused:
        click.echo(f"  refused {name}: {why}", err=True)
