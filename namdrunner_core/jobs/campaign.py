"""Campaigns: one MD run carried to a target (``--target-ns``) over as many Slurm jobs as it takes.

The decisions live in :mod:`namdrunner_core.scripts.campaign_step` - the file the segments run on the
cluster - so the laptop side (this module, sync) and the compute nodes decide alike. Here: the checks
before anything is submitted (one clear line each), the campaign's first ``campaign.json``, and how
``job show`` says where a campaign stands.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from importlib import resources as package_data
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.campaign_view import SLURM_ID, newest_slurm_id
from namdrunner_core.errors import SchedulerError, ValidationError
from namdrunner_core.models import JobRecord, utcnow
from namdrunner_core.namd.config import read_config
from namdrunner_core.scripts import CAMPAIGN_CAP, CAMPAIGN_CTL, CAMPAIGN_SUBMIT
from namdrunner_core.scripts import campaign_step as step
from namdrunner_core.slurm.resources import ResolvedResources, parse_walltime
from namdrunner_core.slurm.states import JobStatus

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.profile import ClusterProfile

#: the files a campaign adds to its job's directory
CAMPAIGN_FILES = (step.STATE_NAME, "campaign_step.py")


def psf_atoms(path: Path) -> int | None:
    """The atom count of a PSF (its ``!NATOM`` line), read from the head of the file only."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            for _, line in zip(range(10_000), fh, strict=False):
                if "!NATOM" in line:
                    first = line.split()[0]
                    return int(first) if first.isdigit() else None
    except OSError:
        return None
    return None


def _run_facts(config_text: str) -> dict[str, Any]:
    """What a campaign needs from the job's config: one static ``run``, a timestep, an outputName."""
    cfg = read_config(config_text)
    if cfg.dynamic:
        raise ValidationError("--target-ns", "Tcl computes the config's run commands; a campaign needs one `run N`")
    if len(cfg.commands) != 1 or cfg.commands[0][0] != "run":
        kinds = ", ".join(f"{k} {n}" for k, n in cfg.commands) or "none"
        raise ValidationError(
            "--target-ns", f"a campaign runs MD: the config needs exactly one `run` command (it has: {kinds})"
        )
    dt_fs = cfg.number("timestep")
    if not dt_fs or dt_fs <= 0:
        raise ValidationError("--target-ns", "the config sets no timestep: add `timestep` (fs) to reach a time in ns")
    output = cfg.keywords.get("outputname", [""])[-1]
    if not output:
        raise ValidationError("--target-ns", "the config sets no outputName: NAMD's restart files need one")
    return {
        "timestep_fs": dt_fs,
        "output": output,
        "steps_per_cycle": int(cfg.number("stepspercycle", 20) or 20),
        "first_step": int(cfg.number("firsttimestep", 0) or 0),
        "config_restartfreq": int(cfg.number("restartfreq", 0) or 0) or None,
    }


def initial_state(
    config_text: str,
    *,
    target_ns: float,
    walltime: str,
    natoms: int | None,
    max_attempts: int = step.DEFAULT_ATTEMPTS,
    startup_s: float = step.DEFAULT_STARTUP_S,
    warn_s: float = 0.0,
    ns_per_day: float | None = None,
) -> dict[str, Any]:
    """The first ``campaign.json`` of a job whose config is ``config_text``, or a
    :class:`ValidationError` naming ``--target-ns`` (or the config) and the fix."""
    if not math.isfinite(target_ns) or target_ns <= 0:
        raise ValidationError("--target-ns", f"{target_ns} ns: give the simulated time to reach, in ns (e.g. 500)")
    facts = _run_facts(config_text)
    spc, first = facts["steps_per_cycle"], facts["first_step"]
    target_step = math.ceil(target_ns * 1e6 / facts["timestep_fs"] / spc) * spc
    if target_step <= first:
        raise ValidationError(
            "--target-ns",
            f"{target_ns} ns is step {target_step}, not beyond the config's firsttimestep {first}: give a later target",
        )
    return {
        **facts,
        "schema": step.SCHEMA,
        "state": "running",
        "reason": "",
        "target_ns": target_ns,
        "target_step": target_step,
        "walltime_s": float(parse_walltime(walltime)),
        "margin": step.DEFAULT_MARGIN,
        "loss": step.DEFAULT_LOSS,
        "ns_per_day": ns_per_day,
        "startup_s": startup_s,
        "warn_s": warn_s,
        "natoms": natoms,
        "config": "config.namd",
        "max_attempts": max_attempts,
        "attempts": [],
        "next_job": None,
    }


def su_per_hour(resources: ResolvedResources, profile: ClusterProfile) -> float:
    """What one hour of a segment costs by the profile's billing rule (as ``usage`` counts it): the cores,
    or the cores the memory takes when that is more, x ``billing_su_per_core_hour``, + GPU-hours x the
    partition's ``gpu_su_weight``."""
    part = resources.partition
    cores = resources.cores
    if part.memory_per_core_gb > 0:
        cores = max(cores, math.ceil(resources.memory_gb / part.memory_per_core_gb - 1e-9))
    return cores * profile.billing_su_per_core_hour + resources.gpus * part.gpu_su_weight


def su_at_most(resources: ResolvedResources, profile: ClusterProfile) -> float:
    """What a job costs at most: :func:`su_per_hour` for its whole wall time (less if it ends sooner)."""
    return su_per_hour(resources, profile) * resources.walltime_s / 3600


def check_budget(state: dict[str, Any], su_budget: float | None, rate: float) -> dict[str, Any]:
    """``state`` with its SU budget, or a :class:`ValidationError` when the budget is not a positive number
    or smaller than one segment's whole wall time."""
    if su_budget is None:
        return state
    if not math.isfinite(su_budget) or su_budget <= 0:
        raise ValidationError("--su-budget", f"{su_budget}: give the most SUs the campaign may use (e.g. 5000)")
    one = float(state["walltime_s"]) / 3600.0 * rate
    if su_budget < one:
        raise ValidationError(
            "--su-budget",
            f"{su_budget:g} SU is less than one segment ({float(state['walltime_s']) / 3600:g} h at {rate:g} SU/h "
            f"= {one:g} SU): raise the budget or ask for a shorter --walltime",
        )
    return {**state, "su_budget": su_budget, "su_per_hour": rate}


def step_script() -> bytes:
    """``campaign_step.py`` as shipped (it runs on the cluster's python3)."""
    return package_data.files("namdrunner_core.scripts").joinpath("campaign_step.py").read_bytes()


# -- what sync makes of a campaign.json ------------------------------------------------------------------

#: a segment that ran out of memory gets this much more, once
MEMORY_STEP = 1.5


@attrs.frozen(slots=True)
class Advance:
    """A chain the laptop side moves on (its segment was killed before it could decide, or compute
    nodes may not submit): the campaign.json to write and, when ``submit``, the next segment to queue
    (``memory_gb``: with more memory, after OUT_OF_MEMORY)."""

    job_id: str
    scratch_dir: str
    state: dict[str, Any]
    submit: bool
    memory_gb: float | None = None


def _paused_text(job_id: str, reason: str) -> str:
    return f"campaign paused: {reason}; `namdrunner job submit {job_id}` continues it"


def apply_state(
    before: JobRecord, new: JobRecord, needs_final: bool, raw: bytes | None
) -> tuple[JobRecord, bool, Advance | None]:
    """A campaign job's record after a sync: ``new``/``needs_final`` are what Slurm's answer about the
    current segment made of it, ``raw`` the campaign.json read in the same command. The campaign's own
    state decides: a running campaign is never settled (its next segment is followed instead), a done
    one completes, a stopped one fails with NAMD's message, a paused one says why and what to do."""
    state = _decoded(raw) or before.campaign
    if state is None:
        return new, needs_final, None
    new = attrs.evolve(new, campaign=state)
    over = new.status.is_terminal
    cstate = state.get("state")
    if cstate == "running":
        newest = newest_slurm_id(state)
        if newest and newest != before.slurm_job_id:
            waiting = state.get("next_job") == newest
            return attrs.evolve(
                new, slurm_job_id=newest, status=JobStatus.PENDING if waiting else JobStatus.RUNNING,
                slurm_state=None, slurm_reason=None, exit_code=None, completed_at=None, error_info=None,
                finalized=False, log_state=None,
            ), False, None  # fmt: skip
        if over:
            return _laptop_decides(before, new, state)
        return new, False, None
    if cstate == step.DONE:
        return (attrs.evolve(new, status=JobStatus.COMPLETED, error_info=None) if over else new), over, None
    if cstate == "stopped":
        failed = attrs.evolve(new, status=JobStatus.FAILED, error_info=f"campaign stopped: {state.get('reason')}")
        return (failed if over else new), over, None
    if cstate == step.PAUSE:
        paused = attrs.evolve(
            new, status=JobStatus.FAILED, error_info=_paused_text(new.job_id, state.get("reason", ""))
        )
        return (paused if over else new), over, None
    if cstate == "cancelled":
        return (attrs.evolve(new, status=JobStatus.CANCELLED) if over else new), over, None
    return new, needs_final, None


def _decoded(raw: bytes | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        state = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return None
    return state if isinstance(state, dict) and isinstance(state.get("attempts"), list) else None


def _laptop_decides(before: JobRecord, new: JobRecord, state: dict[str, Any]) -> tuple[JobRecord, bool, Advance | None]:
    """The current segment's Slurm job is over and the campaign did not move on: it was killed before its
    end step ran (a node failure without requeue, OUT_OF_MEMORY, an admin's scancel), or compute nodes
    may not submit. Decide as the segment would have (:func:`campaign_step.classify` on Slurm's state)."""
    state = json.loads(json.dumps(state))  # a copy: the record keeps what was read until the write succeeds
    attempt = step.current(state)
    memory = None
    if attempt is not None and attempt.get("state") == "running":
        slurm_state = (new.slurm_state or "UNKNOWN").split()[0]
        step.end_attempt(attempt, slurm_state, "", None)
        attempt["decided_by"] = "namdrunner (the segment was killed before it could decide)"
    action = attempt["action"] if attempt else step.CONTINUE
    # the reason of THIS decision, never the one an earlier segment left in campaign.json
    reason = (attempt or {}).get("reason") or "the campaign cannot say why its segment ended"
    if action == step.MORE_MEMORY:
        earlier = [a for a in state["attempts"][:-1] if a["segment"] == attempt["segment"]] if attempt else []
        if any(a.get("outcome") == "OUT_OF_MEMORY" for a in earlier):
            action = step.PAUSE
            reason = "out of memory twice, the second time with more memory; give it more (--memory)"
        else:
            memory = round(new.resources.memory_gb * MEMORY_STEP, 1)
            reason = f"out of memory: the next attempt asks for {memory} GB"
    state["reason"] = reason
    if action in (step.CONTINUE, step.SHORTER, step.MORE_MEMORY) and state["state"] == "running":
        waiting = attrs.evolve(new, status=JobStatus.PENDING, campaign=state, error_info=None, finalized=False)
        return waiting, False, Advance(new.job_id, new.scratch_dir, state, True, memory)
    if action == step.STOP:
        state["state"] = "stopped"
        stopped = attrs.evolve(new, status=JobStatus.FAILED, campaign=state, error_info=f"campaign stopped: {reason}")
        return stopped, True, Advance(new.job_id, new.scratch_dir, state, False)
    state["state"] = step.PAUSE
    paused = attrs.evolve(new, status=JobStatus.FAILED, campaign=state, error_info=_paused_text(new.job_id, reason))
    return paused, True, Advance(new.job_id, new.scratch_dir, state, False)


def advance(session: Session, advances: Sequence[Advance]) -> tuple[dict[str, str], list[str], int]:
    """Carry out what sync decided for chains the laptop moves on, in ONE command: every campaign.json
    written first (a segment that starts reads the new state), then the next segments queued (each
    recorded in its campaign.json by campaign_step.py on the cluster; a segment already queued is never
    queued twice). Returns (job id -> new Slurm id, warnings, remote commands used)."""
    if not advances:
        return {}, [], 0
    chunks: list[bytes] = []
    for a in advances:
        data = (json.dumps(a.state, indent=1, sort_keys=True) + "\n").encode()
        chunks += [f"{a.scratch_dir}\t{len(data)}\n".encode(), data]
    args = [session.profile.campaign_python, session.scratch_root.rstrip("/")]
    for a in advances:
        if a.submit:
            memory = f"{round(a.memory_gb * 1024)}M" if a.memory_gb else "-"
            args += [a.scratch_dir, memory, str(int(a.state["walltime_s"]))]
    out = session.run_remote(CAMPAIGN_SUBMIT, args, chunks=chunks, check=False).stdout
    by_dir = {a.scratch_dir: a.job_id for a in advances}
    ids: dict[str, str] = {}
    warnings: list[str] = []
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) >= 3 and parts[0] in ("@@SUBMITTED", "@@EXISTS") and parts[1] in by_dir:
            ids[by_dir[parts[1]]] = parts[2]
        elif len(parts) >= 3 and parts[0] == "@@FAILED" and parts[1] in by_dir:
            warnings.append(f"{by_dir[parts[1]]}: the campaign could not be moved on: {' '.join(parts[2:])}")
    return ids, warnings, 1


def cancel(session: Session, record: JobRecord) -> list[str]:
    """Stop a whole campaign: no segment starts or follows (campaign.json on the cluster says
    ``cancelled``), then the running segment and the queued next one are cancelled. Two commands; the
    Slurm ids cancelled."""
    out = session.run_remote(CAMPAIGN_CTL, [record.scratch_dir, session.profile.campaign_python, "cancel"])
    ids = [i for i in out.stdout.split() if SLURM_ID.match(i)]
    ids += [record.slurm_job_id] if record.slurm_job_id and record.slurm_job_id not in ids else []
    session.slurm(["scancel", *ids], check=False)
    return ids


def first_time_limit(session: Session, record: JobRecord) -> str | None:
    """The ``--time`` of a campaign's first segment when a maintenance window would cut it (ONE command, in
    its directory on the cluster, after staging); None: its own wall time."""
    walltime = str(int((record.campaign or {}).get("walltime_s", 0)))
    out = session.run_remote(CAMPAIGN_CAP, [record.scratch_dir, session.profile.campaign_python, walltime], check=False)
    cap = out.stdout.strip()
    return cap if re.fullmatch(r"\d{2,}:\d{2}:\d{2}", cap) else None


def resume(session: Session, record: JobRecord) -> JobRecord:
    """Run a paused (stopped, cancelled) campaign again from its newest valid restart files: its state is
    set running on the cluster and the next segment queued (never twice); the record, pending."""
    answer = session.run_remote(CAMPAIGN_CTL, [record.scratch_dir, session.profile.campaign_python, "resume"])
    if answer.stdout.strip() == "done":
        raise ValidationError("status", f"campaign {record.job_id} has reached its target already")
    walltime = str(int((record.campaign or {}).get("walltime_s", 0)))
    out = session.run_remote(
        CAMPAIGN_SUBMIT,
        [session.profile.campaign_python, session.scratch_root.rstrip("/"), record.scratch_dir, "-", walltime],
        stdin=b"",
    ).stdout
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) >= 3 and parts[0] in ("@@SUBMITTED", "@@EXISTS"):
            now = utcnow()
            return attrs.evolve(record, slurm_job_id=parts[2], status=JobStatus.PENDING, slurm_state=None,
                                error_info=None, exit_code=None, completed_at=None, finalized=False, copy_back=None,
                                log_state=None, submitted_at=now, updated_at=now)  # fmt: skip
    raise SchedulerError(f"the next segment of {record.job_id} could not be queued: {out.strip()[:300]}")


def with_campaign(record: JobRecord, raw: bytes | None) -> JobRecord:
    """A record rebuilt by discovery (from ``job_info.json``) with its campaign: the state its
    ``campaign.json`` holds and, while it runs, the Slurm job it runs now (``job_info.json`` is written
    when the job's state changes, so its id may be an earlier segment's)."""
    state = _decoded(raw)
    if state is None:
        return record
    newest = newest_slurm_id(state) if state.get("state") == "running" else None
    return attrs.evolve(record, campaign=state, slurm_job_id=newest or record.slurm_job_id)
