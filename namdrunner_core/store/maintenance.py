"""The local store looked after: what it holds, a backup (SQLite's online backup: consistent while
namdrunner runs, WAL included), a restore from a backup (checked first; the store as it was is kept
beside it), a reset to empty (the same), and - from the cluster - ``discover`` rebuilds it.

Nothing here leaves a half-written file in place: a backup is written under a temporary name and
renamed, a restore goes through SQLite into the live file (never a file copied over an open database)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import attrs
from sqlalchemy import text

from namdrunner_core.errors import ValidationError
from namdrunner_core.store.jobstore import SCHEMA_VERSION, JobStore

#: the tables a reset empties (meta, with the schema version, stays)
TABLES = ("jobs", "workflows", "templates", "settings")


@attrs.frozen(slots=True)
class StoreFacts:
    """What the local store is and holds."""

    path: str
    size_bytes: int
    schema_version: int
    jobs: int
    workflows: int
    templates: int


def store_facts(store: JobStore) -> StoreFacts:
    """The store's file, size (with its write-ahead log) and counts."""
    size = sum(p.stat().st_size for p in (store.path, Path(f"{store.path}-wal")) if p.exists())
    with store.engine.connect() as conn:
        counts = {t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()) for t in TABLES[:3]}  # noqa: S608
    return StoreFacts(str(store.path), size, store.schema_version, counts["jobs"], counts["workflows"],
                      counts["templates"])  # fmt: skip


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")


def backup_store(store: JobStore, target: Path | str) -> Path:
    """A consistent copy of the store at ``target`` (a folder: a dated name in it), written whole or not
    at all; an existing file is never replaced."""
    target = Path(target).expanduser()
    if target.is_dir():
        target = target / f"namdrunner-backup-{_stamp()}.sqlite"
    if target.exists():
        raise ValidationError("FILE", f"{target} exists; give another name (a backup never replaces a file)")
    if not target.parent.is_dir():
        raise ValidationError("FILE", f"{target.parent} is not a folder")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with sqlite3.connect(store.path) as src, sqlite3.connect(tmp) as dst:
            src.backup(dst)
        dst.close()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _check_backup(source: Path) -> None:
    """A namdrunner store this version reads, intact (opened read-only)."""
    if not source.is_file():
        raise ValidationError("FILE", f"{source}: no such file")
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            conn.execute("SELECT COUNT(*) FROM jobs").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ValidationError(
            "FILE", f"{source} is not a namdrunner store ({exc}); give a file `db backup` wrote"
        ) from exc
    if ok != "ok":
        raise ValidationError("FILE", f"{source} is damaged (SQLite's integrity check: {ok})")
    if version is None or int(version[0]) > SCHEMA_VERSION:
        raise ValidationError("FILE", f"{source} was written by a newer namdrunner (schema {version}); upgrade first")


def restore_store(store: JobStore, source: Path | str) -> Path:
    """Replace the store's contents by a backup's (checked first). The store as it was is backed up
    beside it first; that copy's path is returned."""
    source = Path(source).expanduser()
    _check_backup(source)
    kept = backup_store(store, store.path.with_name(f"{store.path.stem}.before-restore-{_stamp()}.sqlite"))
    store.engine.dispose()  # no pooled connection keeps reading the old pages
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(store.path) as dst:
        src.backup(dst)
    JobStore(store.path)  # an older backup's schema brought up to date
    store.engine.dispose()
    return kept


def reset_store(store: JobStore) -> Path:
    """Empty the store (every job, workflow, template and setting), after backing it up beside itself;
    that copy's path is returned. Nothing on any cluster is touched."""
    kept = backup_store(store, store.path.with_name(f"{store.path.stem}.before-reset-{_stamp()}.sqlite"))
    with store.engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed table names
    return kept
