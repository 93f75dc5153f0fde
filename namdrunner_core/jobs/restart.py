"""Restart from a checkpoint: a new job continuing a finished one from its newest ``.coor/.vel/.xsc``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.errors import ValidationError
from namdrunner_core.jobs.prepare import PreparedJob, prepare_job, resolve_template
from namdrunner_core.models import JobRecord
from namdrunner_core.namd.config import INPUT_DIR, Template, read_config
from namdrunner_core.scripts import FIND_CHECKPOINT
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import JobStatus

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.store import JobStore


def _round_up(n: int, multiple: int) -> int:
    return int(math.ceil(n / multiple) * multiple) if multiple > 1 else n


# -- restart from a checkpoint --------------------------------------------------------------------------

RESTARTABLE = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


@attrs.frozen(slots=True)
class Checkpoint:
    """The newest restart point of a job: ``<outputs>/<prefix>.coor/.vel/.xsc`` at ``step``.

    ``suffix`` is ``".old"`` when only NAMD's previous set is whole (the job was killed while it
    rewrote its restart files); the files are copied into the new job under their plain names.
    """

    step: int
    prefix: str
    has_velocities: bool
    suffix: str = ""


def find_checkpoint(session: Session, record: JobRecord) -> Checkpoint:
    """The newest checkpoint in the job's outputs (final outputs of a completed job win a tie); ONE command."""
    out = session.run_remote(FIND_CHECKPOINT, [record.results_dir]).stdout
    found: list[Checkpoint] = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0].isdigit():
            found.append(Checkpoint(int(parts[0]), parts[1], parts[2] == "yes", parts[3] if len(parts) > 3 else ""))
    if not found:
        raise ValidationError(
            "job",
            f"job {record.job_id} has no checkpoint files (outputs/*.xsc with .coor): nothing to restart from; "
            "set restartfreq so NAMD writes them",
        )
    return max(found, key=lambda c: (c.step, not c.suffix, not c.prefix.endswith(".restart")))


def check_restartable(record: JobRecord) -> None:
    """Refuse a job that is still queued or running (or was never submitted)."""
    if record.status not in RESTARTABLE:
        raise ValidationError(
            "status",
            f"job {record.job_id} is {record.status.value}; restart a Completed, Failed "
            "(e.g. TIMEOUT) or Cancelled job",
        )


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
    remote[f"{cp.prefix}.coor"] = f"{where}/outputs/{cp.prefix}.coor{cp.suffix}"
    remote[f"{cp.prefix}.xsc"] = f"{where}/outputs/{cp.prefix}.xsc{cp.suffix}"
    values["restart_coordinates"] = f"{cp.prefix}.coor"
    values["restart_xsc"] = f"{cp.prefix}.xsc"
    minimizing = values.get("execution_command") == "minimize"
    if cp.has_velocities and not minimizing:
        remote[f"{cp.prefix}.vel"] = f"{where}/outputs/{cp.prefix}.vel{cp.suffix}"
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


def plan_rerun(
    profile: ClusterProfile,
    user: str,
    store: JobStore | None,
    parent: JobRecord,
    *,
    resources: Resources | None = None,
    name: str | None = None,
    steps: int | None = None,
) -> PreparedJob:
    """``parent`` run again from its start: its template and values (``steps`` in place of its own when
    given), its input files copied on the cluster from its project directory (nothing uploaded again),
    on its resources or ``resources``. The way on for a job that failed before it wrote a checkpoint
    (or one to repeat)."""
    check_restartable(parent)
    if parent.campaign is not None:
        raise ValidationError("job", f"job {parent.job_id} is a campaign: `job submit` continues it where it stopped")
    remote = cloned_inputs(parent)
    values = {**parent.template_values, **({"steps": steps} if steps is not None else {})}
    return prepare_job(profile, user, store, name=name or f"{parent.job_name} (again)",
                       template=resolve_template(store, parent.template_id), values=values,
                       resources=resources or parent.resources, remote_inputs=remote, parent_job_id=parent.job_id,
                       workflow_id=parent.workflow_id, workflow_stage=parent.workflow_stage)  # fmt: skip


def cloned_inputs(parent: JobRecord, replaced: Iterable[str] = ()) -> dict[str, str]:
    """The input files a new job made like ``parent`` takes from it, copied on the cluster from its
    project directory (nothing uploaded again): every one but those ``replaced`` by a new upload of the
    same name. For :func:`~namdrunner_core.jobs.prepare.plan_job`'s ``remote_inputs``."""
    gone = set(replaced)
    return {n: f"{parent.project_dir}/{INPUT_DIR}/{n}" for n in parent.input_files if n not in gone}


def clone_form(parent: JobRecord) -> dict[str, str]:
    """``parent`` as the Create job form's fields: its template, values (file names included: kept unless
    replaced), resources and name + " (copy)" - the start of a new job made like it."""
    r = parent.resources
    form = {"template": parent.template_id, "name": f"{parent.job_name} (copy)", "cores": str(r.cores),
            "memory_gb": f"{r.memory_gb:g}", "walltime": r.walltime, "partition": r.partition or "",
            "qos": r.qos or "", "gpus": str(r.gpus or 0)}  # fmt: skip
    for key, value in parent.template_values.items():
        form[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return form


def _stepspercycle_of(tmpl: Template, values: Mapping[str, Any]) -> int:
    if any(v.key == "stepspercycle" for v in tmpl.variables):
        return int(values.get("stepspercycle") or tmpl.variable("stepspercycle").default or 20)
    return int(read_config(tmpl.text).number("stepspercycle", 20) or 20)
