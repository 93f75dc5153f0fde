"""What each page shows, from the public core functions (the web layer's ``render.py``).

Nothing here decides anything about jobs, Slurm or NAMD: it calls the core (the same functions the
command line calls) and shapes their answers for the templates. Errors are the core's own
(:class:`~namdrunner_core.errors.NamdRunnerError`), shown by the page next to the field they name."""

from __future__ import annotations

import glob
import secrets
import shutil
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile

from namdrunner_cli.render.base import humanize_age, humanize_bytes, humanize_duration
from namdrunner_cli.web.state import LoginNeeded
from namdrunner_cli.web.tasks import Task, Tasks
from namdrunner_core.errors import NamdRunnerError, NotFoundError, ValidationError, problems_of
from namdrunner_core.namd.config import INPUT_DIR
from namdrunner_core.namd.inputs import check_file_name

if TYPE_CHECKING:
    from starlette.requests import Request

    from namdrunner_cli.web.state import UiState
    from namdrunner_core.jobs.sync import SyncReport
    from namdrunner_core.models import JobRecord
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.slurm.resources import Resources


PER_PAGE = 50


UPLOAD_CHUNK = 1024 * 1024


#: (label, store column) of the sortable columns of the job table
SORTS = {"created": "created_at", "name": "job_name", "status": "status", "slurm": "slurm_job_id"}


def duration(seconds: float | None) -> str:
    """``12 min`` (the CLI's wording)."""
    return humanize_duration(seconds)


def age(when: Any) -> str:
    """``3 min ago``."""
    return humanize_age(when)


def size(n: int | None) -> str:
    """``1.2 MiB``."""
    return "-" if n is None else humanize_bytes(n)


def own_origins(request: Request) -> set[str]:
    """The origins a page of this server has (what a same-site POST sends as Origin)."""
    port = request.url.port
    return {f"http://{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]")}


# -- the Jobs page -------------------------------------------------------------------------------
def jobs_context(state: UiState, params: Mapping[str, str]) -> dict[str, Any]:
    """One page of jobs (sorted in SQL), the groups with their members, counts, last sync."""
    from namdrunner_core.slurm.states import JobStatus
    from namdrunner_core.store.listing import job_count, job_page
    from namdrunner_core.workflow import groups_with_jobs

    sort = params.get("sort", "created")
    if sort not in SORTS:
        raise ValidationError("sort", f"{sort!r}: sort by one of {', '.join(SORTS)}")
    descending = params.get("dir", "desc") != "asc"
    number = _positive(params.get("page", "1"), "page")
    text = params.get("q", "").strip()
    if len(text) > 200:
        raise ValidationError("search", "at most 200 characters: part of a job's name, id or Slurm id")
    wanted = params.get("status", "")
    statuses = {s.value: s for s in JobStatus}
    if wanted and wanted not in statuses:
        raise ValidationError("status", f"{wanted!r}: one of {', '.join(statuses)}")
    listed = job_page(state.store.path, page=number, per_page=PER_PAGE, sort=SORTS[sort], descending=descending,
                      status=statuses.get(wanted), text=text or None)  # fmt: skip
    filters = urllib.parse.urlencode({k: v for k, v in (("q", text), ("status", wanted)) if v})
    groups = []
    for g, jobs in groups_with_jobs(state.store):
        members = {r.job_id: r for r in jobs}
        stages = [(g.group.stage_name(jid) or jid, members[jid]) for jid in g.group.stages if jid in members]
        groups.append({"summary": g, "stages": stages})
    active = sum(job_count(state.store.path, status=s) for s in JobStatus if s.is_active)
    return {"rows": listed.rows, "listing": listed, "groups": groups, "active": active, "sort": sort,
            "descending": descending, "q": text, "status_filter": wanted, "statuses": list(statuses),
            "filters": "&" + filters if filters else ""}  # fmt: skip


def _positive(text: str, field: str, what: str = "a page number") -> int:
    if not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise ValidationError(field, f"{text!r} is not {what} (1, 2, ...)")
    return int(text)


def sync_json(state: UiState, report: SyncReport) -> dict[str, Any]:
    """What ``POST /sync`` answers."""
    return {"checked": report.checked, "changed": list(report.changed), "finished": list(report.finished),
            "remote_commands": report.remote_commands, "syncs": state.syncs}  # fmt: skip


# -- one job -------------------------------------------------------------------------------------
def job_context(state: UiState, job_id: str) -> dict[str, Any]:
    """The job page: the record, its ``job show`` details, its group and stage, its lineage."""
    from namdrunner_core.store.listing import job_details

    record = state.store.get_job(job_id)
    group = state.store.get_workflow(record.workflow_id) if record.workflow_id else None
    children = state.store.list_jobs(parent_job_id=record.job_id)
    return {"job": record, "details": job_details(record), "group": group,
            "stage": group.stage_name(record.job_id) if group else None, "children": children,
            "analysis": state.analyses.get(job_id), "labels": AGAIN_LABELS,
            # the Restart / Run again form's partitions and presets: a finished job's page only (not its polls)
            "profile_obj": _profile_or_none(state) if record.status.is_terminal else None,
            "again_values": {}, "again_errors": {}}  # fmt: skip


#: the forms' fields as the person reads them beside the boxes: an error names the field so
FIELD_LABELS = {"name": "Name", "cores": "Cores", "memory_gb": "Memory (GB)", "memory": "Memory (GB)",
                "walltime": "Wall time", "partition": "Partition", "qos": "QOS", "gpus": "GPUs", "nodes": "Nodes",
                "gpu_type": "GPU type", "account": "Account", "resources": "Resources", "file": "Files"}  # fmt: skip
#: the Restart / Run again form's: the steps beside the resources
AGAIN_LABELS = {**FIELD_LABELS, "steps": "Steps"}


def _profile_or_none(state: UiState) -> Any:
    """The served profile (a job page shows its partitions and presets), or None when it cannot be read
    (the page still opens; the Restart form then keeps the job's resources)."""
    from namdrunner_core.profile import load_profile

    try:
        return load_profile(state.profile)
    except NamdRunnerError:
        return None


def again_plan(
    record: JobRecord, form: Mapping[str, Any], profile: ClusterProfile | None = None
) -> tuple[int | None, Resources | None]:
    """What a Restart / Run again form asks, checked before any remote command: the steps (blank: what
    the job had left, or for Run again its own) and the resources (the job's own where a field is blank
    or unchanged; checked against ``profile``'s rules when given). Every mistake at once, named by the
    form's fields."""
    from namdrunner_core.errors import validation_error
    from namdrunner_core.slurm.resources import RESOURCE_TEXT_FIELDS, resolve_resources, resources_over

    problems: list[tuple[str, str]] = []
    steps = resources = None
    text = str(form.get("steps", "")).strip()
    if text:
        try:
            steps = _positive(text, "steps", "a number of steps")
        except ValidationError as exc:
            problems += problems_of(exc)
    if any(str(form.get(k, "")).strip() for k in RESOURCE_TEXT_FIELDS):
        try:
            resources = resources_over(record.resources, {k: str(form.get(k, "")) for k in RESOURCE_TEXT_FIELDS})
            if profile is not None:
                resolve_resources(resources, profile)  # the site's limits too, in the same round trip
        except ValidationError as exc:
            problems += problems_of(exc)
    if problems:
        raise validation_error(problems)
    return steps, resources


def _job(state: UiState, session: Any, job_id: str) -> Any:
    from namdrunner_core import Job

    return Job.load(session, state.store, job_id)


def log_tail(state: UiState, job_id: str, kind: str, lines: int = 200, *, auto: bool = False,
             refresh: bool = False) -> str:  # fmt: skip
    """The last ``lines`` of the Slurm logs or the NAMD log, shared by every tab (see
    :meth:`UiState.cached_read`: a page's own refreshes come from the polling budget); ``refresh``: a
    person's Reload, read again whatever the cache holds."""
    record = state.store.get_job(job_id)
    if refresh:
        state.reads.pop((job_id, kind), None)
    if kind == "namd" and record.is_active and not refresh:
        followed = state.followed_tail(job_id, auto=auto)  # every followed job's tail in one command
        if followed is not None:
            return followed

    def read(session: Any) -> str:
        try:
            return str(_job(state, session, job_id).logs(kind, tail=lines))
        except NotFoundError as exc:
            return f"({exc})"

    return state.cached_read((job_id, kind), read, active=record.is_active, auto=auto)


def check_listed_output(state: UiState, job_id: str, name: str) -> None:
    """Only a file the job lists may be downloaded: a path that climbs out (``..``), an absolute
    one or one the job does not have is refused."""
    parts = Path(name).parts
    if not name or name.startswith("/") or ".." in parts or "\\" in name:
        raise ValidationError("file", f"{name!r} is not a file of this job")
    record = state.store.get_job(job_id)
    listed = {o.name for o in record.output_files} | {f"{INPUT_DIR}/{n}" for n in record.input_files}
    if name in listed:
        return
    with state.remote() as session:
        outputs = _job(state, session, job_id).outputs()
    if name not in {o.name for o in [*outputs.project, *outputs.scratch]}:
        raise NotFoundError(f"job {job_id} has no file {name!r}")


def fetch_output(state: UiState, job_id: str, name: str, into: Path) -> Path:
    """Download one file of the job (verified, resumable) into ``into`` and return its path."""
    with state.remote() as session:
        _job(state, session, job_id).download(into, include=[glob.escape(name)])
    path = (into / name).resolve()
    if not path.is_file() or into.resolve() not in path.parents:
        raise NotFoundError(f"job {job_id}: {name!r} could not be fetched")
    return path


def remove_tree(path: Path) -> None:
    """Remove a temporary download after it was sent."""
    shutil.rmtree(path, ignore_errors=True)


def job_action(state: UiState, job_id: str, action: str, form: Mapping[str, Any]) -> str:
    """Submit (a created job; a paused campaign continues), cancel (a campaign: all of it), restart (from
    the newest checkpoint, submitted), run again from the start (submitted), analyze or delete a job;
    where to go next.
    Delete needs ``confirm`` equal to the job id (the page's dialog names what is removed)."""
    record = state.store.get_job(job_id)
    if action not in ("cancel", "restart", "rerun", "delete", "submit", "analyze"):
        raise NotFoundError(f"no action {action!r} (submit, cancel, restart, rerun, delete, analyze)")
    if action == "delete" and str(form.get("confirm", "")) != record.job_id:
        raise ValidationError("confirm", f"type the job id {record.job_id} to delete it")
    again = action in ("restart", "rerun")
    steps, resources = again_plan(record, form, _profile_or_none(state)) if again else (None, None)
    with state.remote() as session:
        job = _job(state, session, job_id)
        if action == "cancel":
            job.cancel()
            return f"/jobs/{job_id}?done=cancelled"
        if action == "submit":  # a created job, or a campaign that paused, stopped or was cancelled
            job.submit()
            return f"/jobs/{job_id}?done=submitted"
        if action == "delete":
            job.delete(force=str(form.get("force", "")) == "1")
            return "/?done=deleted"
        if action == "rerun":
            return f"/jobs/{job.rerun(resources=resources, steps=steps, submit=True).id}?done=rerun"
        if action == "analyze":  # the log (and .xst, PSF; with a selection the DCD) fetched once, judged
            selection = str(form.get("select", "")).strip()
            state.analyses[job_id] = job.analysis(select=selection or None)
            return f"/jobs/{job_id}?done=analyzed#analysis"
        return f"/jobs/{job.restart(steps=steps, resources=resources, submit=True).id}?done=restarted"


def bulk_action(state: UiState, tasks: Tasks, action: str, job_ids: list[str], confirm: str) -> Task | None:
    """Cancel (the active ones) or delete the jobs ``job_ids``, all or nothing
    (:func:`~namdrunner_core.jobs.bulk.cancel_jobs`, :func:`~namdrunner_core.jobs.bulk.delete_jobs`);
    ``confirm`` must list the same ids (what the dialog showed). A delete runs in the BACKGROUND
    (its task: how many are deleted so far); a cancel is one command, done before this returns."""
    from namdrunner_core.jobs.bulk import cancel_jobs, delete_jobs

    if action not in ("cancel", "delete"):
        raise ValidationError("action", "cancel or delete")
    if sorted(confirm.split(",")) != sorted(job_ids):
        raise ValidationError("confirm", "the confirmation does not name exactly the selected jobs; try again")
    if action == "cancel":  # ONE scancel and a sync: the page waits for it
        with state.remote() as session:
            cancel_jobs(session, state.store, job_ids)
        return None

    def work(task: Task) -> None:
        with state.connect() as session:  # a session of its own: the page's commands never wait on it
            delete_jobs(session, state.store, job_ids, progress=task.progress)

    return tasks.start("bulk", "delete", work)


def bulk_said(task: Task) -> str:
    """What the Jobs page says of a bulk delete running in the background (true at every moment)."""
    if task.state == "running":
        if not task.total:
            return "Checking the selected jobs..."
        return f"Deleting the selected jobs: {task.done} of {task.total} deleted"
    if task.state == "failed":
        if not task.done:
            return f"Nothing was deleted: {task.error}"
        return f"{task.done} of {task.total} jobs deleted, then: {task.error}"
    return f"Deleted {task.done} job(s), with their directories."


# -- templates, cluster --------------------------------------------------------------------------
def templates_context(state: UiState) -> dict[str, Any]:
    """``template list``."""
    from namdrunner_core.template_library import list_templates

    return {"templates": list_templates(state.store)}


def template_context(state: UiState, template_id: str) -> dict[str, Any]:
    """``template show``."""
    from namdrunner_core.template_library import get_template

    return {"template": get_template(state.store, template_id)}


def export_template_text(state: UiState, template_id: str) -> str:
    """``template export`` (TOML)."""
    from namdrunner_core.template_library import export_template

    return export_template(state.store, template_id)


async def import_template_upload(state: UiState, upload: UploadFile) -> str:
    """``template import`` of an uploaded file; the new template's id."""
    from namdrunner_core.template_library import import_template_file

    folder = state.drafts / secrets.token_hex(8)
    folder.mkdir()
    try:
        saved = await save_upload(upload, folder)
        try:
            return import_template_file(state.store, saved).id
        except ValidationError as exc:  # said of the file the person chose, not of the server's copy
            said = "; ".join(m.replace(str(saved), saved.name) for _, m in problems_of(exc))
            raise ValidationError("file", said) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


#: what a page says, as a toast, after an action the person took (``?done=``; a fixed word, never their text)
ACTION_DONE = {
    "submitted": "Submitted: Slurm has it, and this page follows it.",
    "cancelled": "Cancelled.",
    "deleted": "Deleted: its record and its project and scratch directories.",
    "rerun": "Running again from the start: this new job is submitted.",
    "restarted": "Restarted from the newest checkpoint: this new job is submitted.",
    "analyzed": "Analyzed: the verdicts are below.",
    "created": "Created on the cluster.",
    "jobs-cancelled": "The selected jobs are cancelled.",
    "jobs-deleted": "The selected jobs are deleted, with their directories.",
    "workflow-created": "The workflow is created.",
    "profile-saved": "The profile is saved; the pages use it from now on.",
    "detected-applied": "The cluster's partitions and QOS are saved in the profile; the pages use it now.",
    "disconnected": "Disconnected. The next action that needs the cluster connects again.",
    "template-saved": "Saved: jobs created from now on use this text.",
    "template-duplicated": "Duplicated: this copy is yours to change.",
    "template-deleted": "Deleted. Jobs created from it keep their rendered config.",
    "store-restored": "Restored from the backup; the store as it was is kept beside it.",
    "store-reset": "The local store is empty; it was backed up beside itself first.",
    "store-discovered": "The jobs on the cluster were found again (discover).",
}


def local_action(state: UiState, action: str, form: Mapping[str, Any], upload: Path | None) -> str:
    """The local store's Restore (from an uploaded backup), Reset (confirmed) or Rebuild from the
    cluster (``discover``); where to go next."""
    from namdrunner_core.jobs.discover import discover_jobs
    from namdrunner_core.store.maintenance import reset_store, restore_store

    if action == "restore":
        if upload is None:
            raise ValidationError("backup", "choose a backup file (one `db backup` or Download a backup made)")
        restore_store(state.store, upload)
        return "/cluster?done=store-restored#local"
    if action == "reset":
        if str(form.get("confirm", "")) != "reset":
            raise ValidationError("confirm", "type reset to empty the local store")
        reset_store(state.store)
        return "/cluster?done=store-reset#local"
    if action == "discover":
        with state.remote() as session:
            discover_jobs(state.store, session)
        return "/cluster?done=store-discovered#local"
    raise NotFoundError(f"no action {action!r} (restore, reset, discover)")


def cluster_context(state: UiState, params: Mapping[str, str]) -> dict[str, Any]:
    """The profile; with ``?check=1`` the ``cluster check`` results, with ``?usage=1`` the bill."""
    from namdrunner_core._version import __version__
    from namdrunner_core.diagnostics import check_cluster
    from namdrunner_core.profile import load_profile, profile_infos
    from namdrunner_core.store.maintenance import store_facts
    from namdrunner_core.usage import usage_from_store

    ctx: dict[str, Any] = {"profile_obj": load_profile(state.profile), "checks": None, "usage": None, "error": None,
                           "profiles": profile_infos(), "store": store_facts(state.store),
                           "version": __version__}  # fmt: skip
    try:
        if params.get("check"):
            with state.remote() as session:
                ctx["checks"] = check_cluster(session)
        if params.get("usage"):
            with state.remote() as session:
                ctx["usage"] = usage_from_store(state.store, session)
    except LoginNeeded:
        raise  # to the Log in page
    except NamdRunnerError as exc:
        ctx["error"] = str(exc)
    return ctx


def login_json(state: UiState) -> dict[str, Any]:
    """The login's state for the page: the question (its text, never an answer), notices, error."""
    flow = state.login
    q = flow.question if flow is not None else None
    return {
        "logged_in": state.logged_in,
        "running": flow is not None and not flow.done.is_set(),
        "asked": flow.asked if flow is not None else 0,
        "question": None
        if q is None
        else {
            "text": q.text,
            "echo": q.echo,
            "instructions": q.instructions,
            "title": q.title,
            "host": q.host,
            "user": q.user,
        },
        "notices": list(flow.notices) if flow is not None else [],
        "error": flow.error if flow is not None else None,
    }


async def save_upload(upload: UploadFile, folder: Path, *, field: str = "file", as_name: str | None = None) -> Path:
    """Stream one upload into the draft folder under its base name (never a path of the browser's), or
    ``as_name`` where the name does not matter; where it is. A name that cannot be kept is refused at
    ``field``."""
    name = as_name or Path((upload.filename or "").replace("\\", "/")).name
    if not name or name.startswith("."):
        raise ValidationError(field, f"{upload.filename!r} is not a file name to keep")
    check_file_name(name, field=field)  # length, control characters, what NAMD's Tcl would read
    tmp = folder / f".{name}.part"
    with tmp.open("wb") as out:
        while chunk := await upload.read(UPLOAD_CHUNK):
            out.write(chunk)
    return tmp.replace(folder / name)
