"""NAMD log truth: a finished run is reported finished however its length was given, and never before.

The excerpts below are written for these tests in NAMD's exact line formats (see
``../shared/reference/namd.md`` §2): a ``numsteps`` run (no ``TCL: Running`` line, only
``Info: NUMBER OF STEPS``), a run killed between the final ``WRITING COORDINATES`` and ``WallClock:``,
and an ETITLE switch (TOTAL3 -> TOTALAVG) that must name each ENERGY row by the ETITLE in force.
"""

from __future__ import annotations

import pytest

from namdrunner_core.namd.config import total_steps
from namdrunner_core.namd.log import LogOutcome, NamdLogParser, parse_log_text

HEADER = """\
Info: NAMD 2.14 for Linux-x86_64-multicore
Info: SIMULATION PARAMETERS:
Info: TIMESTEP               2
Info: NUMBER OF STEPS        400
Info: STEPS PER CYCLE        20
Info: FIRST TIMESTEP         0
Info: 1032 ATOMS
Info: Finished startup at 2.9422 s, 15.2836 MB of memory in use
"""
ETITLE_CPU = (
    "ETITLE:      TS           BOND          ANGLE          DIHED          IMPRP               ELECT"
    "            VDW       BOUNDARY           MISC        KINETIC               TOTAL           TEMP"
    "      POTENTIAL         TOTAL3        TEMPAVG"
)
ETITLE_GPU = ETITLE_CPU.replace("TOTAL3", "TOTALAVG")


def energy(step: int, total3: float = -3500.0) -> str:
    values = [12.0, 30.0, 45.0, 1.5, -4000.0, 250.0, 0.0, 0.0, 600.0, -3061.5, 300.0, -3661.5, total3, 299.0]
    return f"ENERGY: {step:7d}" + "".join(f" {v:14.4f}" for v in values)


def stepping(first: int, last: int, every: int = 100) -> str:
    lines = ["", ETITLE_CPU, ""]
    lines += [energy(s) for s in range(first, last + 1, every)]
    lines += [
        f"TIMING: {last}  CPU: 2.1, 0.0052/step  Wall: 2.3, 0.0057/step, 0 hours remaining, 12.5 MB of memory in use."
    ]
    return "\n".join(lines) + "\n"


FINAL_WRITES = """\
WRITING EXTENDED SYSTEM TO OUTPUT FILE AT STEP 400
WRITING COORDINATES TO OUTPUT FILE AT STEP 400
WRITING VELOCITIES TO OUTPUT FILE AT STEP 400
"""
END = """\
====================================================

WallClock: 577.556213  CPUTime: 570.104492  Memory: 315.710938 MB
[Partition 0][Node 0] End of program
"""


def test_a_numsteps_run_that_ends_is_completed() -> None:
    p = parse_log_text(HEADER + stepping(0, 400) + FINAL_WRITES + END)
    assert p.state.commands == []  # no "TCL: Running for" line: the plan is numsteps
    assert p.planned_steps() == 400
    assert p.outcome() is LogOutcome.COMPLETED
    prog = p.progress()
    assert (prog.total_steps, prog.steps_done, prog.percent, prog.eta_s) == (400, 400, 100.0, None)


def test_a_numsteps_run_in_progress_has_a_plan_an_eta_and_a_rate() -> None:
    p = parse_log_text(HEADER + stepping(0, 200))
    prog = p.progress()
    assert p.outcome() is LogOutcome.RUNNING
    assert (prog.total_steps, prog.steps_done, prog.percent) == (400, 200, 50.0)
    assert prog.eta_s == pytest.approx(200 * 0.0057)
    assert prog.ns_per_day == pytest.approx(2 * 1e-6 * 86400 / 0.0057)


def test_numsteps_is_the_last_step_counted_from_first_timestep() -> None:
    text = HEADER.replace("FIRST TIMESTEP         0", "FIRST TIMESTEP         100") + stepping(100, 300)
    p = parse_log_text(text)
    assert p.planned_steps() == 300
    assert p.progress().steps_done == 200


def test_with_run_commands_number_of_steps_is_not_the_plan() -> None:
    # NAMD sets numsteps to firsttimestep when the script has run commands (real logs show
    # NUMBER OF STEPS 9000 beside FIRST TIMESTEP 9000 and "TCL: Running for 8000 steps").
    text = HEADER.replace("NUMBER OF STEPS        400", "NUMBER OF STEPS        0") + "TCL: Running for 300 steps\n"
    p = parse_log_text(text + stepping(0, 100))
    assert p.planned_steps() == 300


def test_no_plan_before_stepping_begins() -> None:
    assert parse_log_text(HEADER).planned_steps() is None  # a "TCL: Running" line may still come


def test_killed_between_final_coordinates_and_wallclock_is_not_completed() -> None:
    cut = HEADER + stepping(0, 400) + "WRITING EXTENDED SYSTEM TO OUTPUT FILE AT STEP 400\n"
    cut += "WRITING COORDINATES TO OUTPUT FILE AT STEP 400\n"
    p = parse_log_text(cut)
    assert p.outcome() is LogOutcome.FINISHING
    prog = p.progress()
    assert prog.outcome is LogOutcome.FINISHING
    assert prog.eta_s is None
    assert prog.steps_done == 400
    # WallClock is NAMD's normal exit (printed after the last command); NAMD 2.12's ibverbs builds
    # print no "End of program" after it (issue 29: such a run stayed "finishing" for ever)
    more = NamdLogParser(state=p.state)
    more.feed(b"WRITING VELOCITIES TO OUTPUT FILE AT STEP 400\n")
    assert more.outcome() is LogOutcome.FINISHING
    more.feed(b"\nWallClock: 577.556213  CPUTime: 1  Memory: 3 MB\n")
    assert more.outcome() is LogOutcome.COMPLETED


def test_end_markers_without_the_last_step_are_not_completed() -> None:
    p = parse_log_text(HEADER + stepping(0, 200) + END)
    assert p.outcome() is LogOutcome.RUNNING


def test_an_error_with_end_markers_is_failed() -> None:
    text = HEADER + stepping(0, 400) + FINAL_WRITES + "FATAL ERROR: Exiting prematurely; see error messages above.\n"
    assert parse_log_text(text + END).outcome() is LogOutcome.FAILED


def test_run_commands_and_program_finished_form() -> None:
    text = HEADER + "TCL: Minimizing for 100 steps\nTCL: Running for 300 steps\n" + stepping(0, 400) + FINAL_WRITES
    text += "WallClock: 2.898174  CPUTime: 2.229945  Memory: 315.710938 MB\nProgram finished.\n"
    p = parse_log_text(text)
    assert p.planned_steps() == 400
    assert p.outcome() is LogOutcome.COMPLETED


SWITCH = (
    f"\n{ETITLE_CPU}\n\n{energy(100, total3=-1111.0)}\n{energy(110, total3=-2222.0)}\n"
    f"\n{ETITLE_GPU}\n\n{energy(120, total3=-3333.0)}\n"
).encode()


def _named(p: NamdLogParser) -> tuple[int, str, float] | None:
    row = p.last_energy
    if row is None:
        return None
    key = "TOTAL3" if "TOTAL3" in row.values else "TOTALAVG"
    return row.step, key, row.values[key]


@pytest.mark.parametrize("keep", [False, True])
def test_etitle_switch_split_at_every_byte_offset(keep: bool) -> None:
    expected = {100: ("TOTAL3", -1111.0), 110: ("TOTAL3", -2222.0), 120: ("TOTALAVG", -3333.0)}
    for cut in range(len(SWITCH) + 1):
        p = NamdLogParser(keep_energies=keep)
        p.feed(SWITCH[:cut])
        seen = _named(p)
        if seen is not None:  # whatever the split, the newest row carries its own ETITLE's names
            assert seen[1:] == expected[seen[0]], (cut, seen)
        p.feed(SWITCH[cut:])
        assert _named(p) == (120, "TOTALAVG", -3333.0), cut
        if keep:
            assert [(r.step, "TOTAL3" in r.values) for r in p.energies] == [(100, True), (110, True), (120, False)]


def test_a_row_before_a_new_etitle_in_the_same_block_keeps_the_old_names() -> None:
    block = f"\n{ETITLE_CPU}\n\n{energy(110, total3=-2222.0)}\n\n{ETITLE_GPU}\n\n".encode()
    p = NamdLogParser()
    p.feed(block)
    assert _named(p) == (110, "TOTAL3", -2222.0)
    assert "TOTALAVG" in p.state.titles  # in force for the rows to come
    p.feed((energy(120, total3=-3333.0) + "\n").encode())
    assert _named(p) == (120, "TOTALAVG", -3333.0)


def test_config_total_steps_knows_numsteps() -> None:
    assert total_steps("numsteps 400\nstructure x.psf\n") == 400
    assert total_steps("firsttimestep 100\nnumsteps 400\n") == 300
    assert total_steps("numsteps 400\nrun 1000\n") == 1000
    assert total_steps("structure x.psf\n") is None


# -- issue 29: the outcome from what the log proves, the position from the steps actually run ----------


def fep_windows(windows: int, steps: int, *, stop_in_last: int | None = None) -> str:
    """fep.tcl's runFEP: every window sets the counter back (``firsttimestep 0``) and runs ``steps``."""
    text = HEADER.replace("NUMBER OF STEPS        400", "NUMBER OF STEPS        0")
    for w in range(windows):
        text += f"FEP: CURRENT LAMBDA VALUE SET TO {w / windows:.4f} LAMBDA2 {(w + 1) / windows:.4f}\n"
        text += f"TCL: Running for {steps} steps\n"
        last = stop_in_last if (stop_in_last is not None and w == windows - 1) else steps
        text += stepping(0, last, every=50)
    return text


def test_fep_windows_whose_counter_restarts_count_every_window() -> None:
    done = parse_log_text(fep_windows(250, 100) + "WRITING COORDINATES TO OUTPUT FILE AT STEP 100\n" + END).progress()
    assert done.outcome is LogOutcome.COMPLETED  # was "running, 0.4 %"
    assert (done.steps_done, done.total_steps, done.percent) == (25_000, 25_000, 100.0)
    mid = parse_log_text(fep_windows(4, 100, stop_in_last=50)).progress()
    assert mid.outcome is LogOutcome.RUNNING
    assert (mid.steps_done, mid.total_steps) == (350, 400)
    assert mid.percent == pytest.approx(87.5)


@pytest.mark.parametrize("cuts", [[1], [700, 5000], [333, 334, 2000, 9000]])
def test_fep_counting_is_the_same_however_the_log_arrives(cuts: list[int]) -> None:
    text = (fep_windows(6, 100, stop_in_last=50)).encode()
    whole = parse_log_text(text).progress()
    p = NamdLogParser()
    last = 0
    for cut in [*cuts, len(text)]:
        p.feed(text[last:cut])
        last = cut
    p.feed(b"\n")
    assert p.progress() == whole
    assert whole.steps_done == 550


def test_a_restart_segment_counts_from_its_firsttimestep() -> None:
    text = HEADER.replace("FIRST TIMESTEP         0", "FIRST TIMESTEP         192000") + "TCL: Running for 2400 steps\n"
    prog = parse_log_text(text + stepping(192000, 192600)).progress()
    assert (prog.steps_done, prog.total_steps) == (600, 2400)  # was "100 %, step 192000 of 2400"
    assert prog.percent == pytest.approx(25.0)


CHARM_CRASH = """\
------------- Processor 2 Exiting: Caught Signal ------------
Reason: Segmentation fault
[2] Stack Traceback:
  [2:0] _Z14CmiAbortHelperPKcS0_S0_ii+0x5b  [0x8c4d1b]
  [2:1] namd2 0x8c4e3a
Fatal error on PE 2> Segmentation fault
"""
MPI_ABORT = """\
--------------------------------------------------------------------------
MPI_ABORT was invoked on rank 3 in communicator MPI_COMM_WORLD
with errorcode 1.

NOTE: invoking MPI_ABORT causes Open MPI to kill all MPI processes.
--------------------------------------------------------------------------
"""


@pytest.mark.parametrize(("tail", "message"), [
    (CHARM_CRASH, "Processor 2 Exiting: Caught Signal - Reason: Segmentation fault"),
    (MPI_ABORT, "MPI_ABORT was invoked on rank 3 in communicator MPI_COMM_WORLD"),
    ("application called MPI_Abort(MPI_COMM_WORLD, 1) - process 0\n", "application called MPI_Abort"),
])  # fmt: skip
def test_a_runtime_crash_without_fatal_error_is_a_failure(tail: str, message: str) -> None:
    text = HEADER + "TCL: Running for 400 steps\n" + stepping(0, 200) + tail
    prog = parse_log_text(text).progress()
    assert prog.outcome is LogOutcome.FAILED  # was "running"
    assert prog.message.startswith(message)
    assert prog.steps_done == 200


NAMD212_IBVERBS_END = """\
WRITING EXTENDED SYSTEM TO OUTPUT FILE AT STEP 1200
WRITING COORDINATES TO OUTPUT FILE AT STEP 1200
The last position output (seq=-2) takes 0.025 seconds, 320.508 MB of memory in use
WRITING VELOCITIES TO OUTPUT FILE AT STEP 1200
The last velocity output (seq=-2) takes 0.025 seconds, 320.508 MB of memory in use
====================================================

WallClock: 149.040894  CPUTime: 148.148071  Memory: 320.507812 MB
"""


def test_namd_2_12_ibverbs_ends_at_wallclock_without_end_of_program() -> None:
    # the last lines of a NAMD 2.12 ibverbs run as XDMoD's AKRR documentation shows them (see
    # tests/fixtures/namd/SOURCES.md): WallClock is the last line, no "End of program"
    head = HEADER.replace("NAMD 2.14 for Linux-x86_64-multicore", "NAMD 2.12 for Linux-x86_64-ibverbs")
    head = head.replace("NUMBER OF STEPS        400", "NUMBER OF STEPS        1200")
    prog = parse_log_text(head + stepping(0, 1200) + NAMD212_IBVERBS_END).progress()
    assert prog.outcome is LogOutcome.COMPLETED  # was "finishing" for ever
    assert prog.percent == 100.0
