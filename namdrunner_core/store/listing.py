"""The job table, read fast: what ``namdrunner job list`` shows, without loading SQLAlchemy.

:mod:`namdrunner_core.store.read` reads the store with the standard library's sqlite3 (read-only);
a store written by an older namdrunner is migrated once by :class:`~namdrunner_core.store.JobStore`
(SQLAlchemy is imported only then) and read again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs

from namdrunner_core.campaign_view import campaign_json
from namdrunner_core.errors import NamdRunnerError, NotFoundError, ValidationError
from namdrunner_core.ids import IdMatch, check_id_argument, match_prefix
from namdrunner_core.models import JobRecord, job_json, record_from_row, record_to_data
from namdrunner_core.paths import default_db_path
from namdrunner_core.profile import load_profile
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.store import read as store_read

_T = TypeVar("_T")


def _path(path: Path | str | None) -> Path:
    return Path(path) if path is not None else default_db_path()


def _read(where: Path, read: Callable[[], _T]) -> _T:
    """``read()`` of the store at ``where``; a store an older namdrunner wrote is migrated once by
    :class:`~namdrunner_core.store.JobStore` (SQLAlchemy, ~170 ms, only then) and read again."""
    try:
        return read()
    except store_read.StoreNeedsUpgrade:
        from namdrunner_core.store import JobStore

        JobStore(where)
        return read()


def job_rows(
    path: Path | str | None = None,
    *,
    status: JobStatus | None = None,
    limit: int | None = None,
    offset: int = 0,
    sort: str = "created_at",
    descending: bool = True,
    text: str | None = None,
) -> list[dict[str, Any]]:
    """The columns a job table shows (:data:`store_read.LIST_COLUMNS`), newest first unless ``sort``
    (one of :data:`store_read.SORT_COLUMNS`) says otherwise; ``[]`` when the store does not exist yet.
    ``text``: only jobs whose name, id or Slurm id contain it (any case). ``path`` defaults to the
    user's store (``$NAMDRUNNER_DB``)."""
    where = _path(path)
    args: dict[str, Any] = {"status": status.value if status is not None else None, "limit": limit,
                            "offset": offset, "sort": sort, "descending": descending, "text": text}  # fmt: skip
    return _read(where, lambda: store_read.list_job_rows(where, **args))


@attrs.frozen(slots=True)
class JobPage:
    """One page of the job table: its rows, and how many jobs there are in all."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.per_page))


def job_page(
    path: Path | str | None = None,
    *,
    page: int = 1,
    per_page: int = 50,
    sort: str = "created_at",
    descending: bool = True,
    status: JobStatus | None = None,
    text: str | None = None,
) -> JobPage:
    """One page of :func:`job_rows`, sorted and paged in SQL (a store of 10,000 jobs reads one page).
    ``sort`` is one of :data:`store_read.SORT_COLUMNS`; an unknown one is a :class:`ValidationError`."""
    if sort not in store_read.SORT_COLUMNS:
        raise ValidationError("sort", f"{sort!r} is not one of {', '.join(store_read.SORT_COLUMNS)}")
    if per_page < 1 or page < 1:
        raise ValidationError("page", "page and per_page start at 1")
    rows = job_rows(path, status=status, limit=per_page, offset=(page - 1) * per_page, sort=sort,
                    descending=descending, text=text)  # fmt: skip
    return JobPage(rows, job_count(path, status=status, text=text), page, per_page)


#: what ``job list --json`` prints of each row, under its JSON name
_ROW_JSON = {
    "id": "job_id",
    "name": "job_name",
    "status": "status",
    "profile": "profile",
    "slurm_job_id": "slurm_job_id",
    "slurm_state": "slurm_state",
    "created_at": "created_at",
    "progress": "progress",
    "workflow_id": "workflow_id",
    "copy_back": "copy_back",
}


def row_to_json(row: dict[str, Any]) -> dict[str, Any]:
    """A :func:`job_rows` row as ``job list --json`` prints it (the names of ``job show --json``)."""
    return {name: row.get(column) for name, column in _ROW_JSON.items()}


def record_to_row(record: JobRecord) -> dict[str, Any]:
    """A record in the shape of a :func:`job_rows` row (for tables of records, e.g. after a sync)."""
    data = record_to_data(record)
    return {column: data[column] for column in store_read.LIST_COLUMNS}


def job_details(record: JobRecord) -> dict[str, Any]:
    """``job show``: the job's JSON form with its profile's scratch purge period (how long results
    on scratch only last), when the profile can be read."""
    out = job_json(record)
    if record.campaign is not None:  # where the campaign stands, and every attempt (its lineage)
        latest = record.progress.step if record.progress else None
        out["campaign"] = campaign_json(record.campaign, latest)
    with contextlib.suppress(NamdRunnerError):  # a profile removed since: the job is still shown
        out["scratch_purge_days"] = load_profile(record.profile).scratch_purge_days
    return out


def job_count(path: Path | str | None = None, *, status: JobStatus | None = None, text: str | None = None) -> int:
    """How many jobs the store holds (with ``status``, and ``text`` in the name, id or Slurm id, only those)."""
    where = _path(path)
    value = status.value if status is not None else None
    return _read(where, lambda: store_read.count_jobs(where, status=value, text=text))


def find_job(given: str, path: Path | str | None = None) -> tuple[JobRecord, IdMatch]:
    """A job by exact id or unique prefix, read without SQLAlchemy (``job show``); the match says
    which. The same answer as :meth:`JobStore.find_job`."""
    where = _path(path)
    check_id_argument(given, "JOB_ID")
    known = _read(where, lambda: store_read.job_ids_like(where, given))
    match = match_prefix(given, known, what="job", argument="JOB_ID")
    row = store_read.job_row(where, match.id)
    if row is None:  # deleted in between
        raise NotFoundError(f"no job {match.id!r} (`namdrunner job list` shows them)")
    return record_from_row(row), match
