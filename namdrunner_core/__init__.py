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

from namdrunner_core._version import __version__
from namdrunner_core.cluster import Cluster, ClusterProfile, Partition, Qos, Session, load_profile, profile_names
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
)
from namdrunner_core.jobs.job import Job, JobOutputs, PreparedJob, prepare_job
from namdrunner_core.jobs.record import JobRecord, OutputFile, ProgressSummary
from namdrunner_core.namd.config import Template, Variable, VariableType
from namdrunner_core.namd.log import LogOutcome, NamdLogParser, Progress
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.store import JobStore

__all__ = [
    "AuthenticationError",
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
    "Template",
    "TransferError",
    "UnsafePathError",
    "ValidationError",
    "Variable",
    "VariableType",
    "__version__",
    "load_profile",
    "prepare_job",
    "profile_names",
]
