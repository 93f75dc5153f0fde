"""The lifecycle contract (tests/lifecycle_contract.py) on the real loopback Slurm cluster: the same
checks the fake Slurm passes in tests/unit/test_lifecycle_fake.py, so the fake cannot drift."""

from __future__ import annotations

from pathlib import Path

from namdrunner_core import JobStore, Session
from tests import lifecycle_contract as contract


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
