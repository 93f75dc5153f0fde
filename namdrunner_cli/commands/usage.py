"""``namdrunner usage``: what jobs cost and how well they used what they asked for."""

from __future__ import annotations

import click

from namdrunner_cli import complete
from namdrunner_cli.context import AppContext


@click.command()
@click.argument("job_id", required=False, metavar="[JOB]", shell_complete=complete.job_ids)
@click.option("--workflow", "workflow_id", metavar="ID", help="Every job of this workflow (or sweep).")
@click.option("--since", metavar="DATE", help="Jobs submitted on or after this date (YYYY-MM-DD).")
@click.pass_obj
def usage(app: AppContext, job_id: str | None, workflow_id: str | None, since: str | None) -> None:
    """SUs, CPU and memory efficiency and ns/day of finished jobs; storage use, scratch purge
    warnings and start estimates of pending jobs (one remote command).

    \b
    Examples:
      namdrunner usage                       # every submitted job of the profile
      namdrunner usage my_job_1764600000000
      namdrunner usage --workflow wf_origami_1764600000000 --json
      namdrunner usage --since 2026-11-01
    """
    from namdrunner_cli.render.usage import print_usage
    from namdrunner_core.usage import usage_from_store, usage_profile

    session = app.session(usage_profile(app.store, job_id, app.profile))
    print_usage(app.json, usage_from_store(app.store, session, job=job_id, workflow=workflow_id, since=since))
