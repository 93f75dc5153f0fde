"""The JobStore: rows, schema versions, two processes at once, and the sqlite3 read path."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path

import attrs
import pytest

from benchmarks._fixtures import make_store
from namdrunner_core.errors import NamdRunnerError, NotFoundError, ValidationError
from namdrunner_core.models import GroupRecord
from namdrunner_core.namd.template_files import builtin_template
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.store import JobStore
from namdrunner_core.store import jobstore as store_mod
from namdrunner_core.store import read as store_read
from namdrunner_core.store.listing import job_count, job_rows


def test_round_trip_and_prefix_lookup(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db", 5)
    jobs = store.list_jobs()
    assert len(jobs) == 5
    one = jobs[0]
    assert store.get_job(one.job_id) == one
    # get_job is exact: a prefix never selects a job there; find_job (for reading) takes one and says so.
    with pytest.raises(NotFoundError, match="did you mean"):
        store.get_job(one.job_id[:-1])
    found, match = store.find_job(one.job_id[:-1])
    assert found.job_id == one.job_id
    assert match.note == f"matched {one.job_id} from {one.job_id[:-1]!r}"
    with pytest.raises(ValidationError, match="matches 5 jobs"):
        store.find_job("bench_job_")
    changed = attrs.evolve(one, status=JobStatus.FAILED, error_info="boom")
    store.save_job(changed)
    assert store.get_job(one.job_id) == changed
    with pytest.raises(NamdRunnerError, match="already exists"):
        store.add_job(changed)
    store.delete_job(one.job_id)
    with pytest.raises(NotFoundError):
        store.get_job(one.job_id)


def test_filters(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db", 21)
    assert {r.status for r in store.list_jobs(status=JobStatus.RUNNING)} == {JobStatus.RUNNING}
    assert all(r.status.is_active for r in store.list_jobs(active_only=True))
    assert store.count_jobs() == 21
    assert store.count_jobs(status=JobStatus.CREATED) == 3


def test_read_path_agrees_with_the_orm(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db", 30)
    fast = store_read.list_job_rows(store.path, limit=10)
    orm = store.list_jobs()[:10]
    assert [r["job_id"] for r in fast] == [r.job_id for r in orm]
    for row, rec in zip(fast, orm, strict=True):
        assert row["status"] == rec.status.value
        assert row["slurm_job_id"] == rec.slurm_job_id
        assert row["progress"] == (attrs.asdict(rec.progress) if rec.progress else None)
        assert row["resources"] == attrs.asdict(rec.resources)
    assert store_read.READ_SCHEMA_VERSION == store_mod.SCHEMA_VERSION
    assert store_read.list_job_rows(tmp_path / "missing.db") == []


def test_schema_version_and_migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.db"
    JobStore(path)
    assert JobStore(path).schema_version == store_mod.SCHEMA_VERSION
    calls: list[int] = []
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", store_mod.SCHEMA_VERSION + 1)
    monkeypatch.setitem(store_mod.MIGRATIONS, store_mod.SCHEMA_VERSION - 1, lambda conn: calls.append(1))
    assert JobStore(path).schema_version == store_mod.SCHEMA_VERSION
    assert calls == [1]
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(NamdRunnerError, match="newer namdrunner"):
        JobStore(path)


def _writer(path: str, start: int) -> None:
    store = JobStore(path)
    base = make_store(Path(path + f".{start}.src"), 40).list_jobs()
    for i, rec in enumerate(base):
        store.save_job(attrs.evolve(rec, job_id=f"p{start}_{i}"))


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    JobStore(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), n)) for n in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert JobStore(path).count_jobs() == 80
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_templates_and_settings(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "s.db")
    t = attrs.evolve(builtin_template("vacuum_optimization_v1"), id="mine")
    store.save_template(t)
    assert store.get_template("mine") == attrs.evolve(t, builtin=False)
    assert [x.id for x in store.list_templates()] == ["mine"]
    store.delete_template("mine")
    with pytest.raises(NotFoundError):
        store.get_template("mine")
    store.set_setting("default_profile", "alpine")
    assert store.get_setting("default_profile") == "alpine"
    assert store.get_setting("nope", 3) == 3


#: The job columns each schema added (a store "as version N wrote it" lacks those of later versions).
_ADDED_COLUMNS = {
    2: ("workflow_stage",),
    3: ("preflight_notes",),
    4: ("copy_back", "copy_back_error"),
    5: ("campaign",),
}


def _as_written_by(path: Path, version: int) -> None:
    """Turn a current store back into what schema ``version`` wrote."""
    with sqlite3.connect(path) as conn:
        for added, columns in _ADDED_COLUMNS.items():
            if added > version:
                for column in columns:
                    conn.execute(f"ALTER TABLE jobs DROP COLUMN {column}")
        if version < 2:
            conn.execute("DROP TABLE workflows")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))


def test_a_version_1_store_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    before = make_store(path, 3).list_jobs()
    _as_written_by(path, 1)  # what namdrunner 0.1 wrote
    store = JobStore(path)
    assert store.schema_version == store_mod.SCHEMA_VERSION
    assert store.list_jobs() == before
    group = GroupRecord("wf_1", "w", "workflow", (), (), "loopback", "2026-01-01T00:00:00Z")
    store.save_workflow(group)
    assert store.get_workflow("wf_1") == group


def test_group_rows_an_older_version_wrote_are_typed_and_go_with_their_last_job(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.db", 2)
    a, b = sorted(r.job_id for r in store.list_jobs())
    for job_id in (a, b):
        store.save_job(attrs.evolve(store.get_job(job_id), workflow_id="sw_old_1"))
    with sqlite3.connect(store.path) as conn:  # a sweep row as 0.3 wrote it: no "kind"
        conn.execute(
            "INSERT INTO workflows (id, data, created_at) VALUES (?, ?, ?)",
            ("sw_old_1", json.dumps({"name": "old", "stages": [a, b], "stage_names": ["t=1", "t=2"]}), "2026"),
        )
    group = store.get_workflow("sw_old_1")
    assert (group.kind, group.stages, group.stage_name(b)) == ("sweep", (a, b), "t=2")
    store.delete_job(a)
    assert store.workflow_ids() == ["sw_old_1"]  # one job left: the group stays
    store.delete_job(b)
    assert store.workflow_ids() == []  # its last job gone: no empty group is left listed


def test_a_version_2_store_gains_preflight_notes(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    before = make_store(path, 2).list_jobs()
    _as_written_by(path, 2)  # no preflight_notes column yet
    store = JobStore(path)
    assert store.schema_version == store_mod.SCHEMA_VERSION
    assert store.list_jobs() == before
    noted = attrs.evolve(before[0], preflight_notes=["line 3: `if ...` block: Tcl control flow; not checked"])
    store.save_job(noted)
    assert store.get_job(noted.job_id).preflight_notes == noted.preflight_notes


def test_the_fast_list_path_reads_a_store_an_older_version_wrote(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    make_store(path, 3)
    _as_written_by(path, 2)
    with pytest.raises(store_read.StoreNeedsUpgrade):
        store_read.list_job_rows(path)  # the sqlite3 reader never migrates: it says so
    rows = job_rows(path)  # `job list` reads SQLite directly; the store migrates the old file once
    assert len(rows) == 3
    assert {r["copy_back"] for r in rows} == {None}
    assert job_count(path) == 3
    assert JobStore(path).schema_version == store_mod.SCHEMA_VERSION


def test_the_fast_job_lookup_equals_the_store(tmp_path: Path) -> None:
    from namdrunner_core.errors import NotFoundError
    from namdrunner_core.errors import ValidationError as BadInput
    from namdrunner_core.store.listing import find_job

    path = tmp_path / "s.db"
    store = make_store(path, 3)
    ids = sorted(r.job_id for r in store.list_jobs())
    for given in (ids[1], ids[1][:-3]):
        assert find_job(given, path) == store.find_job(given)
    with pytest.raises(BadInput, match="matches 3 jobs"):
        find_job(ids[0][:4], path)  # `_` in ids is not a LIKE wildcard: a real prefix of all three
    with pytest.raises(NotFoundError, match="did you mean"):
        find_job(ids[0][:-1] + "x", path)
    _as_written_by(path, 2)
    assert find_job(ids[2], path)[0] == store.get_job(ids[2])  # an older store is migrated once
