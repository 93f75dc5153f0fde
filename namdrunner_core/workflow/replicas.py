"""Replicas: N independent copies of a workflow's chain (a workflow file's ``replicas = N``), each
stage submitted as ONE Slurm job array over the replicas.

Task *r* of stage *i*'s array is replica *r*'s stage *i*; it depends on task *r* of stage *i-1* alone
(``--dependency=aftercorr:<array>``, with ``--kill-on-invalid-dep=yes``), so each chain continues its
own replica's outputs and a replica that fails stops only its own chain: Slurm cancels that one task
of every later array and the others run on. Each replica stays its own workflow (``workflow show``,
restart, export, delete act on one chain); ``N`` stages cost ``N`` sbatch calls, whatever the number of
replicas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from namdrunner_core.models import JobRecord
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.workflow.sweep import array_script, submit_array
from namdrunner_core.workflow.workflow import Workflow, WorkflowPlan

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.store import JobStore


def stage_array_name(first_replica_id: str, stage: int) -> str:
    """The job name (and scratch folder) of stage ``stage``'s array: the first replica's id + ``.s<i>``."""
    return f"{first_replica_id}.s{stage}"


def replica_array_scripts(plans: Sequence[WorkflowPlan], profile: ClusterProfile) -> list[str]:
    """The array script each stage of planned replicas submits (a dry run prints them): stage i over
    every replica's stage i, task r = replica r."""
    if len(plans) < 2:
        return []
    return [
        array_script(stage_array_name(plans[0].id, i), [p.prepared[i].record for p in plans], profile)
        for i in range(len(plans[0].prepared))
    ]


def replica_arrays(workflows: Sequence[Workflow]) -> list[list[JobRecord]] | None:
    """The stages of replica chains as arrays (stage i: every replica's stage i, in replica order), or
    None when they cannot run as arrays: not the same number of stages, or any job already submitted."""
    chains = [[j.record for j in wf.jobs()] for wf in workflows]
    if len(chains) < 2 or len({len(c) for c in chains}) != 1:
        return None
    if any(r.status is not JobStatus.CREATED or r.slurm_job_id for c in chains for r in c):
        return None
    return [list(stage) for stage in zip(*chains, strict=True)]


def submit_replicas(session: Session, store: JobStore, workflows: Sequence[Workflow]) -> list[Workflow]:
    """Submit replica chains, each stage as ONE job array (task r of stage i after task r of stage i-1,
    ``aftercorr``). Chains that cannot run as arrays (see :func:`replica_arrays`) are submitted one by
    one with :meth:`Workflow.submit`.

    Every stage goes through :func:`~namdrunner_core.workflow.sweep.submit_array`, a sweep's path: a
    token saved on every task's record BEFORE sbatch and looked up before any retry (a crash after
    sbatch never queues a second array), the same record reset, each stage copied to scratch in ONE
    command.
    """
    stages = replica_arrays(workflows)
    if stages is None:
        return [wf.submit() for wf in workflows]
    previous: str | None = None
    for i, records in enumerate(stages):
        extra = [f"--dependency=aftercorr:{previous}"] if previous else []
        if previous and session.profile.kill_invalid_dependants:
            extra.append("--kill-on-invalid-dep=yes")
        previous = submit_array(session, store, records, name=stage_array_name(workflows[0].id, i), extra=extra)
    return list(workflows)


def create_planned_workflows(
    session: Session, store: JobStore, plans: WorkflowPlan | Sequence[WorkflowPlan], submit: bool = False
) -> list[Workflow]:
    """Create what was planned - one workflow, or one per replica of a workflow file - every one before
    any is submitted; with ``submit``, then submit them: one chain stage by stage, replicas with each
    stage as one job array (:func:`submit_replicas`)."""
    made = [Workflow.create_planned(session, store, p) for p in ([plans] if isinstance(plans, WorkflowPlan) else plans)]
    if not submit:
        return made
    return submit_replicas(session, store, made) if len(made) > 1 else [wf.submit() for wf in made]
