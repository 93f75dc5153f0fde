#!/usr/bin/env python3
"""namdrunner's campaign step: one MD run carried to its target over as many Slurm jobs as it takes.

This file runs on the cluster - python3 3.7 or newer, the standard library only - at the start and at
the end of every segment of a campaign (``campaign.sbatch``), so that the campaign advances with no
client connected; namdrunner imports the same functions on the laptop for the same decisions (sync,
when a segment was killed before it could decide, or when compute nodes may not submit). One
implementation, two callers.

The campaign's state is ``campaign.json`` in the job's working directory (beside ``job_info.json``),
rewritten atomically by whoever decides. A segment:

1. ``start``: refuses to run when the campaign is over, paused, or the segment is not the one the state
   expects (a duplicate); counts an attempt (a requeued job is a new attempt of the same segment);
   picks the newest VALID restart set (``<out>.coor/.vel/.xsc``, ``<out>.restart.*``, NAMD's ``.old``
   copies; sizes agree with the atom count, the xsc step parses, nothing truncated); sizes the segment
   from the measured ns/day so it ends inside its wall time with a margin (and before a maintenance
   reservation); writes ``segment.namd`` (the job's config continuing from that set, ``run`` = the
   segment's steps, ``restartfreq`` so a kill loses at most a stated share).
2. NAMD runs; the batch script traps Slurm's warning signal before the time limit and stops NAMD.
3. ``end``: reads the segment's log (last step, ns/day, NAMD's own error text) and classifies how it
   ended (:data:`POLICY`): the target reached -> done; a segment that ended, a time limit, a
   preemption or node failure -> continue; NAMD's physics or input errors -> stop, never retried;
   anything unknown -> pause and say so. It prints the action for the batch script (``submit`` /
   ``done`` / ``stop`` / ``pause``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import tempfile
import time
from typing import Any

STATE_NAME = "campaign.json"
SEGMENT_CONFIG = "segment.namd"
SCHEMA = 1

# -- how a segment ended, and what the campaign does about it ------------------------------------------

#: the actions, in the words ``job show`` uses
CONTINUE, SHORTER, MORE_MEMORY, STOP, PAUSE, DONE = ("continue", "continue-shorter", "more-memory", "stop",
                                                     "pause", "done")  # fmt: skip

#: Slurm's final state (or what the segment saw itself) -> (action, why). The table in docs/guide.md.
POLICY = {
    "COMPLETED": (CONTINUE, "the segment ended; the next one continues from its outputs"),
    "TIMEOUT": (SHORTER, "the time limit came first; the next segment is shorter"),
    "PREEMPTED": (CONTINUE, "preempted by a higher-priority job; continues from the newest restart files"),
    "NODE_FAIL": (CONTINUE, "a node failed; continues from the newest restart files"),
    "BOOT_FAIL": (CONTINUE, "the node did not boot; continues from the newest restart files"),
    "REQUEUED": (CONTINUE, "Slurm requeued the segment; it continues from the newest restart files"),
    # the laptop side's only (the batch script decides every way NAMD ends): killed, or its launch refused
    "FAILED": (CONTINUE, "Slurm ended the segment before it could decide (FAILED); another attempt"),
    "OUT_OF_MEMORY": (MORE_MEMORY, "out of memory: once more with more memory, then the campaign pauses"),
    "CANCELLED": (STOP, "cancelled"),
    "NAMD_ERROR": (STOP, "NAMD stopped with an error; a retry would fail the same way"),
}

#: NAMD's own words for a run that must not be retried (physics and input errors), first match wins
NAMD_FATAL = (
    re.compile(r"atoms moving too fast", re.I),
    re.compile(r"constraint failure", re.I),
    re.compile(r"periodic cell has become too small", re.I),
    re.compile(r"^(?:REPLICA \d+ )?FATAL ERROR:", re.M),
    re.compile(r"^ERROR:", re.M),
)

DEFAULT_MARGIN = 0.10  # share of the wall time left unused at the end of a sized segment
DEFAULT_STARTUP_S = 60.0  # NAMD's start-up and the script's own work, before the first step
DEFAULT_LOSS = 0.05  # a kill loses at most this share of a segment (restartfreq)
DEFAULT_ATTEMPTS = 3
#: Slurm sends a job's warning signal up to this much earlier than asked (its time-limit check is periodic)
SIGNAL_SLACK_S = 30.0


def classify(slurm_state: str, log: dict[str, Any] | None = None) -> tuple[str, str]:
    """(action, why) for a segment that ended in ``slurm_state`` (Slurm's word, or ``COMPLETED`` /
    ``TIMEOUT`` / ``KILLED`` as the batch script saw it) with ``log`` (:func:`read_log`). NAMD's own error
    text wins over Slurm's state: a physics error is never retried, whatever Slurm says."""
    log = log or {}
    if log.get("error"):
        return STOP, f"NAMD stopped (the newest step in its log: {log.get('step', '?')}): {log['error']}"
    words = (slurm_state or "").split()
    state = words[0].upper().rstrip("+") if words else ""
    if state == "COMPLETED" and not log.get("completed"):
        state = "KILLED"  # the batch script ended but NAMD's end markers are missing
    if state in POLICY:
        return POLICY[state]
    return PAUSE, f"the segment ended {state or 'without a state'} and namdrunner does not know why; look at its logs"


# -- restart files ---------------------------------------------------------------------------------------


def coor_atoms(path: str) -> int | None:
    """The atom count of a binary ``.coor``/``.vel`` (``int32 n`` + ``n x 3 float64``), or None when the
    file is missing, truncated or its size disagrees with its header."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return None
    if len(head) < 4:
        return None
    for fmt in ("<i", ">i"):
        (n,) = struct.unpack(fmt, head)
        if n > 0 and size == 4 + 24 * n:
            return int(n)
    return None


def xsc_step(path: str) -> int | None:
    """The step of an ``.xsc`` (its first data line), or None when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.strip() and not line.startswith("#"):
                    field = line.split()[0]
                    return int(field) if field.isdigit() else None
    except OSError:
        return None
    return None


def restart_problems(prefix: str, suffix: str, natoms: int | None) -> list[str]:
    """What is wrong with the set ``<prefix>.coor<suffix>``, ``.vel``, ``.xsc`` (empty: usable)."""
    problems = []
    counts = {}
    for ext in (".coor", ".vel"):
        n = coor_atoms(prefix + ext + suffix)
        if n is None:
            problems.append(f"{os.path.basename(prefix + ext + suffix)} is missing or truncated")
        counts[ext] = n
    if counts[".coor"] and counts[".vel"] and counts[".coor"] != counts[".vel"]:
        problems.append(f"coordinates hold {counts['.coor']} atoms, velocities {counts['.vel']}")
    if natoms and counts[".coor"] and counts[".coor"] != natoms:
        problems.append(f"{counts['.coor']} atoms, the structure has {natoms}")
    if xsc_step(prefix + ".xsc" + suffix) is None:
        problems.append(f"{os.path.basename(prefix + '.xsc' + suffix)} is missing or has no step")
    return problems


def newest_restart(output: str, natoms: int | None) -> tuple[dict[str, Any] | None, list[str]]:
    """The newest valid restart set of a run whose ``outputName`` is ``output``: ({prefix, suffix, step},
    notes on the sets passed over), or (None, notes). Final outputs win a tie over restart files, and
    those over NAMD's ``.old`` copies."""
    notes = []
    best: dict[str, Any] | None = None
    for rank, (prefix, suffix) in enumerate(((output, ""), (output + ".restart", ""), (output + ".restart", ".old"))):
        if not os.path.exists(prefix + ".xsc" + suffix):
            continue
        problems = restart_problems(prefix, suffix, natoms)
        name = os.path.basename(prefix) + ".*" + suffix
        if problems:
            notes.append(f"{name} not used: " + "; ".join(problems))
            continue
        step = xsc_step(prefix + ".xsc" + suffix) or 0
        if best is None or (step, -rank) > (best["step"], -best["rank"]):
            best = {"prefix": prefix, "suffix": suffix, "step": step, "rank": rank}
    return best, notes


# -- the log ---------------------------------------------------------------------------------------------

_ENERGY = re.compile(r"^ENERGY:\s+(\d+)")
_PERF = re.compile(r"^PERFORMANCE:\s+\d+\s+averaging\s+([0-9.eE+-]+)\s+ns/day")
_BENCH = re.compile(r"^Info: Benchmark time: .*?([0-9.eE+-]+) days/ns")
_WRITE_STEP = re.compile(r"^WRITING .* AT STEP (\d+)")
_TIMING = re.compile(r"^TIMING:\s+(\d+)\s+CPU:.*Wall:\s+[0-9.eE+-]+,\s+([0-9.eE+-]+)/step")


def read_log(path: str, timestep_fs: float = 2.0) -> dict[str, Any]:
    """What a segment's NAMD log says: ``step`` (the newest), ``ns_per_day`` (the last PERFORMANCE
    average, else TIMING's wall s/step, else the Benchmark line), ``error`` (NAMD's first error line),
    ``completed`` (WallClock/End of program after the final outputs, no error). Streamed line by line."""
    out: dict[str, Any] = {"step": None, "ns_per_day": None, "error": None, "completed": False}
    wrote_final = False
    try:
        fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    except OSError:
        return out
    with fh:
        for line in fh:
            m = _ENERGY.match(line) or _WRITE_STEP.match(line)
            if m:
                out["step"] = max(out["step"] or 0, int(m.group(1)))
                wrote_final = wrote_final or "TO OUTPUT FILE" in line
                continue
            m = _PERF.match(line)
            if m:
                out["ns_per_day"] = float(m.group(1))
                continue
            m = _TIMING.match(line)
            if m and out["ns_per_day"] is None and float(m.group(2)) > 0:
                out["timing_ns_per_day"] = timestep_fs * 1e-6 * 86400 / float(m.group(2))
                continue
            m = _BENCH.match(line)
            if m and float(m.group(1)) > 0:
                out["bench_ns_per_day"] = 1.0 / float(m.group(1))
                continue
            found = next((i for i, p in enumerate(NAMD_FATAL) if p.search(line)), None)
            if found is not None and (out["error"] is None or found < out["error_rank"]):
                out["error"], out["error_rank"] = line.strip()[:300], found  # NAMD's most telling line
            if line.startswith(("WallClock:", "[Partition 0][Node 0] End of program")) and wrote_final:
                out["completed"] = out["error"] is None
    if out["ns_per_day"] is None:
        out["ns_per_day"] = out.pop("timing_ns_per_day", None) or out.pop("bench_ns_per_day", None)
    out.pop("timing_ns_per_day", None)
    out.pop("bench_ns_per_day", None)
    out.pop("error_rank", None)
    return out


# -- sizing ----------------------------------------------------------------------------------------------


def plan_segment(
    start: int,
    target: int,
    *,
    steps_per_cycle: int,
    timestep_fs: float,
    walltime_s: float,
    ns_per_day: float | None,
    margin: float = DEFAULT_MARGIN,
    startup_s: float = DEFAULT_STARTUP_S,
    loss: float = DEFAULT_LOSS,
    until_reservation_s: float | None = None,
    shorter: bool = False,
    warn_s: float = 0.0,
    probe_restartfreq: int | None = None,
) -> dict[str, Any]:
    """The next segment: ``steps`` (a multiple of ``steps_per_cycle``; exactly what is left for the last
    one), ``restartfreq`` (a kill loses at most ``loss`` of the segment) and ``expected_s``. With a
    measured ``ns_per_day`` the segment fills the wall time minus ``margin`` and the start-up (and ends
    before a reservation ``until_reservation_s`` away); without one it asks for everything left and the
    time limit's warning signal stops it cleanly - the next segment is then sized from what it measured.
    ``shorter`` (after a TIMEOUT) takes another 10 % off; the segment also ends before Slurm's warning
    (``warn_s`` before the limit, up to :data:`SIGNAL_SLACK_S` early)."""
    left = max(0, target - start)
    cycle = max(1, steps_per_cycle)
    reserve = max(walltime_s * (margin + (0.10 if shorter else 0.0)), (warn_s + SIGNAL_SLACK_S) if warn_s else 0.0)
    usable = walltime_s - reserve - startup_s
    if until_reservation_s is not None:
        usable = min(usable, until_reservation_s - startup_s - walltime_s * margin)
    if ns_per_day and ns_per_day > 0:
        steps_per_s = ns_per_day / (timestep_fs * 1e-6) / 86400.0
        fit = int(max(usable, 0) * steps_per_s) // cycle * cycle
        why = f"{ns_per_day:.3g} ns/day fills {100 * (1 - margin):.0f} % of the wall time"
    else:
        steps_per_s = None
        fit = left
        why = "no speed measured yet: runs until done or until the time limit's warning"
    steps = min(left, max(fit, cycle if left else 0))
    if steps == left:
        why = "the last segment: exactly what is left" if steps_per_s else why
    freq = max(cycle, int(steps * loss) // cycle * cycle) if steps else cycle
    if not steps_per_s:  # how far the probe gets is unknown: the config's own restartfreq, not 5 % of all
        freq = max(cycle, (probe_restartfreq or freq) // cycle * cycle)
    expected = startup_s + steps / steps_per_s if steps_per_s else None
    return {"steps": steps, "restartfreq": freq, "expected_s": expected, "why": why}


# -- time limits and maintenance windows -----------------------------------------------------------------


def slurm_seconds(text: str) -> float | None:
    """A Slurm duration (``[D-]HH:MM:SS``, ``MM:SS``, ``MM``) in seconds; None for ``UNLIMITED`` and the like."""
    text = text.strip()
    m = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+)(?::(\d+))?", text)
    if not m:
        return None
    days, a, b, c = m.groups()
    if c is not None:  # [D-]HH:MM:SS
        h, mi, s = int(a or 0), int(b), int(c)
    elif a is not None:  # MM:SS, or D-HH:MM with days
        h, mi, s = (int(a), int(b), 0) if days else (0, int(a), int(b))
    else:  # MM, or D-HH
        h, mi, s = (int(b), 0, 0) if days else (0, int(b), 0)
    return float(int(days or 0) * 86400 + h * 3600 + mi * 60 + s)


def maintenance_starts(reservations: str, node: str | None = None) -> list[float]:
    """When the maintenance reservations of ``scontrol show reservation -o`` start (epoch seconds; Slurm
    prints the cluster's local time, read here on the cluster), those on ``node`` (or ALL) when given."""
    starts = []
    for line in reservations.splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if "MAINT" not in fields.get("Flags", "").upper().split(","):
            continue
        nodes = fields.get("Nodes", "")
        if node and nodes not in ("", "ALL", "(null)") and node not in _expand_nodes(nodes):
            continue
        try:
            starts.append(time.mktime(time.strptime(fields.get("StartTime", ""), "%Y-%m-%dT%H:%M:%S")))
        except ValueError:
            continue
    return sorted(starts)


def _expand_nodes(nodes: str) -> set[str]:
    """``nr-node[1-3],x`` -> the names (enough of Slurm's hostlist for a reservation's node list)."""
    out: set[str] = set()
    for prefix, ranges, plain in re.findall(r"([^,\[]+)\[([^\]]+)\]|([^,]+)", nodes):
        if plain:
            out.add(plain)
            continue
        for part in ranges.split(","):
            lo, _, hi = part.partition("-")
            for n in range(int(lo), int(hi or lo) + 1):
                out.add(f"{prefix}{str(n).zfill(len(lo))}")
    return out


#: a segment shorter than this is not worth squeezing in before a maintenance window: it waits it out
MIN_SEGMENT_S = 600.0


def capped_time(walltime_s: float, reservations: str, now_s: float, node: str | None = None) -> str | None:
    """The ``--time`` that lets the next segment run before the next maintenance window (a whole minute
    less than the time to it, as Slurm counts minutes), or None: no window in the way, or too little time
    before it to be worth a segment (the job then waits the window out, pending with ReqNodeNotAvail)."""
    for start in maintenance_starts(reservations, node):
        gap = start - now_s - 120.0  # the submission, the scheduler's pass and the start-up
        if gap >= walltime_s or start <= now_s:
            continue
        if gap < MIN_SEGMENT_S:
            return None
        minutes = int(gap // 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}:00"
    return None


# -- the segment's config --------------------------------------------------------------------------------

_CONTINUATION_KEYS = ("bincoordinates", "binvelocities", "extendedsystem", "firsttimestep", "restartfreq")
_COMMAND = re.compile(r"^\s*(run|minimize)\s+(?:norepeat\s+)?\d+\s*(?:[#;].*)?$", re.I)


def segment_config(base: str, *, steps: int, restartfreq: int, start: dict[str, Any] | None, first_step: int) -> str:
    """The job's config made into one segment: its ``run`` command replaced by ``run <steps>``,
    ``restartfreq`` set, and - continuing from a restart set - its restart inputs and ``firsttimestep``
    replaced by that set's (``temperature`` dropped: the velocities carry it). The first segment keeps
    the config's own start (a workflow stage's inputs from the stage before)."""
    out = ["# namdrunner campaign segment: the job's config.namd, continued (see campaign.json)"]
    replaced = _CONTINUATION_KEYS if start is not None else ("restartfreq",)
    for line in base.splitlines():
        words = line.split()
        key = words[0].lower() if words else ""
        if key in replaced or _COMMAND.match(line) or (start is not None and key == "temperature"):
            out.append("# (campaign) " + line)
            continue
        out.append(line)
    if start is not None:
        p, s = start["prefix"], start["suffix"]
        out += [f"bincoordinates     {p}.coor{s}", f"binvelocities      {p}.vel{s}", f"extendedSystem     {p}.xsc{s}",
                f"firsttimestep      {first_step}"]  # fmt: skip
    out += [f"restartfreq        {restartfreq}", f"run                {steps}", ""]
    return "\n".join(out)


# -- the state file --------------------------------------------------------------------------------------


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def load(workdir: str) -> dict[str, Any]:
    with open(os.path.join(workdir, STATE_NAME), encoding="utf-8") as fh:
        state: dict[str, Any] = json.load(fh)
    return state


def save(workdir: str, state: dict[str, Any]) -> None:
    """Write ``campaign.json`` atomically (a reader never sees half of it)."""
    state["updated_at"] = now()
    fd, tmp = tempfile.mkstemp(prefix=".campaign.", dir=workdir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, os.path.join(workdir, STATE_NAME))


def _seconds(stamp: str | None) -> float | None:
    try:
        return float(time.mktime(time.strptime(stamp or "", "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


def su_spent(state: dict[str, Any]) -> float:
    """The SUs the campaign's attempts used (their run time x ``su_per_hour``; a running one to now)."""
    rate = float(state.get("su_per_hour") or 0.0)
    total = 0.0
    for a in state.get("attempts", []):
        start = _seconds(a.get("started_at"))
        end = _seconds(a.get("ended_at")) or _seconds(now())
        if start is not None and end is not None:
            total += max(0.0, end - start) / 3600.0 * rate
    return total


def over_budget(state: dict[str, Any]) -> str | None:
    """Why the next segment may not run under the campaign's SU budget (its whole wall time counted), or
    None (no budget, or room for it)."""
    budget = state.get("su_budget")
    if not budget:
        return None
    spent = su_spent(state)
    worst = float(state["walltime_s"]) / 3600.0 * float(state.get("su_per_hour") or 0.0)
    if spent + worst <= float(budget):
        return None
    return (f"the SU budget {float(budget):g} would be exceeded: {spent:.1f} SU spent, the next segment may use up "
            f"to {worst:.1f} SU; raise it in campaign.json (su_budget) or stop here")  # fmt: skip


def current(state: dict[str, Any]) -> dict[str, Any] | None:
    """The newest attempt."""
    return state["attempts"][-1] if state.get("attempts") else None


def _why_not(
    state: dict[str, Any], segment: int, attempt: int, found: dict[str, Any] | None, notes: list[str]
) -> str | None:
    """Why no segment may start now (the campaign pauses), or None."""
    budget = over_budget(state)
    if budget:
        return budget
    if attempt > state.get("max_attempts", DEFAULT_ATTEMPTS):
        return f"segment {segment} failed {attempt - 1} times; look at its logs"
    if found is None and state["attempts"]:
        return "no valid restart files to continue from: " + "; ".join(notes)
    return None


def _stop_here(workdir: str, state: dict[str, Any], new_state: str, reason: str) -> str:
    state["state"], state["reason"] = new_state, reason
    save(workdir, state)
    return f"skip: {reason}"


def start_segment(
    workdir: str,
    slurm_id: str,
    restart_count: int = 0,
    until_reservation_s: float | None = None,
    log_name: str = "namd_output.log",
    time_left_s: float | None = None,
) -> str:
    """At the start of a batch job: the segment to run (writes ``segment.namd``) -> ``run``, or why not
    (``skip: ...``: the campaign is over or paused, or this job is a duplicate)."""
    state = load(workdir)
    if state["state"] != "running":
        return f"skip: the campaign is {state['state']}"
    last = current(state)
    if last is not None and last.get("state") == "running":
        if last["slurm_id"] != slurm_id:
            return f"skip: segment {last['segment']} runs as Slurm job {last['slurm_id']}"
        # the same Slurm job started again: Slurm requeued it (preemption, node failure); its log, not yet
        # overwritten, says how far the killed run got
        end_attempt(
            last, "REQUEUED", POLICY["REQUEUED"][1], read_log(os.path.join(workdir, log_name), state["timestep_fs"])
        )
    if state.get("next_job") not in (None, slurm_id) and last is not None:
        return f"skip: the campaign expects Slurm job {state['next_job']}"
    # a segment that ended or hit its time limit made its progress: the next one is a new segment; one a
    # node failure, a preemption or a requeue cut short is tried again (another attempt of the same one)
    segment = (last["segment"] + (1 if last["outcome"] in ("COMPLETED", "TIMEOUT") else 0)) if last else 1
    attempt = 1 + sum(1 for a in state["attempts"] if a["segment"] == segment)
    found, notes = newest_restart(os.path.join(workdir, state["output"]), state.get("natoms"))
    sys.stderr.write("".join(f"namdrunner campaign: {n}\n" for n in notes))  # which restart files, and why
    why_not = _why_not(state, segment, attempt, found, notes)
    if why_not:
        return _stop_here(workdir, state, PAUSE, why_not)
    first = found["step"] if found else state.get("first_step", 0)
    shorter = bool(last and last["action"] == SHORTER)
    walltime = min(float(state["walltime_s"]), time_left_s) if time_left_s else float(state["walltime_s"])
    plan = plan_segment(first, state["target_step"], steps_per_cycle=state["steps_per_cycle"],
                        timestep_fs=state["timestep_fs"], walltime_s=walltime,
                        ns_per_day=state.get("ns_per_day"), margin=state.get("margin", DEFAULT_MARGIN),
                        startup_s=state.get("startup_s", DEFAULT_STARTUP_S), warn_s=state.get("warn_s", 0.0),
                        probe_restartfreq=state.get("config_restartfreq"),
                        loss=state.get("loss", DEFAULT_LOSS), until_reservation_s=until_reservation_s,
                        shorter=shorter)  # fmt: skip
    if plan["steps"] <= 0:
        return _stop_here(workdir, state, DONE, f"the target step {state['target_step']} is reached")
    with open(os.path.join(workdir, state["config"]), encoding="utf-8") as fh:
        base = fh.read()
    text = segment_config(base, steps=plan["steps"], restartfreq=plan["restartfreq"], start=found, first_step=first)
    with open(os.path.join(workdir, SEGMENT_CONFIG), "w", encoding="utf-8") as fh:
        fh.write(text)
    source = "the job's inputs" if found is None else os.path.basename(found["prefix"]) + ".*" + found["suffix"]
    state["attempts"].append({
        "segment": segment, "attempt": attempt, "slurm_id": slurm_id, "state": "running", "started_at": now(),
        "start_step": first, "planned_steps": plan["steps"], "restartfreq": plan["restartfreq"], "from": source,
        "notes": notes, "why": plan["why"], "restart_count": restart_count, "outcome": None, "action": None,
        "reason": None, "end_step": None, "ns_per_day": None, "ended_at": None,
    })  # fmt: skip
    state["next_job"] = None
    save(workdir, state)
    return "run"


def end_attempt(attempt: dict[str, Any], outcome: str, reason: str, log: dict[str, Any] | None) -> None:
    attempt["state"] = "ended"
    attempt["outcome"] = outcome
    attempt["ended_at"] = now()
    requeued = outcome == "REQUEUED" and not (log or {}).get("error")  # NAMD's own error still stops it
    action, why = (CONTINUE, reason) if requeued else classify(outcome, log)
    attempt["action"], attempt["reason"] = action, why
    if log:
        attempt["end_step"] = log.get("step")
        attempt["ns_per_day"] = log.get("ns_per_day")


def end_segment(workdir: str, seen: str, log_name: str) -> str:
    """At the end of a batch job: how the segment ended (``seen``: ``COMPLETED`` when NAMD exited 0,
    ``TIMEOUT`` when the time limit's warning stopped it, ``KILLED`` otherwise) -> the action for the
    batch script: ``submit`` (the next segment), ``done``, ``stop`` or ``pause`` (the state says why)."""
    state = load(workdir)
    attempt = current(state)
    if attempt is None or attempt["state"] != "running":
        return "pause"
    log = read_log(os.path.join(workdir, log_name), state["timestep_fs"])
    end_attempt(attempt, seen, "", log)
    if log.get("ns_per_day"):
        state["ns_per_day"] = log["ns_per_day"]
    if state["state"] != "running":  # cancelled (or paused) while this segment ran: nothing comes next
        save(workdir, state)
        return "stop" if state["state"] == "cancelled" else "pause"
    reached = (log.get("step") or 0) >= state["target_step"] and attempt["action"] == CONTINUE
    if reached and log.get("completed"):
        state["state"], state["reason"] = DONE, f"the target step {state['target_step']} is reached"
        attempt["action"] = DONE
    elif attempt["action"] in (CONTINUE, SHORTER) and over_budget(state):
        state["state"], state["reason"] = PAUSE, over_budget(state)
    elif attempt["action"] in (CONTINUE, SHORTER):
        state["reason"] = attempt["reason"]
    elif attempt["action"] == STOP:
        state["state"], state["reason"] = "stopped", attempt["reason"]
    else:  # pause, more-memory: a person (or the laptop side, which can read Slurm's verdict) decides
        state["state"], state["reason"] = PAUSE, attempt["reason"]
    save(workdir, state)
    return {"running": "submit", DONE: "done", "stopped": "stop"}.get(state["state"], "pause")


def submitted(workdir: str, slurm_id: str) -> None:
    """Record the next segment's Slurm job (submitted by the batch script or by namdrunner)."""
    state = load(workdir)
    state["next_job"] = slurm_id
    save(workdir, state)


def cancel(workdir: str) -> list[str]:
    """The campaign is cancelled (no segment starts or follows); the Slurm jobs to scancel."""
    state = load(workdir)
    ids = [a["slurm_id"] for a in state["attempts"] if a.get("state") == "running"]
    ids += [state["next_job"]] if state.get("next_job") else []
    state["state"], state["reason"], state["next_job"] = "cancelled", "cancelled by its owner", None
    save(workdir, state)
    return ids


def resume(workdir: str) -> str:
    """A paused, stopped or cancelled campaign runs again (its owner said so): the current segment gets
    another ``max_attempts``; the next segment is queued by the caller."""
    state = load(workdir)
    if state["state"] == DONE:
        return "done"
    last = current(state)
    tried = sum(1 for a in state["attempts"] if last and a["segment"] == last["segment"])
    state["max_attempts"] = tried + DEFAULT_ATTEMPTS
    state["state"], state["reason"], state["next_job"] = "running", "resumed by its owner", None
    save(workdir, state)
    return "running"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="campaign_step.py")
    ap.add_argument("command", choices=("start", "end", "submitted", "cancel", "resume", "cap"))
    ap.add_argument("--workdir", default=".")
    ap.add_argument("--slurm-id", default=os.environ.get("SLURM_JOB_ID", ""))
    ap.add_argument("--restart-count", type=int, default=int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0))
    ap.add_argument("--seen", default="KILLED")
    ap.add_argument("--log", default="namd_output.log")
    ap.add_argument("--until-reservation-s", type=float, default=None)
    ap.add_argument("--time-left", default="", help="squeue's %%L for this job: the time it really has")
    ap.add_argument("--walltime-s", type=float, default=0.0)
    ap.add_argument("--node", default=os.environ.get("SLURMD_NODENAME"))
    args = ap.parse_args(argv)
    if args.command == "start":
        answer = start_segment(args.workdir, args.slurm_id, args.restart_count, args.until_reservation_s, args.log,
                               slurm_seconds(args.time_left))  # fmt: skip
        sys.stdout.write(answer + "\n")
    elif args.command == "end":
        sys.stdout.write(end_segment(args.workdir, args.seen, args.log) + "\n")
    elif args.command == "cancel":
        sys.stdout.write(" ".join(cancel(args.workdir)) + "\n")
    elif args.command == "resume":
        sys.stdout.write(resume(args.workdir) + "\n")
    elif args.command == "cap":  # scontrol show reservation -o on stdin -> the --time for the next segment
        sys.stdout.write((capped_time(args.walltime_s, sys.stdin.read(), time.time(), args.node) or "") + "\n")
    else:
        submitted(args.workdir, args.slurm_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
