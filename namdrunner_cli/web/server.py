"""Run the web app: a socket bound to 127.0.0.1, uvicorn on it, the address printed once."""

from __future__ import annotations

import os
import socket
import tempfile
import webbrowser
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from namdrunner_cli.web.app import build_app
from namdrunner_cli.web.state import UiState

if TYPE_CHECKING:
    from namdrunner_core.store import JobStore

HOST = "127.0.0.1"


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (never another address); ``port`` 0 picks a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(64)
    return sock


def write_launcher(url: str, key: str) -> Path:
    """A file that opens ``url`` logged in: an HTML form that POSTs the key on load. The browser is
    started with this file's path, so the key is in no address, no history and no process list;
    the file (0600, in a 0700 folder of its own) is removed once the key was used, or when the
    server stops."""
    folder = Path(tempfile.mkdtemp(prefix="namdrunner-ui-open-"))
    path = folder / "open.html"
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>namdrunner</title></head><body>'
        f'<form method="post" action="{escape(url)}key"><input type="hidden" name="key" value="{escape(key)}">'
        '<button type="submit">Open namdrunner</button></form>'
        "<script>document.forms[0].submit()</script></body></html>"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(html)
    return path


def serve(
    profile: str,
    store: JobStore,
    *,
    port: int = 0,
    open_browser: bool = True,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until interrupted. Prints the address and, apart from it, the key; opens the browser
    through a launcher file (:func:`write_launcher`), never with the key in its command line."""
    import uvicorn

    sock = bind(port)
    actual = int(sock.getsockname()[1])
    state = UiState(profile, store)
    url = f"http://{HOST}:{actual}/"
    announce(f"namdrunner ui for profile {profile}: {url}")
    announce(f"key: {state.token}")
    announce("(the page asks for the key once per browser; Ctrl-C stops the server and ends every session)")
    if open_browser:
        state.launcher = write_launcher(url, state.token)
        webbrowser.open(state.launcher.as_uri())
    config = uvicorn.Config(build_app(state), log_level="warning", access_log=False, lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        state.close()
        sock.close()
