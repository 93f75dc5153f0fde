"""The operating system's part of the shared session's local IPC, in one place.

The session broker (:mod:`namdrunner_core.broker`) serves the user's own processes only. How that is
proven differs by system, and every difference lives here, so that no Linux-only name is reached on
macOS or Windows:

- **Linux**: a Unix socket (mode 0600 in a 0700 directory); the peer's uid from ``SO_PEERCRED``.
- **macOS and the BSDs**: the same socket; the peer's uid from ``LOCAL_PEERCRED`` (``struct xucred``;
  Python has no constant for it, the numbers are the system's: ``SOL_LOCAL`` 0, ``LOCAL_PEERCRED`` 1).
- **Windows** (no ``AF_UNIX`` in CPython there, no uid): a socket on 127.0.0.1 at a random port,
  whose port and a 256-bit token are written to the session file in the user's own profile folder
  (``%LOCALAPPDATA%``, which other users cannot read); a client must send the token first, compared
  in constant time, or it is refused before anything else is read.

Locks are ``flock`` (POSIX) or ``msvcrt.locking`` (Windows); a broker leaves its terminal's session
with ``setsid`` (POSIX) or is started detached (Windows process-creation flags); the readiness pipe is
handed to the broker as an inherited descriptor (POSIX ``pass_fds``) or handle (Windows handle list).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: True where the broker uses a loopback socket and a token instead of a Unix socket.
USE_LOOPBACK = sys.platform == "win32" or not hasattr(socket, "AF_UNIX")
_TOKEN_BYTES = 32


def _platform() -> str:
    """``sys.platform``, read at call time (the type checker would fold it to this machine's)."""
    return str(getattr(sys, "platform", ""))


def current_uid() -> int | None:
    """This process's uid; None where the system has none (Windows)."""
    getuid = getattr(os, "getuid", None)
    return int(getuid()) if getuid is not None else None


def peer_uid(conn: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket; None where the system cannot say."""
    platform = _platform()
    if platform.startswith("linux"):
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return int(struct.unpack("3i", creds)[1])
    if platform == "darwin" or "bsd" in platform:
        sol_local, local_peercred = 0, 1  # <sys/un.h>
        raw = conn.getsockopt(sol_local, local_peercred, struct.calcsize("IIh16I"))
        _version, uid = struct.unpack_from("II", raw)
        return int(uid)
    return None


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created 0600 if missing) for the block; another process
    waits here until it is released."""
    with path.open("a+b") as fh:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
        if sys.platform == "win32":
            import msvcrt

            fh.seek(0)
            while True:
                try:
                    msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    time.sleep(0.05)
            try:
                yield
            finally:
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def detach_from_terminal() -> None:
    """Leave the terminal's session (POSIX ``setsid``); on Windows the broker was started detached."""
    setsid = getattr(os, "setsid", None)
    if setsid is not None:
        setsid()


def pass_pipe(write_end: int) -> tuple[str, dict[str, Any]]:
    """How to hand the readiness pipe's write end to the broker: (the argument that names it, the
    ``subprocess.Popen`` keywords that let it be inherited - and nothing else)."""
    if sys.platform == "win32":
        import msvcrt

        handle = msvcrt.get_osfhandle(write_end)
        os.set_handle_inheritable(handle, True)
        info = subprocess.STARTUPINFO()
        info.lpAttributeList = {"handle_list": [handle]}
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
        return f"h{handle}", {"startupinfo": info, "creationflags": flags, "close_fds": True}
    return str(write_end), {"pass_fds": (write_end,), "close_fds": True}


def received_pipe(argument: str) -> int:
    """The descriptor :func:`pass_pipe` named, in the broker."""
    if argument.startswith("h"):
        if sys.platform == "win32":
            import msvcrt

            return int(msvcrt.open_osfhandle(int(argument[1:]), os.O_WRONLY))
        raise ValueError(f"{argument!r} names a Windows handle")
    return int(argument)


# -- the endpoint ----------------------------------------------------------------------------------


def listen(path: Path) -> tuple[socket.socket, str | None]:
    """The broker's listening socket at ``path``, and the token clients must send first (None for a
    Unix socket, where the peer's uid is checked instead). Never half-made: the socket or the
    session file is made under a temporary name and renamed into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    if USE_LOOPBACK:
        server = socket.create_server(("127.0.0.1", 0))
        token = secrets.token_hex(_TOKEN_BYTES)
        tmp.write_text(json.dumps({"port": server.getsockname()[1], "token": token}), encoding="utf-8")
        os.replace(tmp, path)
        return server, token
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        server.bind(str(tmp))
    finally:
        os.umask(old_umask)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return server, None


def connect(path: Path, timeout: float | None) -> socket.socket:
    """A connection to the broker at ``path``: its Unix socket, or (Windows) the loopback port of its
    session file, the token sent first. Raises ConnectionRefusedError when nothing listens."""
    if USE_LOOPBACK:
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            port, token = int(info["port"]), str(info["token"])
        except (OSError, ValueError, KeyError, TypeError):
            raise ConnectionRefusedError(f"{path} names no running session") from None
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        sock.sendall(token.encode("ascii"))
        return sock
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        raise
    return sock


def peer_is_owner(conn: socket.socket, token: str | None) -> bool:
    """Whether the peer is this user: the same uid (Unix socket), or it sent ``token`` first
    (loopback); nothing else is read before this answers."""
    if token is not None:
        conn.settimeout(5.0)
        given = b""
        with contextlib.suppress(OSError):
            while len(given) < len(token):
                chunk = conn.recv(len(token) - len(given))
                if not chunk:
                    break
                given += chunk
        return hmac.compare_digest(given, token.encode("ascii"))
    uid = peer_uid(conn)
    return uid is not None and uid == current_uid()


__all__ = [
    "USE_LOOPBACK",
    "connect",
    "current_uid",
    "detach_from_terminal",
    "exclusive_lock",
    "listen",
    "pass_pipe",
    "peer_is_owner",
    "peer_uid",
    "received_pipe",
]
