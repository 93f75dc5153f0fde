"""Read-only listing of the job store without importing SQLAlchemy.

Importing SQLAlchemy costs about 170 ms here, more than `namdrunner job list` may take in all; the
one query that lists jobs therefore runs on the standard library's sqlite3, read-only. Every write,
the schema and its migrations stay with :class:`namdrunner_core.store.JobStore` (SQLAlchemy 2 ORM);
a unit test proves both read the same rows.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from namdrunner_core.errors import NamdRunnerError

#: The schema version this code reads (kept equal to namdrunner_core.store.SCHEMA_VERSION by a test).
READ_SCHEMA_VERSION = 5
LIST_COLUMNS = (
    "job_id",
    "job_name",
    "status",
    "slurm_job_id",
    "slurm_state",
    "created_at",
    "profile",
    "progress",
    "resources",
    "workflow_id",
    "copy_back",
)
_JSON_COLUMNS = {"progress", "resources"}


class StoreNeedsUpgrade(NamdRunnerError):
    """The store file was written by an older namdrunner: open it once with :class:`JobStore` to migrate."""


def _connect(path: Path) -> sqlite3.Connection | None:
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if version is not None and int(version[0]) < READ_SCHEMA_VERSION:
        # written by an older namdrunner: its columns are not all there yet. The store owns the
        # migrations (see :mod:`namdrunner_core.store.listing`, which runs them once and reads again).
        conn.close()
        raise StoreNeedsUpgrade(f"{path} has schema {version[0]}; the store migrates it to {READ_SCHEMA_VERSION}")
    if version is None or int(version[0]) != READ_SCHEMA_VERSION:
        conn.close()
        raise NamdRunnerError(
            f"{path} has schema {version and version[0]}; this namdrunner reads "
            f"{READ_SCHEMA_VERSION}: upgrade namdrunner"
        )
    return conn


#: columns a job table may be sorted by (anything else is refused, never spliced into SQL)
SORT_COLUMNS = ("created_at", "job_name", "status", "slurm_job_id", "job_id")


def list_job_rows(
    path: Path,
    *,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    sort: str = "created_at",
    descending: bool = True,
    text: str | None = None,
) -> list[dict[str, Any]]:
    """The columns a job table shows, newest first by default (JSON columns decoded); ``sort`` is
    one of :data:`SORT_COLUMNS`, ``limit``/``offset`` page through them in SQL; ``text``: only jobs
    whose name, id or Slurm id contain it (any case)."""
    if sort not in SORT_COLUMNS:
        raise ValueError(f"sort: {sort!r} is not one of {', '.join(SORT_COLUMNS)}")
    conn = _connect(path)
    if conn is None:
        return []
    where, params = _where(status, text)
    sql = f"SELECT {', '.join(LIST_COLUMNS)} FROM jobs{where}"  # noqa: S608 - fixed names; values are parameters
    sql += f" ORDER BY {sort} {'DESC' if descending else 'ASC'}, job_id"
    if limit:
        sql += " LIMIT ? OFFSET ?"
        params += [int(limit), max(0, int(offset))]
    try:
        rows = conn.execute(sql, params).fetchall()
    finally:
        conn.close()
    out = []
    for row in rows:
        item = dict(zip(LIST_COLUMNS, row, strict=True))
        for key in _JSON_COLUMNS:
            if isinstance(item[key], str):
                item[key] = json.loads(item[key])
        out.append(item)
    return out


def _where(status: str | None, text: str | None) -> tuple[str, list[Any]]:
    """The WHERE clause of a listing and its parameters (the text as a LIKE pattern, its own % and _
    escaped: a name with an underscore matches only itself)."""
    clauses, params = [], []
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    if text:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(lower(job_name) LIKE ? ESCAPE '\\' OR lower(job_id) LIKE ? ESCAPE '\\'"
                       " OR COALESCE(slurm_job_id, '') LIKE ? ESCAPE '\\')")  # fmt: skip
        params += [pattern, pattern, pattern]
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def count_jobs(path: Path, *, status: str | None = None, text: str | None = None) -> int:
    """How many jobs (with ``status``, and ``text`` in the name, id or Slurm id, only those)."""
    conn = _connect(path)
    if conn is None:
        return 0
    where, params = _where(status, text)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM jobs{where}", params).fetchone()[0])  # noqa: S608
    finally:
        conn.close()


#: the jobs table's JSON columns (decoded by :func:`job_row`)
JOB_JSON_COLUMNS = frozenset(
    {
        "template_values",
        "resources",
        "input_files",
        "output_files",
        "progress",
        "log_state",
        "preflight_notes",
        "campaign",
    }
)


def job_ids_like(path: Path, prefix: str) -> list[str]:
    """The job ids starting with ``prefix`` (an index range), or every id when none does (so that a
    miss can suggest the closest ones)."""
    conn = _connect(path)
    if conn is None:
        return []
    try:
        escaped = prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        sql = "SELECT job_id FROM jobs WHERE job_id LIKE ? ESCAPE '!'"
        found = [r[0] for r in conn.execute(sql, (escaped + "%",))]
        return found or [r[0] for r in conn.execute("SELECT job_id FROM jobs")]
    finally:
        conn.close()


def job_row(path: Path, job_id: str) -> dict[str, Any] | None:
    """Every column of one job (JSON columns decoded), or None."""
    conn = _connect(path)
    if conn is None:
        return None
    try:
        cur = conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        row = cur.fetchone()
        names = [d[0] for d in cur.description]
    finally:
        conn.close()
    if row is None:
        return None
    item = dict(zip(names, row, strict=True))
    for key in JOB_JSON_COLUMNS & set(item):
        if isinstance(item[key], str):
            item[key] = json.loads(item[key])
    return item
