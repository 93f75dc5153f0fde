"""``job_info.json``: the desktop app's record of a job, shared with it in both directions.

It keeps the NAMDRunner desktop app's field names and status spellings, so a job created by either
tool is readable by the other; namdrunner's extra fields live under one ``"namdrunner"`` key that the
app ignores. The shape is typed here (:class:`JobInfo`) and written by its own, named converter
(:data:`app_converter`): the app's names are not namdrunner's, so they never pass through
:data:`namdrunner_core.serde.converter`.

Remote JSON is untrusted: :func:`record_from_job_info` checks its shape field by field (the app
writes some fields as strings, some as numbers, and a newer app may add keys) and refuses paths
outside the configured roots.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from namdrunner_core.errors import ValidationError
from namdrunner_core.models import SAFE_JOB_ID, JobRecord, OutputFile, ProgressSummary, utcnow
from namdrunner_core.serde import from_rfc3339, make_converter, to_rfc3339
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import APP_STATUS, parse_status

JOB_INFO_NAME = "job_info.json"
SCHEMA_VERSION = 1


@attrs.frozen(slots=True)
class AppSlurmConfig:
    """``slurm_config``: the app's resources (memory as text, ``"16GB"``)."""

    cores: int
    memory: str
    walltime: str
    partition: str | None
    qos: str | None


@attrs.frozen(slots=True)
class AppOutputFile:
    """One of ``output_files``: the app's reader needs every field as a string, so an unknown time is ""."""

    name: str
    size: int
    modified_at: str


@attrs.frozen(slots=True)
class NamdrunnerSection:
    """The ``"namdrunner"`` key: what namdrunner knows that the app's schema has no field for."""

    schema_version: int
    status: str
    profile: str
    remote_user: str
    slurm_state: str | None
    slurm_reason: str | None
    exit_code: str | None
    gpus: int
    gpu_type: str | None
    account: str | None
    constraint: str | None
    submit_token: str | None
    total_steps: int | None
    parent_job_id: str | None
    workflow_id: str | None
    workflow_stage: int | None
    progress: ProgressSummary | None
    preflight_notes: list[str]
    copy_back: str | None
    copy_back_error: str | None


@attrs.frozen(slots=True)
class JobInfo:
    """The whole ``job_info.json`` document, in the app's field order."""

    job_id: str
    job_name: str
    status: str
    slurm_job_id: str | None
    created_at: str | None
    updated_at: str | None
    submitted_at: str | None
    completed_at: str | None
    project_dir: str
    scratch_dir: str
    error_info: str | None
    slurm_stdout: str | None
    slurm_stderr: str | None
    template_id: str
    template_values: dict[str, Any]
    slurm_config: AppSlurmConfig
    input_files: list[str]
    output_files: list[AppOutputFile]
    namdrunner: NamdrunnerSection

    @classmethod
    def of(cls, record: JobRecord) -> JobInfo:
        """The document for ``record``: the app's spellings, namdrunner's extras under ``namdrunner``."""
        r = record.resources
        return cls(
            job_id=record.job_id,
            job_name=record.job_name,
            status=APP_STATUS[record.status],
            slurm_job_id=record.slurm_job_id,
            created_at=to_rfc3339(record.created_at),
            updated_at=to_rfc3339(record.updated_at),
            submitted_at=to_rfc3339(record.submitted_at),
            completed_at=to_rfc3339(record.completed_at),
            project_dir=record.project_dir,
            scratch_dir=record.scratch_dir,
            error_info=record.error_info,
            slurm_stdout=record.slurm_stdout,
            slurm_stderr=record.slurm_stderr,
            template_id=record.template_id,
            template_values=app_template_values(record.template_id, record.template_values),
            slurm_config=AppSlurmConfig(r.cores, _memory_text(r.memory_gb), r.walltime, r.partition, r.qos),
            input_files=list(record.input_files),
            output_files=[AppOutputFile(o.name, o.size, o.modified_at or "") for o in record.output_files],
            namdrunner=NamdrunnerSection(
                schema_version=SCHEMA_VERSION,
                status=record.status.value,
                profile=record.profile,
                remote_user=record.remote_user,
                slurm_state=record.slurm_state,
                slurm_reason=record.slurm_reason,
                exit_code=record.exit_code,
                gpus=r.gpus,
                gpu_type=r.gpu_type,
                account=r.account,
                constraint=r.constraint,
                submit_token=record.submit_token,
                total_steps=record.total_steps,
                parent_job_id=record.parent_job_id,
                workflow_id=record.workflow_id,
                workflow_stage=record.workflow_stage,
                progress=record.progress,
                preflight_notes=list(record.preflight_notes),
                copy_back=record.copy_back,
                copy_back_error=record.copy_back_error,
            ),
        )


#: the desktop app's converter: ``job_info.json`` in the app's names (never namdrunner's own shapes)
app_converter = make_converter(forbid_extra_keys=False)


def job_info(record: JobRecord) -> dict[str, Any]:
    """The ``job_info.json`` document for ``record`` as plain JSON values."""
    data: dict[str, Any] = app_converter.unstructure(JobInfo.of(record))
    return data


def job_info_bytes(record: JobRecord) -> bytes:
    """``job_info.json`` as pretty UTF-8 JSON."""
    return (json.dumps(job_info(record), indent=2, ensure_ascii=False) + "\n").encode()


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
    from namdrunner_core.namd.template_files import builtin_templates

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


def _opt_str(d: dict[str, Any], key: str) -> str | None:
    v = d.get(key)
    return v if isinstance(v, str) else None


def _checked_dirs(doc: dict[str, Any], job_id: str, jobs_root: str, scratch_root: str) -> None:
    """The job's two directories must be the layout's own (absent or null in the app means just that)."""
    project_dir = _str(doc, "project_dir", optional=True) or f"{jobs_root}/{job_id}"
    scratch_dir = _str(doc, "scratch_dir", optional=True) or f"{scratch_root}/{job_id}"
    if project_dir.rstrip("/") != f"{jobs_root}/{job_id}" or not _inside(project_dir, jobs_root):
        raise ValidationError("project_dir", f"{project_dir!r} is not {jobs_root}/{job_id}")
    if not _inside(scratch_dir, scratch_root) or scratch_dir.rstrip("/") != f"{scratch_root}/{job_id}":
        raise ValidationError("scratch_dir", f"{scratch_dir!r} is not {scratch_root}/{job_id}")


def _resources(cfg: Any, extra: dict[str, Any]) -> Resources:
    """``slurm_config`` (the app's) and the GPU/account fields of the ``namdrunner`` section."""
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
    return Resources(
        cores=cores,
        memory_gb=parse_memory_gb(cfg.get("memory")),
        walltime=walltime,
        partition=cfg.get("partition"),
        qos=cfg.get("qos"),
        gpus=gpus if isinstance(gpus, int) and not isinstance(gpus, bool) else 0,
        account=_opt_str(extra, "account"),
        constraint=_opt_str(extra, "constraint"),
        gpu_type=_opt_str(extra, "gpu_type"),
    )


def _outputs(doc: dict[str, Any]) -> list[OutputFile]:
    """``output_files``: entries of another shape are skipped (the list is re-read by every sync)."""
    outputs: list[OutputFile] = []
    for item in doc.get("output_files") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("size"), int):
            mod = item.get("modified_at")
            outputs.append(OutputFile(item["name"], item["size"], mod if isinstance(mod, str) and mod else None))
    return outputs


def _progress(extra: dict[str, Any]) -> ProgressSummary | None:
    if not isinstance(extra.get("progress"), dict):
        return None
    try:
        return ProgressSummary(
            **{k: v for k, v in extra["progress"].items() if k in attrs.fields_dict(ProgressSummary)}
        )
    except TypeError:
        return None


def _namdrunner_fields(extra: dict[str, Any]) -> dict[str, Any]:
    """The record fields only the ``namdrunner`` section holds (wrong types read as unknown)."""
    total_steps = extra.get("total_steps")
    notes = extra.get("preflight_notes")
    return {
        "slurm_state": _opt_str(extra, "slurm_state"),
        "slurm_reason": _opt_str(extra, "slurm_reason"),
        "progress": _progress(extra),
        "submit_token": _opt_str(extra, "submit_token"),
        "total_steps": total_steps if isinstance(total_steps, int) else None,
        "parent_job_id": _opt_str(extra, "parent_job_id"),
        "workflow_id": _opt_str(extra, "workflow_id"),
        "exit_code": _opt_str(extra, "exit_code"),
        "workflow_stage": extra.get("workflow_stage") if isinstance(extra.get("workflow_stage"), int) else None,
        "preflight_notes": [n for n in notes if isinstance(n, str)][:100] if isinstance(notes, list) else [],
        "copy_back": extra.get("copy_back") if extra.get("copy_back") in ("verified", "failed", "none") else None,
        "copy_back_error": _opt_str(extra, "copy_back_error"),
    }


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
    _checked_dirs(doc, job_id, jobs_root, scratch_root)
    extra: dict[str, Any] = doc["namdrunner"] if isinstance(doc.get("namdrunner"), dict) else {}
    status_text = extra.get("status") or doc.get("status")
    try:
        status = parse_status(str(status_text))
    except ValueError:
        raise ValidationError("status", f"{status_text!r} is not a job status") from None
    resources = _resources(doc.get("slurm_config"), extra)
    values = doc.get("template_values") or {}
    if not isinstance(values, dict):
        raise ValidationError("template_values", "expected an object")
    values = our_template_values(_str(doc, "template_id", optional=True) or "", values)
    inputs = doc.get("input_files") or []
    if not isinstance(inputs, list) or not all(isinstance(x, str) for x in inputs):
        raise ValidationError("input_files", "expected a list of file names")
    slurm_id = doc.get("slurm_job_id")
    if slurm_id is not None and not (isinstance(slurm_id, str | int) and re.fullmatch(r"\d+(_\d+)?", str(slurm_id))):
        raise ValidationError("slurm_job_id", f"{slurm_id!r} is not a Slurm job id")
    created = from_rfc3339(doc.get("created_at"), "created_at") or utcnow()
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
        output_files=_outputs(doc),
        slurm_job_id=str(slurm_id) if slurm_id is not None else None,
        submitted_at=from_rfc3339(doc.get("submitted_at"), "submitted_at"),
        completed_at=from_rfc3339(doc.get("completed_at"), "completed_at"),
        error_info=_opt_str(doc, "error_info"),
        slurm_stdout=_opt_str(doc, "slurm_stdout"),
        slurm_stderr=_opt_str(doc, "slurm_stderr"),
        finalized=status.is_terminal,
        **_namdrunner_fields(extra),
    )
