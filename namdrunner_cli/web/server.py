"""Run the web app: a socket bound to 127.0.0.1, uvicorn on it, the address printed once."""

from __future__ import annotations

import socket
import webbrowser
from collections.abc import Callable
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


def serve(
    profile: str,
    store: JobStore,
    *,
    port: int = 0,
    open_browser: bool = True,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until interrupted; print ``http://127.0.0.1:PORT/?token=...`` first."""
    import uvicorn

    sock = bind(port)
    actual = int(sock.getsockname()[1])
    state = UiState(profile, store)
    url = f"http://{HOST}:{actual}/?token={state.token}"
    announce(f"namdrunner ui for profile {profile}: {url}")
    announce("(only this address opens it; Ctrl-C stops the server)")
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(build_app(state), log_level="warning", access_log=False, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        state.close()
        sock.close()
