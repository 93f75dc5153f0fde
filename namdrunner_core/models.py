"""The job record and the group record: what the store keeps and ``--json`` shows of a job.

Their plain form is :data:`namdrunner_core.serde.converter`'s (:func:`record_to_data`); the desktop
app's ``job_info.json`` form of a job lives in :mod:`namdrunner_core.job_info`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

import attrs

from namdrunner_core.ids import ID_PATTERN
from namdrunner_core.serde import converter
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import JobStatus

#: Job ids: what the desktop app produces (sanitised name + "_" + microsecond timestamp).
SAFE_JOB_ID = ID_PATTERN  # one id rule everywhere; always matched whole (fullmatch)


def utcnow() -> dt.datetime:
    """Now, in UTC, to the microsecond."""
    return dt.datetime.now(dt.UTC)


@attrs.frozen(slots=True)
class OutputFile:
    """One file the job produced (name relative to the job dir, size in bytes, modified time)."""

    name: str
    size: int
    modified_at: str | None = None


@attrs.frozen(slots=True)
class ProgressSummary:
    """The NAMD log summarised: what ``job list``/``job show`` print without touching the cluster."""

    step: int | None = None
    total_steps: int | None = None
    percent: float | None = None
    ns_per_day: float | None = None
    eta_s: float | None = None
    outcome: str = "running"
    message: str = ""
    last_checkpoint_step: int | None = None
    wallclock_s: float | None = None
    #: steps this job ran (``step`` is NAMD's absolute timestep: a workflow stage or a restart starts
    #: at its ``firsttimestep``); None in summaries an older namdrunner stored
    steps_done: int | None = None


#: The name slurmdbd gives a record whose job-start message it never got (a job cancelled while it
#: was launched, a quick job whose start came after its end, an orphan a restarted controller
#: killed): it says nothing about whose job it was.
SLURM_UNNAMED = ("", "allocation")


def named_as(record: JobRecord, slurm_name: str) -> bool:
    """Whether a Slurm record of ``record``'s id may be its own by NAME: namdrunner's jobs are named
    by their id, the desktop app's by their name, an array task carries its array's name (not
    checked), and a record slurmdbd could not name (:data:`SLURM_UNNAMED`) says nothing either way.
    After a controller lost its state and handed the id out again, another name is another job."""
    plain = bool(record.slurm_job_id) and "_" not in (record.slurm_job_id or "")
    return not plain or slurm_name.strip() in SLURM_UNNAMED or slurm_name in (record.job_id, record.job_name)


@attrs.frozen(slots=True)
class JobRecord:
    """Everything known about one job. Stored by the JobStore; mirrored in ``job_info.json``."""

    job_id: str
    job_name: str
    profile: str
    remote_user: str
    status: JobStatus
    template_id: str
    template_values: dict[str, Any]
    resources: Resources
    project_dir: str
    scratch_dir: str
    created_at: dt.datetime
    updated_at: dt.datetime
    input_files: list[str] = attrs.Factory(list)
    output_files: list[OutputFile] = attrs.Factory(list)
    slurm_job_id: str | None = None
    slurm_state: str | None = None
    slurm_reason: str | None = None
    submitted_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    error_info: str | None = None
    slurm_stdout: str | None = None
    slurm_stderr: str | None = None
    progress: ProgressSummary | None = None
    log_state: dict[str, Any] | None = None
    submit_token: str | None = None
    total_steps: int | None = None
    finalized: bool = False
    parent_job_id: str | None = None
    workflow_id: str | None = None
    exit_code: str | None = None
    workflow_stage: int | None = None
    #: What preflight could not check (Tcl blocks, computed values, sources not among the inputs), or
    #: that it was skipped (``--no-preflight``); shown by ``job show``.
    preflight_notes: list[str] = attrs.Factory(list)
    #: Results copied from scratch to project storage: None (not yet), "verified" (sha256 manifests
    #: equal), "failed" (``copy_back_error`` says why; retried by every sync), "none" (nothing on scratch).
    copy_back: str | None = None
    copy_back_error: str | None = None
    #: a campaign's ``campaign.json`` as last read (:mod:`namdrunner_core.jobs.campaign`); None: one job
    campaign: dict[str, Any] | None = None

    @property
    def results_safe(self) -> bool:
        """True once the results are on project storage for sure (scratch may be purged)."""
        return self.copy_back in ("verified", "none")

    @property
    def results_dir(self) -> str:
        """Where the job's outputs and logs are now: the project copy before the job was ever
        submitted and once it is settled and verified; scratch while it runs, or while its copy-back is
        not verified (they are only there)."""
        if self.slurm_job_id is None:
            return self.project_dir
        return self.project_dir if self.finalized and self.results_safe else self.scratch_dir

    @property
    def is_active(self) -> bool:
        """Queued or running in Slurm (sync looks at it)."""
        return self.slurm_job_id is not None and self.status.is_active

    @property
    def slurm_output_names(self) -> tuple[str, str] | None:
        """Slurm's stdout/stderr file names in the job dir, once the job has an id."""
        if not self.slurm_job_id:
            return None
        return (f"{self.job_id}_{self.slurm_job_id}.out", f"{self.job_id}_{self.slurm_job_id}.err")

    @property
    def app_slurm_output_names(self) -> tuple[str, str] | None:
        """The same logs as the desktop app names them (``<job_name>_<slurm id>.out/.err``), when the job
        name can be a file name; a job the app created has its logs there."""
        if not self.slurm_job_id or not _FILE_SAFE.fullmatch(self.job_name):
            return None
        return (f"{self.job_name}_{self.slurm_job_id}.out", f"{self.job_name}_{self.slurm_job_id}.err")


GroupKind = Literal["workflow", "sweep"]


@attrs.frozen(slots=True)
class GroupRecord:
    """A group of jobs as stored: a workflow (stages run in order, each continuing the one before) or a
    sweep (one template over a grid of values, submitted as one job array).

    ``stages`` are the member job ids in order and ``stage_names`` their labels (a workflow's stage
    names, a sweep's ``key=value`` points): a label is never parsed back out of a job name.
    """

    id: str
    name: str
    kind: GroupKind
    stages: tuple[str, ...]
    stage_names: tuple[str, ...]
    profile: str | None
    created_at: str
    template_id: str | None = None
    grid: dict[str, list[Any]] | None = None
    #: rebuilt by ``sync --discover`` from the jobs' ``job_info.json`` (no local row was left)
    rediscovered: bool = False

    def stage_name(self, job_id: str) -> str | None:
        """The label of member ``job_id``, or None when it is not a member."""
        try:
            return self.stage_names[self.stages.index(job_id)]
        except (ValueError, IndexError):
            return None


def _structure_group(data: Any, _: Any) -> GroupRecord:
    """A group row as any namdrunner wrote it. Rows without ``kind`` were written before sweeps carried
    one: the id's prefix (``sw_``) is read only here, once."""
    kind = data.get("kind") or ("sweep" if str(data["id"]).startswith("sw_") else "workflow")
    return GroupRecord(
        id=str(data["id"]),
        name=str(data.get("name") or data["id"]),
        kind="sweep" if kind == "sweep" else "workflow",
        stages=tuple(str(x) for x in data.get("stages") or ()),
        stage_names=tuple(str(x) for x in data.get("stage_names") or ()),
        profile=data.get("profile"),
        created_at=str(data.get("created_at") or ""),
        template_id=data.get("template_id"),
        grid=data.get("grid"),
        rediscovered=bool(data.get("rediscovered", False)),
    )


_FILE_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,150}")


#: ``--json`` names that differ from the record's field names
_JSON_NAMES = {"job_id": "id", "job_name": "name", "error_info": "error"}
#: the record fields ``--json`` shows, in order (the stable shape documented in the CLI reference)
_JSON_FIELDS = (
    "job_id", "job_name", "status", "profile", "slurm_job_id", "slurm_state", "slurm_reason", "exit_code",
    "error_info", "template_id", "template_values", "resources", "project_dir", "scratch_dir", "created_at",
    "submitted_at", "completed_at", "input_files", "output_files", "progress", "parent_job_id", "workflow_id",
    "workflow_stage", "preflight_notes", "copy_back", "copy_back_error",
)  # fmt: skip
_JSON_RESOURCES = ("cores", "memory_gb", "walltime", "partition", "qos", "gpus", "gpu_type", "account", "constraint")


def job_json(record: JobRecord) -> dict[str, Any]:
    """The stable JSON shape of a job printed by ``--json`` (documented in the CLI reference): the
    record's :func:`record_to_data` form, a few fields renamed (``id``, ``name``, ``error``)."""
    data = record_to_data(record)
    out = {_JSON_NAMES.get(key, key): data[key] for key in _JSON_FIELDS}
    out["resources"] = {key: data["resources"][key] for key in _JSON_RESOURCES}
    return out


# -- records <-> plain values (namdrunner's one converter) -------------------------------------------

attrs.resolve_types(OutputFile)
attrs.resolve_types(ProgressSummary)
attrs.resolve_types(JobRecord)
converter.register_structure_hook(GroupRecord, _structure_group)


def record_to_data(record: JobRecord) -> dict[str, Any]:
    """A record as plain JSON values, one key per field (the store's columns are exactly these)."""
    data: dict[str, Any] = converter.unstructure(record)
    return data


def record_from_data(data: dict[str, Any]) -> JobRecord:
    """The record of :func:`record_to_data`'s form (a store row included)."""
    return converter.structure(data, JobRecord)


_RECORD_FIELDS = frozenset(attrs.fields_dict(JobRecord))
#: list columns a row written by an older namdrunner may hold as NULL
_LIST_FIELDS = ("input_files", "output_files", "preflight_notes")


def record_from_row(row: dict[str, Any]) -> JobRecord:
    """The record of a store row (every column, JSON decoded), as an older namdrunner may have left it."""
    data = {k: v for k, v in row.items() if k in _RECORD_FIELDS}  # a newer namdrunner may add columns
    for key in _LIST_FIELDS:
        data[key] = data.get(key) or []
    data["template_values"] = data.get("template_values") or {}
    data["finalized"] = bool(data.get("finalized"))
    data["updated_at"] = data.get("updated_at") or data["created_at"]
    return record_from_data(data)
