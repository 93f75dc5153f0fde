"""The NAMD log parser on real logs (tests/fixtures/namd, see SOURCES.md there) and edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from namdrunner_core.namd.log import LogOutcome, NamdLogParser, iter_energy_rows, parse_log_text
from namdrunner_core.serde import converter

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "namd"
CPU = FIX / "namd3.0.1_cpu_multicore_npt_complete.log"
GPU = FIX / "namd3.0.1_gpu_resident_nvt_complete.log"
INPROGRESS = FIX / "namd3.0.2_cpu_npt_inprogress.log"


def parse(path: Path, **kw: bool) -> NamdLogParser:
    p = NamdLogParser(**kw)
    p.feed_file(path)
    return p


def test_cpu_complete_log() -> None:
    p = parse(CPU, keep_energies=True)
    st_ = p.state
    assert (st_.version, st_.platform, st_.natoms) == ("3.0.1", "Linux-x86_64-multicore", 44200)
    assert st_.first_timestep == 9000
    assert st_.commands == [("run", 8000)]
    assert len(p.energies) == 81
    assert "PRESSURE" in p.energies[-1].values
    assert p.energies[-1].step == 17000
    assert p.outcome() is LogOutcome.COMPLETED
    assert st_.end_of_program
    assert st_.wallclock_s == pytest.approx(281.382935)
    prog = p.progress()
    assert prog.percent == 100.0
    assert prog.ns_per_day == pytest.approx(5.19002)
    assert prog.simulated_ns == pytest.approx(0.016)


def test_gpu_resident_columns_and_speed() -> None:
    p = parse(GPU, keep_energies=True)
    assert "TOTALAVG" in p.energies[-1].values
    assert p.state.last_timing is not None
    assert p.state.last_timing.ns_per_day is not None
    assert p.outcome() is LogOutcome.COMPLETED


def test_in_progress_log_without_etitle_infers_columns() -> None:
    p = parse(INPROGRESS, keep_energies=True)
    assert p.state.titles == []
    row = p.energies[-1]
    assert row.step == 24100
    assert set(row.values) >= {"TEMP", "PRESSURE", "VOLUME"}
    prog = p.progress()
    assert prog.outcome is LogOutcome.RUNNING
    assert prog.percent == pytest.approx(100 * 4490 / 5000)
    assert prog.eta_s is not None
    assert prog.eta_s > 0


def test_fatal_error_is_surfaced_once() -> None:
    text = CPU.read_text()[:20000] + "\nFATAL ERROR: Periodic cell has become too small for original patch grid!\n" * 2
    p = parse_log_text(text)
    assert p.state.fatal_errors == ["Periodic cell has become too small for original patch grid!"]
    assert p.outcome() is LogOutcome.FAILED
    assert p.progress().message.startswith("Periodic cell")


def test_wallclock_alone_is_not_success() -> None:
    text = "Info: TIMESTEP 2\nTCL: Running for 1000 steps\nERROR: Atoms moving too fast\nWallClock: 1.0\n"
    assert parse_log_text(text).outcome() is LogOutcome.FAILED


def test_resume_from_saved_state_equals_one_pass(tmp_path: Path) -> None:
    data = CPU.read_bytes()
    log = tmp_path / "namd.log"
    log.write_bytes(data[:30011])
    first = NamdLogParser()
    first.feed_file(log)
    saved = converter.unstructure(first.state)
    log.write_bytes(data)
    second = NamdLogParser(converter.structure(saved, type(first.state)))
    second.feed_file(log)
    whole = parse(CPU)
    assert converter.unstructure(second.state) == converter.unstructure(whole.state)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=1, max_size=40))
def test_any_split_gives_the_same_result(cuts: list[int]) -> None:
    data = CPU.read_bytes()
    p = NamdLogParser(keep_energies=True)
    pos = 0
    for c in cuts:
        p.feed(data[pos : pos + c])
        pos += c
    p.feed(data[pos:])
    whole = parse(CPU, keep_energies=True)
    assert p.energies == whole.energies
    assert converter.unstructure(p.state) == converter.unstructure(whole.state)


@given(st.binary(max_size=2000))
def test_no_input_crashes(data: bytes) -> None:
    p = NamdLogParser(keep_energies=True)
    p.feed(data)
    p.feed(b"\n")
    p.progress()
    _ = p.last_energy


def test_iter_energy_rows_streams() -> None:
    rows = list(iter_energy_rows(CPU))
    assert len(rows) == 81
    assert rows[0].step == 9000


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=1, max_size=40))
def test_any_split_gives_the_same_result_when_streaming(cuts: list[int]) -> None:
    data = CPU.read_bytes()
    p = NamdLogParser()
    pos = 0
    for c in cuts:
        p.feed(data[pos : pos + c])
        pos += c
    p.feed(data[pos:])
    assert converter.unstructure(p.state) == converter.unstructure(parse(CPU).state)


RESTARTS = (
    "Info: TIMESTEP 2\nInfo: FIRST TIMESTEP 0\nTCL: Running for 300 steps\n"
    "WRITING EXTENDED SYSTEM TO RESTART FILE AT STEP 100\nWRITING COORDINATES TO RESTART FILE AT STEP 100\n"
    "FINISHED WRITING RESTART COORDINATES\nWRITING VELOCITIES TO RESTART FILE AT STEP 100\n"
    "ENERGY:     200 1 2 3 4 5 6 7 8 9 10 300 12 13 14\n"
    "WRITING EXTENDED SYSTEM TO RESTART FILE AT STEP 200\nWRITING COORDINATES TO RESTART FILE AT STEP 200\n"
)


def test_checkpoint_counts_only_finished_restart_writes() -> None:
    p = parse_log_text(RESTARTS)
    assert p.state.last_checkpoint_step == 100  # the step-200 write never finished
    assert p.state.current_step == 200
    p.feed(b"FINISHED WRITING RESTART COORDINATES\n")
    assert p.state.last_checkpoint_step == 200


@given(st.integers(1, len(RESTARTS) - 1))
def test_checkpoint_across_any_split(cut: int) -> None:
    data = (RESTARTS + "FINISHED WRITING RESTART COORDINATES\n").encode()
    p = NamdLogParser()
    p.feed(data[:cut])
    p.feed(data[cut:])
    assert p.state.last_checkpoint_step == 200
