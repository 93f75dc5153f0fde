"""Shared helpers for the benchmarks (not a benchmark itself)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from namdrunner_core.models import JobRecord, ProgressSummary
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.store import JobStore


def make_store(path: Path, n: int) -> JobStore:
    """A store holding ``n`` plausible jobs."""
    store = JobStore(path)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    statuses = list(JobStatus)
    records = []
    for i in range(n):
        created = base + dt.timedelta(minutes=i)
        status = statuses[i % len(statuses)]
        records.append(
            JobRecord(
                job_id=f"bench_job_{i:06d}_{int(created.timestamp() * 1e6)}",
                job_name=f"bench job {i}",
                profile="loopback",
                remote_user="nrtest",
                status=status,
                template_id="vacuum_optimization_v1",
                template_values={"steps": 4800, "temperature": 300},
                resources=Resources(cores=24, memory_gb=16, walltime="04:00:00", partition="amilan", qos="normal"),
                project_dir=f"/projects/nrtest/namdrunner_jobs/bench_job_{i}",
                scratch_dir=f"/scratch/nrtest/namdrunner_jobs/bench_job_{i}",
                created_at=created,
                updated_at=created,
                slurm_job_id=str(1000 + i) if status is not JobStatus.CREATED else None,
                slurm_state=status.value.upper(),
                progress=ProgressSummary(step=i, total_steps=4800, percent=50.0, ns_per_day=4.2, eta_s=300.0),
            )
        )
    for start in range(0, n, 2000):
        store.save_jobs(records[start : start + 2000])
    return store
