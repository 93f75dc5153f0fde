"""The Transport protocol: the one door through which namdrunner talks to a cluster.

Commands are argument lists, quoted here and only here (:func:`quote_command`). Implementations:
:class:`~namdrunner_core.transport.ssh.SSHTransport` (fabric/paramiko) and
:class:`~namdrunner_core.transport.local.LocalTransport` (subprocess, for the login node itself).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

import attrs

from namdrunner_core.errors import RemoteCommandError

#: Called with (bytes done, bytes total) while a transfer runs.
ProgressCallback = Callable[[int, int], None]


@attrs.frozen(slots=True)
class CommandResult:
    """What a remote command returned."""

    command: str
    stdout: str
    stderr: str
    exit_code: int
    duration_s: float

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.exit_code == 0

    def check(self) -> CommandResult:
        """Return self, or raise :class:`RemoteCommandError` when the exit code is not 0."""
        if self.exit_code != 0:
            raise RemoteCommandError(self.command, self.exit_code, self.stderr, self.stdout)
        return self


def quote_command(args: Sequence[str], *, login_shell: bool = False) -> str:
    """Quote an argument list into one shell command line.

    With ``login_shell`` the command runs under ``bash -lc`` so that ``/etc/profile`` is read and
    ``module`` works, as on a real cluster's login node.
    """
    if not args:
        raise ValueError("empty command")
    line = shlex.join(str(a) for a in args)
    if login_shell:
        return shlex.join(["bash", "-lc", line])
    return line


@runtime_checkable
class Transport(Protocol):
    """Run commands and stream bytes on a cluster. One instance is one authenticated session."""

    @property
    def description(self) -> str:
        """A short ``user@host:port``-style label for messages and the command log."""
        ...

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
        """Run a command given as an argument list. Raises on non-zero exit when ``check``."""
        ...

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
        """Run a fixed bash snippet with ``args`` as ``$1 $2 ...`` (each quoted)."""
        ...

    def put_stream(
        self,
        args: Sequence[str],
        chunks: Iterable[bytes],
        *,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run ``args`` remotely with ``chunks`` streamed to its stdin. Never retried."""
        ...

    def get_stream(
        self,
        args: Sequence[str],
        sink: Callable[[bytes], None],
        *,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run ``args`` remotely and hand each chunk of its stdout to ``sink``. Never retried."""
        ...

    def close(self) -> None:
        """Close the session."""
        ...
