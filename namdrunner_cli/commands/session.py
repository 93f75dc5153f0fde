"""``namdrunner session start|status|stop``: one login per working day, shared by every command."""

from __future__ import annotations

import click

from namdrunner_cli import complete
from namdrunner_cli.context import AppContext


@click.group()
def session() -> None:
    """One login (password, key, Duo) shared by every command, notebook and the web page.

    While a session runs for a profile, commands use its connection: no prompt, no new handshake.
    It ends at its --ttl, after --idle without use, on `session stop`, or with the machine.
    """


@session.command("start")
@click.argument("profile", required=False, shell_complete=complete.profiles)
@click.option("--ttl", default="8h", show_default=True, help="How long it lives (8h, 90m, 3600).")
@click.option("--idle", default="2h", show_default=True, help="It ends after this long unused.")
@click.pass_obj
def start(app: AppContext, profile: str | None, ttl: str, idle: str) -> None:
    """Log in once (the prompts come here) and keep the connection for every later command.

    \b
    Examples:
      namdrunner session start alpine
      namdrunner session start alpine --ttl 10h
      namdrunner --password-stdin session start loopback < pw.txt
    """
    from namdrunner_cli.render.session import print_session
    from namdrunner_core.broker import parse_duration, start_session

    name = profile or app.profile
    ttl_s, idle_s = parse_duration(ttl, field="--ttl"), parse_duration(idle, field="--idle")
    info, started = start_session(name, ttl_s=ttl_s, idle_s=idle_s, password_stdin=app.password_stdin)
    app.note(None if started else f"a session for {name} is already running; nothing started")
    print_session(app.json, name, info)


@session.command("status")
@click.argument("profile", required=False, shell_complete=complete.profiles)
@click.pass_obj
def status(app: AppContext, profile: str | None) -> None:
    """Whether a session runs: user@host, since, time left, commands served, authentications.
    Exit 4 when none runs.

    \b
    Examples:
      namdrunner session status alpine --json
    """
    from namdrunner_cli.render.session import print_session
    from namdrunner_core.broker import session_status

    name = profile or app.profile
    info = session_status(name)
    print_session(app.json, name, info)
    if info is None:
        raise click.exceptions.Exit(4)


@session.command("stop")
@click.argument("profile", required=False, shell_complete=complete.profiles)
@click.pass_obj
def stop(app: AppContext, profile: str | None) -> None:
    """Stop the session; the next command logs in again.

    \b
    Examples:
      namdrunner session stop alpine
    """
    from namdrunner_core.broker import stop_session

    name = profile or app.profile
    stopped = stop_session(name)
    click.echo(f"stopped the session for {name}" if stopped else f"no session runs for {name}")
