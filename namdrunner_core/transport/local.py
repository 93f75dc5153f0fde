"""Local transport: the same operations through subprocess, for running on the login node itself
(e.g. Jupyter on Open OnDemand) and for tests that need no SSH."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterable

from namdrunner_core.errors import CommandTimeoutError, command_label
from namdrunner_core.transport.base import BaseTransport
from namdrunner_core.transport.console import CommandLog
from namdrunner_core.transport.ratelimit import RateLimiter

CHUNK = 1024 * 1024
_BASH = shutil.which("bash") or "/bin/bash"


class LocalTransport(BaseTransport):
    """Runs every command with ``bash -c`` on this machine."""

    def __init__(
        self,
        *,
        command_log: CommandLog | None = None,
        rate_limiter: RateLimiter | None = None,
        default_timeout: float | None = 600.0,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(command_log=command_log, rate_limiter=rate_limiter, default_timeout=default_timeout)
        self.env = env

    @property
    def description(self) -> str:
        return f"{getpass.getuser()}@{socket.gethostname()} (local)"

    def close(self) -> None:
        """Nothing to close."""

    def _popen(self, command: str, stdin: int | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [_BASH, "-c", command],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
        )

    def _exec(
        self, command: str, stdin: bytes | None, timeout: float | None, *, idempotent: bool = True
    ) -> tuple[int, bytes, bytes]:
        proc = self._popen(command, subprocess.PIPE)
        try:
            out, err = proc.communicate(stdin or b"", timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.communicate()
            raise CommandTimeoutError(f"{command_label(command)} timed out after {timeout:g} s", command) from exc
        return proc.returncode, out, err

    @staticmethod
    def _collect(stream: object, into: list[bytes]) -> threading.Thread:
        def pump() -> None:
            read = getattr(stream, "read")  # noqa: B009 - a pipe object
            while True:
                data = read(65536)
                if not data:
                    return
                into.append(data)

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        return thread

    def _wait(self, proc: subprocess.Popen[bytes], command: str, timeout: float | None) -> int:
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            raise CommandTimeoutError(f"{command_label(command)} timed out after {timeout:g} s", command) from exc

    def _put_stream(
        self, command: str, chunks: Iterable[bytes], timeout: float | None
    ) -> tuple[int, bytes, bytes, int]:
        proc = self._popen(command, subprocess.PIPE)
        out: list[bytes] = []
        err: list[bytes] = []
        threads = [self._collect(proc.stdout, out), self._collect(proc.stderr, err)]
        sent = 0
        assert proc.stdin is not None
        try:
            for chunk in chunks:
                proc.stdin.write(chunk)
                sent += len(chunk)
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()
        code = self._wait(proc, command, timeout)
        for t in threads:
            t.join()
        return code, b"".join(out), b"".join(err), sent

    def _get_stream(self, command: str, sink: Callable[[bytes], None], timeout: float | None) -> tuple[int, bytes, int]:
        proc = self._popen(command, subprocess.DEVNULL)
        err: list[bytes] = []
        err_thread = self._collect(proc.stderr, err)
        received = 0
        assert proc.stdout is not None
        while True:
            data = proc.stdout.read(CHUNK)
            if not data:
                break
            received += len(data)
            sink(data)
        code = self._wait(proc, command, timeout)
        err_thread.join()
        return code, b"".join(err), received
