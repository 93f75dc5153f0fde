"""The client side of the shared session (``namdrunner session start``): a transport that sends every
command and stream to the session's broker process over a local Unix socket.

The broker (:mod:`namdrunner_core.broker`) holds ONE authenticated SSH connection for a profile; every
CLI call, notebook and the web page of the same user reach it through :class:`BrokerTransport`, so a
working day costs one password and one Duo prompt. Local IPC only: the socket lives in a directory
of mode 0700 under the user's runtime dir, both are checked for owner and mode before use, and the
broker checks each peer (:mod:`~namdrunner_core.transport.localipc`: its uid on Linux and macOS, a
token on Windows).

Frames on the socket: one type byte (``J`` a JSON header, ``D`` data, ``E`` end of data) and a
4-byte big-endian length, then the payload.
"""

from __future__ import annotations

import json
import socket
import stat
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from namdrunner_core import errors
from namdrunner_core.errors import NamdRunnerError, SessionLostError, UnsafePathError
from namdrunner_core.paths import runtime_dir
from namdrunner_core.transport import localipc
from namdrunner_core.transport.base import BaseTransport, ConnectionDropped
from namdrunner_core.transport.console import CommandLog
from namdrunner_core.transport.ratelimit import RateLimiter

HEADER = struct.Struct(">cI")
MAX_FRAME = 64 * 1024 * 1024


def session_dir(*, create: bool = True) -> Path:
    """``<user runtime dir>/namdrunner-sessions`` (mode 0700, ours), where the brokers' sockets live.

    Raises :class:`UnsafePathError` when it exists with another owner or a mode others can enter.
    """
    d = runtime_dir() / "sessions"
    if create:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
    if d.exists():
        check_private(d, directory=True)
    return d


def check_private(path: Path, *, directory: bool) -> None:
    """Refuse a session directory or socket that is not ours alone (owner and mode). On Windows,
    which has neither, the folder is the user's own profile folder (other users cannot read it) and
    the session file's token is what a client must show."""
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePathError(f"{path} is a symbolic link: refusing to use it for the session")
    uid = localipc.current_uid()
    if uid is None:
        return
    if st.st_uid != uid:
        raise UnsafePathError(f"{path} belongs to uid {st.st_uid}, not you: refusing to use it for the session")
    allowed = 0o700 if directory else 0o600
    if stat.S_IMODE(st.st_mode) & ~allowed:
        raise UnsafePathError(
            f"{path} has mode {stat.S_IMODE(st.st_mode):04o} (others may use it); expected {allowed:04o}: "
            "run `namdrunner session stop` and start it again"
        )


def socket_path(profile: str) -> Path:
    """The socket of the broker for ``profile``."""
    return session_dir() / f"{profile}.sock"


def send_frame(sock: socket.socket, kind: bytes, payload: bytes = b"") -> None:
    """One frame: type, length, payload."""
    sock.sendall(HEADER.pack(kind, len(payload)) + payload)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Exactly ``n`` bytes, or :class:`ConnectionDropped` when the peer went away."""
    parts, left = [], n
    while left:
        data = sock.recv(min(left, 1 << 20))
        if not data:
            raise ConnectionDropped("the session broker closed the connection")
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def recv_frame(sock: socket.socket) -> tuple[bytes, bytes]:
    """(type, payload) of the next frame."""
    kind, size = HEADER.unpack(recv_exact(sock, HEADER.size))
    if size > MAX_FRAME:
        raise ConnectionDropped(f"frame of {size} bytes from the session broker: out of step")
    return kind, recv_exact(sock, size) if size else b""


def send_json(sock: socket.socket, obj: dict[str, Any]) -> None:
    """A ``J`` frame."""
    send_frame(sock, b"J", json.dumps(obj).encode())


def recv_json(sock: socket.socket) -> dict[str, Any]:
    """The next frame, which must be a ``J`` frame; a broker-side error is raised here as itself."""
    kind, payload = recv_frame(sock)
    if kind != b"J":
        raise ConnectionDropped(f"unexpected {kind!r} frame from the session broker")
    return parse_json(payload)


def parse_json(payload: bytes) -> dict[str, Any]:
    """A ``J`` frame's object; a broker-side error is raised here as the same error class."""
    obj: dict[str, Any] = json.loads(payload)
    if "error" in obj:
        cls = getattr(errors, str(obj["error"]), None)
        if not (isinstance(cls, type) and issubclass(cls, NamdRunnerError)):
            cls = errors.RemoteError
        raise cls(str(obj.get("message", "the session broker failed")))
    return obj


def connect(path: Path, timeout: float | None = 10.0) -> socket.socket:
    """A connection to the broker at ``path`` (its socket checked first)."""
    check_private(path, directory=False)
    return localipc.connect(path, timeout)


@attrs.frozen(slots=True)
class BrokerInfo:
    """What ``session status`` shows of a running broker."""

    profile: str
    user: str
    host: str
    pid: int
    started_at: float
    expires_at: float
    idle_timeout_s: float
    last_used_at: float
    commands: int
    authentications: int
    interactive_login: bool
    rate_limit_per_s: float
    pending: int


def find_broker(profile: str) -> BrokerInfo | None:
    """The running broker for ``profile``, or None. A stale socket (its broker was killed) is removed."""
    path = session_dir(create=False) / f"{profile}.sock"
    if not path.exists():
        return None
    try:
        sock = connect(path, timeout=5.0)
    except (ConnectionRefusedError, FileNotFoundError):
        path.unlink(missing_ok=True)  # nothing listens: a broker that died
        return None
    try:
        send_json(sock, {"op": "status"})
        return BrokerInfo(**recv_json(sock)["status"])
    except (ConnectionDropped, OSError, TypeError, ValueError):
        return None
    finally:
        sock.close()


class BrokerTransport(BaseTransport):
    """A transport whose every operation runs in the session broker (one connection per operation).

    The broker enforces the profile's rate limit for all its clients together and keeps the command
    log; this side keeps its own log of what it asked (for ``-v``).
    """

    def __init__(self, profile: str, description: str, *, command_log: CommandLog | None = None) -> None:
        # the broker's limiter is the one that counts; this one only keeps a runaway loop local
        super().__init__(command_log=command_log, rate_limiter=RateLimiter(rate=1000, burst=1000), max_reconnects=0)
        self.profile = profile
        self.path = socket_path(profile)
        self._description = description

    @property
    def description(self) -> str:
        return f"{self._description} (shared session)"

    def _open(self) -> socket.socket:
        try:
            return connect(self.path, timeout=None)
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            raise ConnectionDropped(f"no session broker at {self.path}") from exc

    def _recover_after_drop(self) -> None:
        raise SessionLostError(
            f"the shared session for profile {self.profile!r} is gone; run `namdrunner session start`"
        )

    def _tail(self, sock: socket.socket) -> tuple[dict[str, Any], bytes, bytes]:
        head = recv_json(sock)
        out = recv_frame(sock)[1]
        err = recv_frame(sock)[1]
        return head, out, err

    def _exec(
        self, command: str, stdin: bytes | None, timeout: float | None, *, idempotent: bool = True
    ) -> tuple[int, bytes, bytes]:
        try:
            with self._open() as sock:
                # the broker must know: a command not safe to repeat is never re-sent after a drop
                request = {"op": "run", "command": command, "timeout": timeout, "stdin": stdin is not None}
                send_json(sock, request | {"idempotent": idempotent})
                if stdin is not None:
                    send_frame(sock, b"D", stdin)
                head, out, err = self._tail(sock)
                return int(head["exit"]), out, err
        except OSError as exc:
            raise ConnectionDropped(str(exc)) from exc

    def _put_stream(
        self, command: str, chunks: Iterable[bytes], timeout: float | None
    ) -> tuple[int, bytes, bytes, int]:
        try:
            with self._open() as sock:
                send_json(sock, {"op": "put", "command": command, "timeout": timeout})
                for chunk in chunks:
                    view = memoryview(chunk)
                    for i in range(0, len(view), MAX_FRAME // 16):
                        send_frame(sock, b"D", bytes(view[i : i + MAX_FRAME // 16]))
                send_frame(sock, b"E")
                head, out, err = self._tail(sock)
                return int(head["exit"]), out, err, int(head["sent"])
        except OSError as exc:
            raise ConnectionDropped(str(exc)) from exc

    def _get_stream(self, command: str, sink: Callable[[bytes], None], timeout: float | None) -> tuple[int, bytes, int]:
        try:
            with self._open() as sock:
                send_json(sock, {"op": "get", "command": command, "timeout": timeout})
                while True:
                    kind, payload = recv_frame(sock)
                    if kind == b"D":
                        sink(payload)
                        continue
                    if kind == b"J":  # the broker reports a failure in the middle of the stream
                        parse_json(payload)
                    if kind != b"E":
                        raise ConnectionDropped(f"unexpected {kind!r} frame from the session broker")
                    break
                head, _out, err = self._tail(sock)
                return int(head["exit"]), err, int(head["received"])
        except OSError as exc:
            raise ConnectionDropped(str(exc)) from exc

    def close(self) -> None:
        """Nothing to close: the broker keeps the connection."""
