"""The lifecycle contract (tests/lifecycle_contract.py) on the fake Slurm of namdrunner_core.testing:
the whole job, workflow and sweep lifecycle in seconds, without daemons. The same contract runs on
the real loopback cluster in tests/integration/test_lifecycle_contract.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from namdrunner_core import JobStore, Session
from namdrunner_core.testing import FakeSlurm
from tests import lifecycle_contract as contract
from tests.conftest import ROOT

STANDIN = ROOT / "tests" / "cluster" / "namd3_standin.py"


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeSlurm]:
    with FakeSlurm(tmp_path / "fake", namd=STANDIN) as f:
        yield f


@pytest.fixture
def session(fake: FakeSlurm) -> Session:
    return fake.session()


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path / "jobs.db")


def test_job_lifecycle(session: Session, store: JobStore, tmp_path: Path) -> None:
    contract.check_job_lifecycle(session, store, tmp_path)


def test_workflow_chain_and_planned_ids(session: Session, store: JobStore) -> None:
    contract.check_workflow_chain_and_planned_ids(session, store)


def test_sweep_as_one_array(session: Session, store: JobStore) -> None:
    contract.check_sweep_as_one_array(session, store)


def test_cancel(session: Session, store: JobStore) -> None:
    contract.check_cancel(session, store)


def test_sync_refreshes_progress(session: Session, store: JobStore) -> None:
    contract.check_sync_refreshes_progress(session, store)


def test_campaign_as_the_last_stage(session: Session, store: JobStore) -> None:
    contract.check_campaign_as_the_last_stage(session, store)


def test_a_bulk_delete_counts_what_it_deleted_and_refuses_all_or_nothing(session: Session, store: JobStore) -> None:
    from namdrunner_core import Job
    from namdrunner_core.errors import NotFoundError
    from namdrunner_core.jobs.bulk import delete_jobs

    values = {"execution_command": "minimize", "steps": 240}
    ids = [Job.create(session, store, name=f"bulk {n}", template="vacuum_optimization_v1", values=values,
                      files=contract.TINY, resources=contract.RES).id for n in "abc"]  # fmt: skip
    seen: list[tuple[int, int]] = []
    with pytest.raises(NotFoundError):  # one unknown id: nothing deleted, nothing counted
        delete_jobs(session, store, [*ids, "no_such_job"], progress=lambda d, t: seen.append((d, t)))
    assert seen == []
    assert set(ids) <= set(store.job_ids())
    assert delete_jobs(session, store, ids, progress=lambda d, t: seen.append((d, t))) == ids
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert not set(ids) & set(store.job_ids())
