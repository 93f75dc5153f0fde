"""The page's long operations, run in the BACKGROUND (a thread each, a session of their own): creating a
job (its uploads to the cluster) and fetching every file of one. The page shows their bytes as they move
and never waits on them; what they did, or why they failed, is kept an hour."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import attrs

from namdrunner_core.errors import NamdRunnerError, NotFoundError, ValidationError

#: a task that ended is kept this long (its folder too: a fetched job waits for its zip to be saved)
KEEP_S = 3600.0


@attrs.define
class Task:
    """One long operation: ``kind`` (``fetch``, ``create``) of ``key`` (a job id, a draft); ``done``/``total``
    bytes moved; ``state`` running, ready or failed; ``result`` what it made (a created job's id)."""

    id: str
    kind: str
    key: str
    started: float
    folder: Path | None = None
    state: str = "running"
    done: int = 0
    total: int = 0
    files: int = 0
    error: str | None = None
    result: str | None = None
    finished: float | None = None

    @property
    def percent(self) -> int | None:
        """Bytes moved, in whole per cent (None until the size is known)."""
        return int(100 * self.done / self.total) if self.total else None

    def progress(self, done: int, total: int) -> None:
        """A transfer's progress callback."""
        self.done, self.total = done, total


class Tasks:
    """The background operations of one server (thread-safe); at most ``max_running`` at once (``what``
    they are, in the refusal), one per ``(kind, key)``."""

    def __init__(self, root: Path, max_running: int, what: str) -> None:
        self.root = root
        self.max_running = max_running
        self.what = what
        self._lock = threading.Lock()
        self._all: dict[str, Task] = {}

    def start(self, kind: str, key: str, work: Callable[[Task], None], *, folder: bool = False) -> Task:
        """Run ``work(task)`` in the background (with a fresh ``task.folder`` when ``folder``); the one
        already running for ``(kind, key)`` is returned instead of a second."""
        self.expire()
        with self._lock:
            for t in self._all.values():
                if (t.kind, t.key, t.state) == (kind, key, "running"):
                    return t
            if sum(t.state == "running" for t in self._all.values()) >= self.max_running:
                raise ValidationError(kind, f"{self.max_running} {self.what} are running; start this one when one ends")
            where = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.root)) if folder else None
            task = Task(secrets.token_hex(8), kind, key, time.monotonic(), where)
            self._all[task.id] = task
        threading.Thread(target=self._run, args=(task, work), name=f"namdrunner-ui-{kind}", daemon=True).start()
        return task

    @staticmethod
    def _run(task: Task, work: Callable[[Task], None]) -> None:
        # ``state`` is written last: a reader that sees it ended sees everything else of the end too
        try:
            work(task)
            task.finished, task.state = time.monotonic(), "ready"
        except Exception as exc:  # noqa: BLE001 - a background thread: said on the page, never lost
            if task.folder is not None:
                shutil.rmtree(task.folder, ignore_errors=True)
            task.error = str(exc) if isinstance(exc, NamdRunnerError) else f"{type(exc).__name__}: {exc}"
            task.finished, task.state = time.monotonic(), "failed"

    def of(self, kind: str, key: str) -> list[Task]:
        """The tasks of ``(kind, key)``, newest first."""
        self.expire()
        with self._lock:
            return sorted((t for t in self._all.values() if (t.kind, t.key) == (kind, key)), key=lambda t: -t.started)

    def get(self, task_id: str, kind: str, key: str | None = None) -> Task:
        """The task ``task_id``, which must be of ``kind`` (and ``key``): one job's is never another's."""
        with self._lock:
            task = self._all.get(task_id)
        if task is None or task.kind != kind or (key is not None and task.key != key):
            raise NotFoundError(f"no {kind} {task_id!r} here (they are kept an hour)")
        return task

    def expire(self, now: float | None = None) -> None:
        """Forget (and remove the files of) tasks that ended more than :data:`KEEP_S` ago."""
        now = time.monotonic() if now is None else now
        with self._lock:
            old = [k for k, t in self._all.items() if t.finished is not None and now - t.finished > KEEP_S]
            for k in old:
                gone = self._all.pop(k)
                if gone.folder is not None:
                    shutil.rmtree(gone.folder, ignore_errors=True)
