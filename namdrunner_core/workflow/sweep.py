"""Parameter sweeps: one template over a grid of values, submitted as ONE Slurm job array."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.errors import ValidationError, under
from namdrunner_core.jobs.job import SUBMITTABLE
from namdrunner_core.jobs.prepare import Planned, PreparedJob, make_job_id, plan_ahead, prepare_job
from namdrunner_core.jobs.submission import find_by_token, new_token, submit_once, submitted
from namdrunner_core.jobs.sync import write_job_infos
from namdrunner_core.models import GroupRecord, JobRecord, utcnow
from namdrunner_core.namd.config import Template, parse_assignments
from namdrunner_core.scripts import STAGE_SWEEP
from namdrunner_core.serde import to_rfc3339
from namdrunner_core.slurm.resources import Resources, resolve_resources
from namdrunner_core.slurm.script import render_array_sbatch, render_sbatch
from namdrunner_core.workflow.workflow import Workflow, _store_group, check_plan_user

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.store import JobStore


# -- sweeps ------------------------------------------------------------------------------------------


def array_script(sweep_id: str, records: Sequence[JobRecord], profile: ClusterProfile) -> str:
    """The job-array script a sweep submits (``sweep create --dry-run`` prints exactly this).

    Each point's own ``job.sbatch`` runs in its own directory; the array asks for the points'
    resources, rendered from their records as at creation (every point asks for the same).
    """
    first = records[0]
    job_sbatch = render_sbatch(
        job_name=first.job_id,
        job_id=first.job_id,
        workdir=first.scratch_dir,
        resources=resolve_resources(first.resources, profile),
        profile=profile,
    )
    return render_array_sbatch(
        name=sweep_id,
        job_sbatch=job_sbatch,
        scratch_dirs=[r.scratch_dir for r in records],
        job_ids=[r.job_id for r in records],
    )


def submit_array(
    session: Session, store: JobStore, records: Sequence[JobRecord], *, name: str, extra: Sequence[str] = ()
) -> str:
    """Copy the jobs' project dirs to scratch (ONE command) and submit them as ONE job array named
    ``name`` (task i = ``records[i]``, its array script in ``<scratch root>/<name>``); the array id.

    The same path as a single job (:meth:`Job.submit`): the site's Slurm module, a token saved on
    every task's record BEFORE sbatch, a retry that first looks the token up (never a second array),
    and the same record reset (:func:`~namdrunner_core.jobs.submission.submitted`). A sweep's array
    and each stage of replica chains (:mod:`~namdrunner_core.workflow.replicas`) go through it.
    """
    s = session
    records = list(records)
    previous = next((r.slurm_job_id for r in records if r.slurm_job_id), None)
    tokens = {r.submit_token for r in records}
    array_id = None
    if len(tokens) == 1 and None not in tokens:  # an earlier attempt may have queued the array
        adopted = find_by_token(s, records[0].submit_token or "", name, after_id=previous)
        if adopted is not None and adopted.split("_")[0] != (previous or "").split("_")[0]:
            array_id = adopted.split("_")[0]
    if array_id is None:
        token = new_token()
        now = utcnow()
        records = [attrs.evolve(r, submit_token=token, updated_at=now) for r in records]
        store.save_jobs(records)
        array_dir = f"{s.scratch_root}/{name}"
        pairs = [x for r in records for x in (r.project_dir, r.scratch_dir)]
        s.run_remote(STAGE_SWEEP, [array_dir, *pairs], stdin=array_script(name, records, s.profile).encode())
        array_id = submit_once(s, workdir=array_dir, script_name="array.sbatch", token=token, job_name=name,
                               extra=list(extra), after_id=previous)  # fmt: skip
    now = utcnow()
    records = [submitted(r, f"{array_id}_{i}", now) for i, r in enumerate(records)]
    store.save_jobs(records)
    write_job_infos(s, records)
    return array_id


@attrs.frozen(slots=True)
class SweepPlan:
    """A sweep validated and rendered, nothing uploaded: ``sweep create --dry-run`` prints it (with
    :attr:`array_script`) and :meth:`Sweep.create_planned_sweep` creates exactly it (the same ids)."""

    id: str
    name: str
    template_id: str
    grid: dict[str, list[Any]]
    points: tuple[dict[str, Any], ...]
    prepared: tuple[PreparedJob, ...]
    array_script: str


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """``["temperature=290,300,310", "seed=1,2"]`` as ``{"temperature": ["290", "300", "310"], ...}``.

    Raises :class:`ValidationError` naming ``--grid`` for an item that is not ``KEY=V1,V2,...``.
    """
    grid = {}
    for key, value in parse_assignments(list(items), option="--grid").items():
        grid[key] = [x.strip() for x in value.split(",") if x.strip()]
        if not grid[key]:
            raise ValidationError("--grid", f"{key}= has no values (e.g. --grid {key}=290,300,310)")
    return grid


def _grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = [{}]
    for key, options in grid.items():
        if not options:
            raise ValidationError(f"grid.{key}", "needs at least one value")
        points = [{**p, key: v} for p in points for v in options]
    return points


def plan_sweep(
    profile: ClusterProfile,
    user: str,
    store: JobStore | None,
    *,
    name: str,
    template: str | Template,
    grid: Mapping[str, Sequence[Any]],
    files: Sequence[str | Path],
    resources: Resources,
    values: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> SweepPlan:
    """Validate and render every grid point (no remote I/O): the sweep id, prepared jobs and points."""
    points = _grid_points(grid)
    limit = min(1000, profile.max_array_size)
    if len(points) > limit:
        raise ValidationError(
            "grid",
            f"{len(points)} points; at most {limit} in one sweep (one job array; "
            f"MaxArraySize {profile.max_array_size})",
        )
    sweep_id = "sw_" + make_job_id(name)
    now = now or utcnow()
    prepared = []
    for i, point in enumerate(points):
        label = ",".join(f"{k}={v}" for k, v in point.items())
        try:
            prepared.append(
                prepare_job(
                    profile,
                    user,
                    store,
                    name=f"{name} [{label}]",
                    template=template,
                    values={**(values or {}), **point},
                    files=files,
                    resources=resources,
                    workflow_id=sweep_id,
                    workflow_stage=i,
                    now=now + dt.timedelta(microseconds=i),
                )
            )
        except ValidationError as exc:
            raise under(f"point {label}", exc) from None
    records = [p.record for p in prepared]
    return SweepPlan(
        id=sweep_id,
        name=name,
        template_id=template if isinstance(template, str) else template.id,
        grid={k: list(v) for k, v in grid.items()},
        points=tuple(points),
        prepared=tuple(prepared),
        array_script=array_script(sweep_id, records, profile),
    )


def plan_sweep_ahead(
    profile: ClusterProfile,
    store: JobStore | None,
    *,
    name: str,
    template: str | Template,
    grid_items: Sequence[str],
    assignments: Sequence[str] = (),
    files: Sequence[str | Path] = (),
    resources: Resources,
) -> Planned[SweepPlan]:
    """``sweep create``'s plan, made before login: ``--grid KEY=V1,V2`` and ``--set KEY=VALUE`` items
    parsed, every point validated (:func:`plan_sweep`), ready for the session's user."""
    grid = parse_grid(grid_items)
    values = parse_assignments(list(assignments))

    def make(user: str, now: dt.datetime) -> SweepPlan:
        return plan_sweep(profile, user, store, name=name, template=template, grid=grid, files=files,
                          resources=resources, values=values, now=now)  # fmt: skip

    return plan_ahead(profile, make)


class Sweep(Workflow):
    """One template over a grid of values: N jobs submitted as ONE Slurm job array, tracked as a group."""

    KIND = "sweep"

    @classmethod
    def create_sweep(
        cls,
        session: Session,
        store: JobStore,
        *,
        name: str,
        template: str | Template,
        grid: Mapping[str, Sequence[Any]],
        files: Sequence[str | Path],
        resources: Resources,
        values: Mapping[str, Any] | None = None,
    ) -> Sweep:
        """Validate every point, then create one job per point (e.g. 5 temperatures x 3 seeds = 15)."""
        plan = plan_sweep(
            session.profile,
            session.user,
            store,
            name=name,
            template=template,
            grid=grid,
            files=files,
            resources=resources,
            values=values,
        )
        return cls.create_planned_sweep(session, store, plan)

    @classmethod
    def create_planned_sweep(cls, session: Session, store: JobStore, plan: SweepPlan) -> Sweep:
        """Create what :func:`plan_sweep` planned (the ids a ``--dry-run`` printed are the ids made)."""
        check_plan_user(plan.prepared, session)
        group = GroupRecord(
            id=plan.id,
            name=plan.name,
            kind="sweep",
            stages=tuple(p.record.job_id for p in plan.prepared),
            stage_names=tuple(",".join(f"{k}={v}" for k, v in pt.items()) for pt in plan.points),
            profile=session.profile.name,
            created_at=to_rfc3339(plan.prepared[0].record.created_at) or "",
            template_id=plan.template_id,
            grid=plan.grid,
        )
        _store_group(session, store, group, plan.prepared)
        return cls(session, store, group)

    def submit(self) -> Sweep:
        """Copy every point to scratch (ONE command) and submit them as ONE job array.

        The same path as a single job (:meth:`Job.submit`): the site's Slurm module, a token saved on
        every point BEFORE sbatch, a retry that first looks the token up (never a second array), and
        the same record reset (:func:`~namdrunner_core.jobs.submission.submitted`).
        """
        jobs = [j for j in self.jobs() if j.status in SUBMITTABLE]
        if not jobs:
            raise ValidationError("status", f"sweep {self.id} has nothing to submit")
        submit_array(self.session, self.store, [j.record for j in jobs], name=self.id)
        return self
