"""Fixtures shared by the integration tests that drive the lifecycle through a loopback Session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from namdrunner_core import Cluster, JobStore, Session
from tests.conftest import ClusterEnv


@pytest.fixture(scope="module")
def session(cluster: ClusterEnv) -> Iterator[Session]:
    """One authenticated session to the loopback cluster per test module."""
    with Cluster.from_profile("loopback").connect() as s:
        yield s


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    """A fresh job store per test."""
    return JobStore(tmp_path / "jobs.db")
