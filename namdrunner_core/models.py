"""The job record, and its ``job_info.json`` form shared with the NAMDRunner desktop app.

``job_info.json`` keeps the desktop app's field names and status spellings, so a job created by
either tool is readable by the other; namdrunner's extra fields live under one ``"namdrunner"``
key that the app ignores. Remote JSON is untrusted: :func:`record_from_job_info` checks its shape
and refuses paths outside the configured roots.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Literal

import attrs
import cattrs

from namdrunner_core.errors import ValidationError
from namdrunner_core.ids import ID_PATTERN
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import APP_STATUS, JobStatus, parse_status

JOB_INFO_NAME = "job_info.json"
SCHEMA_VERSION = 1
#: Job ids: what the desktop app produces (sanitised name + "_" + microsecond timestamp).
SAFE_JOB_ID = ID_PATTERN  # one id rule everywhere; always matched whole (fullmatch)


def utcnow() -> dt.datetime:
    """Now, in UTC, to the microsecond."""
    return dt.datetime.now(dt.UTC)


def to_rfc3339(value: dt.datetime | None) -> str | None:
    """``2026-11-24T18:01:02.123456Z`` (or None)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def from_rfc3339(value: Any, field: str = "time") -> dt.datetime | None:
    """Parse an RFC 3339 timestamp (``Z`` or an offset); None stays None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"expected an RFC 3339 time string, got {type(value).__name__}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(field, f"{value!r} is not an RFC 3339 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


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

    def to_data(self) -> dict[str, Any]:
        """The stored (and ``--json``) form: plain JSON values."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "stages": list(self.stages),
            "stage_names": list(self.stage_names),
            "profile": self.profile,
            "created_at": self.created_at,
            "template_id": self.template_id,
            "grid": self.grid,
            "rediscovered": self.rediscovered,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> GroupRecord:
        """From :meth:`to_data`'s form, or a row an older namdrunner wrote. Rows without ``kind`` were
        written before sweeps carried one: the id's prefix (``sw_``) is read only there, once."""
        kind = data.get("kind") or ("sweep" if str(data["id"]).startswith("sw_") else "workflow")
        return cls(
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


def _memory_text(gb: float) -> str:
    return f"{int(gb)}GB" if float(gb).is_integer() else f"{round(gb * 1024)}MB"


def parse_memory_gb(value: Any) -> float:
    """The desktop app's memory strings: ``"16"`` (GB), ``"16GB"``, ``"2048MB"``; numbers as GB."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        raise ValidationError("slurm_config.memory", f"expected a memory size such as '16GB', got {value!r}")
    m = re.fullmatch(r"\s*([\d.]+)\s*(GB|G|MB|M|TB|T)?\s*", value, flags=re.IGNORECASE)
    if not m:
        raise ValidationError("slurm_config.memory", f"{value!r} is not a memory size such as '16GB'")
    number, unit = float(m.group(1)), (m.group(2) or "GB").upper()[0]
    return {"G": number, "M": number / 1024, "T": number * 1024}[unit]


def _builtin_aliases(template_id: str) -> dict[str, str]:
    # Imported here: the template library loads Jinja2, which `job list` never needs.
    from namdrunner_core.namd.library import builtin_templates

    t = builtin_templates().get(template_id)
    return dict(t.aliases) if t is not None else {}


def app_template_values(template_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Template values under the desktop app's keys, for the builtin templates it shares."""
    back = {key: alias for alias, key in _builtin_aliases(template_id).items()}
    return {back.get(k, k): v for k, v in values.items()}


def our_template_values(template_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Template values under namdrunner's keys (the desktop app's keys translated)."""
    aliases = _builtin_aliases(template_id)
    return {aliases.get(k, k): v for k, v in values.items()}


def job_info(record: JobRecord) -> dict[str, Any]:
    """The ``job_info.json`` document for ``record`` (desktop-app schema + a namdrunner section)."""
    r = record.resources
    return {
        "job_id": record.job_id,
        "job_name": record.job_name,
        "status": APP_STATUS[record.status],
        "slurm_job_id": record.slurm_job_id,
        "created_at": to_rfc3339(record.created_at),
        "updated_at": to_rfc3339(record.updated_at),
        "submitted_at": to_rfc3339(record.submitted_at),
        "completed_at": to_rfc3339(record.completed_at),
        "project_dir": record.project_dir,
        "scratch_dir": record.scratch_dir,
        "error_info": record.error_info,
        "slurm_stdout": record.slurm_stdout,
        "slurm_stderr": record.slurm_stderr,
        "template_id": record.template_id,
        "template_values": app_template_values(record.template_id, record.template_values),
        "slurm_config": {
            "cores": r.cores,
            "memory": _memory_text(r.memory_gb),
            "walltime": r.walltime,
            "partition": r.partition,
            "qos": r.qos,
        },
        "input_files": list(record.input_files),
        # the app's reader needs every field as a string: an unknown time is ""
        "output_files": [
            {"name": o.name, "size": o.size, "modified_at": o.modified_at or ""} for o in record.output_files
        ],
        "namdrunner": {
            "schema_version": SCHEMA_VERSION,
            "status": record.status.value,
            "profile": record.profile,
            "remote_user": record.remote_user,
            "slurm_state": record.slurm_state,
            "slurm_reason": record.slurm_reason,
            "exit_code": record.exit_code,
            "gpus": r.gpus,
            "gpu_type": r.gpu_type,
            "account": r.account,
            "constraint": r.constraint,
            "submit_token": record.submit_token,
            "total_steps": record.total_steps,
            "parent_job_id": record.parent_job_id,
            "workflow_id": record.workflow_id,
            "workflow_stage": record.workflow_stage,
            "progress": attrs.asdict(record.progress) if record.progress else None,
            "preflight_notes": list(record.preflight_notes),
            "copy_back": record.copy_back,
            "copy_back_error": record.copy_back_error,
        },
    }


def job_info_bytes(record: JobRecord) -> bytes:
    """``job_info.json`` as pretty UTF-8 JSON."""
    return (json.dumps(job_info(record), indent=2, ensure_ascii=False) + "\n").encode()


def _str(doc: dict[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = doc.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValidationError(key, f"expected a string, got {type(value).__name__}")
    return value


def _inside(path: str, root: str) -> bool:
    norm = re.sub(r"/+", "/", path.rstrip("/"))
    return norm.startswith(root.rstrip("/") + "/") and ".." not in norm.split("/")


def record_from_job_info(
    doc: Any, *, profile: str, remote_user: str, jobs_root: str, scratch_root: str, dir_name: str
) -> JobRecord:
    """Rebuild a record from an untrusted ``job_info.json``. Refuses a wrong shape, an id that is not
    safe or does not match its directory, and paths outside the configured roots."""
    if not isinstance(doc, dict):
        raise ValidationError("job_info.json", "expected a JSON object")
    job_id = _str(doc, "job_id") or ""
    if not SAFE_JOB_ID.fullmatch(job_id) or job_id != dir_name:
        raise ValidationError("job_id", f"{job_id!r} is not a safe id matching its directory {dir_name!r}")
    # Option fields in the app: absent or null means the layout's own place
    project_dir = _str(doc, "project_dir", optional=True) or f"{jobs_root}/{job_id}"
    scratch_dir = _str(doc, "scratch_dir", optional=True) or f"{scratch_root}/{job_id}"
    if project_dir.rstrip("/") != f"{jobs_root}/{job_id}" or not _inside(project_dir, jobs_root):
        raise ValidationError("project_dir", f"{project_dir!r} is not {jobs_root}/{job_id}")
    if not _inside(scratch_dir, scratch_root) or scratch_dir.rstrip("/") != f"{scratch_root}/{job_id}":
        raise ValidationError("scratch_dir", f"{scratch_dir!r} is not {scratch_root}/{job_id}")
    extra = doc.get("namdrunner") if isinstance(doc.get("namdrunner"), dict) else {}
    assert isinstance(extra, dict)
    status_text = extra.get("status") or doc.get("status")
    try:
        status = parse_status(str(status_text))
    except ValueError:
        raise ValidationError("status", f"{status_text!r} is not a job status") from None
    cfg = doc.get("slurm_config")
    if not isinstance(cfg, dict):
        raise ValidationError("slurm_config", "expected an object with cores, memory, walltime, partition, qos")
    cores = cfg.get("cores")
    if not isinstance(cores, int) or isinstance(cores, bool) or cores < 1:
        raise ValidationError("slurm_config.cores", f"expected a positive integer, got {cores!r}")
    walltime = cfg.get("walltime")
    if not isinstance(walltime, str):
        raise ValidationError("slurm_config.walltime", "expected HH:MM:SS")
    for key in ("partition", "qos"):
        if cfg.get(key) is not None and not isinstance(cfg.get(key), str):
            raise ValidationError(f"slurm_config.{key}", "expected a string")
    gpus = extra.get("gpus", 0)
    resources = Resources(
        cores=cores,
        memory_gb=parse_memory_gb(cfg.get("memory")),
        walltime=walltime,
        partition=cfg.get("partition"),
        qos=cfg.get("qos"),
        gpus=gpus if isinstance(gpus, int) and not isinstance(gpus, bool) else 0,
        account=extra.get("account") if isinstance(extra.get("account"), str) else None,
        constraint=extra.get("constraint") if isinstance(extra.get("constraint"), str) else None,
        gpu_type=extra.get("gpu_type") if isinstance(extra.get("gpu_type"), str) else None,
    )
    values = doc.get("template_values") or {}
    if not isinstance(values, dict):
        raise ValidationError("template_values", "expected an object")
    values = our_template_values(_str(doc, "template_id", optional=True) or "", values)
    inputs = doc.get("input_files") or []
    if not isinstance(inputs, list) or not all(isinstance(x, str) for x in inputs):
        raise ValidationError("input_files", "expected a list of file names")
    outputs: list[OutputFile] = []
    for item in doc.get("output_files") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("size"), int):
            mod = item.get("modified_at")
            outputs.append(OutputFile(item["name"], item["size"], mod if isinstance(mod, str) and mod else None))
    slurm_id = doc.get("slurm_job_id")
    if slurm_id is not None and not (isinstance(slurm_id, str | int) and re.fullmatch(r"\d+(_\d+)?", str(slurm_id))):
        raise ValidationError("slurm_job_id", f"{slurm_id!r} is not a Slurm job id")
    progress = None
    if isinstance(extra.get("progress"), dict):
        try:
            progress = ProgressSummary(
                **{k: v for k, v in extra["progress"].items() if k in attrs.fields_dict(ProgressSummary)}
            )
        except TypeError:
            progress = None

    def opt_str(d: dict[str, Any], key: str) -> str | None:
        v = d.get(key)
        return v if isinstance(v, str) else None

    created = from_rfc3339(doc.get("created_at"), "created_at") or utcnow()
    total_steps = extra.get("total_steps")
    return JobRecord(
        job_id=job_id,
        job_name=_str(doc, "job_name") or job_id,
        profile=profile,
        remote_user=remote_user,
        status=status,
        template_id=_str(doc, "template_id") or "",
        template_values=values,
        resources=resources,
        project_dir=f"{jobs_root}/{job_id}",
        scratch_dir=f"{scratch_root}/{job_id}",
        created_at=created,
        updated_at=from_rfc3339(doc.get("updated_at"), "updated_at") or created,
        input_files=list(inputs),
        output_files=outputs,
        slurm_job_id=str(slurm_id) if slurm_id is not None else None,
        slurm_state=opt_str(extra, "slurm_state"),
        slurm_reason=opt_str(extra, "slurm_reason"),
        submitted_at=from_rfc3339(doc.get("submitted_at"), "submitted_at"),
        completed_at=from_rfc3339(doc.get("completed_at"), "completed_at"),
        error_info=opt_str(doc, "error_info"),
        slurm_stdout=opt_str(doc, "slurm_stdout"),
        slurm_stderr=opt_str(doc, "slurm_stderr"),
        progress=progress,
        submit_token=opt_str(extra, "submit_token"),
        total_steps=total_steps if isinstance(total_steps, int) else None,
        finalized=status.is_terminal,
        parent_job_id=opt_str(extra, "parent_job_id"),
        workflow_id=opt_str(extra, "workflow_id"),
        exit_code=opt_str(extra, "exit_code"),
        workflow_stage=extra.get("workflow_stage") if isinstance(extra.get("workflow_stage"), int) else None,
        preflight_notes=[n for n in extra.get("preflight_notes") or [] if isinstance(n, str)][:100]
        if isinstance(extra.get("preflight_notes"), list)
        else [],
        copy_back=extra.get("copy_back") if extra.get("copy_back") in ("verified", "failed", "none") else None,
        copy_back_error=opt_str(extra, "copy_back_error"),
    )


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


def job_to_dict(record: JobRecord) -> dict[str, Any]:
    """The stable JSON shape of a job printed by ``--json`` (documented in the CLI reference): the
    record's :func:`record_to_data` form, a few fields renamed (``id``, ``name``, ``error``)."""
    data = record_to_data(record)
    out = {_JSON_NAMES.get(key, key): data[key] for key in _JSON_FIELDS}
    out["resources"] = {key: data["resources"][key] for key in _JSON_RESOURCES}
    return out


# -- the one converter of records ------------------------------------------------------------------

#: JobRecord <-> plain JSON values: datetimes as RFC 3339 (``...Z``), statuses as their names, the
#: nested attrs classes as dicts. The store's row, ``--json`` (:func:`job_to_dict`) and the job table
#: rows are all made from its output; ``job_info.json`` keeps the desktop app's own names and
#: spellings (:func:`job_info`), which no converter hook should guess.
record_converter = cattrs.Converter(omit_if_default=False)
record_converter.register_unstructure_hook(dt.datetime, to_rfc3339)
record_converter.register_structure_hook(dt.datetime, lambda value, _: from_rfc3339(value))
attrs.resolve_types(OutputFile)
attrs.resolve_types(ProgressSummary)
attrs.resolve_types(JobRecord)


def record_to_data(record: JobRecord) -> dict[str, Any]:
    """A record as plain JSON values, one key per field (the store's columns are exactly these)."""
    data: dict[str, Any] = record_converter.unstructure(record)
    return data


def record_from_data(data: dict[str, Any]) -> JobRecord:
    """The record of :func:`record_to_data`'s form (a store row included)."""
    return record_converter.structure(data, JobRecord)


#: list columns a row written by an older namdrunner may hold as NULL
_LIST_FIELDS = ("input_files", "output_files", "preflight_notes")


def record_from_row(row: dict[str, Any]) -> JobRecord:
    """The record of a store row (every column, JSON decoded), as an older namdrunner may have left it."""
    data = dict(row)
    for key in _LIST_FIELDS:
        data[key] = data.get(key) or []
    data["template_values"] = data.get("template_values") or {}
    data["finalized"] = bool(data.get("finalized"))
    data["updated_at"] = data.get("updated_at") or data["created_at"]
    return record_from_data(data)
