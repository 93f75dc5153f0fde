"""The command log ("SSH console"): every remote command with time, duration, exit code and bytes.

Kept in memory as a ring and optionally appended to a file. Secrets never reach it: callers
register them with :meth:`CommandLog.add_secret` and every entry is redacted before it is stored.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from pathlib import Path

import attrs

REDACTED = "***"
# Patterns that look like credentials even when nobody registered them.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(password|passwd|passcode|token|secret)(\s*[=:]\s*)(\S+)"),
]


@attrs.frozen(slots=True)
class CommandLogEntry:
    """One remote operation as the console shows it."""

    started_at: float
    command: str
    duration_s: float
    exit_code: int | None
    bytes_out: int = 0
    bytes_in: int = 0
    note: str = ""

    def format(self) -> str:
        """One line: time, exit code, duration, bytes, command (a namdrunner script by its name and
        arguments, not its whole text), note."""
        stamp = time.strftime("%H:%M:%S", time.localtime(self.started_at))
        code = "-" if self.exit_code is None else str(self.exit_code)
        moved = f" up={self.bytes_out}B down={self.bytes_in}B" if (self.bytes_out or self.bytes_in) else ""
        note = f"  # {self.note}" if self.note else ""
        return f"{stamp} [{code:>3}] {self.duration_s * 1000:7.1f} ms{moved}  {short_command(self.command)}{note}"


_SCRIPT = re.compile(r"bash -l?c '# shellcheck shell=bash\n.*?' (namdrunner-[a-z_]+)( .*)?$", re.DOTALL)


def short_command(command: str) -> str:
    """``bash -c '<script text>' namdrunner-status 123 ...`` as ``[namdrunner-status] 123 ...``."""
    m = _SCRIPT.fullmatch(command) or _SCRIPT.search(command)
    if m is None:
        return command
    return f"[{m.group(1)}]{m.group(2) or ''}"


class CommandLog:
    """A thread-safe ring of :class:`CommandLogEntry`, redacted, optionally mirrored to a file."""

    def __init__(self, capacity: int = 1000, path: Path | None = None) -> None:
        self._entries: deque[CommandLogEntry] = deque(maxlen=capacity)
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self.path = path

    def add_secret(self, secret: str) -> None:
        """Never show ``secret`` in any entry (passwords, 2FA codes)."""
        if secret:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        """``text`` with registered secrets and credential-looking values replaced."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
        return text

    def record(
        self,
        command: str,
        *,
        started_at: float,
        duration_s: float,
        exit_code: int | None,
        bytes_out: int = 0,
        bytes_in: int = 0,
        note: str = "",
    ) -> CommandLogEntry:
        """Store one entry (redacted) and return it."""
        entry = CommandLogEntry(
            started_at=started_at,
            command=self.redact(command),
            duration_s=duration_s,
            exit_code=exit_code,
            bytes_out=bytes_out,
            bytes_in=bytes_in,
            note=self.redact(note),
        )
        with self._lock:
            self._entries.append(entry)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(entry.format() + "\n")
        return entry

    def entries(self) -> list[CommandLogEntry]:
        """A copy of the entries, oldest first."""
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
