"""namdrunner_core: run NAMD simulations on SLURM clusters over SSH.

The public API::

    from namdrunner_core import Cluster, Job, JobStore, Resources
    cluster = Cluster.from_profile("alpine")
    with cluster.connect(user="jdoe", auth=my_prompt) as session:
        store = JobStore.default()
        job = Job.create(session, store, name="hextube-min", template="vacuum_optimization_v1",
                         files=["hextube.psf", "hextube.pdb", "par_all36_na.prm", "hextube.exb"],
                         resources=Resources(cores=24, memory_gb=16, walltime="04:00:00"))
        job.submit()
        store.sync(session)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from namdrunner_core._version import __version__

if TYPE_CHECKING:
    from namdrunner_core.auth import interactive_prompt, print_notice
    from namdrunner_core.cluster import Cluster, ClusterProfile, Partition, Qos, Session, load_profile, profile_names
    from namdrunner_core.diagnostics import check_cluster
    from namdrunner_core.errors import (
        AuthenticationError,
        ConnectionFailedError,
        NamdRunnerError,
        NotFoundError,
        ProfileError,
        RemoteCommandError,
        RemoteError,
        SchedulerError,
        TransferError,
        UnsafePathError,
        ValidationError,
        ValidationErrors,
    )
    from namdrunner_core.jobs.job import Job, JobOutputs, PreparedJob, prepare_job
    from namdrunner_core.jobs.record import JobRecord, OutputFile, ProgressSummary
    from namdrunner_core.jobs.watch import watch_jobs
    from namdrunner_core.namd.config import PreflightReport, Template, Variable, VariableType, check_config
    from namdrunner_core.namd.library import import_template_file, template_from_namd_config
    from namdrunner_core.namd.log import LogOutcome, NamdLogParser, Progress
    from namdrunner_core.plot import plot_energies
    from namdrunner_core.slurm.resources import Resources
    from namdrunner_core.slurm.states import JobStatus
    from namdrunner_core.store import JobStore
    from namdrunner_core.workflow import (
        Checkpoint,
        StageSpec,
        Sweep,
        Workflow,
        array_script,
        dna_origami_equilibration,
        load_group,
        origami_stages,
        plan_restart,
        plan_sweep,
        plan_workflow,
        restart_job,
    )

# Public names are imported on first use, so that `import namdrunner_core` (and the CLI's
# --help) stay fast; heavy modules (SQLAlchemy, Jinja2, paramiko) load only when needed.
_LAZY: dict[str, str] = {
    "plot_energies": "namdrunner_core.plot",
    "check_cluster": "namdrunner_core.diagnostics",
    "Workflow": "namdrunner_core.workflow",
    "Sweep": "namdrunner_core.workflow",
    "StageSpec": "namdrunner_core.workflow",
    "Checkpoint": "namdrunner_core.workflow",
    "dna_origami_equilibration": "namdrunner_core.workflow",
    "origami_stages": "namdrunner_core.workflow",
    "plan_workflow": "namdrunner_core.workflow",
    "plan_sweep": "namdrunner_core.workflow",
    "plan_restart": "namdrunner_core.workflow",
    "restart_job": "namdrunner_core.workflow",
    "array_script": "namdrunner_core.workflow",
    "load_group": "namdrunner_core.workflow",
    "interactive_prompt": "namdrunner_core.auth",
    "print_notice": "namdrunner_core.auth",
    "watch_jobs": "namdrunner_core.jobs.watch",
    "ValidationErrors": "namdrunner_core.errors",
    "AuthenticationError": "namdrunner_core.errors",
    "Cluster": "namdrunner_core.cluster",
    "ClusterProfile": "namdrunner_core.cluster",
    "ConnectionFailedError": "namdrunner_core.errors",
    "Job": "namdrunner_core.jobs.job",
    "JobOutputs": "namdrunner_core.jobs.job",
    "JobRecord": "namdrunner_core.jobs.record",
    "JobStatus": "namdrunner_core.slurm.states",
    "JobStore": "namdrunner_core.store",
    "LogOutcome": "namdrunner_core.namd.log",
    "NamdLogParser": "namdrunner_core.namd.log",
    "NamdRunnerError": "namdrunner_core.errors",
    "NotFoundError": "namdrunner_core.errors",
    "OutputFile": "namdrunner_core.jobs.record",
    "Partition": "namdrunner_core.cluster",
    "PreflightReport": "namdrunner_core.namd.config",
    "PreparedJob": "namdrunner_core.jobs.job",
    "ProfileError": "namdrunner_core.errors",
    "Progress": "namdrunner_core.namd.log",
    "ProgressSummary": "namdrunner_core.jobs.record",
    "Qos": "namdrunner_core.cluster",
    "RemoteCommandError": "namdrunner_core.errors",
    "RemoteError": "namdrunner_core.errors",
    "Resources": "namdrunner_core.slurm.resources",
    "SchedulerError": "namdrunner_core.errors",
    "Session": "namdrunner_core.cluster",
    "Template": "namdrunner_core.namd.config",
    "TransferError": "namdrunner_core.errors",
    "UnsafePathError": "namdrunner_core.errors",
    "ValidationError": "namdrunner_core.errors",
    "Variable": "namdrunner_core.namd.config",
    "VariableType": "namdrunner_core.namd.config",
    "check_config": "namdrunner_core.namd.config",
    "import_template_file": "namdrunner_core.namd.library",
    "load_profile": "namdrunner_core.cluster",
    "prepare_job": "namdrunner_core.jobs.job",
    "profile_names": "namdrunner_core.cluster",
    "template_from_namd_config": "namdrunner_core.namd.library",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'namdrunner_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AuthenticationError",
    "Checkpoint",
    "Cluster",
    "ClusterProfile",
    "ConnectionFailedError",
    "Job",
    "JobOutputs",
    "JobRecord",
    "JobStatus",
    "JobStore",
    "LogOutcome",
    "NamdLogParser",
    "NamdRunnerError",
    "NotFoundError",
    "OutputFile",
    "Partition",
    "PreflightReport",
    "PreparedJob",
    "ProfileError",
    "Progress",
    "ProgressSummary",
    "Qos",
    "RemoteCommandError",
    "RemoteError",
    "Resources",
    "SchedulerError",
    "Session",
    "StageSpec",
    "Sweep",
    "Template",
    "TransferError",
    "UnsafePathError",
    "ValidationError",
    "ValidationErrors",
    "Variable",
    "VariableType",
    "Workflow",
    "__version__",
    "array_script",
    "check_cluster",
    "check_config",
    "dna_origami_equilibration",
    "import_template_file",
    "interactive_prompt",
    "load_group",
    "load_profile",
    "origami_stages",
    "plan_restart",
    "plan_sweep",
    "plan_workflow",
    "plot_energies",
    "prepare_job",
    "print_notice",
    "profile_names",
    "restart_job",
    "template_from_namd_config",
    "watch_jobs",
]
