"""`namdrunner db`: the local store's backup (consistent while it is open, never over a file), restore
(a backup checked first; the store as it was kept beside it; the open store sees the restored rows)
and reset (emptied, kept first), through the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from namdrunner_cli.main import cli
from namdrunner_core.models import JobRecord
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.store import JobStore
from namdrunner_core.store.maintenance import restore_store, store_facts

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def _record(job_id: str) -> JobRecord:
    res = Resources(cores=1, memory_gb=1, walltime="01:00:00")
    return JobRecord(job_id=job_id, job_name=job_id, profile="loopback", remote_user="u", status=JobStatus.CREATED,
                     template_id="t", template_values={}, resources=res, project_dir=f"/p/{job_id}",
                     scratch_dir=f"/s/{job_id}", created_at=NOW, updated_at=NOW)  # fmt: skip


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JobStore:
    monkeypatch.setenv("NAMDRUNNER_DB", str(tmp_path / "db.sqlite"))
    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    s = JobStore(tmp_path / "db.sqlite")
    s.add_job(_record("first"))
    return s


def test_backup_restore_and_reset(store: JobStore, tmp_path: Path) -> None:
    shown = json.loads(run("--json", "db", "show").stdout)
    assert (shown["jobs"], shown["schema_version"]) == (1, store.schema_version)
    backups = tmp_path / "backups"
    backups.mkdir()
    made = json.loads(run("--json", "db", "backup", str(backups)).stdout)
    backup = Path(made["file"])
    assert backup.parent == backups
    assert backup.name.startswith("namdrunner-backup-")
    assert not list(backups.glob(".*part"))
    again = run("db", "backup", str(backup), code=1)
    assert "exists; give another name (a backup never replaces a file)" in again.stderr
    # the store changes after the backup; a restore brings the backup's contents back, into the open store
    store.add_job(_record("second"))
    assert sorted(store.job_ids()) == ["first", "second"]
    kept = Path(json.loads(run("--json", "db", "restore", str(backup), "--yes").stdout)["file"])
    assert store.job_ids() == ["first"]  # the same JobStore object sees the restored rows
    assert sorted(JobStore(kept).job_ids()) == ["first", "second"]  # the store as it was, beside it
    assert kept.parent == store.path.parent
    # reset: empty, and the store as it was kept
    said = run("db", "reset", "--yes").stdout
    assert said.startswith("emptied; the store as it was is kept in ")
    assert store.job_ids() == []
    assert store_facts(store).jobs == 0
    assert JobStore(Path(said.split(" kept in ", 1)[1].strip())).job_ids() == ["first"]


def test_a_restore_refuses_what_is_not_a_whole_store(store: JobStore, tmp_path: Path) -> None:
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database")
    assert "is not a namdrunner store" in run("db", "restore", str(text), "--yes", code=1).stderr
    other = tmp_path / "other.sqlite"
    import sqlite3

    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    assert "is not a namdrunner store" in run("db", "restore", str(other), "--yes", code=1).stderr
    newer = tmp_path / "newer.sqlite"
    JobStore(newer)
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(Exception, match="newer namdrunner"):
        restore_store(store, newer)
    assert store.job_ids() == ["first"]  # nothing changed by a refused restore
    assert "no such file" in run("db", "restore", str(tmp_path / "missing.sqlite"), "--yes", code=1).stderr
