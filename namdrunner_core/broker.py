"""The shared session: ONE login per working day, used by every CLI call, notebook and the web page.

``namdrunner session start`` (:func:`start_session`) logs in once for a profile - password, key and
Duo prompts in the terminal, exactly as a command would - inside a broker process that then detaches
and keeps that one authenticated SSH connection. Every :meth:`Cluster.connect` of the same user and
profile finds it (:func:`~namdrunner_core.transport.broker_client.find_broker`) and sends its
commands and streams there (:class:`~namdrunner_core.transport.broker_client.BrokerTransport`), so
no further prompt or handshake happens.

- The broker is the ONE place that enforces the profile's rate limit and queue depth (5 commands/s,
  20 waiting) for all its clients together, and keeps the (redacted) command log.
- Local IPC only (:mod:`namdrunner_core.transport.localipc`): a Unix socket of mode 0600 in a
  directory of mode 0700 under the user's runtime dir, both checked for owner and mode by every
  client; the broker checks each peer's uid (``SO_PEERCRED`` on Linux, ``LOCAL_PEERCRED`` on macOS)
  and refuses anyone else before reading a byte. On Windows (no Unix sockets in CPython there) a
  127.0.0.1 port whose 256-bit token is in the session file in the user's own profile folder: a
  client that does not send it first is refused.
- A broker whose login needed a person (password, Duo) never logs in again by itself: when the SSH
  connection dies, clients get "session lost; run `namdrunner session start`" (an authentication
  error). A key-only login may reconnect quietly.
- It exits at its time-to-live, after an idle time, on :func:`stop_session`, and with the machine:
  nothing of it is written but its socket (no password, no code, ever).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from namdrunner_core.cluster import Cluster
from namdrunner_core.errors import (
    AuthenticationError,
    NamdRunnerError,
    SessionLostError,
    ValidationError,
)
from namdrunner_core.serde import to_data
from namdrunner_core.transport import localipc
from namdrunner_core.transport.base import BaseTransport
from namdrunner_core.transport.broker_client import (
    BrokerInfo,
    connect,
    find_broker,
    parse_json,
    recv_frame,
    send_frame,
    send_json,
    session_dir,
    socket_path,
)

#: defaults: a working day, and two idle hours
if TYPE_CHECKING:
    from namdrunner_core.transport.ssh import AuthPrompt

DEFAULT_TTL_S = 8 * 3600.0
DEFAULT_IDLE_S = 2 * 3600.0


def parse_duration(text: str, *, field: str = "--ttl") -> float:
    """``8h``, ``90m``, ``45s`` or plain seconds, as seconds."""
    value = text.strip().lower()
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    factor = units.get(value[-1:], 1.0)
    number = value[:-1] if value[-1:] in units else value
    try:
        seconds = float(number) * factor
    except ValueError:
        raise ValidationError(field, f"{text!r} is not a duration such as 8h, 90m or 3600") from None
    if seconds <= 0:
        raise ValidationError(field, f"{text!r}: a duration must be positive")
    return seconds


# -- the client's side of starting and stopping -------------------------------------------------------


@contextlib.contextmanager
def _start_lock(profile: str) -> Iterator[None]:
    """Two ``session start`` at once leave ONE broker: the second waits here, then finds the first."""
    with localipc.exclusive_lock(session_dir() / f"{profile}.lock"):
        yield


def start_session(
    profile: str,
    *,
    ttl_s: float = DEFAULT_TTL_S,
    idle_s: float = DEFAULT_IDLE_S,
    password_stdin: bool = False,
    auth: Callable[[AuthPrompt], str] | None = None,
    notify: Callable[[str], None] | None = None,
) -> tuple[BrokerInfo, bool]:
    """Start the broker for ``profile``; (its status, whether it was started now). A running broker
    is left as it is. Its login prompts are asked in this terminal, or, with ``auth``, relayed to
    that callback (a web page asks the person; ``notify`` gets Duo's messages): each answer goes down
    a pipe to the broker once and is never kept."""
    with _start_lock(profile):
        running = find_broker(profile)
        if running is not None:
            return running, False
        read_end, write_end = os.pipe()
        pipe_arg, inherit = localipc.pass_pipe(write_end)
        cmd = [sys.executable, "-m", "namdrunner_core.broker", profile, str(ttl_s), str(idle_s), pipe_arg]
        if password_stdin:
            cmd.append("--password-stdin")
        relay = auth is not None
        if relay:
            cmd.append("--relay-prompts")
        pipes = subprocess.PIPE if relay else None
        proc = subprocess.Popen(cmd, stdin=pipes, stdout=pipes, text=relay, **inherit)
        os.close(write_end)
        relayer = None
        if auth is not None:
            relayer = threading.Thread(target=_relay_prompts, args=(proc, auth, notify), daemon=True)
            relayer.start()
        with os.fdopen(read_end, "rb") as ready:
            answer = ready.read().decode("utf-8", "replace").strip()
        if relayer is not None:
            relayer.join(timeout=5)
        if not answer.startswith("READY"):
            proc.wait(timeout=30)
            obj = json.loads(answer) if answer.startswith("{") else {"error": "RemoteError", "message": answer}
            parse_json(json.dumps(obj).encode())  # raises the broker's error as itself
            raise AuthenticationError(f"the session for {profile!r} did not start")
        info = find_broker(profile)
        if info is None:
            raise AuthenticationError(f"the session for {profile!r} started but does not answer")
        return info, True


def _relay_prompts(
    proc: subprocess.Popen[str], auth: Callable[[AuthPrompt], str], notify: Callable[[str], None] | None
) -> None:
    """The parent's half of ``--relay-prompts``: one JSON line per prompt or notice from the broker,
    one answer line back, until the broker closes its side (ready, or failed)."""
    from namdrunner_core.transport.ssh import AuthPrompt

    if proc.stdout is None or proc.stdin is None:
        return
    for line in proc.stdout:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if "notice" in msg:
            if notify is not None:
                notify(str(msg["notice"]))
            continue
        prompt = AuthPrompt(**msg["prompt"])
        try:
            answer = auth(prompt)
        except NamdRunnerError:
            answer = ""  # the person gave up: an empty answer fails the login on the broker's side
        with contextlib.suppress(OSError):
            proc.stdin.write(answer.replace("\n", " ") + "\n")
            proc.stdin.flush()
    with contextlib.suppress(OSError):
        proc.stdin.close()


def session_status(profile: str) -> BrokerInfo | None:
    """The running broker of ``profile``, or None."""
    return find_broker(profile)


def stop_session(profile: str) -> bool:
    """Stop the broker of ``profile``; False when none ran."""
    info = find_broker(profile)
    if info is None:
        return False
    with contextlib.closing(connect(socket_path(profile))) as sock:
        send_json(sock, {"op": "stop"})
        with contextlib.suppress(OSError, NamdRunnerError):
            recv_frame(sock)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and socket_path(profile).exists():
        time.sleep(0.05)
    return True


# -- the broker process -----------------------------------------------------------------------------


class Broker:
    """Serves ONE authenticated transport to the user's own processes over a Unix socket."""

    def __init__(self, profile: str, transport: BaseTransport, user: str, host: str, *, ttl_s: float,
                 idle_s: float, interactive: bool) -> None:  # fmt: skip
        self.profile, self.transport, self.user, self.host = profile, transport, user, host
        self.started_at = time.time()
        self.expires_at = self.started_at + ttl_s
        self.idle_s = idle_s
        self.last_used = time.time()
        self.commands = 0
        self.interactive = interactive
        self.stopping = threading.Event()
        self.lost: str | None = None
        self.path = socket_path(profile)

    def status(self) -> dict[str, Any]:
        limiter = self.transport.rate_limiter
        data: dict[str, Any] = to_data(
            BrokerInfo(
                profile=self.profile,
                user=self.user,
                host=self.host,
                pid=os.getpid(),
                started_at=self.started_at,
                expires_at=self.expires_at,
                idle_timeout_s=self.idle_s,
                last_used_at=self.last_used,
                commands=self.commands,
                authentications=int(getattr(self.transport, "authentications", 1)),
                interactive_login=self.interactive,
                rate_limit_per_s=float(getattr(limiter, "rate", 0.0)),
                pending=int(getattr(limiter, "pending", 0)),
            )
        )
        return data  # fmt: skip

    def listen(self) -> None:
        """Create the endpoint (:func:`localipc.listen`: a 0600 Unix socket, or on Windows a loopback
        port with a token in the session file), made under a temporary name and renamed into place."""
        server, self._token = localipc.listen(self.path)
        server.listen(64)
        self._inode = os.stat(self.path).st_ino
        server.settimeout(1.0)
        self._server = server

    def serve(self) -> None:
        """Accept the user's clients until stopped, expired or idle."""
        server = self._server
        try:
            while not self.stopping.is_set():
                now = time.time()
                if now >= self.expires_at or now - self.last_used >= self.idle_s:
                    break
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=self._client, args=(conn,), daemon=True).start()
        finally:
            server.close()
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self.path).st_ino == self._inode:  # not a newer broker's socket
                    self.path.unlink()
            self.transport.close()

    def _client(self, conn: socket.socket) -> None:
        with conn:
            try:
                if not localipc.peer_is_owner(conn, self._token):
                    return  # another user: not a byte read, nothing run
                kind, payload = recv_frame(conn)
                if kind != b"J":
                    return
                request = json.loads(payload)
                op = request.get("op")
                if op == "status":
                    send_json(conn, {"status": self.status()})
                    return
                if op == "stop":
                    send_json(conn, {"ok": True})
                    self.stopping.set()
                    return
                if self.lost is not None:
                    raise SessionLostError(self.lost)
                self.last_used = time.time()
                self.commands += 1
                self._operation(conn, op, request)
            except NamdRunnerError as exc:
                self._fail(conn, exc)
            except (OSError, ValueError, KeyError):
                return  # the client went away, or spoke nonsense: nothing to answer

    def _fail(self, conn: socket.socket, exc: NamdRunnerError) -> None:
        if isinstance(exc, AuthenticationError) and self.interactive:
            self.lost = "the shared session lost its connection; run `namdrunner session start`"
            exc = SessionLostError(self.lost)
        with contextlib.suppress(OSError):
            send_json(conn, {"error": type(exc).__name__, "message": exc.message})

    def _operation(self, conn: socket.socket, op: str, request: dict[str, Any]) -> None:
        t = self.transport
        command, timeout = str(request["command"]), request.get("timeout")
        if op == "run":
            stdin = recv_frame(conn)[1] if request.get("stdin") else None
            idempotent = bool(request.get("idempotent", False))
            result = t._run_command(command, timeout=timeout, check=False, idempotent=idempotent, stdin=stdin)
            self._answer(conn, {"exit": result.exit_code}, result.stdout.encode(), result.stderr.encode())
        elif op == "put":

            def chunks() -> Iterator[bytes]:
                while True:
                    kind, data = recv_frame(conn)
                    if kind == b"E":
                        return
                    yield data

            put = t._streamed(
                command, "an upload", lambda: t._put_stream(command, chunks(), timeout or t.default_timeout)
            )
            (code, out, err, sent), _started, _duration = put
            self._answer(conn, {"exit": code, "sent": sent}, out, err)
        elif op == "get":

            def sink(data: bytes) -> None:
                send_frame(conn, b"D", data)

            got = t._streamed(command, "a download", lambda: t._get_stream(command, sink, timeout or t.default_timeout))
            (code, err, received), _started, _duration = got
            send_frame(conn, b"E")
            self._answer(conn, {"exit": code, "received": received}, b"", err)
        else:
            raise ValidationError("op", f"unknown session operation {op!r}")

    @staticmethod
    def _answer(conn: socket.socket, head: dict[str, Any], out: bytes, err: bytes) -> None:
        send_json(conn, head)
        send_frame(conn, b"D", out)
        send_frame(conn, b"D", err)


def _serve_main(argv: list[str]) -> int:
    """``python -m namdrunner_core.broker PROFILE TTL IDLE READY_FD [--password-stdin]``."""
    profile, ttl_s, idle_s, ready_fd = argv[0], float(argv[1]), float(argv[2]), localipc.received_pipe(argv[3])
    password_stdin = "--password-stdin" in argv
    relay = "--relay-prompts" in argv
    prompts = [0]
    password: list[str] = []

    def auth(prompt: Any) -> str:
        prompts[0] += 1
        if broker_ready.is_set():  # a reconnect: never a second Duo push or password by itself
            raise SessionLostError("the shared session lost its connection; run `namdrunner session start`")
        if relay:  # the parent asks the person (a web page): the question up, the answer back
            fields = ("kind", "text", "echo", "host", "user", "instructions", "title")
            sys.stdout.write(json.dumps({"prompt": {f: getattr(prompt, f) for f in fields}}) + "\n")
            sys.stdout.flush()
            return sys.stdin.readline().rstrip("\n")
        wants_password = prompt.kind == "password" or "password" in prompt.text.lower()
        if wants_password and password_stdin:
            if not password:
                password.append(sys.stdin.readline().rstrip("\n"))
            return password[0]
        from namdrunner_core.auth import interactive_prompt

        return interactive_prompt(prompt)

    def notify(text: str) -> None:
        if broker_ready.is_set():
            return
        if relay:
            sys.stdout.write(json.dumps({"notice": text}) + "\n")
            sys.stdout.flush()
        else:
            print(text, file=sys.stderr)  # noqa: T201 - Duo's messages, to the person starting it

    broker_ready = threading.Event()
    with os.fdopen(ready_fd, "w") as ready:
        try:
            session = Cluster.from_profile(profile).connect(auth=auth, notify=notify, broker=False)
        except NamdRunnerError as exc:
            ready.write(json.dumps({"error": type(exc).__name__, "message": exc.message}))
            return 1
        # the label is ``user@host:port``: the broker keeps the host part (status prints user@host)
        host = session.transport.description.split("@", 1)[-1]
        broker = Broker(profile, session.transport, session.user, host,
                        ttl_s=ttl_s, idle_s=idle_s, interactive=prompts[0] > 0)  # fmt: skip
        broker.listen()
        broker_ready.set()
        # detach: no terminal, no controlling session; nothing of the person's input is kept
        localipc.detach_from_terminal()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        if hasattr(signal, "SIGHUP"):  # POSIX: the terminal closing does not end the broker
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: broker.stopping.set())
        ready.write("READY")
    broker.serve()
    return 0


if __name__ == "__main__":
    sys.exit(_serve_main(sys.argv[1:]))
