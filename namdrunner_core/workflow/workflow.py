"""Workflows: chained multi-stage runs.

A :class:`Workflow` is an ordered list of stages, each a job. Stages are submitted together, each
depending on the previous one (``--dependency=afterok:<id> --kill-on-invalid-dep=yes``), and each
takes the previous stage's final ``.coor/.vel/.xsc`` ON THE CLUSTER when it starts (copied into its
``input_files/`` by its batch script): no bytes go through the client. ``firsttimestep`` is carried
from stage to stage. A failed stage stops the chain: Slurm cancels the dependants (namdrunner does
so itself where a site leaves them pending with ``DependencyNeverSatisfied``) and they are marked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import attrs

from namdrunner_core.campaign_view import campaign_json
from namdrunner_core.errors import NamdRunnerError, ValidationError, under
from namdrunner_core.jobs.bulk import delete_jobs
from namdrunner_core.jobs.job import Job
from namdrunner_core.jobs.prepare import PreparedJob, make_job_id, prepare_job, resolve_template
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.models import GroupRecord, JobRecord, job_json, utcnow
from namdrunner_core.namd.config import Template, parse_assignments, read_config
from namdrunner_core.serde import HIDDEN, converter, to_data, to_rfc3339
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.transport.protocol import ProgressCallback

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.store import JobStore
    from namdrunner_core.workflow.equilibration import WorkflowsAnalysis


@attrs.frozen(slots=True)
class StageSpec:
    """One stage: a job spec, and whether it continues from the previous stage's outputs."""

    name: str
    template: str | Template
    values: Mapping[str, Any]
    resources: Resources
    files: Sequence[str | Path] = ()
    continue_from_previous: bool = True
    use_velocities: bool | None = None  # None: unless the previous stage was a minimisation
    #: the last stage only: a campaign carried to this simulated time (ns) over as many segments as it takes
    target_ns: float | None = None


def aggregate_status(statuses: Sequence[JobStatus]) -> JobStatus:
    """One status for a group of jobs: Failed beats Running beats Pending; all Completed is Completed."""
    if not statuses:
        return JobStatus.CREATED
    if all(s is JobStatus.COMPLETED for s in statuses):
        return JobStatus.COMPLETED
    for s in (JobStatus.FAILED, JobStatus.RUNNING, JobStatus.PENDING, JobStatus.UNKNOWN):
        if s in statuses:
            return s
    if all(s is JobStatus.CREATED for s in statuses):
        return JobStatus.CREATED
    return JobStatus.CANCELLED


def _stepspercycle(config_text: str) -> int:
    return int(read_config(config_text).number("stepspercycle", 20) or 20)


def check_plan_user(prepared: Sequence[PreparedJob], session: Session) -> None:
    """Refuse to create a plan made for another user: its paths hold that user's name."""
    planned = prepared[0].record.remote_user if prepared else session.user
    if planned != session.user:
        raise ValidationError(
            "user",
            f"the plan was made for user {planned!r} but the session logged in as {session.user!r}; "
            "plan again with the session's user",
        )


def _store_group(
    session: Session,
    store: JobStore,
    group: GroupRecord,
    prepared: Sequence[PreparedJob],
    progress: ProgressCallback | None = None,
) -> None:
    """Upload every prepared job and store the group; on any failure the jobs already made are deleted.
    ``progress`` gets the bytes of all of them: (sent so far, in all)."""
    created: list[Job] = []
    sizes = [p.upload_size for p in prepared] if progress is not None else [0] * len(prepared)
    total = sum(sizes)
    try:  # each stage's bytes counted after the stages before it (their sizes known up front)
        for p, before in zip(prepared, itertools.accumulate(sizes, initial=0), strict=False):
            each = None if progress is None else lambda done, _t, before=before: progress(before + done, total)
            created.append(Job.create_prepared(session, store, p, progress=each))
        store.save_workflow(group)
    except BaseException:
        for job in created:
            with contextlib.suppress(NamdRunnerError):
                job.delete()
        raise


@attrs.frozen(slots=True)
class WorkflowPlan:
    """A workflow validated and rendered, nothing uploaded: ``workflow create --dry-run`` prints it and
    :meth:`Workflow.create_planned` creates exactly it (the same ids)."""

    id: str
    name: str
    stage_names: tuple[str, ...]
    prepared: tuple[PreparedJob, ...]
    template_id: str | None = None


def parse_stage_assignments(assignments: Sequence[str]) -> dict[str, dict[str, str]]:
    """``["production.temperature=310", ...]`` as ``{"production": {"temperature": "310"}}``.

    Raises :class:`ValidationError` naming ``--set`` for an item that is not ``STAGE.KEY=VALUE``.
    """
    overrides: dict[str, dict[str, str]] = {}
    for key, value in parse_assignments(list(assignments)).items():
        stage, sep, var = key.rpartition(".")  # a stage name may hold dots (npt_k0.1); a key never does
        if not sep or not stage or not var:
            raise ValidationError("--set", f"{key!r} is not STAGE.KEY (e.g. --set production.temperature=310)")
        overrides.setdefault(stage, {})[var] = value
    return overrides


def parse_stage_steps(items: Sequence[str]) -> dict[str, int]:
    """``["production=4800000"]`` as ``{"production": 4800000}``; a bad item names ``--steps``."""
    out = {}
    for stage, value in parse_assignments(list(items), option="--steps").items():
        if not value.strip().isdigit():
            raise ValidationError("--steps", f"{stage}={value!r}: steps must be a whole number (e.g. {stage}=4800000)")
        out[stage] = int(value)
    return out


def _check_stages(stages: Sequence[StageSpec]) -> None:
    """At least one stage, names that differ, a campaign only as the last stage."""
    if not stages:
        raise ValidationError("stages", "a workflow needs at least one stage")
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValidationError("stages", f"stage names must differ: {names}")
    for s in stages[:-1]:
        if s.target_ns is not None:
            raise ValidationError(
                f"stage {s.name}: target_ns", "only the last stage may be a campaign (a target in ns)"
            )


def plan_workflow(
    profile: ClusterProfile,
    user: str,
    store: JobStore | None,
    *,
    name: str,
    stages: Sequence[StageSpec],
    shared_files: Sequence[str | Path] = (),
    template_id: str | None = None,
    now: dt.datetime | None = None,
) -> WorkflowPlan:
    """Validate and render every stage (no remote I/O): the workflow id and one prepared job per stage.

    ``workflow create --dry-run`` prints this; :meth:`Workflow.create_planned` uploads it.
    """
    _check_stages(stages)
    workflow_id = "wf_" + make_job_id(name)
    prepared = []
    first = 0
    previous_config: str | None = None
    previous_record: JobRecord | None = None
    now = now or utcnow()
    for index, stage in enumerate(stages):
        values = dict(stage.values)
        staged: dict[str, str] = {}
        if index > 0 and stage.continue_from_previous:
            if previous_record is None or previous_config is None:  # pragma: no cover - set by the loop
                raise NamdRunnerError("internal: no previous stage")
            prev_out = read_config(previous_config).get("outputName") or ""
            prefix = prev_out.split("/", 1)[1] if "/" in prev_out else prev_out
            src = f"{previous_record.scratch_dir}/{prev_out}"
            prev_cmds = read_config(previous_config).commands
            minimized = bool(prev_cmds) and prev_cmds[-1][0] == "minimize"
            use_vel = stage.use_velocities if stage.use_velocities is not None else not minimized
            staged[f"{prefix}.coor"] = f"{src}.coor"
            staged[f"{prefix}.xsc"] = f"{src}.xsc"
            values.setdefault("restart_coordinates", f"{prefix}.coor")
            values.setdefault("restart_xsc", f"{prefix}.xsc")
            if use_vel:
                staged[f"{prefix}.vel"] = f"{src}.vel"
                values.setdefault("restart_velocities", f"{prefix}.vel")
            values.setdefault("first_timestep", first)
        tmpl = resolve_template(store, stage.template)
        job_name = f"{name} / {stage.name}"
        try:
            p = prepare_job(
                profile,
                user,
                store,
                name=job_name,
                template=tmpl,
                values=values,
                files=[*shared_files, *stage.files],
                resources=stage.resources,
                workflow_id=workflow_id,
                workflow_stage=index,
                staged_inputs=staged,
                now=now + dt.timedelta(microseconds=index),
                target_ns=stage.target_ns,
            )
        except ValidationError as exc:
            raise under(f"stage {stage.name}", exc) from None
        spc = _stepspercycle(p.config_text)
        first = int(read_config(p.config_text).number("firsttimestep", 0) or 0) + (p.record.total_steps or 0)
        if first % spc:
            raise ValidationError(
                f"stage {stage.name}: steps",
                f"the next stage would start at step {first}, not a multiple of stepspercycle {spc}; "
                f"make the steps a multiple of {spc}",
            )
        prepared.append(p)
        previous_record, previous_config = p.record, p.config_text
    return WorkflowPlan(workflow_id, name, tuple(s.name for s in stages), tuple(prepared), template_id)


class Workflow:
    """Stages of jobs run in order on one cluster. Use :meth:`create`, :func:`dna_origami_equilibration`
    or :meth:`load`. ``group`` is the stored :class:`~namdrunner_core.models.GroupRecord`."""

    #: the stored ``kind`` this class stands for; :meth:`load` picks the class by it
    KIND: ClassVar[str] = "workflow"

    def __init__(self, session: Session, store: JobStore, group: GroupRecord) -> None:
        self.session = session
        self.store = store
        self.group = group

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.status.value}>"

    @property
    def id(self) -> str:
        """The group's id (``wf_...`` or ``sw_...``)."""
        return self.group.id

    @property
    def name(self) -> str:
        """The workflow's display name."""
        return self.group.name

    @property
    def stage_names(self) -> tuple[str, ...]:
        """The stages' labels, in order (a sweep's ``key=value`` points)."""
        return self.group.stage_names

    def jobs(self) -> list[Job]:
        """The stage jobs, in order."""
        records = {r.job_id: r for r in self.store.list_jobs(workflow_id=self.id)}
        return [Job(self.session, self.store, records[j]) for j in self.group.stages if j in records]

    @property
    def status(self) -> JobStatus:
        """The aggregate status of the stages."""
        return aggregate_status([j.status for j in self.jobs()])

    # -- creation -------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        session: Session,
        store: JobStore,
        *,
        name: str,
        stages: Sequence[StageSpec],
        shared_files: Sequence[str | Path] = (),
        template_id: str | None = None,
    ) -> Workflow:
        """Validate every stage, then create one job per stage (nothing is submitted yet).

        ``shared_files`` are uploaded to every stage (structure, coordinates, parameters).
        All stages are validated before the first is uploaded; if a later upload fails, the stages
        already created are deleted again.
        """
        plan = plan_workflow(
            session.profile,
            session.user,
            store,
            name=name,
            stages=stages,
            shared_files=shared_files,
            template_id=template_id,
        )
        return cls.create_planned(session, store, plan)

    @classmethod
    def create_planned(
        cls,
        session: Session,
        store: JobStore,
        plan: WorkflowPlan,
        *,
        progress: ProgressCallback | None = None,
    ) -> Workflow:
        """Create what :func:`plan_workflow` planned (the ids a ``--dry-run`` printed are the ids made);
        ``progress`` gets the bytes of every stage's upload: (sent so far, in all).

        The plan must have been made for this session's user (its paths hold the user's name)."""
        check_plan_user(plan.prepared, session)
        first = plan.prepared[0].record
        group = GroupRecord(
            id=plan.id,
            name=plan.name,
            kind="workflow",
            stages=tuple(p.record.job_id for p in plan.prepared),
            stage_names=plan.stage_names,
            profile=session.profile.name,
            created_at=to_rfc3339(first.created_at) or "",
            template_id=plan.template_id,
        )
        _store_group(session, store, group, plan.prepared, progress)
        return cls(session, store, group)

    @classmethod
    def load(cls, session: Session, store: JobStore, workflow_id: str) -> Self:
        """A stored group of this class's kind by its EXACT id (``Workflow.load`` a workflow,
        ``Sweep.load`` a sweep); :func:`~namdrunner_core.workflow.load_group` loads either."""
        group = store.get_workflow(workflow_id)
        if group.kind != cls.KIND:
            raise ValidationError("WORKFLOW_ID", f"{workflow_id} is a {group.kind}: load it with load_group")
        return cls(session, store, group)

    # -- running --------------------------------------------------------------------------------
    def submit(self) -> Workflow:
        """Submit every stage now, each with ``afterok`` on the one before."""
        previous: str | None = None
        for job in self.jobs():
            if job.status in (JobStatus.COMPLETED,):
                previous = None
                continue
            job.submit(dependency=f"afterok:{previous}" if previous else None)
            previous = job.record.slurm_job_id
        return self

    def cancel(self) -> Workflow:
        """Cancel every stage still queued or running."""
        active = [j for j in self.jobs() if j.record.slurm_job_id and j.status.is_active]
        if active:
            self.session.slurm(["scancel", *[j.record.slurm_job_id or "" for j in active]])
            sync_jobs(self.store, self.session, [j.record for j in active])
        return self

    def analysis(self, into: str | Path | None = None, *, replicas: Sequence[Workflow] = ()) -> WorkflowsAnalysis:
        """Is each stage equilibrated? Every stage's run judged (:meth:`Job.analysis`); with ``replicas``
        (workflows of the same stages), each stage's series compared across all of them: do their means
        agree within error, and which one is off."""
        from namdrunner_core.workflow.equilibration import analyze_workflows

        ids = list(dict.fromkeys([self.id, *[w.id for w in replicas]]))
        return analyze_workflows(self.session, self.store, ids, Path(into) if into is not None else None)

    def refresh(self) -> Workflow:
        """Sync the stages (a failed stage's dependants are marked by the sync itself)."""
        sync_jobs(self.store, self.session, [j.record for j in self.jobs()])
        return self

    def delete(self, *, force: bool = False) -> list[str]:
        """Cancel what is still queued or running, then delete every stage through the delete safety
        check (:meth:`Job.delete`); the group goes with its last job. Returns the deleted job ids.

        Every stage is checked first: a stage whose results are still on scratch only (copy-back not
        verified) refuses the whole delete unless ``force``, before anything is deleted.
        """
        members = [j.id for j in self.jobs()]
        deleted = delete_jobs(self.session, self.store, members, force=force) if members else []
        self.store.delete_workflow(self.id)  # a group whose jobs were deleted earlier, one by one
        return deleted

    def view(self) -> WorkflowView:
        """What ``workflow show`` shows: the group, its aggregate status and every stage's job."""
        jobs = self.jobs()
        return WorkflowView(
            self.group,
            aggregate_status([j.status for j in jobs]),
            [(self.group.stage_name(j.id), j.record) for j in jobs],
        )


@attrs.frozen(slots=True)
class WorkflowView:
    """A workflow or sweep as ``--json`` shows it: the group's fields, ``status``, and ``stages[]``, each
    a job's ``--json`` form with its ``stage`` label."""

    group: GroupRecord
    status: JobStatus
    stages: list[tuple[str | None, JobRecord]]


def _stage_data(label: str | None, r: JobRecord) -> dict[str, Any]:
    out = {"stage": label, **job_json(r)}
    if r.campaign is not None:  # a campaign stage: where it stands, and every attempt
        latest = r.progress.step if r.progress else None
        out["campaign"] = campaign_json(r.campaign, latest)
    return out


def _workflow_view_data(v: WorkflowView) -> dict[str, Any]:
    return {**to_data(v.group), "status": v.status.value,
            "stages": [_stage_data(label, r) for label, r in v.stages]}  # fmt: skip


converter.register_unstructure_hook(WorkflowView, _workflow_view_data)


@attrs.frozen(slots=True)
class GroupSummary:
    """One row of ``workflow list``: a group, its aggregate status and how many jobs it has."""

    __serde_computed__ = ("id", "name", "kind", "created_at")

    group: GroupRecord = attrs.field(metadata=HIDDEN)
    status: JobStatus
    jobs: int

    @property
    def id(self) -> str:
        """The group's id."""
        return self.group.id

    @property
    def name(self) -> str:
        """The group's name."""
        return self.group.name

    @property
    def kind(self) -> str:
        """``workflow`` or ``sweep``."""
        return self.group.kind

    @property
    def created_at(self) -> str:
        """When the group was made (RFC 3339)."""
        return self.group.created_at


def list_groups(store: JobStore) -> list[GroupSummary]:
    """Every workflow and sweep with its aggregate status, newest first."""
    return [summary for summary, _ in groups_with_jobs(store)]


def groups_with_jobs(store: JobStore) -> list[tuple[GroupSummary, list[JobRecord]]]:
    """Every workflow and sweep, newest first, with its summary and its member jobs (each group's
    jobs read once, for a page that shows both)."""
    out = []
    for group in store.list_workflows():
        jobs = store.list_jobs(workflow_id=group.id)
        out.append((GroupSummary(group, aggregate_status([r.status for r in jobs]), len(jobs)), jobs))
    return out
