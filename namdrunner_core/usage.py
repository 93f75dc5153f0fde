"""The bill: what jobs cost (SUs), how well they used what they asked for, storage, purge and queue.

:func:`usage_report` costs ONE remote command for any number of jobs: sacct (elapsed, TotalCPU,
memory, TRES), ``squeue --start`` for pending jobs, the storage quota (the profile's
``quota_command``, and ``df`` on the project and scratch roots) and the age of the oldest file in
each job's scratch directory (the site purges files after ``scratch_purge_days``). NAMD's own ns/day
comes from the job record (the log as last synced), not from the cluster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from namdrunner_core.campaign_view import SLURM_ID
from namdrunner_core.errors import RemoteError, SchedulerError, ValidationError
from namdrunner_core.models import SLURM_UNNAMED, GroupRecord, JobRecord, named_as
from namdrunner_core.scripts import USAGE
from namdrunner_core.serde import from_rfc3339, rounded
from namdrunner_core.slurm.accounting import (
    USAGE_FIELDS,
    SacctUsage,
    StorageUse,
    cpu_efficiency,
    memory_efficiency,
    parse_df,
    parse_usage_all,
    scaling_hint,
    service_units,
)
from namdrunner_core.slurm.inventory import sections

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.store import JobStore

#: a purge warning is given this many days before the site's purge age
PURGE_WARNING_DAYS = 14


@attrs.frozen(slots=True)
class JobUsage:
    """One job's bill and efficiency (None where sacct has no figure yet)."""

    id: str
    name: str
    slurm_job_id: str
    state: str
    partition: str
    cores: int
    gpus: int
    elapsed_s: int
    su: float = attrs.field(metadata=rounded(4))
    cpu_efficiency: float | None = attrs.field(metadata=rounded(4))
    memory_efficiency: float | None = attrs.field(metadata=rounded(4))
    ns_per_day: float | None
    total_cpu_s: float
    memory_mb: float
    peak_memory_mb: float
    workflow_id: str | None = None
    stage: str | None = None
    hint: str | None = None
    #: a campaign's segment and attempt this Slurm job was (``"2.1"``); None for a plain job
    segment: str | None = None


@attrs.frozen(slots=True)
class PurgeWarning:
    """A job whose scratch files near (or passed) the site's purge age."""

    id: str
    scratch_dir: str
    oldest_file_age_days: float = attrs.field(metadata=rounded(1))
    purge_in_days: float = attrs.field(metadata=rounded(1))
    files: int
    #: True when the results are verified on project storage (losing scratch costs nothing)
    results_safe: bool


@attrs.frozen(slots=True)
class PendingJob:
    """A pending job with Slurm's start estimate (``squeue --start``)."""

    slurm_job_id: str
    expected_start: str | None
    reason: str
    id: str | None = None


@attrs.frozen(slots=True)
class UsageReport:
    """Everything ``namdrunner usage`` shows (``--json``: its fields and ``total_su``)."""

    __serde_computed__ = (("total_su", 4),)

    profile: str
    jobs: list[JobUsage]
    quota: list[StorageUse]
    purge_warnings: list[PurgeWarning]
    pending: list[PendingJob]
    #: Slurm ids asked for that sacct does not know (yet)
    missing: list[str] = attrs.Factory(list)

    @property
    def total_su(self) -> float:
        """The SUs of every job in the report."""
        return sum(j.su for j in self.jobs)

    def su_by_stage(self) -> dict[str, float]:
        """SUs per workflow stage label (jobs outside a workflow under their own name), in order."""
        out: dict[str, float] = {}
        for j in self.jobs:
            key = j.stage or j.name
            out[key] = out.get(key, 0.0) + j.su
        return out


def select_usage_jobs(
    store: JobStore,
    *,
    job: str | None = None,
    workflow: str | None = None,
    since: dt.datetime | str | None = None,
    profile: str | None = None,
) -> list[JobRecord]:
    """The jobs a usage report is about: one job (an id or unique prefix), one workflow's jobs, the
    jobs submitted since a date (``2026-11-01``), or, with none given, every submitted job. Only
    jobs Slurm has seen (a Slurm id) and, with ``profile``, only that profile's."""
    if sum(x is not None for x in (job, workflow, since)) > 1:
        raise ValidationError("usage", "give one of JOB, --workflow or --since")
    if job is not None:
        records = [store.find_job(job)[0]]
    elif workflow is not None:
        group, _ = store.find_workflow(workflow)
        records = store.list_jobs(workflow_id=group.id)
    else:
        records = store.list_jobs()
        if since is not None:
            start = _since(since)
            records = [r for r in records if (r.submitted_at or r.created_at) >= start]
    if profile is not None:
        records = [r for r in records if r.profile == profile]
    return sorted((r for r in records if r.slurm_job_id), key=lambda r: (r.submitted_at or r.created_at, r.job_id))


def _since(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    try:
        parsed = from_rfc3339(value, "since")  # a date, or a time with or without its zone (UTC if none)
    except ValidationError:
        parsed = None
    if parsed is None:
        raise ValidationError("since", f"{value!r} is not a date; give YYYY-MM-DD (e.g. 2026-11-01)")
    return parsed


def _stage_label(record: JobRecord, groups: dict[str, GroupRecord]) -> str | None:
    group = groups.get(record.workflow_id or "")
    if group is None:
        return None
    # a restart of a stage bills to that stage
    return group.stage_name(record.job_id) or (group.stage_name(record.parent_job_id or "") or None)


def usage_report(
    session: Session,
    records: Sequence[JobRecord],
    *,
    groups: Iterable[GroupRecord] = (),
    scratch_records: Sequence[JobRecord] | None = None,
) -> UsageReport:
    """The bill of ``records`` (jobs with a Slurm id), with storage use, purge warnings for
    ``scratch_records`` (default: ``records``) and start estimates of the user's pending jobs, in
    ONE remote command. ``groups`` name the workflow stages of the jobs that belong to one."""
    profile = session.profile
    by_slurm, segment_of = _billed_ids(records)
    scratch = list(records if scratch_records is None else scratch_records)
    stdin = "".join(f"{r.job_id}|{r.scratch_dir}\n" for r in scratch if r.scratch_dir)
    result = session.run_remote(
        USAGE,
        [
            ",".join(by_slurm),
            ",".join(USAGE_FIELDS),
            profile.quota_command or "",
            session.jobs_root,
            session.scratch_root,
        ],
        check=False,
        timeout=180,
        stdin=stdin.encode(),
    )
    module_error = session.slurm_module_error(result)
    if module_error is not None:
        raise RemoteError(f"`module load {profile.slurm_module}` failed: {module_error}")
    sec = sections(result.stdout)
    now = next((int(x[6:]) for x in result.stdout.splitlines() if x.startswith("@@NOW ") and x[6:].isdigit()), None)
    sacct_lines, sacct_rc = sec.get("SACCT", ([], 0))
    if sacct_rc != 0:
        raise SchedulerError("sacct failed: " + " ".join(sacct_lines)[-300:])
    usage = parse_usage_all("\n".join(sacct_lines))
    group_map = {g.id: g for g in groups}
    jobs = []
    for sid, record in by_slurm.items():
        u = _own_usage(record, usage.get(sid, []))
        if u is None:
            continue
        cpu_eff = cpu_efficiency(u)
        progress = record.progress
        jobs.append(
            JobUsage(
                id=record.job_id,
                name=record.job_name,
                slurm_job_id=sid,
                state=u.state,
                partition=u.partition,
                cores=u.alloc_cpus,
                gpus=u.gpus,
                elapsed_s=u.elapsed_s,
                su=service_units(u, profile),
                cpu_efficiency=cpu_eff,
                memory_efficiency=memory_efficiency(u),
                ns_per_day=progress.ns_per_day if progress else None,
                total_cpu_s=u.total_cpu_s,
                memory_mb=u.alloc_memory_mb,
                peak_memory_mb=u.peak_memory_mb,
                workflow_id=record.workflow_id,
                stage=_stage_label(record, group_map),
                hint=scaling_hint(u.alloc_cpus, cpu_eff) if u.state not in ("PENDING", "RUNNING") else None,
                segment=segment_of.get(sid),
            )
        )
    ours = {r.slurm_job_id: r.job_id for r in scratch if r.slurm_job_id} | {k: v.job_id for k, v in by_slurm.items()}
    pending = _pending(sec.get("START", ([], 1))[0], ours)
    quota = parse_df(sec.get("DF", ([], 1))[0], [session.jobs_root, session.scratch_root])
    if "QUOTA" in sec:
        quota.insert(0, StorageUse("", profile.quota_command or "", lines=sec["QUOTA"][0]))
    warnings = _purge_warnings(result.stdout, now, scratch, profile.scratch_purge_days)
    return UsageReport(
        profile=profile.name,
        jobs=jobs,
        quota=quota,
        purge_warnings=warnings,
        pending=pending,
        missing=[sid for sid in by_slurm if sid not in usage],
    )


def _own_usage(record: JobRecord, rows: Sequence[SacctUsage]) -> SacctUsage | None:
    """The accounting record that is this job's: after a controller lost its state, another job may have
    been given the same id (a plain job's Slurm name is its id; array tasks carry the array's), and
    slurmdbd may not have named it yet (``allocation``): a record that names the job wins over that."""
    mine = [u for u in rows if named_as(record, u.name)]
    named = [u for u in mine if u.name.strip() not in SLURM_UNNAMED]
    return (named or mine)[-1] if mine else None


def _pending(lines: Sequence[str], ours: dict[str, str]) -> list[PendingJob]:
    """``squeue --start`` lines: each pending job's expected start and reason (and which job it is)."""
    pending = []
    for line in lines:
        parts = line.split("|")
        if len(parts) >= 3 and parts[0].strip():
            start = parts[1].strip()
            pending.append(
                PendingJob(
                    parts[0].strip(),
                    None if start in ("", "N/A", "Unknown") else start,
                    parts[2].strip(),
                    ours.get(parts[0].strip()),
                )
            )
    return pending


def _billed_ids(records: Sequence[JobRecord]) -> tuple[dict[str, JobRecord], dict[str, str]]:
    """The Slurm jobs that bill to ``records``: each job's own, and every segment a campaign ran (its
    attempts in campaign.json), with the segment and attempt each was."""
    by_slurm: dict[str, JobRecord] = {}
    segment_of: dict[str, str] = {}
    for r in records:
        for a in (r.campaign or {}).get("attempts", []):
            sid = a.get("slurm_id")
            if isinstance(sid, str) and SLURM_ID.match(sid):
                by_slurm[sid] = r
                segment_of[sid] = f"{a.get('segment')}.{a.get('attempt')}"
        if r.slurm_job_id:
            by_slurm[r.slurm_job_id] = r
    return by_slurm, segment_of


def _purge_warnings(out: str, now: int | None, records: Sequence[JobRecord], days: int | None) -> list[PurgeWarning]:
    if not days or now is None:
        return []
    by_id = {r.job_id: r for r in records}
    warnings = []
    for line in out.splitlines():
        if not line.startswith("@@AGE "):
            continue
        job, oldest, count = ([*line[6:].split("|"), "", ""])[:3]
        record = by_id.get(job)
        if record is None or not oldest.lstrip("-").isdigit():
            continue
        age = (now - int(oldest)) / 86400
        if age >= days - PURGE_WARNING_DAYS:
            warnings.append(
                PurgeWarning(
                    job, record.scratch_dir, age, days - age, int(count) if count.isdigit() else 0, record.results_safe
                )
            )
    return warnings


def usage_profile(store: JobStore, job: str | None, default: str) -> str:
    """The profile a usage report runs on: the job's own when one is named, else ``default``."""
    return store.find_job(job)[0].profile if job is not None else default


def usage_from_store(
    store: JobStore,
    session: Session,
    *,
    job: str | None = None,
    workflow: str | None = None,
    since: dt.datetime | str | None = None,
) -> UsageReport:
    """:func:`usage_report` of the store's jobs picked as :func:`select_usage_jobs` does, with stage
    labels from the store's workflows and purge warnings for every job of the session's profile."""
    name = session.profile.name
    records = select_usage_jobs(store, job=job, workflow=workflow, since=since, profile=name)
    scratch = [r for r in store.list_jobs(profile=name) if r.slurm_job_id]
    return usage_report(session, records, groups=store.list_workflows(), scratch_records=scratch)
