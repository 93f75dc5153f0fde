"""Everything a job is before the cluster sees it: validated, rendered, with no remote I/O.

:func:`prepare_job` checks the template values, the resources against the profile and the input
files, and renders ``config.namd`` and ``job.sbatch``; it serves ``--dry-run`` as well as
:meth:`namdrunner_core.jobs.job.Job.create`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from namdrunner_core.errors import NotFoundError, ValidationError, problems_of, with_more
from namdrunner_core.ids import check_display_name
from namdrunner_core.job_info import JOB_INFO_NAME, job_info_bytes
from namdrunner_core.jobs.campaign import check_budget, initial_state, psf_atoms, step_script, su_per_hour
from namdrunner_core.models import JobRecord, utcnow
from namdrunner_core.namd.config import (
    INPUT_DIR,
    Template,
    check_config,
    missing_references,
    parse_assignments,
    read_config,
    render_config,
    total_steps,
    validate_values,
)
from namdrunner_core.namd.inputs import check_file_name, check_input_files
from namdrunner_core.namd.template_files import builtin_templates
from namdrunner_core.scripts import campaign_step as step
from namdrunner_core.slurm.resources import ResolvedResources, Resources, resolve_resources
from namdrunner_core.slurm.script import CONFIG_NAME, SCRIPT_NAME, CampaignScript, render_sbatch
from namdrunner_core.slurm.states import JobStatus

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.store import JobStore

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def make_job_id(name: str, now: dt.datetime | None = None) -> str:
    """``<sanitised name>_<microsecond timestamp>``, as the desktop app makes them."""
    name = check_display_name(name)
    safe = _NAME_CHARS.sub("_", name).strip("_-")[:60] or "job"
    if not safe[0].isalnum():
        safe = "job_" + safe
    stamp = int((now or utcnow()).timestamp() * 1_000_000)
    return f"{safe}_{stamp}"


def resolve_template(store: JobStore | None, template: str | Template) -> Template:
    """A Template object, a builtin id, or a user template id from the store."""
    if isinstance(template, Template):
        return template
    builtins = builtin_templates()
    if template in builtins:
        return builtins[template]
    if store is not None:
        try:
            return store.get_template(template)
        except NotFoundError:
            pass
    user = [t.id for t in store.list_templates()] if store is not None else []
    raise ValidationError(
        "template",
        f"unknown template {template!r}"
        + (
            f" (did you mean {close[0]}?)"
            if (close := difflib.get_close_matches(template, [*builtins, *user], n=1))
            else ""
        )
        + f"; known: {', '.join(sorted(builtins) + sorted(user))}",
    )


#: Extensions too generic to say what a file is: such a file fills a variable only when named with
#: ``--set KEY=file`` (a notes.txt must never switch extraBonds on by itself).
GENERIC_EXTENSIONS = frozenset({".txt", ".dat", ".in", ".log", ".csv"})


def _assign_files(template: Template, values: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """Fill file variables left empty from the uploaded files, by the template's declared extensions
    (generic ones such as ``.txt`` excepted), in template order."""
    out = dict(values)
    used = {str(v) for k, v in values.items() if v}
    for var in template.file_variables():
        if out.get(var.key):
            continue
        for name in names:
            if name in used:
                continue
            if any(
                name.lower().endswith(ext.lower()) for ext in var.extensions if ext.lower() not in GENERIC_EXTENSIONS
            ):
                out[var.key] = name
                used.add(name)
                break
    return out


P = TypeVar("P")


@attrs.frozen(slots=True)
class Planned(Generic[P]):
    """A plan (a :class:`PreparedJob`, :class:`~namdrunner_core.workflow.WorkflowPlan` or
    :class:`~namdrunner_core.workflow.sweep.SweepPlan`) made BEFORE login, so that bad input never
    costs a password or a Duo push. Use :func:`plan_ahead`."""

    plan: P
    user: str
    replan: Callable[[str], P]

    def for_session(self, session: Session) -> P:
        """The plan for the user the session logged in as: this one, or (another login, e.g. from
        ``~/.ssh/config``, whose paths differ) the same plan re-made for it, with the same ids."""
        return self.plan if session.user == self.user else self.replan(session.user)


def plan_ahead(profile: ClusterProfile, make: Callable[[str, dt.datetime], P]) -> Planned[P]:
    """``make(user, now)`` for the profile's expected user, kept re-makeable for another user at the
    same ``now`` (so job ids, derived from name and time, stay the ids a ``--dry-run`` printed)."""
    user = profile.expected_user()
    now = utcnow()
    return Planned(make(user, now), user, lambda other: make(other, now))


@attrs.frozen(slots=True)
class PreparedJob:
    """A job validated and rendered, not yet on any cluster (``--dry-run`` shows this)."""

    record: JobRecord
    template: Template
    resources: ResolvedResources
    config_text: str
    sbatch_text: str
    files: dict[str, Path]
    remote_inputs: dict[str, str] = attrs.Factory(dict)
    #: files written beside the config (a campaign's campaign.json and campaign_step.py)
    extra_files: dict[str, bytes] = attrs.Factory(dict)

    def payload(self, extra_files: Mapping[str, bytes] | None = None) -> dict[str, Path | bytes]:
        """What :meth:`~namdrunner_core.jobs.job.Job.create_prepared` uploads into the job's directory:
        the input files, the extra files, the config, the batch script and ``job_info.json``."""
        payload: dict[str, Path | bytes] = dict(self.files)
        for rel, data in {**self.extra_files, **(extra_files or {})}.items():
            payload[rel] = data
        payload[CONFIG_NAME] = self.config_text.encode()
        payload[SCRIPT_NAME] = self.sbatch_text.encode()
        payload[JOB_INFO_NAME] = job_info_bytes(self.record)
        return payload

    @property
    def upload_size(self) -> int:
        """The bytes its creation sends (the upload progress's total), known before it starts."""
        return sum(src.stat().st_size if isinstance(src, Path) else len(src) for src in self.payload().values())


_MAX_SOURCE_BYTES = 4 * 1024 * 1024


def _source_texts(config_text: str, local_files: Mapping[str, Path]) -> dict[str, str]:
    """The texts of the files a config ``source``s that are among the job's local inputs (by base name)."""
    texts: dict[str, str] = {}
    pending = [config_text]
    while pending and len(texts) < 20:
        for target in read_config(pending.pop()).sources:
            name = target.rsplit("/", 1)[-1]
            path = local_files.get(name)
            if name in texts or path is None or path.stat().st_size > _MAX_SOURCE_BYTES:
                continue
            texts[name] = path.read_text(encoding="utf-8", errors="replace")
            pending.append(texts[name])
    return texts


def prepare_job(
    profile: ClusterProfile,
    user: str,
    store: JobStore | None,
    *,
    name: str,
    template: str | Template,
    values: Mapping[str, Any] | None = None,
    files: Sequence[str | Path] = (),
    resources: Resources,
    parent_job_id: str | None = None,
    workflow_id: str | None = None,
    workflow_stage: int | None = None,
    remote_inputs: Mapping[str, str] | None = None,
    staged_inputs: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
    run_preflight: bool = True,
    target_ns: float | None = None,
    su_budget: float | None = None,
) -> PreparedJob:
    """Validate everything and render the config and script. No remote I/O.

    Raises :class:`ValidationError` naming the field for any problem: unknown template or value out
    of range, missing or malformed input file, resources over a limit, or a config NAMD would refuse.

    ``remote_inputs`` (file name -> path on the cluster) are copied into ``input_files/`` on the
    cluster when the job is created (a restart's checkpoint); ``staged_inputs`` are copied when the
    job starts (a workflow stage's predecessor outputs, which do not exist yet).

    ``target_ns`` makes the job a campaign (:mod:`namdrunner_core.jobs.campaign`): its one ``run`` is
    carried to that simulated time over as many segments - Slurm jobs - as it takes.
    """
    tmpl = resolve_template(store, template)
    by_name, remote, staged = _inputs(files, remote_inputs, staged_inputs)
    available = [*by_name, *remote, *staged]
    filled = _assign_files(tmpl, tmpl.canonical(values or {}), list(by_name))
    for var in tmpl.file_variables():
        given = filled.get(var.key)
        if given and str(given) not in available:
            raise ValidationError(var.key, f"{given!r} is not among the files given; add it with --file")
    config_text = render_config(tmpl, filled)
    includes = _source_texts(config_text, by_name)
    report = check_config(config_text, includes=includes)
    notes = list(report.warnings) + missing_references(config_text, available, includes)
    assigned = {str(v) for v in filled.values() if v}
    notes += [
        f"{n} is uploaded but no template variable uses it (name it with --set KEY={n})"
        for n in by_name
        if n not in assigned and n not in includes
    ]
    if report.escapes:
        raise ValidationError(
            "config",
            "NAMD would write outside the job's directory: "
            + "; ".join(report.escapes)
            + " (refused even with --no-preflight: such results are never copied back)",
        )
    if report.problems and run_preflight:
        raise ValidationError(
            "config",
            "NAMD would refuse this config: " + "; ".join(report.problems) + " (--no-preflight submits it anyway)",
        )
    if not run_preflight:
        notes.insert(0, "preflight skipped (--no-preflight)" + "".join(f"; would refuse: {p}" for p in report.problems))
    resolved = resolve_resources(resources, profile)
    campaign, campaign_script, extra = _campaign(profile, config_text, by_name, resolved, target_ns, su_budget)
    now = now or utcnow()
    job_id = make_job_id(name, now)
    jobs_root, scratch_root = profile.roots_for(user)
    project_dir, scratch_dir = f"{jobs_root}/{job_id}", f"{scratch_root}/{job_id}"
    sbatch_text = render_sbatch(
        job_name=job_id,
        job_id=job_id,
        workdir=scratch_dir,
        resources=resolved,
        profile=profile,
        stage_in=sorted((src, fname) for fname, src in staged.items()),
        campaign=campaign_script,
    )
    # stored typed (steps 2000, not "2000"), under the template's own keys
    given = tmpl.canonical(filled)
    typed = validate_values(tmpl, given)
    checked_values = {k: typed[k] for k in given}
    record = JobRecord(
        job_id=job_id,
        job_name=name.strip(),
        profile=profile.name,
        remote_user=user,
        status=JobStatus.CREATED,
        template_id=tmpl.id,
        template_values=checked_values,
        resources=attrs.evolve(
            resources,
            partition=resolved.partition.name,
            qos=resolved.qos.name,
            walltime=resolved.walltime,
            gpu_type=resolved.gpu_type,
        ),
        project_dir=project_dir,
        scratch_dir=scratch_dir,
        created_at=now,
        updated_at=now,
        input_files=sorted(available),
        total_steps=total_steps(config_text) if campaign is None else campaign["target_step"] - campaign["first_step"],
        campaign=campaign,
        parent_job_id=parent_job_id,
        workflow_id=workflow_id,
        workflow_stage=workflow_stage,
        preflight_notes=notes,
    )
    uploads = {f"{INPUT_DIR}/{n}": p for n, p in by_name.items()}
    return PreparedJob(record, tmpl, resolved, config_text, sbatch_text, uploads, remote, extra)


def _inputs(
    files: Sequence[str | Path], remote_inputs: Mapping[str, str] | None, staged_inputs: Mapping[str, str] | None
) -> tuple[dict[str, Path], dict[str, str], dict[str, str]]:
    """The job's local files by name (each exists, each name safe) and its remote ones (absolute paths,
    no name given twice)."""
    paths = [Path(f).expanduser() for f in files]
    for p in paths:
        if not p.is_file():
            raise ValidationError(f"file {p.name or p}", f"not found at {p}")
    check_input_files(paths)
    by_name = {p.name: p for p in paths}
    remote = dict(remote_inputs or {})
    staged = dict(staged_inputs or {})
    for fname, src in {**remote, **staged}.items():
        check_file_name(fname, field=f"file {fname}")
        if not src.startswith("/") or ".." in src.split("/"):
            raise ValidationError(f"file {fname}", f"remote source {src!r} must be an absolute path without '..'")
        if fname in by_name:
            raise ValidationError(f"file {fname}", "given both as a local file and as a remote input")
    return by_name, remote, staged


def _campaign(
    profile: ClusterProfile,
    config_text: str,
    local_files: Mapping[str, Path],
    resolved: ResolvedResources,
    target_ns: float | None,
    su_budget: float | None = None,
) -> tuple[dict[str, Any] | None, CampaignScript | None, dict[str, bytes]]:
    """A campaign's first state, its batch script's settings and its two files (none without a target)."""
    if target_ns is None:
        if su_budget is not None:
            raise ValidationError("--su-budget", "a budget is for a campaign: give --target-ns too")
        return None, None, {}
    structure = read_config(config_text).keywords.get("structure", [""])[-1].rsplit("/", 1)[-1]
    natoms = psf_atoms(local_files[structure]) if structure in local_files else None
    state = initial_state(config_text, target_ns=target_ns, walltime=resolved.walltime, natoms=natoms,
                          startup_s=profile.campaign_startup_s, warn_s=profile.campaign_warn_s)  # fmt: skip
    state = check_budget(state, su_budget, su_per_hour(resolved, profile))
    script = CampaignScript(profile.campaign_warn_s, profile.campaign_python, profile.compute_can_submit,
                            profile.slurm_module, int(state["walltime_s"]))  # fmt: skip
    files = {step.STATE_NAME: (json.dumps(state, indent=1, sort_keys=True) + "\n").encode(),
             "campaign_step.py": step_script()}  # fmt: skip
    return state, script, files


def plan_job(
    profile: ClusterProfile,
    store: JobStore | None,
    *,
    name: str,
    template: str | Template,
    assignments: Sequence[str] = (),
    files: Sequence[str | Path] = (),
    resources: Resources,
    run_preflight: bool = True,
    target_ns: float | None = None,
    su_budget: float | None = None,
    remote_inputs: Mapping[str, str] | None = None,
) -> Planned[PreparedJob]:
    """``job create``'s plan, made before login: ``KEY=VALUE`` assignments parsed and every value,
    file and resource checked (:func:`prepare_job`), ready for the session's user
    (:meth:`Planned.for_session`). ``remote_inputs`` (name -> path on the cluster) are copied there, not
    uploaded (a job cloned from another: :func:`~namdrunner_core.jobs.restart.cloned_inputs`)."""
    values = parse_assignments(list(assignments))

    def make(user: str, now: dt.datetime) -> PreparedJob:
        try:
            return prepare_job(profile, user, store, name=name, template=template, values=values, files=files,
                               resources=resources, run_preflight=run_preflight, now=now, target_ns=target_ns,
                               su_budget=su_budget, remote_inputs=remote_inputs)  # fmt: skip
        except ValidationError as exc:  # the values and the resources are checked on their own too
            raise with_more(exc, _independent_problems(profile, store, template, values, resources)) from None

    return plan_ahead(profile, make)


def _independent_problems(
    profile: ClusterProfile, store: JobStore | None, template: str | Template, values: Mapping[str, Any],
    resources: Resources,
) -> list[tuple[str, str]]:  # fmt: skip
    """The template values' and the resources' problems, each checked apart from the rest."""
    found: list[tuple[str, str]] = []
    try:
        tmpl = resolve_template(store, template)
    except ValidationError:
        return found
    checks = (lambda: validate_values(tmpl, tmpl.canonical(values)), lambda: resolve_resources(resources, profile))
    files = {v.key for v in tmpl.file_variables()}  # matched to the uploads by the main path, not here
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            found += [(f, m) for f, m in problems_of(exc) if f not in files]
    return found
