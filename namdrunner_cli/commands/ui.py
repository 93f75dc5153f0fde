"""``namdrunner ui``: the desktop app's screens in the browser, served on 127.0.0.1 only."""

from __future__ import annotations

import click

from namdrunner_cli.context import AppContext


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port (0: a free one).")
@click.option("--no-browser", is_flag=True, help="Print the address only; do not open a browser.")
@click.pass_obj
def ui(app: AppContext, port: int, no_browser: bool) -> None:
    """Serve the web interface (Jobs, job pages, Create job, Templates, Cluster) until Ctrl-C.

    It listens on 127.0.0.1 only and prints an address with a random key; only a browser that
    opened that address can use it. Remote work goes through the shared session
    (`namdrunner session start`) when one runs, else a key login.

    \b
    Examples:
      namdrunner ui
      namdrunner --profile alpine ui --port 8765 --no-browser
    """
    from namdrunner_cli.web.server import serve

    serve(app.profile, app.store, port=port, open_browser=not no_browser, announce=click.echo)
