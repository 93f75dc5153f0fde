"""The JobStore: namdrunner's local cache, SQLAlchemy 2 over SQLite.

WAL mode and a busy timeout make it safe for two processes at once (a notebook and the CLI); every
write is one short transaction, so a failure leaves no half-written row. The schema carries a
version; :data:`MIGRATIONS` bring an older file up to date. The cluster (``job_info.json`` beside
each job) stays the source of truth: a deleted store is rebuilt by ``discover``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import JSON, Boolean, Integer, String, Text, create_engine, event, func, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from namdrunner_core.errors import NamdRunnerError, NotFoundError
from namdrunner_core.ids import IdMatch, check_id_argument, match_prefix, select_for_change
from namdrunner_core.ids import not_found as _id_not_found
from namdrunner_core.models import GroupRecord, JobRecord, record_from_row, record_to_data
from namdrunner_core.paths import default_db_path
from namdrunner_core.serde import converter, to_data, to_rfc3339
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.store import read as store_read

if TYPE_CHECKING:
    from namdrunner_core.namd.config import Template

SCHEMA_VERSION = 5


class _Base(DeclarativeBase):
    pass


class _Meta(_Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class _JobRow(_Base):
    __tablename__ = "jobs"
    job_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    job_name: Mapped[str] = mapped_column(Text)
    profile: Mapped[str] = mapped_column(String(120), index=True)
    remote_user: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), index=True)
    slurm_job_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    slurm_state: Mapped[str | None] = mapped_column(String(60), nullable=True)
    slurm_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    template_id: Mapped[str] = mapped_column(String(120))
    template_values: Mapped[dict[str, Any]] = mapped_column(JSON)
    resources: Mapped[dict[str, Any]] = mapped_column(JSON)
    project_dir: Mapped[str] = mapped_column(Text)
    scratch_dir: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(40), index=True)
    updated_at: Mapped[str] = mapped_column(String(40))
    submitted_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    completed_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    input_files: Mapped[list[str]] = mapped_column(JSON)
    output_files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    error_info: Mapped[str | None] = mapped_column(Text, nullable=True)
    slurm_stdout: Mapped[str | None] = mapped_column(Text, nullable=True)
    slurm_stderr: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    log_state: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    submit_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    total_steps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    finalized: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_job_id: Mapped[str | None] = mapped_column(String(160), nullable=True)
    workflow_id: Mapped[str | None] = mapped_column(String(160), nullable=True, index=True)
    exit_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    workflow_stage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    preflight_notes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    copy_back: Mapped[str | None] = mapped_column(String(20), nullable=True)
    copy_back_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    campaign: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class _WorkflowRow(_Base):
    __tablename__ = "workflows"
    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[str] = mapped_column(String(40), index=True)


class _TemplateRow(_Base):
    __tablename__ = "templates"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[str] = mapped_column(String(40))


class _SettingRow(_Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


def _v1_to_v2(conn: Connection) -> None:
    """Workflows: a table of their own, and each job's stage number."""
    conn.execute(text("ALTER TABLE jobs ADD COLUMN workflow_stage INTEGER"))
    _WorkflowRow.__table__.create(conn)  # type: ignore[attr-defined]


def _v2_to_v3(conn: Connection) -> None:
    """What preflight could not check, per job."""
    conn.execute(text("ALTER TABLE jobs ADD COLUMN preflight_notes JSON"))


def _v3_to_v4(conn: Connection) -> None:
    """Verified copy-back: its state and, when it failed, why (NULL: verify at the next sync)."""
    conn.execute(text("ALTER TABLE jobs ADD COLUMN copy_back VARCHAR(20)"))
    conn.execute(text("ALTER TABLE jobs ADD COLUMN copy_back_error TEXT"))


def _v4_to_v5(conn: Connection) -> None:
    """Campaigns: a job's campaign.json as last read."""
    conn.execute(text("ALTER TABLE jobs ADD COLUMN campaign JSON"))


#: Schema migrations: MIGRATIONS[n] upgrades a version-n store to n+1 (in one transaction).
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5}


def _record_to_row(r: JobRecord) -> dict[str, Any]:
    return record_to_data(r)  # the columns are the record's fields


def _row_to_record(row: _JobRow) -> JobRecord:
    return record_from_row({c.name: getattr(row, c.name) for c in _JobRow.__table__.columns})


class JobStore:
    """Jobs, user templates and settings in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(f"sqlite:///{self.path}", future=True)
        event.listen(self.engine, "connect", _sqlite_pragmas)
        self._migrate()

    @classmethod
    def default(cls) -> JobStore:
        """The store at :func:`default_db_path`."""
        return cls(default_db_path())

    # -- schema ---------------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS meta (key VARCHAR(64) PRIMARY KEY, value TEXT)"))
            found = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
            if found is None:
                _Base.metadata.create_all(conn)
                conn.execute(text("INSERT INTO meta (key, value) VALUES ('schema_version', :v)"), {"v": SCHEMA_VERSION})
                return
            version = int(found)
            if version > SCHEMA_VERSION:
                raise NamdRunnerError(
                    f"{self.path} was written by a newer namdrunner (schema {version} > {SCHEMA_VERSION}); upgrade"
                )
            while version < SCHEMA_VERSION:
                MIGRATIONS[version](conn)
                version += 1
                conn.execute(text("UPDATE meta SET value = :v WHERE key = 'schema_version'"), {"v": version})

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar_one())

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            yield s

    # -- jobs -----------------------------------------------------------------------------------
    def add_job(self, record: JobRecord) -> None:
        """Insert a new job (fails if the id exists)."""
        with self._session() as s:
            if s.get(_JobRow, record.job_id) is not None:
                raise NamdRunnerError(f"job {record.job_id} already exists in the store")
            s.add(_JobRow(**_record_to_row(record)))

    def save_job(self, record: JobRecord) -> None:
        """Insert or replace a job."""
        self.save_jobs([record])

    def save_jobs(self, records: Sequence[JobRecord]) -> None:
        """Insert or replace many jobs in ONE transaction."""
        with self._session() as s:
            for record in records:
                s.merge(_JobRow(**_record_to_row(record)))

    def update_jobs(self, records: Sequence[JobRecord]) -> set[str]:
        """Replace the rows of jobs that are STILL in the store, in ONE transaction; the ids saved.

        A sync or a progress poll read its jobs a moment ago; one another process deleted meanwhile
        must not come back (an UPDATE of a missing row changes nothing, where a merge would insert it).
        """
        saved: set[str] = set()
        with self._session() as s:
            for record in records:
                values = _record_to_row(record)
                job_id = values.pop("job_id")
                result = s.execute(update(_JobRow).where(_JobRow.job_id == job_id).values(**values))
                if getattr(result, "rowcount", 0):
                    saved.add(job_id)
        return saved

    def job_ids(self) -> list[str]:
        """Every job id in the store (one column; cheap even for 10,000 jobs)."""
        with self._session() as s:
            return list(s.scalars(select(_JobRow.job_id)))

    def _candidates(self, column: Any, given: str, argument: str) -> list[str]:
        """The ids that start with ``given`` (an index range in SQLite, not every id), or every id when
        none does, so that a miss can suggest the closest ones."""
        check_id_argument(given, argument)
        with self._session() as s:
            found = list(s.scalars(select(column).where(column.startswith(given, autoescape=True))))
            return found or list(s.scalars(select(column)))

    def get_job(self, job_id: str) -> JobRecord:
        """One job by its EXACT id (a prefix never selects a job here; see :meth:`find_job`)."""
        check_id_argument(job_id, "job id")
        with self._session() as s:
            row = s.get(_JobRow, job_id)
            if row is None:
                raise _id_not_found(
                    job_id, self.job_ids(), "job", f"`namdrunner job list` shows the jobs in {self.path}"
                )
            return _row_to_record(row)

    def find_job(self, given: str, *, argument: str = "JOB_ID") -> tuple[JobRecord, IdMatch]:
        """A job by exact id or unique prefix, for commands that only READ; the match says which."""
        match = match_prefix(given, self._candidates(_JobRow.job_id, given, argument), what="job", argument=argument)
        return self.get_job(match.id), match

    def select_job_for_change(
        self, given: str, *, confirm: Callable[[str], bool] | None, argument: str = "JOB_ID"
    ) -> JobRecord:
        """A job that a changing or destroying command may act on (see :func:`ids.select_for_change`)."""
        known = self._candidates(_JobRow.job_id, given, argument)
        job_id = select_for_change(given, known, confirm=confirm, what="job", argument=argument)
        return self.get_job(job_id)

    def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        profile: str | None = None,
        workflow_id: str | None = None,
        active_only: bool = False,
        parent_job_id: str | None = None,
    ) -> list[JobRecord]:
        """Jobs, newest first, filtered (``parent_job_id``: the restarts of that job)."""
        q = select(_JobRow).order_by(_JobRow.created_at.desc())
        if status is not None:
            q = q.where(_JobRow.status == status.value)
        if profile is not None:
            q = q.where(_JobRow.profile == profile)
        if workflow_id is not None:
            q = q.where(_JobRow.workflow_id == workflow_id)
        if active_only:
            q = q.where(_JobRow.status.in_([s.value for s in JobStatus if s.is_active]))
        if parent_job_id is not None:
            q = q.where(_JobRow.parent_job_id == parent_job_id)
        with self._session() as s:
            return [_row_to_record(r) for r in s.scalars(q)]

    def list_job_rows(self, *, status: JobStatus | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """The columns a job table shows, newest first (the fast read path of :mod:`store_read`)."""
        return store_read.list_job_rows(self.path, status=status.value if status else None, limit=limit)

    def delete_job(self, job_id: str) -> None:
        """Remove a job's row (the remote side is the lifecycle's business). The group it belonged to
        goes with its last job, in the same transaction: no workflow is left listed without jobs."""
        with self._session() as s:
            row = s.get(_JobRow, job_id)
            if row is None:
                raise NotFoundError(f"no job {job_id!r} in the store")
            group_id = row.workflow_id
            s.delete(row)
            s.flush()
            if group_id is not None:
                left = s.scalar(select(func.count()).select_from(_JobRow).where(_JobRow.workflow_id == group_id))
                group = s.get(_WorkflowRow, group_id)
                if not left and group is not None:
                    s.delete(group)

    def count_jobs(self, *, status: JobStatus | None = None) -> int:
        """How many jobs the store holds (with ``status``, only those)."""
        return store_read.count_jobs(self.path, status=status.value if status else None)

    # -- workflows and sweeps ---------------------------------------------------------------------
    def save_workflow(self, group: GroupRecord) -> None:
        """Store (or replace) a group: its member job ids in order, their labels, its kind."""
        data = to_data(group)
        with self._session() as s:
            s.merge(_WorkflowRow(id=data.pop("id"), created_at=data.pop("created_at"), data=data))

    def workflow_ids(self) -> list[str]:
        """Every workflow and sweep id in the store."""
        with self._session() as s:
            return list(s.scalars(select(_WorkflowRow.id)))

    @staticmethod
    def _group(row: _WorkflowRow) -> GroupRecord:
        return converter.structure({**row.data, "id": row.id, "created_at": row.created_at}, GroupRecord)

    def get_workflow(self, workflow_id: str) -> GroupRecord:
        """A workflow or sweep by its EXACT id (see :meth:`find_workflow` for prefixes)."""
        check_id_argument(workflow_id, "workflow id")
        with self._session() as s:
            row = s.get(_WorkflowRow, workflow_id)
            if row is None:
                raise _id_not_found(
                    workflow_id, self.workflow_ids(), "workflow", "`namdrunner workflow list` shows them"
                )
            return self._group(row)

    def get_workflows(self, workflow_ids: Iterable[str]) -> dict[str, GroupRecord]:
        """The groups of these ids that exist, by id (one query)."""
        ids = sorted(set(workflow_ids))
        if not ids:
            return {}
        with self._session() as s:
            return {r.id: self._group(r) for r in s.scalars(select(_WorkflowRow).where(_WorkflowRow.id.in_(ids)))}

    def find_workflow(self, given: str, *, argument: str = "WORKFLOW_ID") -> tuple[GroupRecord, IdMatch]:
        """A workflow by exact id or unique prefix, for commands that only READ."""
        known = self._candidates(_WorkflowRow.id, given, argument)
        match = match_prefix(given, known, what="workflow", argument=argument)
        return self.get_workflow(match.id), match

    def select_workflow_for_change(
        self, given: str, *, confirm: Callable[[str], bool] | None, argument: str = "WORKFLOW_ID"
    ) -> GroupRecord:
        """A workflow that a changing command may act on (exact id, or a confirmed long prefix)."""
        known = self._candidates(_WorkflowRow.id, given, argument)
        workflow_id = select_for_change(given, known, confirm=confirm, what="workflow", argument=argument)
        return self.get_workflow(workflow_id)

    def list_workflows(self) -> list[GroupRecord]:
        """Every workflow and sweep, newest first."""
        with self._session() as s:
            rows = s.scalars(select(_WorkflowRow).order_by(_WorkflowRow.created_at.desc()))
            return [self._group(r) for r in rows]

    def delete_workflow(self, workflow_id: str) -> None:
        """Remove a workflow's row (its jobs are deleted separately)."""
        with self._session() as s:
            row = s.get(_WorkflowRow, workflow_id)
            if row is not None:
                s.delete(row)

    # -- templates ------------------------------------------------------------------------------
    def save_template(self, template: Template) -> None:
        """Store (or replace) a user template."""
        data = converter.unstructure(attrs.evolve(template, builtin=False))
        with self._session() as s:
            s.merge(_TemplateRow(id=template.id, data=data, updated_at=to_rfc3339(dt.datetime.now(dt.UTC)) or ""))

    def get_template(self, template_id: str) -> Template:
        """A user template by id."""
        from namdrunner_core.namd.config import Template

        with self._session() as s:
            row = s.get(_TemplateRow, template_id)
            if row is None:
                raise NotFoundError(f"no user template {template_id!r}")
            return converter.structure(row.data, Template)

    def list_templates(self) -> list[Template]:
        """Every user template."""
        from namdrunner_core.namd.config import Template

        with self._session() as s:
            return [converter.structure(r.data, Template) for r in s.scalars(select(_TemplateRow).order_by("id"))]

    def delete_template(self, template_id: str) -> None:
        """Remove a user template."""
        with self._session() as s:
            row = s.get(_TemplateRow, template_id)
            if row is None:
                raise NotFoundError(f"no user template {template_id!r}")
            s.delete(row)

    # -- settings -------------------------------------------------------------------------------
    def get_setting(self, key: str, default: Any = None) -> Any:
        """A setting's value (JSON)."""
        with self._session() as s:
            row = s.get(_SettingRow, key)
            return default if row is None else row.value

    def set_setting(self, key: str, value: Any) -> None:
        """Store a setting (JSON-serialisable)."""
        with self._session() as s:
            s.merge(_SettingRow(key=key, value=value))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
