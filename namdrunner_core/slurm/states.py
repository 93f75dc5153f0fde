"""Job statuses and how Slurm's states and pending reasons map onto them."""

from __future__ import annotations

import enum


class JobStatus(enum.StrEnum):
    """A job's status. Values are the desktop app's spellings, so ``job_info.json`` stays shared."""

    CREATED = "Created"
    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    UNKNOWN = "Unknown"

    @property
    def is_terminal(self) -> bool:
        """True when Slurm is done with the job."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)

    @property
    def is_active(self) -> bool:
        """True while the job is queued or running (sync must look at it)."""
        return self in (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.UNKNOWN)


#: How the NAMDRunner desktop app spells each status in job_info.json (serde renames: UPPER CASE). Its
#: reader is strict and knows no "unknown": a job we lost track of is written as RUNNING, so the app
#: asks Slurm about it again.
APP_STATUS: dict[JobStatus, str] = {s: s.value.upper() for s in JobStatus if s is not JobStatus.UNKNOWN} | {
    JobStatus.UNKNOWN: "RUNNING"
}


def parse_status(text: str) -> JobStatus:
    """A status in either spelling: namdrunner's (``"Completed"``) or the desktop app's (``"COMPLETED"``)."""
    for status in JobStatus:
        if text.strip().lower() == status.value.lower():
            return status
    raise ValueError(f"{text!r} is not a job status")


_STATE_MAP: dict[str, JobStatus] = {
    "PENDING": JobStatus.PENDING,
    "REQUEUED": JobStatus.PENDING,
    "REQUEUE_FED": JobStatus.PENDING,
    "REQUEUE_HOLD": JobStatus.PENDING,
    "RESV_DEL_HOLD": JobStatus.PENDING,
    "CONFIGURING": JobStatus.PENDING,
    "RESIZING": JobStatus.RUNNING,
    "RUNNING": JobStatus.RUNNING,
    "COMPLETING": JobStatus.RUNNING,
    "STAGE_OUT": JobStatus.RUNNING,
    "SIGNALING": JobStatus.RUNNING,
    "SUSPENDED": JobStatus.RUNNING,
    "STOPPED": JobStatus.RUNNING,
    "COMPLETED": JobStatus.COMPLETED,
    "CANCELLED": JobStatus.CANCELLED,
    "FAILED": JobStatus.FAILED,
    "TIMEOUT": JobStatus.FAILED,
    "OUT_OF_MEMORY": JobStatus.FAILED,
    "NODE_FAIL": JobStatus.FAILED,
    "PREEMPTED": JobStatus.FAILED,
    "BOOT_FAIL": JobStatus.FAILED,
    "DEADLINE": JobStatus.FAILED,
    "SPECIAL_EXIT": JobStatus.FAILED,
    "REVOKED": JobStatus.CANCELLED,
}

#: Slurm's short codes (squeue %t) to full state names.
_SHORT = {
    "PD": "PENDING",
    "R": "RUNNING",
    "CG": "COMPLETING",
    "CD": "COMPLETED",
    "CA": "CANCELLED",
    "F": "FAILED",
    "TO": "TIMEOUT",
    "OOM": "OUT_OF_MEMORY",
    "NF": "NODE_FAIL",
    "PR": "PREEMPTED",
    "BF": "BOOT_FAIL",
    "DL": "DEADLINE",
    "S": "SUSPENDED",
    "ST": "STOPPED",
    "RQ": "REQUEUED",
    "SO": "STAGE_OUT",
    "SI": "SIGNALING",
    "SE": "SPECIAL_EXIT",
    "RV": "REVOKED",
    "CF": "CONFIGURING",
}


def normalize_state(raw: str) -> str:
    """``CANCELLED by 1001`` -> ``CANCELLED``; ``CANCELLED+`` -> ``CANCELLED``; ``PD`` -> ``PENDING``."""
    word = raw.strip().split(" ", 1)[0].rstrip("+").upper()
    return _SHORT.get(word, word)


def status_from_slurm(raw_state: str) -> JobStatus:
    """Map any Slurm state text to a :class:`JobStatus`; unknown states give UNKNOWN, never a crash."""
    return _STATE_MAP.get(normalize_state(raw_state), JobStatus.UNKNOWN)


#: Pending reasons that mean "this will never start as submitted", with what to do about it.
BLOCKING_REASONS: dict[str, str] = {
    "QOSMaxWallDurationPerJobLimit": "the wall time exceeds the QOS limit: cancel and resubmit with a shorter "
    "walltime or a longer QOS",
    "AssocMaxWallDurationPerJobLimit": "the wall time exceeds your account's limit: resubmit with a shorter walltime",
    "PartitionTimeLimit": "the wall time exceeds the partition's limit: resubmit with a shorter walltime",
    "PartitionConfig": "the request does not fit the partition (cores, memory or GPUs): resubmit with less",
    "PartitionNodeLimit": "more nodes than the partition allows: resubmit with fewer cores",
    "DependencyNeverSatisfied": "a job it depends on failed: cancel it (namdrunner does so for workflows)",
    "InvalidQOS": "the QOS is not valid for your account or partition: resubmit with another QOS",
    "InvalidAccount": "the account is not valid: resubmit with another account",
    "QOSMaxCpuPerJobLimit": "too many cores for the QOS: resubmit with fewer cores",
    "QOSMaxGRESPerJob": "too many GPUs for the QOS: resubmit with fewer GPUs",
    "QOSMinMemory": "too little memory for the QOS: resubmit with more memory",
    "QOSMaxMemoryPerJob": "too much memory for the QOS: resubmit with less memory",
    "BadConstraints": "the constraint cannot be met: resubmit without it",
}


def explain_pending_reason(reason: str | None) -> tuple[bool, str]:
    """(blocking, explanation) for a pending reason. Blocking reasons mean it will never start."""
    if not reason or reason in ("None", "(null)"):
        return (False, "")
    key = reason.strip("()").split(",")[0].strip()
    if key in BLOCKING_REASONS:
        return (True, BLOCKING_REASONS[key])
    if key in ("Priority", "Resources", "BeginTime", "ReqNodeNotAvail", "Reservation"):
        return (False, "waiting for its turn or for free resources")
    if key in ("JobHeldUser", "JobHeldAdmin"):
        return (False, "held: release it with `scontrol release <id>`")
    if key == "Dependency":
        return (False, "waiting for the jobs it depends on")
    return (False, key)
