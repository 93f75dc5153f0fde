"""Discovery: the store rebuilt from the cluster's ``job_info.json`` files (``namdrunner discover``) -
jobs made by the desktop app included, groups rebuilt from their members."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from namdrunner_core.errors import NamdRunnerError, ValidationError
from namdrunner_core.job_info import record_from_job_info
from namdrunner_core.jobs.campaign import with_campaign
from namdrunner_core.jobs.script_output import parse_discover_campaigns, parse_discover_output
from namdrunner_core.models import GroupRecord, JobRecord
from namdrunner_core.scripts import DISCOVER
from namdrunner_core.serde import to_rfc3339

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.store import JobStore

#: A job this young that neither squeue nor sacct knows is assumed to be in accounting lag.


@attrs.frozen(slots=True)
class DiscoverReport:
    """What discovery found: jobs added or refreshed, and entries refused (with why)."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]


def discover_jobs(store: JobStore, session: Session) -> DiscoverReport:
    """Rebuild the store from the cluster's ``job_info.json`` files (ONE command).

    Remote JSON is untrusted: each file is schema-checked; ids that are unsafe or do not match
    their directory, and paths outside the configured roots, are refused.
    """
    out = session.run_remote(DISCOVER, [session.jobs_root.rstrip("/"), session.scratch_root.rstrip("/")],
                             check=False).stdout  # fmt: skip
    campaigns = parse_discover_campaigns(out)
    added: list[str] = []
    updated: list[str] = []
    refused: list[tuple[str, str]] = []
    records: list[JobRecord] = []
    for dir_name, raw in parse_discover_output(out):
        try:
            doc = json.loads(raw.decode("utf-8"))
            record = record_from_job_info(
                doc,
                profile=session.profile.name,
                remote_user=session.user,
                jobs_root=session.jobs_root.rstrip("/"),
                scratch_root=session.scratch_root.rstrip("/"),
                dir_name=dir_name,
            )
        except (ValueError, UnicodeDecodeError, ValidationError) as exc:
            refused.append((dir_name, str(exc)))
            continue
        record = with_campaign(record, campaigns.get(dir_name))
        try:
            existing = store.get_job(record.job_id)
        except NamdRunnerError:
            existing = None
        if existing is None:
            added.append(record.job_id)
            records.append(record)
        elif existing.updated_at < record.updated_at:
            updated.append(record.job_id)
            records.append(attrs.evolve(record, log_state=existing.log_state))
    store.save_jobs(records)
    _rebuild_groups(store, records)
    return DiscoverReport(tuple(added), tuple(updated), tuple(refused))


def _rebuild_groups(store: JobStore, records: Sequence[JobRecord]) -> None:
    """Workflows and sweeps come back with their jobs: each job_info.json carries its group and stage."""
    known = set(store.workflow_ids())
    groups: dict[str, list[JobRecord]] = {}
    for r in records:
        if r.workflow_id and r.workflow_id not in known:
            groups.setdefault(r.workflow_id, []).append(r)
    for wid, members in groups.items():
        everyone = sorted(store.list_jobs(workflow_id=wid), key=lambda r: (r.workflow_stage or 0, r.job_id))
        sweep = wid.startswith("sw_")
        sep = " [" if sweep else " / "
        first = everyone[0] if everyone else members[0]
        name = first.job_name.split(sep, 1)[0]
        labels = [r.job_name.split(sep, 1)[1].rstrip("]") if sep in r.job_name else r.job_name for r in everyone]
        store.save_workflow(
            GroupRecord(
                id=wid,
                name=name,
                kind="sweep" if sweep else "workflow",
                stages=tuple(r.job_id for r in everyone),
                stage_names=tuple(labels),
                profile=first.profile,
                created_at=to_rfc3339(first.created_at) or "",
                rediscovered=True,
            )
        )
