"""Jobs: the record, the lifecycle, sync and discovery, and the remote-delete safety check."""

from namdrunner_core.jobs.job import Job, JobOutputs, PreparedJob, make_job_id, prepare_job, resolve_template
from namdrunner_core.jobs.record import JobRecord, OutputFile, ProgressSummary, job_info, record_from_job_info
from namdrunner_core.jobs.safety import check_job_target, remove_job_dir

__all__ = [
    "Job",
    "JobOutputs",
    "JobRecord",
    "OutputFile",
    "PreparedJob",
    "ProgressSummary",
    "check_job_target",
    "job_info",
    "make_job_id",
    "prepare_job",
    "record_from_job_info",
    "remove_job_dir",
    "resolve_template",
]
