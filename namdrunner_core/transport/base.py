"""What every transport shares: quoting, the rate limit, the command log, retries and checks.

Subclasses implement only the raw operations (:meth:`BaseTransport._exec`, ``_put_stream``,
``_get_stream``) and, where a session can be re-opened, :meth:`BaseTransport._reconnect`.
"""

from __future__ import annotations

import shlex
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from namdrunner_core.errors import ConnectionFailedError, NamdRunnerError
from namdrunner_core.transport.console import CommandLog
from namdrunner_core.transport.protocol import CommandResult, quote_command
from namdrunner_core.transport.ratelimit import RateLimiter

_T = TypeVar("_T")


class ConnectionDropped(Exception):
    """Raised by a raw operation when the session died under it."""


#: Seconds between reconnect attempts: exponential backoff, capped.
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0


class BaseTransport(ABC):
    """Shared behaviour of :class:`SSHTransport` and :class:`LocalTransport`."""

    def __init__(
        self,
        *,
        command_log: CommandLog | None = None,
        rate_limiter: RateLimiter | None = None,
        default_timeout: float | None = 600.0,
        max_reconnects: int = 4,
    ) -> None:
        self.command_log = command_log if command_log is not None else CommandLog()
        self.rate_limiter = rate_limiter if rate_limiter is not None else RateLimiter()
        self.default_timeout = default_timeout
        self.max_reconnects = max_reconnects
        self.reconnects = 0

    # -- what subclasses provide -------------------------------------------------------------
    @property
    @abstractmethod
    def description(self) -> str:
        """A short label such as ``user@host:port``."""

    @abstractmethod
    def _exec(
        self, command: str, stdin: bytes | None, timeout: float | None, *, idempotent: bool = True
    ) -> tuple[int, bytes, bytes]:
        """Run one shell command line; return (exit code, stdout, stderr). ``idempotent`` says whether
        running it twice is harmless (a transport that relays commands passes it on)."""

    @abstractmethod
    def _put_stream(
        self, command: str, chunks: Iterable[bytes], timeout: float | None
    ) -> tuple[int, bytes, bytes, int]:
        """Stream chunks to the command's stdin; return (exit, stdout, stderr, bytes sent)."""

    @abstractmethod
    def _get_stream(self, command: str, sink: Callable[[bytes], None], timeout: float | None) -> tuple[int, bytes, int]:
        """Stream the command's stdout to sink; return (exit, stderr, bytes received)."""

    def _reconnect(self) -> None:
        """Re-open a dropped session. The default cannot, and says so."""
        raise ConnectionFailedError(f"connection to {self.description} was lost")

    @abstractmethod
    def close(self) -> None:
        """Close the session."""

    # -- the public operations ----------------------------------------------------------------
    def run(
        self,
        args: Sequence[str],
        *,
        login_shell: bool = False,
        timeout: float | None = None,
        check: bool = True,
        idempotent: bool = True,
        stdin: bytes | None = None,
    ) -> CommandResult:
        """Run an argument list (quoted once, here). See :class:`~.base.Transport`."""
        command = quote_command(args, login_shell=login_shell)
        return self._run_command(command, timeout=timeout, check=check, idempotent=idempotent, stdin=stdin)

    def run_script(
        self,
        script: str,
        args: Sequence[str] = (),
        *,
        login_shell: bool = False,
        timeout: float | None = None,
        check: bool = True,
        idempotent: bool = True,
    ) -> CommandResult:
        """Run a fixed bash snippet; ``args`` arrive quoted as ``$1 $2 ...``."""
        flag = "-lc" if login_shell else "-c"
        command = shlex.join(["bash", flag, script, "namdrunner", *[str(a) for a in args]])
        return self._run_command(command, timeout=timeout, check=check, idempotent=idempotent, stdin=None)

    def put_stream(
        self, args: Sequence[str], chunks: Iterable[bytes], *, timeout: float | None = None
    ) -> CommandResult:
        """Run ``args`` with ``chunks`` streamed to stdin. Not retried (the stream is consumed)."""
        command = quote_command(args)
        (code, out, err, sent), started, duration = self._streamed(
            command, "an upload", lambda: self._put_stream(command, chunks, timeout or self.default_timeout)
        )
        self.command_log.record(command, started_at=started, duration_s=duration, exit_code=code, bytes_out=sent)
        return CommandResult(command, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), code, duration)

    def get_stream(
        self, args: Sequence[str], sink: Callable[[bytes], None], *, timeout: float | None = None
    ) -> CommandResult:
        """Run ``args`` and pass stdout chunks to ``sink``. Not retried (the sink saw data)."""
        command = quote_command(args)
        (code, err, received), started, duration = self._streamed(
            command, "a download", lambda: self._get_stream(command, sink, timeout or self.default_timeout)
        )
        self.command_log.record(command, started_at=started, duration_s=duration, exit_code=code, bytes_in=received)
        return CommandResult(command, "", err.decode("utf-8", "replace"), code, duration)

    def _streamed(self, command: str, what: str, operation: Callable[[], _T]) -> tuple[_T, float, float]:
        """Run a streaming operation under the rate limit; a dropped connection is re-opened but the
        transfer is not repeated (its data was consumed): the caller is told to retry it.
        Returns (result, start time, duration)."""
        self._acquire(command)
        started, t0 = time.time(), time.monotonic()
        try:
            result = operation()
        except ConnectionDropped as exc:
            self._log_failure(command, started, t0, f"connection lost: {exc}")
            self._recover_after_drop()
            raise ConnectionFailedError(
                f"connection to {self.description} was lost during {what}; it was reconnected, retry the transfer"
            ) from exc
        except NamdRunnerError as exc:
            self._log_failure(command, started, t0, exc.message)
            raise
        return result, started, time.monotonic() - t0

    # -- internals ----------------------------------------------------------------------------
    def _acquire(self, command: str) -> None:
        try:
            self.rate_limiter.acquire()
        except NamdRunnerError as exc:
            self.command_log.record(command, started_at=time.time(), duration_s=0.0, exit_code=None, note=exc.message)
            raise

    def _log_failure(self, command: str, started: float, t0: float, note: str) -> None:
        self.command_log.record(
            command, started_at=started, duration_s=time.monotonic() - t0, exit_code=None, note=note
        )

    def _recover_after_drop(self) -> None:
        """Reconnect with exponential backoff; raises when every attempt failed."""
        delay = BACKOFF_BASE_S
        last: NamdRunnerError | None = None
        for _attempt in range(self.max_reconnects):
            try:
                self._reconnect()
                self.reconnects += 1
                return
            except ConnectionFailedError as exc:  # authentication errors propagate: never retried
                last = exc
                time.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP_S)
        raise ConnectionFailedError(
            f"connection to {self.description} was lost and {self.max_reconnects} reconnect attempts failed"
            + (f": {last.message}" if last else "")
        )

    def _run_command(
        self, command: str, *, timeout: float | None, check: bool, idempotent: bool, stdin: bytes | None
    ) -> CommandResult:
        self._acquire(command)
        started, t0 = time.time(), time.monotonic()
        effective_timeout = timeout if timeout is not None else self.default_timeout
        try:
            try:
                code, out, err = self._exec(command, stdin, effective_timeout, idempotent=idempotent)
            except ConnectionDropped as exc:
                self._log_failure(command, started, t0, f"connection lost: {exc}")
                self._recover_after_drop()
                if not idempotent:
                    raise ConnectionFailedError(
                        f"connection to {self.description} was lost while running a command that is not "
                        "safe to repeat; it was reconnected but the command was not re-sent: check its "
                        "effect before retrying"
                    ) from exc
                started, t0 = time.time(), time.monotonic()
                code, out, err = self._exec(command, stdin, effective_timeout, idempotent=idempotent)
        except ConnectionDropped as exc:
            self._log_failure(command, started, t0, f"connection lost again: {exc}")
            raise ConnectionFailedError(f"connection to {self.description} was lost twice in a row") from exc
        except NamdRunnerError as exc:
            self._log_failure(command, started, t0, exc.message)
            raise
        duration = time.monotonic() - t0
        self.command_log.record(
            command,
            started_at=started,
            duration_s=duration,
            exit_code=code,
            bytes_out=len(stdin) if stdin else 0,
            bytes_in=len(out) + len(err),
        )
        result = CommandResult(
            command=command,
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
            exit_code=code,
            duration_s=duration,
        )
        return result.check() if check else result

    def __enter__(self) -> BaseTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
