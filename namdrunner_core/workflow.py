"""Workflows (chained multi-stage runs), restarts from checkpoints, and parameter sweeps.

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
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.errors import NamdRunnerError, ValidationError
from namdrunner_core.jobs.job import Job, PreparedJob, make_job_id, prepare_job, resolve_template
from namdrunner_core.jobs.record import JobRecord, to_rfc3339, utcnow
from namdrunner_core.jobs.submission import submit_once
from namdrunner_core.namd.config import Template, read_config
from namdrunner_core.slurm.resources import Resources, resolve_resources
from namdrunner_core.slurm.script import render_array_sbatch, render_sbatch
from namdrunner_core.slurm.states import JobStatus

if TYPE_CHECKING:
    from namdrunner_core.cluster import ClusterProfile, Session
    from namdrunner_core.store import JobStore


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


def _round_up(n: int, multiple: int) -> int:
    return int(math.ceil(n / multiple) * multiple) if multiple > 1 else n


def _stepspercycle(config_text: str) -> int:
    return int(read_config(config_text).number("stepspercycle", 20) or 20)


def _store_group(
    session: Session,
    store: JobStore,
    group_id: str,
    prepared: Sequence[PreparedJob],
    data: dict[str, Any],
    now: dt.datetime,
) -> None:
    """Upload every prepared job and store the group; on any failure the jobs already made are deleted."""
    created: list[Job] = []
    try:
        for p in prepared:
            created.append(Job.create_prepared(session, store, p))
        store.save_workflow(group_id, data, to_rfc3339(now) or "")
    except BaseException:
        for job in created:
            with contextlib.suppress(NamdRunnerError):
                job.delete()
        raise


def plan_workflow(
    profile: ClusterProfile,
    user: str,
    store: JobStore | None,
    *,
    name: str,
    stages: Sequence[StageSpec],
    shared_files: Sequence[str | Path] = (),
) -> tuple[str, list[PreparedJob]]:
    """Validate and render every stage (no remote I/O): the workflow id and one prepared job per stage.

    ``workflow create --dry-run`` prints this; :meth:`Workflow.create` uploads it.
    """
    if not stages:
        raise ValidationError("stages", "a workflow needs at least one stage")
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValidationError("stages", f"stage names must differ: {names}")
    workflow_id = "wf_" + make_job_id(name)
    prepared = []
    first = 0
    previous_config: str | None = None
    previous_record: JobRecord | None = None
    now = utcnow()
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
            )
        except ValidationError as exc:
            raise ValidationError(f"stage {stage.name}: {exc.field}", exc.message.split(": ", 1)[-1]) from None
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
    return workflow_id, prepared


class Workflow:
    """Stages of jobs run in order on one cluster. Use :meth:`create`, :func:`dna_origami_equilibration`
    or :meth:`load`."""

    def __init__(self, session: Session, store: JobStore, workflow_id: str, data: dict[str, Any]) -> None:
        self.session = session
        self.store = store
        self.id = workflow_id
        self.data = data

    def __repr__(self) -> str:
        return f"<Workflow {self.id} {self.status.value}>"

    @property
    def name(self) -> str:
        """The workflow's display name."""
        return str(self.data.get("name", self.id))

    def jobs(self) -> list[Job]:
        """The stage jobs, in order."""
        records = {r.job_id: r for r in self.store.list_jobs(workflow_id=self.id)}
        return [Job(self.session, self.store, records[j]) for j in self.data["stages"] if j in records]

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
        workflow_id, prepared = plan_workflow(
            session.profile, session.user, store, name=name, stages=stages, shared_files=shared_files
        )
        names = [st.name for st in stages]
        now = prepared[0].record.created_at
        data = {
            "name": name,
            "template_id": template_id,
            "stages": [p.record.job_id for p in prepared],
            "stage_names": names,
            "profile": session.profile.name,
        }
        _store_group(session, store, workflow_id, prepared, data, now)
        return cls(session, store, workflow_id, data)

    @classmethod
    def load(cls, session: Session, store: JobStore, workflow_id: str) -> Workflow:
        """A stored workflow (or sweep) by id or unique prefix; see :func:`load_group`."""
        return load_group(session, store, workflow_id)

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
            self.store.sync(self.session, [j.record for j in active])
        return self

    def refresh(self) -> Workflow:
        """Sync the stages (a failed stage's dependants are marked by the sync itself)."""
        self.store.sync(self.session, [j.record for j in self.jobs()])
        return self


def plan_settlement(records: Sequence[JobRecord]) -> tuple[list[JobRecord], list[str]]:
    """Pure: for the stage records of some workflows, the stages a failed stage stopped (marked
    records) and the Slurm ids still to cancel (sites that leave dependants pending)."""
    by_workflow: dict[str, list[JobRecord]] = {}
    for r in records:
        if r.workflow_id and r.workflow_id.startswith("wf_"):
            by_workflow.setdefault(r.workflow_id, []).append(r)
    marked: list[JobRecord] = []
    to_cancel: list[str] = []
    for stages in by_workflow.values():
        stages.sort(key=lambda r: r.workflow_stage or 0)
        failed = next((r for r in stages if r.status is JobStatus.FAILED), None)
        if failed is None:
            continue
        stage_label = failed.job_name.split(" / ", 1)[-1]
        note = f"not run: stage {stage_label!r} failed"
        for r in stages:
            if (r.workflow_stage or 0) <= (failed.workflow_stage or 0) or r.status is JobStatus.COMPLETED:
                continue
            if r.status.is_active and r.slurm_job_id:
                to_cancel.append(r.slurm_job_id)
            if r.error_info != note or r.status is not JobStatus.CANCELLED:
                marked.append(
                    attrs.evolve(r, status=JobStatus.CANCELLED, error_info=note, updated_at=utcnow(), finalized=True)
                )
    return marked, to_cancel


def settle_workflows(store: JobStore, session: Session, workflow_ids: Sequence[str] | None = None) -> list[str]:
    """After a sync: mark the stages a failed stage stopped, cancelling any still pending (ONE command).
    ``sync`` does this itself; this is for callers that manage records directly. Returns marked ids."""
    ids = (
        workflow_ids
        if workflow_ids is not None
        else sorted({r.workflow_id for r in store.list_jobs(profile=session.profile.name) if r.workflow_id})
    )
    records = [r for wid in ids for r in store.list_jobs(workflow_id=wid)]
    marked, to_cancel = plan_settlement(records)
    if to_cancel:
        session.slurm(["scancel", *to_cancel], check=False)
    if marked:
        store.save_jobs(marked)
        from namdrunner_core.jobs.sync import write_job_infos

        write_job_infos(session, marked)
    return [r.job_id for r in marked]


# -- the DNA-origami equilibration template ------------------------------------------------------------

_BOND = re.compile(r"^(\s*bond\s+\d+\s+\d+\s+)(\S+)(\s+\S+.*)$", re.IGNORECASE)


def scale_extrabonds(text: str, k: float) -> str:
    """An extra-bonds file with every ``bond i j k r0`` spring constant set to ``k`` (other lines kept)."""
    out = []
    for line in text.splitlines():
        m = _BOND.match(line)
        out.append(f"{m.group(1)}{k:g}{m.group(3)}" if m else line)
    return "\n".join(out) + "\n"


ORIGAMI_STAGES: tuple[tuple[str, float | None, str, int], ...] = (
    ("minimize", 0.5, "minimize", 4800),
    ("npt_k0.5", 0.5, "run", 2_400_000),
    ("npt_k0.1", 0.1, "run", 2_400_000),
    ("npt_k0.01", 0.01, "run", 2_400_000),
    ("production", None, "run", 2_400_000),
)


def origami_stages(
    *,
    structure: str | Path,
    coordinates: str | Path,
    parameters: Sequence[str | Path],
    enm: str | Path,
    resources: Resources,
    extra_bonds: str | Path | None = None,
    cell: tuple[float, float, float] = (124, 114, 323),
    steps: Mapping[str, int] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    workdir: Path | None = None,
) -> tuple[list[StageSpec], list[Path]]:
    """The stages (and shared files) of the explicit-solvent equilibration of the Aksimentiev-lab protocol:
    minimisation, NPT with elastic-network spring constants 0.5, 0.1, 0.01, then production.

    The ENM file's ``bond`` lines are rewritten with each stage's k (NAMD has no scaling keyword);
    ``extra_bonds`` (e.g. ``mghh_extrabonds``) stays on in every stage. ``steps`` and ``overrides``
    change any stage's values by stage name.
    """
    enm_path = Path(enm)
    if not enm_path.is_file():
        raise ValidationError("enm", f"elastic-network file not found: {enm_path}")
    params = [Path(p) for p in parameters]
    if not 1 <= len(params) <= 2:
        raise ValidationError("parameters", "give one or two parameter files")
    out_dir = workdir or Path.cwd() / ".namdrunner-workflow-files"
    out_dir.mkdir(parents=True, exist_ok=True)
    base_text = enm_path.read_text(encoding="utf-8", errors="replace")
    stem = enm_path.name.split(".")[0]
    stages = []
    shared = [Path(structure), Path(coordinates), *params] + ([Path(extra_bonds)] if extra_bonds else [])
    for stage_name, k, mode, default_steps in ORIGAMI_STAGES:
        files: list[Path] = []
        values: dict[str, Any] = {
            "output_name": stage_name.replace(".", "p"),
            "execution_command": mode,
            "steps": (steps or {}).get(stage_name, default_steps),
            "cell_x": cell[0],
            "cell_y": cell[1],
            "cell_z": cell[2],
            "structure": Path(structure).name,
            "coordinates": Path(coordinates).name,
            "parameters": params[0].name,
        }
        if len(params) > 1:
            values["parameters_2"] = params[1].name
        if k is not None:
            scaled = out_dir / f"{stem}_k{k:g}.exb"
            scaled.write_text(scale_extrabonds(base_text, k), encoding="utf-8")
            files.append(scaled)
            values["extrabonds"] = scaled.name
        if extra_bonds:
            values["extrabonds_2"] = Path(extra_bonds).name
        values.update((overrides or {}).get(stage_name, {}))
        stages.append(StageSpec(stage_name, "explicit_solvent_npt_v1", values, resources, files))
    return stages, shared


def dna_origami_equilibration(session: Session, store: JobStore, *, name: str, **kwargs: Any) -> Workflow:
    """Create the DNA-origami equilibration workflow; the arguments are :func:`origami_stages`'s."""
    stages, shared = origami_stages(**kwargs)
    return Workflow.create(
        session, store, name=name, stages=stages, shared_files=shared, template_id="dna_origami_equilibration"
    )


WORKFLOW_TEMPLATES = {"dna_origami_equilibration": dna_origami_equilibration}


# -- restart from a checkpoint --------------------------------------------------------------------------

_CHECKPOINT_SCRIPT = r"""
dir=$1
for xsc in "$dir"/outputs/*.xsc; do
  [ -f "$xsc" ] || continue
  prefix=${xsc%.xsc}
  [ -f "$prefix.coor" ] || continue
  step=$(grep -v '^#' -- "$xsc" | awk 'NF {print $1; exit}')
  vel=no; [ -f "$prefix.vel" ] && vel=yes
  printf '%s\t%s\t%s\n' "$step" "${prefix##*/}" "$vel"
done
"""

RESTARTABLE = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


@attrs.frozen(slots=True)
class Checkpoint:
    """The newest restart point of a job: ``<outputs>/<prefix>.coor/.vel/.xsc`` at ``step``."""

    step: int
    prefix: str
    has_velocities: bool


def find_checkpoint(job: Job) -> Checkpoint:
    """The newest checkpoint in the job's outputs (final outputs of a completed job win a tie)."""
    out = job.session.transport.run_script(_CHECKPOINT_SCRIPT, [job.record.results_dir]).stdout
    found: list[Checkpoint] = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0].isdigit():
            found.append(Checkpoint(int(parts[0]), parts[1], parts[2] == "yes"))
    if not found:
        raise ValidationError(
            "job",
            f"job {job.record.job_id} has no checkpoint files (outputs/*.xsc with .coor): nothing to restart from; "
            "set restartfreq so NAMD writes them",
        )
    return max(found, key=lambda c: (c.step, not c.prefix.endswith(".restart")))


def restart_job(
    job: Job,
    *,
    steps: int | None = None,
    resources: Resources | None = None,
    name: str | None = None,
) -> Job:
    """A new job continuing ``job`` from its newest checkpoint (copied on the cluster).

    ``firsttimestep`` comes from the checkpoint; the steps default to what the parent had left
    (rounded up to a multiple of stepspercycle); resources may differ (another partition, QOS or GPUs:
    see :meth:`Resources.overridden`). The parent is kept as lineage.
    """
    if job.record.status not in RESTARTABLE:
        raise ValidationError(
            "status",
            f"job {job.record.job_id} is {job.record.status.value}; restart a Completed, Failed "
            "(e.g. TIMEOUT) or Cancelled job",
        )
    prepared = plan_restart(
        job.session.profile,
        job.session.user,
        job.store,
        job.record,
        find_checkpoint(job),
        steps=steps,
        resources=resources,
        name=name,
    )
    return Job.create_prepared(job.session, job.store, prepared)


def plan_restart(
    profile: ClusterProfile,
    user: str,
    store: JobStore | None,
    parent: JobRecord,
    cp: Checkpoint,
    *,
    steps: int | None = None,
    resources: Resources | None = None,
    name: str | None = None,
) -> PreparedJob:
    """The restart of ``parent`` from checkpoint ``cp``, validated and rendered with no remote I/O."""
    tmpl = resolve_template(store, parent.template_id)
    where = parent.results_dir
    values = {
        k: v
        for k, v in parent.template_values.items()
        if k not in ("restart_coordinates", "restart_velocities", "restart_xsc", "first_timestep")
    }
    remote: dict[str, str] = {}
    restart_names = {f"{cp.prefix}.coor", f"{cp.prefix}.vel", f"{cp.prefix}.xsc"}
    for fname in parent.input_files:
        if fname not in restart_names:
            remote[fname] = f"{parent.project_dir}/input_files/{fname}"
    remote[f"{cp.prefix}.coor"] = f"{where}/outputs/{cp.prefix}.coor"
    remote[f"{cp.prefix}.xsc"] = f"{where}/outputs/{cp.prefix}.xsc"
    values["restart_coordinates"] = f"{cp.prefix}.coor"
    values["restart_xsc"] = f"{cp.prefix}.xsc"
    minimizing = values.get("execution_command") == "minimize"
    if cp.has_velocities and not minimizing:
        remote[f"{cp.prefix}.vel"] = f"{where}/outputs/{cp.prefix}.vel"
        values["restart_velocities"] = f"{cp.prefix}.vel"
    values["first_timestep"] = cp.step
    # Remaining steps: the parent's plan minus what it got done, in whole cycles.
    parent_first = int(parent.template_values.get("first_timestep") or 0)
    parent_total = parent.total_steps or 0
    remaining = steps if steps is not None else parent_total - (cp.step - parent_first)
    if remaining <= 0:
        raise ValidationError(
            "steps", f"job {parent.job_id} already ran its {parent_total} steps; pass --steps N to continue further"
        )
    spc = _stepspercycle_of(tmpl, values)
    values["steps"] = _round_up(remaining, spc)  # NAMD's rule holds for minimize as for run
    if cp.step % spc:
        raise ValidationError("first_timestep", f"checkpoint step {cp.step} is not a multiple of stepspercycle {spc}")
    return prepare_job(
        profile,
        user,
        store,
        name=name or f"{parent.job_name} (restart)",
        template=tmpl,
        values=values,
        resources=resources or parent.resources,
        remote_inputs=remote,
        parent_job_id=parent.job_id,
        workflow_id=parent.workflow_id,
        workflow_stage=parent.workflow_stage,
    )


def _stepspercycle_of(tmpl: Template, values: Mapping[str, Any]) -> int:
    if any(v.key == "stepspercycle" for v in tmpl.variables):
        return int(values.get("stepspercycle") or tmpl.variable("stepspercycle").default or 20)
    return int(read_config(tmpl.text).number("stepspercycle", 20) or 20)


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
) -> tuple[str, list[PreparedJob], list[dict[str, Any]]]:
    """Validate and render every grid point (no remote I/O): the sweep id, prepared jobs and points."""
    points = _grid_points(grid)
    if len(points) > 1000:
        raise ValidationError("grid", f"{len(points)} points; at most 1000 in one sweep")
    sweep_id = "sw_" + make_job_id(name)
    now = utcnow()
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
            raise ValidationError(f"point {label}: {exc.field}", exc.message.split(": ", 1)[-1]) from None
    return sweep_id, prepared, points


class Sweep(Workflow):
    """One template over a grid of values: N jobs submitted as ONE Slurm job array, tracked as a group."""

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
        sweep_id, prepared, points = plan_sweep(
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
        now = prepared[0].record.created_at
        data = {
            "name": name,
            "kind": "sweep",
            "stages": [p.record.job_id for p in prepared],
            "stage_names": [",".join(f"{k}={v}" for k, v in pt.items()) for pt in points],
            "profile": session.profile.name,
            "grid": {k: list(v) for k, v in grid.items()},
        }
        _store_group(session, store, sweep_id, prepared, data, now)
        return cls(session, store, sweep_id, data)

    def submit(self) -> Sweep:
        """Copy every point to scratch (ONE command) and submit them as ONE job array."""
        jobs = [j for j in self.jobs() if j.status in (JobStatus.CREATED, JobStatus.FAILED, JobStatus.CANCELLED)]
        if not jobs:
            raise ValidationError("status", f"sweep {self.id} has nothing to submit")
        s = self.session
        args: list[str] = []
        for j in jobs:
            args += [j.record.project_dir, j.record.scratch_dir]
        s.transport.run_script(
            'while [ $# -ge 2 ]; do mkdir -p -- "$(dirname -- "$2")" && rsync -a -- "$1/" "$2/" || exit 1; shift 2; '
            "done",
            args,
        )
        script = array_script(self.id, [j.record for j in jobs], s.profile)
        array_dir = f"{s.scratch_root}/{self.id}"
        s.transport.run(["mkdir", "-p", array_dir])
        s.transport.run(["bash", "-c", 'cat > "$1"', "_", f"{array_dir}/array.sbatch"], stdin=script.encode())
        # The same path as a single job: the site's Slurm module, a token, never submitted twice.
        token = f"nr-{secrets.token_hex(6)}"
        array_id = submit_once(
            s, workdir=array_dir, script_name="array.sbatch", token=token, job_name=self.id, extra=[]
        )
        now = utcnow()
        records = [
            attrs.evolve(
                j.record,
                status=JobStatus.PENDING,
                slurm_job_id=f"{array_id}_{i}",
                slurm_state="PENDING",
                submitted_at=now,
                updated_at=now,
                finalized=False,
                completed_at=None,
                error_info=None,
                log_state=None,
                progress=None,
            )
            for i, j in enumerate(jobs)
        ]
        self.store.save_jobs(records)
        from namdrunner_core.jobs.sync import write_job_infos

        write_job_infos(s, records)
        return self


def load_group(session: Session, store: JobStore, group_id: str) -> Workflow:
    """A stored workflow or sweep by id (or unique prefix), as the right class."""
    data = store.get_workflow(group_id)
    cls = Sweep if data.get("kind") == "sweep" else Workflow
    gid = data.pop("id")
    return cls(session, store, gid, {k: v for k, v in data.items() if k != "created_at"})
