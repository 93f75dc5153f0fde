"""What each page shows, from the public core functions (the web layer's ``render.py``).

Nothing here decides anything about jobs, Slurm or NAMD: it calls the core (the same functions the
command line calls) and shapes their answers for the templates. Errors are the core's own
(:class:`~namdrunner_core.errors.NamdRunnerError`), shown by the page next to the field they name.
"""

from __future__ import annotations

import glob
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile

from namdrunner_cli.render.base import humanize_age, humanize_bytes, humanize_duration
from namdrunner_cli.web.state import LoginNeeded
from namdrunner_core.errors import NamdRunnerError, NotFoundError, ValidationError, ValidationErrors
from namdrunner_core.namd.inputs import check_file_name

if TYPE_CHECKING:
    from starlette.requests import Request

    from namdrunner_cli.web.state import UiState
    from namdrunner_core.jobs.prepare import Planned, PreparedJob
    from namdrunner_core.jobs.sync import SyncReport

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
    listed = job_page(state.store.path, page=number, per_page=PER_PAGE, sort=SORTS[sort], descending=descending)
    groups = []
    for g, jobs in groups_with_jobs(state.store):
        members = {r.job_id: r for r in jobs}
        stages = [(g.group.stage_name(jid) or jid, members[jid]) for jid in g.group.stages if jid in members]
        groups.append({"summary": g, "stages": stages})
    active = sum(job_count(state.store.path, status=s) for s in JobStatus if s.is_active)
    return {"rows": listed.rows, "listing": listed, "groups": groups, "active": active, "sort": sort,
            "descending": descending}  # fmt: skip


def _positive(text: str, field: str) -> int:
    if not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise ValidationError(field, f"{text!r} is not a page number (1, 2, ...)")
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
            "stage": group.stage_name(record.job_id) if group else None, "children": children}  # fmt: skip


def _job(state: UiState, session: Any, job_id: str) -> Any:
    from namdrunner_core import Job

    return Job.load(session, state.store, job_id)


def log_tail(state: UiState, job_id: str, kind: str, lines: int = 200, *, auto: bool = False) -> str:
    """The last ``lines`` of the Slurm logs or the NAMD log, shared by every tab (see
    :meth:`UiState.cached_read`: a page's own refreshes come from the polling budget)."""
    record = state.store.get_job(job_id)
    if kind == "namd" and record.is_active:
        followed = state.followed_tail(job_id, auto=auto)  # every followed job's tail in one command
        if followed is not None:
            return followed

    def read(session: Any) -> str:
        try:
            return str(_job(state, session, job_id).logs(kind, tail=lines))
        except NotFoundError as exc:
            return f"({exc})"

    return state.cached_read((job_id, kind), read, active=record.is_active, auto=auto)


#: how often a running job's energy plot is read again at most (it reads the log's last 50,000 lines)
PLOT_FRESH_S = 60.0


def energy_svg(state: UiState, job_id: str, *, dark: bool = False, auto: bool = False) -> str:
    """TOTAL energy and TEMP of the NAMD log as an SVG chart. The series (step, TOTAL, TEMP) is read
    once for every tab and theme, again at most every PLOT_FRESH_S while the job runs."""
    import json

    from namdrunner_core.namd.log import parse_log_text

    record = state.store.get_job(job_id)

    def read(session: Any) -> str:
        try:
            text = _job(state, session, job_id).logs("namd", tail=50_000)
        except NotFoundError:
            text = ""
        rows = parse_log_text(text, keep_energies=True).energies
        return json.dumps([[r.step, r.values.get("TOTAL"), r.values.get("TEMP")] for r in rows])

    series = json.loads(state.cached_read((job_id, "energy"), read, active=record.is_active, auto=auto,
                                          fresh_s=PLOT_FRESH_S))  # fmt: skip
    points = [(int(step), {k: v for k, v in (("TOTAL", total), ("TEMP", temp)) if v is not None})
              for step, total, temp in series]  # fmt: skip
    return svg_chart(points, ("TOTAL", "TEMP"), dark=dark)


def svg_chart(points: list[tuple[int, dict[str, float]]], columns: tuple[str, ...], *, dark: bool = False) -> str:
    """Small line charts, one panel per column (SVG text; values are numbers, nothing to escape)."""
    width, panel, pad = 640, 150, 44
    height = panel * len(columns) + 10
    # presentation attributes, not CSS: an SVG shown by <img> is its own document (and the CSP
    # forbids inline styles)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" font-family="sans-serif" '
        f'font-size="11" fill="{"#9aa7b8" if dark else "#5d6b7d"}">'
        f'<rect width="{width}" height="{height}" fill="{"#1c222b" if dark else "#ffffff"}"/>'
    ]
    if not points:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no ENERGY lines yet</text></svg>')
        return "".join(parts)
    steps = [p[0] for p in points]
    s0, s1 = min(steps), max(steps) or 1
    for i, col in enumerate(columns):
        ys = [p[1].get(col) for p in points]
        vals = [v for v in ys if v is not None]
        top = 10 + i * panel
        parts.append(
            f'<text x="4" y="{top + 12}" font-weight="bold" fill="{"#e3e8ef" if dark else "#1c2430"}">{col}</text>'
        )
        if not vals:
            continue
        lo, hi = min(vals), max(vals)
        span = (hi - lo) or 1.0
        sx = (width - pad - 10) / ((s1 - s0) or 1)
        xy = [
            f"{pad + (s - s0) * sx:.1f},{top + panel - 24 - (v - lo) / span * (panel - 44):.1f}"
            for s, v in zip(steps, ys, strict=True)
            if v is not None
        ]
        color = (("#7fb0ff", "#ff8a80", "#5fcf83") if dark else ("#2457c5", "#c0392b", "#1d7a3a"))[i % 3]
        parts.append(
            f'<polyline class="series" fill="none" stroke="{color}" stroke-width="1.5" points="{" ".join(xy)}"/>'
        )
        parts.append(f'<text x="{pad}" y="{top + panel - 8}">step {s0}</text>')
        parts.append(f'<text x="{width - 10}" y="{top + panel - 8}" text-anchor="end">{s1}</text>')
        parts.append(f'<text x="{width - 10}" y="{top + 12}" text-anchor="end">{lo:.6g} .. {hi:.6g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def check_listed_output(state: UiState, job_id: str, name: str) -> None:
    """Only a file the job lists may be downloaded: a path that climbs out (``..``), an absolute
    one or one the job does not have is refused."""
    parts = Path(name).parts
    if not name or name.startswith("/") or ".." in parts or "\\" in name:
        raise ValidationError("file", f"{name!r} is not a file of this job")
    record = state.store.get_job(job_id)
    listed = {o.name for o in record.output_files}
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
    """Cancel, restart (from the newest checkpoint, submitted) or delete a job; where to go next.
    Delete needs ``confirm`` equal to the job id (the page's dialog names what is removed)."""
    record = state.store.get_job(job_id)
    if action not in ("cancel", "restart", "delete"):
        raise NotFoundError(f"no action {action!r} (cancel, restart, delete)")
    if action == "delete" and str(form.get("confirm", "")) != record.job_id:
        raise ValidationError("confirm", f"type the job id {record.job_id} to delete it")
    with state.remote() as session:
        job = _job(state, session, job_id)
        if action == "cancel":
            job.cancel()
            return f"/jobs/{job_id}"
        if action == "delete":
            job.delete(force=str(form.get("force", "")) == "1")
            return "/"
        steps = str(form.get("steps", "")).strip()
        new = job.restart(steps=_positive(steps, "steps") if steps else None)
        new.submit()
        return f"/jobs/{new.id}"


def bulk_action(state: UiState, action: str, job_ids: list[str], confirm: str) -> None:
    """Cancel (the active ones) or delete the jobs ``job_ids``: exact ids, ``confirm`` listing the
    same ids (what the dialog showed), every one checked before the first is touched."""
    if action not in ("cancel", "delete"):
        raise ValidationError("action", "cancel or delete")
    if not job_ids:
        raise ValidationError("job", "select at least one job")
    if sorted(confirm.split(",")) != sorted(job_ids):
        raise ValidationError("confirm", "the confirmation does not name exactly the selected jobs; try again")
    records = [state.store.get_job(j) for j in job_ids]  # exact ids; an unknown one stops it all
    with state.remote() as session:
        jobs = [_job(state, session, r.job_id) for r in records]
        if action == "delete":
            for job in jobs:
                job.check_deletable()  # a job whose only results are on scratch stops it all
        for job in jobs:
            if action == "cancel":
                if job.record.slurm_job_id and job.record.status.is_active:
                    job.cancel()
            else:
                job.delete()


# -- create a job --------------------------------------------------------------------------------
def _kept_form(state: UiState, params: Mapping[str, str], extra: Mapping[str, Any]) -> dict[str, Any] | None:
    """The form as the last review of ``?draft=`` left it (values, errors by field, uploads), when a
    page is opened again for it; None for a fresh form."""
    draft = params.get("draft", "")
    if not draft or extra:
        return None
    kept = state.forms.get(draft)
    if kept is None:
        raise NotFoundError("this draft is no longer there (the server restarted?): fill in the form again")
    return kept


def _draft_folder(state: UiState, fields: Mapping[str, str]) -> tuple[str, Path]:
    """The draft a review belongs to (a new one for a first review) and its uploads' folder."""
    draft = fields.get("draft") or secrets.token_hex(8)
    if not draft.isalnum():
        raise ValidationError("draft", "not a draft of this page")
    folder = state.drafts / draft
    folder.mkdir(parents=True, exist_ok=True)
    return draft, folder


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Every (field, message) of a validation error (one, or all of :class:`ValidationErrors`)."""
    return exc.problems if isinstance(exc, ValidationErrors) else [(exc.field, str(exc))]


def create_context(state: UiState, params: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    """The template picker and, for the chosen template, its variables as form fields, with the
    profile's partitions and limits for the resources."""
    from namdrunner_core.profile import load_profile
    from namdrunner_core.template_library import get_template, list_templates

    kept = _kept_form(state, params, extra)
    if kept is not None:
        return create_context(state, kept["values"], **{k: v for k, v in kept.items() if k != "values"})
    profile = load_profile(state.profile)
    chosen = params.get("template") or ""
    ctx: dict[str, Any] = {"templates": list_templates(state.store), "template": None, "profile_obj": profile,
                           "values": dict(params), "errors": {}, "plan": None, "draft": ""}  # fmt: skip
    ctx["uploaded"] = []
    if chosen:
        ctx["template"] = get_template(state.store, chosen)
    ctx.update(extra)
    shown = {"name", *RESOURCE_FIELDS, *RESOURCE_ALIASES}
    if ctx["template"] is not None:
        shown |= {v.key for v in ctx["template"].variables}
    ctx["other_errors"] = [(k, m) for k, m in ctx["errors"].items() if k not in shown]
    return ctx


#: the resource fields of the form, by the Resources attribute they fill
RESOURCE_FIELDS = ("cores", "memory_gb", "walltime", "partition", "qos", "gpus")
#: field names the core's resource errors use that are shown with the resources
RESOURCE_ALIASES = ("resources", "memory", "nodes", "gpu_type", "account")


async def review(state: UiState, fields: dict[str, str], uploads: dict[str, UploadFile]) -> tuple[str, bool]:
    """Keep the uploads as a draft and plan the job (nothing remote); (draft id, planned?). The plan
    (or the form with its errors by field) is kept for the page the browser is sent to."""
    from namdrunner_core.jobs.prepare import plan_job
    from namdrunner_core.profile import load_profile
    from namdrunner_core.template_library import get_template

    template = get_template(state.store, fields.get("template", ""))
    file_keys = {v.key for v in template.file_variables()}
    for key in uploads:
        if key not in file_keys:
            raise ValidationError("file", f"{key[:60]!r} is not a file field of template {template.id}")
    draft, folder = _draft_folder(state, fields)
    for key, upload in uploads.items():
        await _save_upload(upload, folder)
        fields[key] = Path(upload.filename or "").name
    errors: dict[str, str] = {}
    assignments = [f"{v.key}={fields[v.key]}" for v in template.variables if fields.get(v.key, "") != ""]
    try:
        resources = _resources(fields, errors)
        if errors:
            raise ValidationErrors(list(errors.items()))
        planned: Planned[PreparedJob] = plan_job(load_profile(state.profile), state.store, name=fields.get("name", ""),
                                                 template=template, assignments=assignments, resources=resources,
                                                 files=sorted(folder.iterdir()))  # fmt: skip
    except ValidationError as exc:
        for field, message in _problems(exc):
            errors.setdefault(field.split(".")[0].split("[")[0], message)
        state.forms[draft] = {"values": {**fields, "template": template.id}, "errors": errors, "draft": draft,
                              "uploaded": sorted(p.name for p in folder.iterdir())}  # fmt: skip
        return draft, False
    state.plans[draft] = planned
    state.forms[draft] = {"values": {**fields, "template": template.id}, "errors": {}, "draft": draft,
                          "uploaded": sorted(p.name for p in folder.iterdir())}  # fmt: skip
    return draft, True


def review_context(state: UiState, draft: str) -> dict[str, Any]:
    """The review page of a planned draft."""
    return {"plan": _reviewed(state.plans, draft).plan, "draft": draft}


def _resources(fields: Mapping[str, str], errors: dict[str, str]) -> Any:
    """The form's resource fields as :class:`Resources` (a field that is no number goes to ``errors``)."""
    from namdrunner_core.slurm.resources import Resources

    return Resources(
        cores=_number(fields, "cores", int, errors),
        memory_gb=_number(fields, "memory_gb", float, errors),
        walltime=fields.get("walltime", ""),
        partition=fields.get("partition") or None,
        qos=fields.get("qos") or None,
        gpus=_number(fields, "gpus", int, errors, default=0),
    )


def _number(fields: Mapping[str, str], key: str, kind: type, errors: dict[str, str], default: Any = None) -> Any:
    text = fields.get(key, "").strip()
    if text == "" and default is not None:
        return default
    try:
        return kind(text)
    except ValueError:
        errors[key] = f"{key}: {text!r} is not a number"
        return 1


async def _save_upload(upload: UploadFile, folder: Path) -> None:
    """Stream one upload into the draft folder under its base name (never a path of the browser's)."""
    name = Path((upload.filename or "").replace("\\", "/")).name
    if not name or name.startswith("."):
        raise ValidationError("file", f"{upload.filename!r} is not a file name to keep")
    check_file_name(name, field="file")  # length, control characters, what NAMD's Tcl would read
    tmp = folder / f".{name}.part"
    with tmp.open("wb") as out:
        while chunk := await upload.read(UPLOAD_CHUNK):
            out.write(chunk)
    tmp.replace(folder / name)


def _reviewed(plans: Mapping[str, Any], draft: str) -> Any:
    planned = plans.get(draft)
    if planned is None:
        raise NotFoundError("this review is no longer there (the server restarted?): fill in the form again")
    return planned


def _create_reviewed(state: UiState, plans: dict[str, Any], fields: Mapping[str, str], create: Any) -> str:
    """Create a reviewed plan on the cluster - the ids the review showed -, submit it when asked,
    and drop its draft (uploads included)."""
    draft = fields.get("draft", "")
    planned = _reviewed(plans, draft)
    with state.remote() as session:
        made = create(session, state.store, planned.for_session(session))
        if fields.get("submit") == "1":
            made.submit()
    plans.pop(draft, None)
    state.forms.pop(draft, None)
    shutil.rmtree(state.drafts / draft, ignore_errors=True)
    return str(made.id)


def create_from_draft(state: UiState, fields: Mapping[str, str]) -> str:
    """Create the reviewed job (and submit it)."""
    from namdrunner_core import Job

    return _create_reviewed(state, state.plans, fields, Job.create_prepared)


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
        await _save_upload(upload, folder)
        return import_template_file(state.store, folder / Path(upload.filename or "").name).id
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def cluster_context(state: UiState, params: Mapping[str, str]) -> dict[str, Any]:
    """The profile; with ``?check=1`` the ``cluster check`` results, with ``?usage=1`` the bill."""
    from namdrunner_core.diagnostics import check_cluster
    from namdrunner_core.profile import load_profile, profile_infos
    from namdrunner_core.usage import usage_from_store

    ctx: dict[str, Any] = {"profile_obj": load_profile(state.profile), "checks": None, "usage": None, "error": None,
                           "profiles": profile_infos()}  # fmt: skip
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


# -- workflows -----------------------------------------------------------------------------------
#: the ladder form's file fields: (field, label, extensions, required)
ORIGAMI_FILES = (
    ("structure", "Structure (PSF)", ".psf", True),
    ("coordinates", "Coordinates (PDB)", ".pdb", True),
    ("parameters", "Parameters", ".prm,.par,.str,.inp", True),
    ("parameters_2", "More parameters", ".prm,.par,.str,.inp", False),
    ("enm", "Elastic network (ENM extrabonds)", ".exb,.extra,.txt", True),
    ("extra_bonds", "Other extrabonds (e.g. Mg-hexahydrate)", ".exb,.extra,.txt", False),
)


def workflows_context(state: UiState, params: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    """Every workflow and sweep, and the DNA-origami ladder form (its stages and default steps)."""
    from namdrunner_core.profile import load_profile
    from namdrunner_core.workflow import ORIGAMI_STAGES, list_groups

    kept = _kept_form(state, params, extra)
    if kept is not None:
        return workflows_context(state, kept["values"], **{k: v for k, v in kept.items() if k != "values"})
    ctx: dict[str, Any] = {"groups": list_groups(state.store), "stages": ORIGAMI_STAGES, "files": ORIGAMI_FILES,
                           "profile_obj": load_profile(state.profile), "values": dict(params), "errors": {},
                           "draft": "", "uploaded": []}  # fmt: skip
    ctx.update(extra)
    return ctx


async def workflow_review(state: UiState, fields: dict[str, str], uploads: dict[str, UploadFile]) -> tuple[str, bool]:
    """Keep the uploads as a draft and plan the ladder (nothing remote); (draft id, planned?)."""
    from namdrunner_core.profile import load_profile
    from namdrunner_core.workflow import ORIGAMI_STAGES, origami_plan

    draft, folder = _draft_folder(state, fields)
    (folder / "scaled").mkdir(exist_ok=True)
    fields_of_files = {key for key, *_ in ORIGAMI_FILES}
    for key in uploads:  # a field's NAME becomes a folder below the draft: only the form's own names
        if key not in fields_of_files:
            raise ValidationError("file", f"{key[:60]!r} is not a file field of this form")
    for key, upload in uploads.items():
        sub = folder / key
        sub.mkdir(exist_ok=True)
        for old in sub.iterdir():
            old.unlink()
        await _save_upload(upload, sub)
    kept = {key: next((folder / key).iterdir(), None) for key, *_ in ORIGAMI_FILES if (folder / key).is_dir()}
    errors: dict[str, str] = {}
    for key, label, _ext, required in ORIGAMI_FILES:
        if required and kept.get(key) is None:
            errors[key] = f"{key}: choose the {label} file"
    cell = tuple(_number(fields, f"cell_{a}", float, errors) for a in "xyz")
    steps = {name: _number(fields, f"steps.{name}", int, errors) for name, *_ in ORIGAMI_STAGES}
    resources = _resources(fields, errors)
    values = {**fields, "uploaded": ""}
    uploaded = sorted(p.name for p in kept.values() if p is not None)
    if not errors:
        params = [p for p in (kept.get("parameters"), kept.get("parameters_2")) if p is not None]
        try:
            with origami_plan(load_profile(state.profile), state.store, name=fields.get("name", ""),
                              workdir=folder / "scaled", structure=kept["structure"], coordinates=kept["coordinates"],
                              parameters=params, enm=kept["enm"], extra_bonds=kept.get("extra_bonds"),
                              resources=resources, cell=cell, steps=steps) as planned:  # fmt: skip
                state.wf_plans[draft] = planned
        except ValidationError as exc:
            errors.update(_problems(exc))
    state.forms[draft] = {"values": values, "errors": errors, "draft": draft, "uploaded": uploaded}
    return draft, not errors


def workflow_review_context(state: UiState, draft: str) -> dict[str, Any]:
    """The review page of a planned ladder: every stage with its id, steps and rendered config."""
    return {"plan": _reviewed(state.wf_plans, draft).plan, "draft": draft}


def create_workflow_from_draft(state: UiState, fields: Mapping[str, str]) -> str:
    """Create the reviewed ladder (and submit it)."""
    from namdrunner_core import Workflow

    return _create_reviewed(state, state.wf_plans, fields, Workflow.create_planned)
