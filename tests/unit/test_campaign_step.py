"""The campaign's decisions (namdrunner_core/scripts/campaign_step.py, the file that runs on the cluster at
each segment's start and end): the failure policy one state at a time, segment sizing against the wall
time, restart files validated (a truncated set falls back to NAMD's .old copies), the log read for
step, speed and NAMD's own error text, and the state machine of start/end on real files."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from namdrunner_core.scripts import campaign_step as cs
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "namd"


# -- the policy, one state at a time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("TIMEOUT", cs.SHORTER),
        ("PREEMPTED", cs.CONTINUE),
        ("NODE_FAIL", cs.CONTINUE),
        ("BOOT_FAIL", cs.CONTINUE),
        ("REQUEUED", cs.CONTINUE),
        ("OUT_OF_MEMORY", cs.MORE_MEMORY),
        ("CANCELLED by 1234", cs.STOP),
        ("DEADLINE", cs.PAUSE),
        ("", cs.PAUSE),
    ],
)
def test_each_slurm_ending_has_its_policy(state: str, action: str) -> None:
    got, why = cs.classify(state, {"completed": False})
    assert got == action
    assert why  # every decision says why


def test_a_completed_segment_continues_only_when_namd_says_it_ended() -> None:
    assert cs.classify("COMPLETED", {"completed": True})[0] == cs.CONTINUE
    action, why = cs.classify("COMPLETED", {"completed": False})  # exit 0 without NAMD's end markers
    assert action == cs.PAUSE
    assert "KILLED" in why


@pytest.mark.parametrize(
    "text",
    [
        "ERROR: Atom 17 velocity is 1e10 (limit is 1000)\nFATAL ERROR: Atoms moving too fast; simulation unstable",
        "FATAL ERROR: Constraint failure in RATTLE algorithm for atom 120!",
        "FATAL ERROR: Periodic cell has become too small for original patch grid!",
        "FATAL ERROR: Unable to open binary file input_files/x.coor",
    ],
)
def test_namds_own_errors_stop_the_campaign_whatever_slurm_says(tmp_path: Path, text: str) -> None:
    log = tmp_path / "namd.log"
    log.write_text("Info: TIMESTEP 2\nENERGY:     4800  1 2 3\n" + text + "\n")
    read = cs.read_log(str(log))
    for state in ("NODE_FAIL", "COMPLETED", "TIMEOUT"):
        action, why = cs.classify(state, read)
        assert action == cs.STOP
        assert "step in its log: 4800" in why
        assert text.splitlines()[-1].split("FATAL ERROR: ")[-1][:30] in why  # the most telling line


# -- sizing ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ns_per_day", [0.5, 4.6, 60.0, 400.0])
def test_a_full_segment_fills_80_to_97_percent_of_its_wall_time(ns_per_day: float) -> None:
    walltime = 24 * 3600.0
    plan = cs.plan_segment(0, 10**10, steps_per_cycle=20, timestep_fs=2.0, walltime_s=walltime, ns_per_day=ns_per_day)
    assert plan["steps"] % 20 == 0
    assert 0.80 <= plan["expected_s"] / walltime <= 0.97
    assert plan["restartfreq"] % 20 == 0
    assert plan["restartfreq"] <= 0.05 * plan["steps"]  # a kill loses at most 5 % of the segment


def test_the_last_segment_ends_exactly_at_the_target() -> None:
    plan = cs.plan_segment(9_000_000, 9_001_000, steps_per_cycle=20, timestep_fs=2.0, walltime_s=86400, ns_per_day=5)
    assert plan["steps"] == 1_000


def test_a_reservation_or_a_timeout_shortens_the_segment() -> None:
    kw = {"steps_per_cycle": 20, "timestep_fs": 2.0, "walltime_s": 86400.0, "ns_per_day": 10.0}
    full = cs.plan_segment(0, 10**10, **kw)["steps"]  # type: ignore[arg-type]
    before = cs.plan_segment(0, 10**10, until_reservation_s=3 * 3600, **kw)  # type: ignore[arg-type]
    assert before["steps"] < full / 7
    assert before["expected_s"] < 3 * 3600
    shorter = cs.plan_segment(0, 10**10, shorter=True, **kw)["steps"]  # type: ignore[arg-type]
    assert 0.85 * full < shorter < full


def test_without_a_measured_speed_a_segment_asks_for_everything_left() -> None:
    plan = cs.plan_segment(0, 250_000_000, steps_per_cycle=12, timestep_fs=2.0, walltime_s=600, ns_per_day=None,
                           probe_restartfreq=4800)  # fmt: skip
    assert plan["steps"] == 250_000_000
    assert plan["expected_s"] is None
    assert plan["restartfreq"] == 4800  # the config's own: not 5 % of a 500 ns target


# -- restart files ---------------------------------------------------------------------------------------


def _bin(path: Path, natoms: int, *, truncate: int = 0) -> None:
    data = struct.pack("<i", natoms) + b"\0" * (24 * natoms)
    path.write_bytes(data[: len(data) - truncate])


def _xsc(path: Path, step: int) -> None:
    path.write_text(f"# NAMD extended system configuration restart file\n#$LABELS step a_x\n{step} 50 0 0\n")


def _set(prefix: Path, step: int, natoms: int = 10, suffix: str = "", truncate: int = 0) -> None:
    _bin(Path(f"{prefix}.coor{suffix}"), natoms, truncate=truncate)
    _bin(Path(f"{prefix}.vel{suffix}"), natoms)
    _xsc(Path(f"{prefix}.xsc{suffix}"), step)


def test_the_newest_valid_set_wins_and_a_truncated_one_falls_back_to_old(tmp_path: Path) -> None:
    out = tmp_path / "prod"
    _set(Path(f"{out}.restart"), 2400, suffix=".old")
    _set(Path(f"{out}.restart"), 3600, truncate=7)  # killed while NAMD rewrote it
    found, notes = cs.newest_restart(str(out), 10)
    assert found is not None
    assert (found["step"], found["suffix"]) == (2400, ".old")
    assert any("prod.restart.* not used" in n and "truncated" in n for n in notes)
    _set(out, 4800)  # the final outputs of a segment that ended
    found, _ = cs.newest_restart(str(out), 10)
    assert found is not None
    assert (found["prefix"], found["step"]) == (str(out), 4800)


def test_a_set_of_another_system_is_never_used(tmp_path: Path) -> None:
    out = tmp_path / "prod"
    _set(Path(f"{out}.restart"), 1200, natoms=11)
    found, notes = cs.newest_restart(str(out), 10)
    assert found is None
    assert "11 atoms, the structure has 10" in notes[0]


# -- the log ---------------------------------------------------------------------------------------------


def test_real_logs_give_step_speed_and_completion() -> None:
    done = cs.read_log(str(FIXTURES / "namd3.0.1_cpu_multicore_npt_complete.log"))
    assert done["completed"] is True
    assert done["error"] is None
    assert done["ns_per_day"]
    assert done["ns_per_day"] > 0
    running = cs.read_log(str(FIXTURES / "namd3.0.2_cpu_npt_inprogress.log"))
    assert running["completed"] is False
    assert running["step"]
    assert running["step"] > 0


# -- start and end, on files -----------------------------------------------------------------------------

BASE = """structure input_files/x.psf
coordinates input_files/x.pdb
temperature 300
firsttimestep 0
outputName outputs/prod
timestep 2
stepspercycle 20
restartfreq 1000
run 100000
"""


def _campaign(tmp_path: Path, **over: object) -> Path:
    (tmp_path / "outputs").mkdir()
    (tmp_path / "config.namd").write_text(BASE)
    state = {"schema": cs.SCHEMA, "state": "running", "reason": "", "target_step": 10_000, "first_step": 0,
             "timestep_fs": 2.0, "steps_per_cycle": 20, "walltime_s": 600.0, "ns_per_day": None,
             "output": "outputs/prod", "natoms": 10, "config": "config.namd", "attempts": [], "next_job": None,
             "max_attempts": 3, **over}  # fmt: skip
    (tmp_path / cs.STATE_NAME).write_text(json.dumps(state))
    return tmp_path


def _log(path: Path, step: int, *, ended: bool, error: str = "") -> None:
    lines = ["Info: TIMESTEP 2", f"ENERGY:  {step}  1 2 3", "PERFORMANCE: 100  averaging 4.5 ns/day, 0.03 sec/step"]
    if error:
        lines.append(error)
    if ended:
        lines += [f"WRITING COORDINATES TO OUTPUT FILE AT STEP {step}", "WallClock: 12.0  CPUTime: 11", "End"]
    path.write_text("\n".join(lines) + "\n")


def test_segments_chain_through_a_timeout_and_a_requeue_to_the_exact_target(tmp_path: Path) -> None:
    d = _campaign(tmp_path)
    assert cs.start_segment(str(d), "101") == "run"
    seg = (d / cs.SEGMENT_CONFIG).read_text()
    assert "\nrun                10000\n" in seg
    assert "# (campaign) run 100000" in seg
    assert "bincoordinates" not in seg  # the first segment starts from the job's own inputs
    # the time limit's warning stopped it at 4000; NAMD had written its restart files at 4000
    _set(d / "outputs" / "prod.restart", 4000)
    _log(d / "namd.log", 4000, ended=False)
    assert cs.end_segment(str(d), "TIMEOUT", "namd.log") == "submit"
    cs.submitted(str(d), "102")
    assert cs.start_segment(str(d), "999") == "skip: the campaign expects Slurm job 102"  # a duplicate never runs
    assert cs.start_segment(str(d), "102") == "run"
    seg = (d / cs.SEGMENT_CONFIG).read_text()
    assert "bincoordinates     " + str(d / "outputs" / "prod.restart.coor") in seg
    assert "firsttimestep      4000" in seg
    assert "# (campaign) temperature 300" in seg  # the velocities carry the temperature
    # the node failed; Slurm requeued the same job, which starts again: a new attempt of segment 2
    _set(d / "outputs" / "prod.restart", 6000)
    assert cs.start_segment(str(d), "102", restart_count=1) == "run"
    state = cs.load(str(d))
    assert [(a["segment"], a["attempt"], a["outcome"]) for a in state["attempts"]] == [
        (1, 1, "TIMEOUT"), (2, 1, "REQUEUED"), (2, 2, None)]  # fmt: skip
    assert state["attempts"][-1]["start_step"] == 6000
    assert "run                4000" in (d / cs.SEGMENT_CONFIG).read_text()  # exactly what is left
    _set(d / "outputs" / "prod", 10_000)
    _log(d / "namd.log", 10_000, ended=True)
    assert cs.end_segment(str(d), "COMPLETED", "namd.log") == "done"
    state = cs.load(str(d))
    assert state["state"] == cs.DONE
    assert state["ns_per_day"] == 4.5
    assert cs.start_segment(str(d), "103").startswith("skip: the campaign is done")


def test_a_physics_error_stops_after_one_attempt(tmp_path: Path) -> None:
    d = _campaign(tmp_path)
    assert cs.start_segment(str(d), "201") == "run"
    _log(d / "namd.log", 2200, ended=False, error="FATAL ERROR: Constraint failure in RATTLE algorithm for atom 3!")
    assert cs.end_segment(str(d), "KILLED", "namd.log") == "stop"
    state = cs.load(str(d))
    assert state["state"] == "stopped"
    assert "Constraint failure" in state["reason"]
    assert "step in its log: 2200" in state["reason"]
    assert cs.start_segment(str(d), "202") == "skip: the campaign is stopped"


def test_no_valid_restart_files_pause_the_campaign_rather_than_start_over(tmp_path: Path) -> None:
    d = _campaign(tmp_path)
    assert cs.start_segment(str(d), "301") == "run"
    _set(d / "outputs" / "prod.restart", 1000, truncate=5)  # the only set is torn, no .old copy yet
    answer = cs.start_segment(str(d), "301", restart_count=1)  # requeued after a node failure
    assert answer.startswith("skip: no valid restart files to continue from")
    assert "truncated" in answer
    assert cs.load(str(d))["state"] == cs.PAUSE


def test_a_paused_campaign_says_why(tmp_path: Path) -> None:
    d = _campaign(tmp_path, max_attempts=2)
    assert cs.start_segment(str(d), "401") == "run"
    _set(d / "outputs" / "prod.restart", 1000)
    assert cs.start_segment(str(d), "401", restart_count=1) == "run"  # attempt 2 of segment 1
    answer = cs.start_segment(str(d), "401", restart_count=2)  # a third start: over the cap
    assert answer == "skip: segment 1 failed 2 times; look at its logs"
    assert cs.load(str(d))["state"] == cs.PAUSE


def test_the_su_budget_is_never_exceeded(tmp_path: Path) -> None:
    # 10 min segments at 6 SU/h: 1 SU each at most; a budget of 2.5 SU allows two segments, not a third
    d = _campaign(tmp_path, su_budget=2.5, su_per_hour=6.0)
    assert cs.start_segment(str(d), "501") == "run"
    _set(d / "outputs" / "prod.restart", 4000)
    _log(d / "namd.log", 4000, ended=False)
    state = cs.load(str(d))
    state["attempts"][-1]["started_at"] = "2026-12-07T10:00:00Z"  # it ran 10 minutes: 1 SU
    (d / cs.STATE_NAME).write_text(json.dumps(state))
    real_now = cs.now
    cs.now = lambda: "2026-12-07T10:10:00Z"  # type: ignore[assignment]
    try:
        assert cs.end_segment(str(d), "TIMEOUT", "namd.log") == "submit"  # 1 spent + 1 at most <= 2.5
        cs.submitted(str(d), "502")
        assert cs.start_segment(str(d), "502") == "run"
        state = cs.load(str(d))
        state["attempts"][-1]["started_at"] = "2026-12-07T10:00:00Z"
        (d / cs.STATE_NAME).write_text(json.dumps(state))
        assert cs.end_segment(str(d), "TIMEOUT", "namd.log") == "pause"  # 2 spent + 1 more would pass 2.5
    finally:
        cs.now = real_now  # type: ignore[assignment]
    state = cs.load(str(d))
    assert state["state"] == cs.PAUSE
    assert state["reason"].startswith("the SU budget 2.5 would be exceeded: 2.0 SU spent")


# -- time limits and maintenance windows -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1-02:03:04", 93784.0),
        ("02:03:04", 7384.0),
        ("03:04", 184.0),
        ("5", 300.0),
        ("2-03", 183600.0),
        ("UNLIMITED", None),
        ("", None),
    ],
)
def test_slurm_durations(text: str, seconds: float | None) -> None:
    assert cs.slurm_seconds(text) == seconds


def _reservation(start: float, *, flags: str = "MAINT,SPEC_NODES", nodes: str = "ALL") -> str:
    stamp = cs.time.strftime("%Y-%m-%dT%H:%M:%S", cs.time.localtime(start))
    return (f"ReservationName=maint StartTime={stamp} EndTime=2099-01-01T00:00:00 Duration=04:00:00 "
            f"Nodes={nodes} NodeCnt=1 Features=(null) PartitionName=(null) Flags={flags} Users=root")  # fmt: skip


def test_the_next_segment_fits_before_a_maintenance_window_or_waits_it_out() -> None:
    now = 1_800_000_000.0
    day = 86400.0
    # a window in 6 h: the next 24 h segment asks for what fits (a whole minute less, after 2 min slack)
    assert cs.capped_time(day, _reservation(now + 6 * 3600), now) == "05:58:00"
    # no window in the way, a window after the segment, a reservation that is not maintenance: no cap
    assert cs.capped_time(day, "", now) is None
    assert cs.capped_time(3600.0, _reservation(now + 6 * 3600), now) is None
    assert cs.capped_time(day, _reservation(now + 6 * 3600, flags="IGNORE_JOBS"), now) is None
    # too close to be worth a segment: the job waits the window out (pending, ReqNodeNotAvail)
    assert cs.capped_time(day, _reservation(now + 400), now) is None
    # a window on other nodes only
    assert cs.capped_time(day, _reservation(now + 6 * 3600, nodes="nr-node[2-4]"), now, "nr-node1") is None
    assert cs.capped_time(day, _reservation(now + 6 * 3600, nodes="nr-node[1-4]"), now, "nr-node1") == "05:58:00"


def test_a_segment_is_sized_to_the_time_it_really_has(tmp_path: Path) -> None:
    d = _campaign(tmp_path, ns_per_day=86.4, walltime_s=86400.0, target_step=10**9)  # 500 steps/s
    assert cs.start_segment(str(d), "601", time_left_s=1200.0) == "run"  # submitted with --time=00:20:00
    planned = cs.load(str(d))["attempts"][-1]["planned_steps"]
    assert planned < 1200 * 500
    assert planned > 0.5 * 1200 * 500
