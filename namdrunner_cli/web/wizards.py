"""The two creation wizards of the web page - a job from a template, the DNA-origami workflow -: the
form kept as a draft with its uploads, planned (nothing remote) with every problem at its field, then
created on the cluster from the reviewed plan."""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile

from namdrunner_cli.web.views import FIELD_LABELS, save_upload
from namdrunner_core.errors import NotFoundError, ValidationError, ValidationErrors, problems_of

if TYPE_CHECKING:
    from namdrunner_cli.web.state import UiState
    from namdrunner_cli.web.tasks import Task, Tasks
    from namdrunner_core.jobs.prepare import Planned, PreparedJob


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


def create_context(state: UiState, params: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    """The template picker and, for the chosen template, its variables as form fields, with the
    profile's partitions and limits for the resources."""
    from namdrunner_core.profile import load_profile
    from namdrunner_core.template_library import get_template, list_templates

    kept = _kept_form(state, params, extra)
    if kept is not None:
        return create_context(state, kept["values"], **{k: v for k, v in kept.items() if k != "values"})
    if params.get("from") and not extra and not params.get("draft"):  # "Clone into a new job"
        from namdrunner_core.jobs.restart import clone_form

        parent = state.store.get_job(params["from"])
        return create_context(state, {**clone_form(parent), "from": parent.job_id}, uploaded=[])
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
    ctx["labels"] = {**FIELD_LABELS, **{v.key: v.label for v in (ctx["template"].variables if ctx["template"] else [])}}
    return ctx


#: the resource fields of the form, by the Resources attribute they fill
RESOURCE_FIELDS = ("cores", "memory_gb", "walltime", "partition", "qos", "gpus")


#: what the form's plan is checked on in place of a resource field that is not a number yet
STAND_IN = {"cores": "1", "memory_gb": "1", "walltime": "01:00:00", "gpus": "0", "partition": "", "qos": ""}

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
    refused = await _save_uploads(uploads, {key: folder for key in uploads})
    for key, upload in uploads.items():
        if key not in refused:
            fields[key] = Path(upload.filename or "").name
    kept = state.forms.get(draft, {}).get("values", {})  # a file uploaded in an earlier round stays its field's
    for key in file_keys - set(uploads):
        if kept.get(key) and (folder / kept[key]).is_file():
            fields[key] = kept[key]
    remote = _cloned(state, template, fields, folder)
    errors: dict[str, str] = {}
    assignments = [f"{v.key}={fields[v.key]}" for v in template.variables if fields.get(v.key, "") != ""]
    errors.update(refused)  # a file whose name cannot be kept: at its field, beside the rest
    resources = _resources(fields, errors)
    if resources is None:  # a resource that is not a number: the rest is still checked, on a stand-in for
        # it, so that every mistake is shown at once (the field keeps its own message)
        resources = _resources({**fields, **{k: v for k, v in STAND_IN.items() if k in errors}}, {})
    try:
        planned: Planned[PreparedJob] = plan_job(
            load_profile(state.profile), state.store, name=fields.get("name", ""), template=template,
            assignments=assignments, resources=resources or _resources(STAND_IN, {}), files=sorted(folder.iterdir()),
            remote_inputs=remote,
        )  # fmt: skip
        if errors:
            raise ValidationErrors(list(errors.items()))
    except ValidationError as exc:
        named = {fields[k]: k for k in file_keys if fields.get(k)}
        for field, message in _at_file_fields(problems_of(exc), named):
            errors.setdefault(field.split(".")[0].split("[")[0], message)
        state.forms[draft] = {"values": {**fields, "template": template.id}, "errors": errors, "draft": draft,
                              "uploaded": sorted(p.name for p in folder.iterdir())}  # fmt: skip
        return draft, False
    state.plans[draft] = planned
    state.forms[draft] = {"values": {**fields, "template": template.id}, "errors": {}, "draft": draft,
                          "uploaded": sorted(p.name for p in folder.iterdir())}  # fmt: skip
    return draft, True


def _at_file_fields(problems: list[tuple[str, str]], fields_by_file: Mapping[str, str]) -> list[tuple[str, str]]:
    """``problems`` with each one the core's file checks name by the file (``file tiny.psf``, ``tiny.psf``)
    put at the form field that file came in by (``fields_by_file``: file name -> field)."""
    return [(fields_by_file.get(f.removeprefix("file "), f), m) for f, m in problems]


async def _save_uploads(uploads: dict[str, UploadFile], into: dict[str, Path]) -> dict[str, str]:
    """Each upload saved into its folder; the ones whose names cannot be kept, by field, with the reason
    (the form shows every mistake at its field, not the first as a page of its own)."""
    refused: dict[str, str] = {}
    for key, upload in uploads.items():
        try:
            await save_upload(upload, into[key], field=key)
        except ValidationError as exc:
            refused[key] = exc.reason
    return refused


def _cloned(state: UiState, template: Any, fields: dict[str, str], folder: Path) -> dict[str, str] | None:
    """For a job cloned from another (``from``): its file fields left empty keep that job's files, which are
    copied on the cluster unless a new upload of the same name replaces them (the core's
    ``cloned_inputs``); None for a job from scratch."""
    source = fields.get("from", "")
    if not source:
        return None
    from namdrunner_core.jobs.restart import cloned_inputs

    parent = state.store.get_job(source)
    for v in template.file_variables():
        if not fields.get(v.key) and parent.template_values.get(v.key):
            fields[v.key] = str(parent.template_values[v.key])
    return cloned_inputs(parent, replaced=[p.name for p in folder.iterdir()])


def review_context(state: UiState, draft: str) -> dict[str, Any]:
    """The review page of a planned draft, with what it may cost: its whole wall time at the profile's
    billing rule (``usage``'s: cores, or the cores its memory takes, + GPU weight)."""
    from namdrunner_core.jobs.campaign import su_at_most, su_per_hour
    from namdrunner_core.profile import load_profile

    plan = _reviewed(state.plans, draft).plan
    profile = load_profile(state.profile)
    return {"plan": plan, "draft": draft, "su_per_hour": su_per_hour(plan.resources, profile),
            "su_at_most": su_at_most(plan.resources, profile), "estimate": state.estimates.get(draft),
            "can_estimate": profile.scheduler != "none"}  # fmt: skip


def estimate_start(state: UiState, draft: str) -> None:
    """Ask Slurm when the reviewed plan would start (``sbatch --test-only``: nothing submitted); the
    answer is kept for the review page. A person asked: not charged to the polling budget."""
    from namdrunner_core.answers import StartView

    planned = _reviewed(state.plans, draft)
    with state.remote() as session:
        state.estimates[draft] = StartView.ask(session, planned.for_session(session)).estimate


def _resources(fields: Mapping[str, str], errors: dict[str, str]) -> Any:
    """The form's resource fields as :class:`Resources` (:func:`resources_from_text`); each field that is
    not a number, or missing, goes to ``errors`` and the answer is None."""
    from namdrunner_core.slurm.resources import resources_from_text

    try:
        return resources_from_text(fields)
    except ValidationErrors as exc:
        for field, message in exc.problems:
            errors.setdefault(field, message)
        return None


def _number(fields: Mapping[str, str], key: str, kind: type, errors: dict[str, str], default: Any = None) -> Any:
    text = fields.get(key, "").strip()
    if text == "" and default is not None:
        return default
    try:
        return kind(text)
    except ValueError:
        errors[key] = f"{text!r} is not a number"
        return 1


def _reviewed(plans: Mapping[str, Any], draft: str) -> Any:
    planned = plans.get(draft)
    if planned is None:
        raise NotFoundError("this review is no longer there (the server restarted?): fill in the form again")
    return planned


def _create_reviewed(state: UiState, plans: dict[str, Any], fields: Mapping[str, str], create: Any,
                     session: Any = None) -> str:  # fmt: skip
    """Create a reviewed plan on the cluster - the ids the review showed -, submit it when asked,
    and drop its draft (uploads included). In ``session`` when given, else in the page's own."""
    draft = fields.get("draft", "")
    planned = _reviewed(plans, draft)
    with contextlib.nullcontext(session) if session is not None else state.remote() as using:
        made = create(using, state.store, planned.for_session(using))
        if fields.get("submit") == "1":
            made.submit()
    plans.pop(draft, None)
    state.forms.pop(draft, None)
    state.estimates.pop(draft, None)
    shutil.rmtree(state.drafts / draft, ignore_errors=True)
    return str(made.id)


def start_create(state: UiState, tasks: Tasks, fields: Mapping[str, str]) -> Task:
    """Create the reviewed job (and submit it) in the BACKGROUND, over a session of its own: its uploads'
    bytes to the cluster in the task (``done``/``total``), the created job's id its ``result``; the page
    and its sync never wait on it. A second click while it runs is the same task."""
    from namdrunner_core import Job

    def make(session: Any, store: Any, plan: Any, progress: Any) -> Any:
        return Job.create_prepared(session, store, plan, progress=progress)

    return _start_reviewed(state, tasks, "create", state.plans, fields, make)


def _start_reviewed(state: UiState, tasks: Tasks, kind: str, plans: dict[str, Any], fields: Mapping[str, str],
                    make: Callable[[Any, Any, Any, Any], Any]) -> Task:  # fmt: skip
    """A reviewed plan of ``plans`` made in the background by ``make(session, store, plan, progress)``."""
    draft = fields.get("draft", "")
    _reviewed(plans, draft)  # a review that is gone: said now, not in the background

    def work(task: Task) -> None:
        def create(session: Any, store: Any, plan: Any) -> Any:
            return make(session, store, plan, task.progress)

        with state.connect() as session:
            task.result = _create_reviewed(state, plans, fields, create, session)

    return tasks.start(kind, draft, work)


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
    labels = {**FIELD_LABELS, **{f"cell_{a}": f"Cell {a} (Å)" for a in "xyz"}}
    labels.update({key: label for key, label, *_ in ORIGAMI_FILES})
    labels.update({f"steps.{name}": f"Steps of {name}" for name, *_ in ORIGAMI_STAGES})
    ctx["labels"] = labels
    return ctx


async def workflow_review(state: UiState, fields: dict[str, str], uploads: dict[str, UploadFile]) -> tuple[str, bool]:
    """Keep the uploads as a draft and plan the ladder (nothing remote); (draft id, planned?)."""
    from namdrunner_core.namd.inputs import check_input_files
    from namdrunner_core.profile import load_profile
    from namdrunner_core.workflow import ORIGAMI_STAGES, origami_plan
    from namdrunner_core.workflow.origami import origami_problems

    draft, folder = _draft_folder(state, fields)
    (folder / "scaled").mkdir(exist_ok=True)
    fields_of_files = {key for key, *_ in ORIGAMI_FILES}
    for key in uploads:  # a field's NAME becomes a folder below the draft: only the form's own names
        if key not in fields_of_files:
            raise ValidationError("file", f"{key[:60]!r} is not a file field of this form")
    for key in uploads:
        sub = folder / key
        sub.mkdir(exist_ok=True)
        for old in sub.iterdir():
            old.unlink()
    errors = await _save_uploads(uploads, {key: folder / key for key in uploads})
    kept = {key: next((folder / key).iterdir(), None) for key, *_ in ORIGAMI_FILES if (folder / key).is_dir()}
    for key, label, _ext, required in ORIGAMI_FILES:
        if required and kept.get(key) is None:
            errors.setdefault(key, f"choose the {label} file")
    cell = tuple(_number(fields, f"cell_{a}", float, errors) for a in "xyz")
    steps = {name: _number(fields, f"steps.{name}", int, errors) for name, *_ in ORIGAMI_STAGES}
    resources = _resources(fields, errors)
    profile = load_profile(state.profile)
    for field, message in origami_problems(profile, state.store, cell=cell, steps=steps, resources=resources):
        errors.setdefault(field, message)  # beside a file not chosen yet: every mistake in one round trip
    for key, path in kept.items():  # and each file chosen, on its own (the plan checks them together)
        if path is not None and key not in errors:
            try:
                check_input_files([path])
            except ValidationError as exc:
                errors[key] = exc.reason
    values = {**fields, "uploaded": ""}
    uploaded = sorted(p.name for p in kept.values() if p is not None)
    if not errors:
        params = [p for p in (kept.get("parameters"), kept.get("parameters_2")) if p is not None]
        try:
            with origami_plan(profile, state.store, name=fields.get("name", ""),
                              workdir=folder / "scaled", structure=kept["structure"], coordinates=kept["coordinates"],
                              parameters=params, enm=kept["enm"], extra_bonds=kept.get("extra_bonds"),
                              resources=resources, cell=cell, steps=steps) as planned:  # fmt: skip
                state.wf_plans[draft] = planned
        except ValidationError as exc:
            errors.update(_at_file_fields(problems_of(exc), {p.name: k for k, p in kept.items() if p is not None}))
    state.forms[draft] = {"values": values, "errors": errors, "draft": draft, "uploaded": uploaded}
    return draft, not errors


def workflow_review_context(state: UiState, draft: str) -> dict[str, Any]:
    """The review page of a planned ladder: every stage with its id, steps and rendered config."""
    return {"plan": _reviewed(state.wf_plans, draft).plan, "draft": draft}


def start_create_workflow(state: UiState, tasks: Tasks, fields: Mapping[str, str]) -> Task:
    """Create the reviewed ladder (and submit it) in the BACKGROUND, over a session of its own, every
    stage's upload counted in the task's bytes (as :func:`start_create` does for one job); its id the
    task's ``result``."""
    from namdrunner_core import Workflow

    def make(session: Any, store: Any, plan: Any, progress: Any) -> Any:
        return Workflow.create_planned(session, store, plan, progress=progress)

    return _start_reviewed(state, tasks, "workflow", state.wf_plans, fields, make)
