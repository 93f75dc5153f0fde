"""Slurm: resources, batch scripts, states and parsers (pure logic, no I/O)."""

from namdrunner_core.slurm.parse import (
    SacctRow,
    SqueueRow,
    SubmitResult,
    parse_sacct,
    parse_sbatch,
    parse_squeue,
)
from namdrunner_core.slurm.resources import ResolvedResources, Resources, parse_walltime, resolve_resources
from namdrunner_core.slurm.script import render_sbatch
from namdrunner_core.slurm.states import JobStatus, explain_pending_reason, status_from_slurm

__all__ = [
    "JobStatus",
    "ResolvedResources",
    "Resources",
    "SacctRow",
    "SqueueRow",
    "SubmitResult",
    "explain_pending_reason",
    "parse_sacct",
    "parse_sbatch",
    "parse_squeue",
    "parse_walltime",
    "render_sbatch",
    "resolve_resources",
    "status_from_slurm",
]
