"""The typed answers of commands that return no domain object of their own: what ``--json`` prints
and the web page's JSON returns, made plain by :func:`namdrunner_core.serde.to_data` like every other
shape. A domain object that is its own answer (``UsageReport``, ``Detection``, ``SyncReport``,
``TemplatePreview``, ``WorkflowView``...) is printed as it is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.models import job_json
from namdrunner_core.serde import converter, to_data
from namdrunner_core.start_estimate import StartEstimate
from namdrunner_core.transport.broker_client import BrokerInfo

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.jobs.prepare import PreparedJob
    from namdrunner_core.jobs.script_output import SlurmLogs
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.transport.transfer import TreeTransferReport
    from namdrunner_core.workflow.workflow import WorkflowPlan


@attrs.frozen(slots=True)
class PreparedView:
    """A prepared job as a dry run shows it: the job (``job_json``), its NAMD config, its batch script."""

    job: dict[str, Any]
    config: str
    sbatch: str

    @classmethod
    def of(cls, prepared: PreparedJob) -> PreparedView:
        """The view of ``prepared``."""
        return cls(job_json(prepared.record), prepared.config_text, prepared.sbatch_text)


@attrs.frozen(slots=True)
class StartView:
    """``job create --estimate-start``: what the planned job would cost at most (its whole wall time, by
    the profile's billing rule) and Slurm's answer to when it would start; nothing was created."""

    job: dict[str, Any]
    su_per_hour: float
    su_at_most: float
    estimate: StartEstimate

    @classmethod
    def of(cls, prepared: PreparedJob, profile: ClusterProfile, estimate: StartEstimate) -> StartView:
        """The view of ``prepared`` with Slurm's ``estimate``."""
        from namdrunner_core.jobs.campaign import su_at_most, su_per_hour

        res = prepared.resources
        return cls(job_json(prepared.record), su_per_hour(res, profile), su_at_most(res, profile), estimate)

    @classmethod
    def ask(cls, session: Session, prepared: PreparedJob) -> StartView:
        """Ask Slurm now when ``prepared`` would start (one command, nothing submitted); its view."""
        from namdrunner_core.start_estimate import estimate_start

        return cls.of(prepared, session.profile, estimate_start(session, prepared.sbatch_text))


@attrs.frozen(slots=True)
class GroupDryRun:
    """A workflow or sweep dry run: every member prepared, a sweep's array script, a replicated
    workflow's per-stage array scripts."""

    id: str
    stages: list[PreparedView]
    array: str | None = None
    arrays: list[str] | None = None

    @classmethod
    def of(cls, plan: WorkflowPlan, *, array: str | None = None, arrays: Sequence[str] | None = None) -> GroupDryRun:
        """The dry run of ``plan``."""
        views = [PreparedView.of(p) for p in plan.prepared]
        return cls(plan.id, views, array, list(arrays) if arrays is not None else None)


@attrs.frozen(slots=True)
class Downloaded:
    """``job download``: where the files went, which were fetched, which were already there."""

    id: str
    to: str
    files: list[str]
    unchanged: list[str]
    bytes: int
    resumed_bytes: int

    @classmethod
    def of(cls, job_id: str, target: str, report: TreeTransferReport) -> Downloaded:
        """The answer for ``report``."""
        return cls(job_id, target, list(report.files_sent), list(report.files_unchanged), report.payload_bytes,
                   report.resumed_bytes)  # fmt: skip


@attrs.frozen(slots=True)
class LogText:
    """``job logs``: one log's text (``kind`` ``namd``), or Slurm's two (``slurm``: ``text`` is both)."""

    id: str
    kind: str
    text: str
    stdout: str | None = None
    stderr: str | None = None
    stdout_name: str | None = None
    stderr_name: str | None = None

    @classmethod
    def of_slurm(cls, job_id: str, logs: SlurmLogs) -> LogText:
        """Slurm's stdout and stderr of a job."""
        return cls(job_id, "slurm", logs.stdout + logs.stderr, logs.stdout, logs.stderr, logs.stdout_name,
                   logs.stderr_name)  # fmt: skip


@attrs.frozen(slots=True)
class Deleted:
    """``job delete`` / ``workflow delete``: what went (``jobs``: a group's members)."""

    id: str
    deleted: bool = True
    jobs: list[str] | None = None


@attrs.frozen(slots=True)
class Imported:
    """``template import``: the template's id and the variables it asks for."""

    id: str
    variables: list[str]
    imported: bool = True


@attrs.frozen(slots=True)
class Duplicated:
    """``template duplicate``: the copy's id, the template it copies and the variables it asks for."""

    id: str
    duplicated_from: str
    variables: list[str]


@attrs.frozen(slots=True)
class StageCheck:
    """One stage of a validated workflow file."""

    stage: str
    job_name: str
    steps: int | None


@attrs.frozen(slots=True)
class FileValidated:
    """``workflow validate``: the file is valid; its stages and the steps each runs."""

    file: str
    replicas: int
    stages: list[StageCheck]
    valid: bool = True

    @classmethod
    def of(cls, path: str, plan: WorkflowPlan, replicas: int) -> FileValidated:
        """The answer for the first replica's ``plan``."""
        rows = [StageCheck(n, p.record.job_name, p.record.total_steps)
                for n, p in zip(plan.stage_names, plan.prepared, strict=True)]  # fmt: skip
        return cls(path, replicas, rows)


@attrs.frozen(slots=True)
class SessionState:
    """``session start|status``: whether a shared login runs for ``profile``, and the broker's state
    (its fields at the top of the JSON, beside ``profile`` and ``running``)."""

    profile: str
    broker: BrokerInfo | None

    @property
    def running(self) -> bool:
        """A broker serves this profile."""
        return self.broker is not None


def _session_state_data(s: SessionState) -> dict[str, Any]:
    return {"profile": s.profile, "running": s.running, **(to_data(s.broker) if s.broker else {})}


converter.register_unstructure_hook(SessionState, _session_state_data)


__all__ = [
    "Deleted",
    "Downloaded",
    "FileValidated",
    "GroupDryRun",
    "Imported",
    "LogText",
    "PreparedView",
    "SessionState",
    "StageCheck",
]
