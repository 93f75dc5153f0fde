"""The NAMD log (stdout of namd2/namd3), parsed incrementally.

:class:`NamdLogParser` is fed bytes as the log grows and never re-reads what it has seen: its
:class:`LogState` (small, serialisable) records the byte offset, the ETITLE columns, the run and
minimize commands, the latest step, TIMING/PERFORMANCE figures, the last checkpoint, the end lines
and FATAL ERROR messages. Energy rows are kept only when asked for (plots); otherwise only the
latest one is, so memory stays flat on logs of any size.

Columns are keyed by the ETITLE in force when the row was printed, or by count (15/20 values) when
ENERGY lines come before any ETITLE, never by fixed index: NAMD 2.x and 3.x and GPU-resident runs
differ.

The plan (how many steps the run will take) is what NAMD announces: one ``TCL: Running for N steps``
/ ``TCL: Minimizing for N steps`` line per command, or, for a config that sets ``numsteps`` and has no
run/minimize command, ``Info: NUMBER OF STEPS N`` (the absolute last step; ``FIRST TIMESTEP`` is the
offset). Steps are counted per command: a command's steps run from the first step printed after it
(so a counter that starts again at 0 for every window, as fep.tcl's ``runFEP`` does, or a restart's
``firsttimestep``, counts what actually ran), and a command that was followed by the next one ran all
its steps.

The outcome is what the log proves, in one place (:meth:`NamdLogParser.outcome`): ``failed`` on a
FATAL ERROR / ERROR line or a crash NAMD itself did not report (a Charm++ "Caught Signal" or
CmiAbort with its stack traceback, an MPI_ABORT); ``completed`` on ``WallClock:`` - NAMD prints it
only on its normal exit, after every command, and some builds (2.12 ibverbs) print no ``End of
program`` after it - once the final outputs were written; the final outputs without WallClock are
``finishing``; anything else is ``running``.
"""

from __future__ import annotations

import contextlib
import enum
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

CPU_TITLES = [
    "BOND", "ANGLE", "DIHED", "IMPRP", "ELECT", "VDW", "BOUNDARY", "MISC",
    "KINETIC", "TOTAL", "TEMP", "POTENTIAL", "TOTAL3", "TEMPAVG",
]  # fmt: skip
PERIODIC_TITLES = ("PRESSURE", "GPRESSURE", "VOLUME", "PRESSAVG", "GPRESSAVG")

# Per-line work is kept to lines whose every occurrence matters (run commands, header Info lines,
# and ENERGY/ETITLE when rows are kept); for everything else only the LAST occurrence in a block
# matters, and that is found with rfind in C.
_COMMANDS_RE = re.compile(rb"^TCL: (Running|Minimizing) for (\d+) steps", re.MULTILINE)
_INFO_RE = re.compile(
    rb"^Info: (?:NAMD |TIMESTEP|FIRST TIMESTEP|NUMBER OF STEPS|\d+ ATOMS|Benchmark time|Initial time)[^\n]*",
    re.MULTILINE,
)
_ROWS_RE = re.compile(rb"^(?:ENERGY|ETITLE):[^\n]*", re.MULTILINE)
_TIMING = re.compile(
    rb"TIMING: (\d+)\s+CPU: ([\d.eE+-]+), ([\d.eE+-]+)/step\s+Wall: ([\d.eE+-]+), ([\d.eE+-]+)/step"
    rb"(?:, ([\d.eE+-]+) ns/days?)?, ([\d.eE+-]+) hours remaining, ([\d.eE+-]+) MB"
)
_PERFORMANCE = re.compile(rb"PERFORMANCE: (\d+)\s+averaging ([\d.eE+-]+) ns/day, ([\d.eE+-]+) sec/step")
_AT_STEP = re.compile(rb"AT STEP (\d+)")
_DIGITS = re.compile(rb"\d+")
_VERSION = re.compile(rb"Info: NAMD ([\w.+-]+) for ([\w.+-]+)")
_ATOMS = re.compile(rb"Info: (\d+) ATOMS\s*$")
_BENCH = re.compile(rb"Info: (?:Benchmark|Initial) time: \d+ CPUs ([\d.eE+-]+) s/step ([\d.eE+-]+) (days/ns|ns/day)")
_WALLCLOCK = re.compile(rb"WallClock: ([\d.eE+-]+)")
#: How much of the end of each new block is searched for a crash banner.
_CRASH_WINDOW = 256 * 1024
#: Lines that prove NAMD died without a FATAL ERROR line of its own (Charm++ and MPI runtimes).
_CRASH_MARKERS = (
    b"Exiting: Caught Signal",
    b"Exiting: Called CmiAbort",
    b"Charm++ fatal error",
    b"MPI_ABORT was invoked",
    b"application called MPI_Abort",
    b"Stack Traceback:",
    b"terminate called after throwing",
)


class LogOutcome(enum.StrEnum):
    """What the log says about how the run ended."""

    RUNNING = "running"  # still going, or cut off (killed: time limit, memory, scancel)
    FINISHING = "finishing"  # the last step is reached, NAMD's end markers not (yet) printed
    COMPLETED = "completed"  # every command reached its end, NAMD printed WallClock + End of program, no error
    FAILED = "failed"  # a FATAL ERROR (or ERROR) was printed, or the runtime crashed (signal, abort)


@attrs.frozen(slots=True)
class Timing:
    """One TIMING line."""

    step: int
    cpu_s: float
    cpu_per_step: float
    wall_s: float
    wall_per_step: float
    hours_remaining: float
    memory_mb: float
    ns_per_day: float | None = None


@attrs.frozen(slots=True)
class EnergyRow:
    """One ENERGY line, columns named by the ETITLE in force."""

    step: int
    values: dict[str, float]


@attrs.define
class LogState:
    """Everything the parser knows, small enough to store between syncs."""

    offset: int = 0
    version: str | None = None
    platform: str | None = None
    natoms: int | None = None
    timestep_fs: float | None = None
    first_timestep: int = 0
    numsteps: int | None = None  # "Info: NUMBER OF STEPS": the config's numsteps (the last step)
    titles: list[str] = attrs.Factory(list)
    energy_titles: list[str] | None = None  # the ETITLE in force when last_energy_line was printed
    commands: list[tuple[str, int]] = attrs.Factory(list)
    current_step: int | None = None
    last_energy_line: str | None = None
    last_timing: Timing | None = None
    performance_ns_per_day: float | None = None
    benchmark_ns_per_day: float | None = None
    last_checkpoint_step: int | None = None
    pending_checkpoint_step: int | None = None
    final_output_step: int | None = None
    wallclock_s: float | None = None
    end_of_program: bool = False
    fatal_errors: list[str] = attrs.Factory(list)
    errors: list[str] = attrs.Factory(list)
    warnings: int = 0
    energy_rows: int = 0
    #: a crash the runtime reported (Charm++ signal or abort, MPI_ABORT), with its reason
    crash: str | None = None
    #: the first and the newest step printed since the current run/minimize command began
    command_first_step: int | None = None
    command_last_step: int | None = None
    #: how many runs of this Slurm job were seen (a requeued job runs again, from step 0, writing
    #: the log anew): a new run starts the log state afresh
    slurm_runs: int = 0
    #: when a sync first found the job gone from squeue while accounting still called it active (a
    #: lag of seconds, or a record that will never end: a "runaway" after a controller lost its state)
    left_queue_at: str | None = None


@attrs.frozen(slots=True)
class Progress:
    """Where a run stands: steps, percentage, speed and time left."""

    step: int | None
    steps_done: int
    total_steps: int | None
    percent: float | None
    ns_per_day: float | None
    eta_s: float | None
    simulated_ns: float | None
    outcome: LogOutcome
    message: str = ""


def _last_pos(block: bytes, prefix: bytes, end: int | None = None) -> int:
    """Start of the last line of ``block[:end]`` that starts with ``prefix``, or -1 (block starts at a
    line start)."""
    stop = len(block) if end is None else end
    pos = block.rfind(b"\n" + prefix, 0, stop)
    if pos >= 0:
        return pos + 1
    return 0 if block.startswith(prefix) and stop > 0 else -1


def _line_at(block: bytes, start: int) -> bytes:
    end = block.find(b"\n", start)
    return block[start : end if end >= 0 else len(block)]


def _last_line(block: bytes, prefix: bytes) -> bytes | None:
    """The last line of ``block`` that starts with ``prefix``."""
    pos = _last_pos(block, prefix)
    return _line_at(block, pos) if pos >= 0 else None


def _titles(etitle_line: bytes) -> list[str]:
    """The column names of an ``ETITLE:`` line."""
    return [t.decode() for t in etitle_line.split()[2:]]


def _skip_blank(block: bytes, pos: int) -> int:
    while pos < len(block) and block[pos : pos + 1] in (b" ", b"\t"):
        pos += 1
    return pos


def _int_at(block: bytes, pos: int) -> int | None:
    m = _DIGITS.match(block, pos)
    return int(m.group(0)) if m else None


def _floats(parts: list[bytes]) -> list[float]:
    out = []
    for p in parts:
        try:
            out.append(float(p))
        except ValueError:
            out.append(float("nan"))
    return out


class NamdLogParser:
    """Incremental NAMD log parser. ``feed()`` bytes as they arrive; resume from a saved state."""

    MAX_MESSAGES = 50

    def __init__(
        self,
        state: LogState | None = None,
        *,
        keep_energies: bool = False,
        on_energy: Callable[[EnergyRow], None] | None = None,
    ) -> None:
        self.state = state if state is not None else LogState()
        self.keep_energies = keep_energies
        self.on_energy = on_energy
        self.energies: list[EnergyRow] = []
        self._partial = b""

    # -- input ----------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Consume the next bytes of the log (any split; a partial last line waits for the rest)."""
        if not data:
            return
        buf = self._partial + data if self._partial else data
        cut = buf.rfind(b"\n")
        if cut < 0:
            self._partial = buf
            return
        self._partial = buf[cut + 1 :]
        block = buf[: cut + 1]
        self.state.offset += len(block)
        self._scan(block)

    def feed_file(self, path: Path, *, chunk: int = 8 * 1024 * 1024) -> None:
        """Read ``path`` from the saved offset to its end, in chunks (memory stays flat)."""
        with Path(path).open("rb") as fh:
            fh.seek(self.state.offset + len(self._partial))
            for block in iter(lambda: fh.read(chunk), b""):
                self.feed(block)

    # -- scanning -------------------------------------------------------------------------------
    def _scan(self, block: bytes) -> None:  # noqa: C901 - one branch per log line kind, the hot loop of the parser
        st = self.state
        before = st.command_last_step if st.command_last_step is not None else st.current_step
        if self.keep_energies or self.on_energy:
            for m in _ROWS_RE.finditer(block):
                line = m.group(0)
                if line.startswith(b"ENERGY:"):
                    self._energy_line(line)
                else:
                    st.titles = _titles(line)
        else:
            # Only the newest ENERGY line and ETITLE matter for progress: found without a Python loop.
            # The newest row is named by the ETITLE in force when IT was printed: the last ETITLE
            # before it in this block, or the one in force before the block.
            n = block.count(b"\nENERGY:") + (1 if block.startswith(b"ENERGY:") else 0)
            if n:
                e_pos = _last_pos(block, b"ENERGY:")
                t_pos = _last_pos(block, b"ETITLE:", end=e_pos)
                if t_pos >= 0:
                    st.titles = _titles(_line_at(block, t_pos))
                last = _line_at(block, e_pos)
                self._energy_line(last, store=False)
                st.energy_rows += n
            title = _last_line(block, b"ETITLE:")
            if title is not None:
                st.titles = _titles(title)
        last_command = -1
        for m in _COMMANDS_RE.finditer(block):
            st.commands.append(("run" if m.group(1) == b"Running" else "minimize", int(m.group(2))))
            last_command = m.start()
        if b"Info: " in block:
            for m in _INFO_RE.finditer(block):
                self._info(m.group(0))
        self._command_steps(block, last_command, before)
        newest = self._newest_step(block)
        if newest is not None:  # the step printed last, not the largest: counters may be set back
            st.current_step = newest
        for prefix in (b"TIMING:", b"PERFORMANCE:", b"WallClock:"):
            last_line = _last_line(block, prefix)
            if last_line is not None:
                self._line(last_line)
        self._writes(block)
        if b"End of program" in block or b"\nProgram finished" in block:
            st.end_of_program = True
        if b"ERROR" in block or b"Warning" in block:
            self._messages(block)
        # A crash ends the log: its banner is in the last lines of what arrived (the runtime's own
        # traceback after it is a few KiB). Scanning only the tail keeps 7 searches off 8 MB blocks.
        tail = block[-_CRASH_WINDOW:]
        if st.crash is None and any(marker in tail for marker in _CRASH_MARKERS):
            self._crash(tail)

    def _command_steps(self, block: bytes, after: int, before: int | None) -> None:
        """Where the current command began and the newest step it reached. ``after`` is the last
        command's place in this block (-1: none began here), ``before`` the newest step known before
        this block. A command begins at the step reached before it (``firsttimestep`` for the first)
        - or lower, when its first printed step is lower (a counter set back, as fep.tcl does)."""
        st = self.state
        if after >= 0:
            if len(st.commands) == 1:
                start: int | None = st.first_timestep
            else:
                start = self._last_step(block, after)
                start = before if start is None else start
            st.command_first_step, st.command_last_step = start, None
        lo = max(after, 0)
        for prefix in (b"ENERGY:", b"TIMING:"):
            first = block.find(b"\n" + prefix, lo) + 1 if not (after < 0 and block.startswith(prefix)) else 0
            if first > 0 or (after < 0 and block.startswith(prefix)):
                value = _int_at(block, _skip_blank(block, first + len(prefix)))
                if value is not None and (st.command_first_step is None or value < st.command_first_step):
                    st.command_first_step = value
        newest = self._last_step(block, len(block), lo)
        if newest is not None:
            st.command_last_step = newest if st.command_last_step is None else max(st.command_last_step, newest)

    @staticmethod
    def _newest_step(block: bytes) -> int | None:
        """The step of the line printed last in ``block`` among ENERGY, TIMING and ``AT STEP``."""
        best, value = -1, None
        for prefix in (b"ENERGY:", b"TIMING:"):
            pos = _last_pos(block, prefix)
            if pos > best:
                step = _int_at(block, _skip_blank(block, pos + len(prefix)))
                if step is not None:
                    best, value = pos, step
        at = block.rfind(b" AT STEP ")
        if at > best:
            m = _AT_STEP.match(block, at + 1)
            if m:
                value = int(m.group(1))
        return value

    @staticmethod
    def _last_step(block: bytes, end: int, lo: int = 0) -> int | None:
        """The newest step printed in ``block[lo:end]`` (ENERGY, TIMING, ``AT STEP``), or None."""
        found: list[int] = []
        for prefix in (b"ENERGY:", b"TIMING:"):
            pos = _last_pos(block, prefix, end=end)
            if pos >= lo:
                value = _int_at(block, _skip_blank(block, pos + len(prefix)))
                if value is not None:
                    found.append(value)
        at = block.rfind(b" AT STEP ", lo, end)
        if at >= 0:
            m = _AT_STEP.match(block, at + 1)
            if m:
                found.append(int(m.group(1)))
        return max(found) if found else None

    def _crash(self, block: bytes) -> None:
        """The runtime's own account of a crash: the marker line and its ``Reason:``."""
        pos = min(block.find(m) for m in _CRASH_MARKERS if m in block)
        line = _line_at(block, block.rfind(b"\n", 0, pos) + 1).decode("utf-8", "replace").strip(" -")
        reason = block.find(b"Reason: ", pos)
        if 0 <= reason < pos + 2000:
            line += " - " + _line_at(block, reason).decode("utf-8", "replace").strip()
        self.state.crash = line[:300]

    def _writes(self, block: bytes) -> None:
        """Checkpoints, final outputs and the newest step of WRITING lines, from their last occurrences."""
        st = self.state
        at = block.rfind(b" AT STEP ")
        if at >= 0:
            m = _AT_STEP.match(block, at + 1)
            if m:
                step = int(m.group(1))
                st.current_step = step if st.current_step is None else max(st.current_step, step)
        finished = block.rfind(b"FINISHED WRITING RESTART COORD")
        restart_marker = b"WRITING COORDINATES TO RESTART FILE AT STEP "
        if finished >= 0:
            w = block.rfind(restart_marker, 0, finished)
            if w >= 0:
                st.last_checkpoint_step = _int_at(block, w + len(restart_marker))
            elif st.pending_checkpoint_step is not None:
                st.last_checkpoint_step = st.pending_checkpoint_step
        w = block.rfind(restart_marker)
        if w >= 0:
            st.pending_checkpoint_step = _int_at(block, w + len(restart_marker))
        out_marker = b"WRITING COORDINATES TO OUTPUT FILE AT STEP "
        o = block.rfind(out_marker)
        if o >= 0:
            st.final_output_step = _int_at(block, o + len(out_marker))

    def _messages(self, block: bytes) -> None:
        st = self.state
        st.warnings += block.count(b"\nWarning:") + (1 if block.startswith(b"Warning:") else 0)
        pos = block.find(b"ERROR")
        while pos >= 0:
            start = block.rfind(b"\n", 0, pos) + 1
            end = block.find(b"\n", pos)
            end = len(block) if end < 0 else end
            line = block[start:end].decode("utf-8", "replace").strip()
            if "FATAL ERROR" in line:
                msg = line[line.index("FATAL ERROR") + len("FATAL ERROR") :].lstrip(": ").strip()
                if msg and msg not in st.fatal_errors and len(st.fatal_errors) < self.MAX_MESSAGES:
                    st.fatal_errors.append(msg)
            elif line.startswith("ERROR:") and len(st.errors) < self.MAX_MESSAGES:
                msg = line[len("ERROR:") :].strip()
                if msg and msg not in st.errors:
                    st.errors.append(msg)
            pos = block.find(b"ERROR", end)

    def _energy_line(self, line: bytes, *, store: bool = True) -> None:
        st = self.state
        parts = line.split()
        if len(parts) < 3:
            return
        try:
            step = int(parts[1])
        except ValueError:
            return
        st.current_step = step if st.current_step is None else max(st.current_step, step)
        st.last_energy_line = line.decode("ascii", "replace")
        st.energy_titles = list(st.titles)
        if not store:
            return
        st.energy_rows += 1
        row = EnergyRow(step, dict(zip(self._titles_for(len(parts) - 2), _floats(parts[2:]), strict=False)))
        if self.keep_energies:
            self.energies.append(row)
        if self.on_energy:
            self.on_energy(row)

    def _titles_for(self, n: int, titles: list[str] | None = None) -> list[str]:
        titles = self.state.titles if titles is None else titles
        if titles and len(titles) == n:
            return titles
        if n in (len(CPU_TITLES), len(CPU_TITLES) + len(PERIODIC_TITLES)):
            return (CPU_TITLES + list(PERIODIC_TITLES))[:n]
        return titles[:n] if titles else [f"col{i}" for i in range(n)]

    def _line(self, line: bytes) -> None:
        st = self.state
        if line.startswith(b"TIMING:"):
            m = _TIMING.match(line)
            if m:
                ns = float(m.group(6)) if m.group(6) else None
                t = Timing(
                    int(m.group(1)),
                    float(m.group(2)),
                    float(m.group(3)),
                    float(m.group(4)),
                    float(m.group(5)),
                    float(m.group(7)),
                    float(m.group(8)),
                    ns,
                )
                st.last_timing = t
                st.current_step = t.step if st.current_step is None else max(st.current_step, t.step)
        elif line.startswith(b"PERFORMANCE:"):
            m = _PERFORMANCE.match(line)
            if m:
                st.performance_ns_per_day = float(m.group(2))
        elif line.startswith(b"WallClock:"):
            m = _WALLCLOCK.match(line)
            if m:
                st.wallclock_s = float(m.group(1))

    def _info(self, line: bytes) -> None:
        st = self.state
        if line.startswith(b"Info: TIMESTEP"):
            with contextlib.suppress(IndexError, ValueError):
                st.timestep_fs = float(line.split()[2])
        elif line.startswith(b"Info: FIRST TIMESTEP"):
            with contextlib.suppress(IndexError, ValueError):
                st.first_timestep = int(line.split()[3])
        elif line.startswith(b"Info: NUMBER OF STEPS"):
            with contextlib.suppress(IndexError, ValueError):
                st.numsteps = int(line.split()[4])
        elif line.startswith(b"Info: NAMD "):
            m = _VERSION.match(line)
            if m:
                st.version, st.platform = m.group(1).decode(), m.group(2).decode()
        elif line.endswith(b"ATOMS") or b" ATOMS" in line:
            m = _ATOMS.match(line)
            if m:
                st.natoms = int(m.group(1))
        elif b"time:" in line:
            m = _BENCH.match(line)
            if m:
                value = float(m.group(2))
                st.benchmark_ns_per_day = value if m.group(3) == b"ns/day" else (1 / value if value else None)

    # -- results --------------------------------------------------------------------------------
    @property
    def last_energy(self) -> EnergyRow | None:
        """The newest ENERGY row, columns named."""
        if not self.state.last_energy_line:
            return None
        parts = self.state.last_energy_line.split()
        titles = self._titles_for(len(parts) - 2, self.state.energy_titles)
        return EnergyRow(int(parts[1]), dict(zip(titles, _floats([p.encode() for p in parts[2:]]), strict=False)))

    def planned_steps(self) -> int | None:
        """Steps the run will take, as NAMD announced them; None while unknown.

        The Σ of ``TCL: Running/Minimizing for N steps``; without any such command once stepping has
        begun, the config's ``numsteps`` (``Info: NUMBER OF STEPS``, the last step) minus ``FIRST TIMESTEP``.
        """
        st = self.state
        if st.commands:
            return sum(n for _, n in st.commands)
        if st.numsteps is not None and st.current_step is not None and st.numsteps > st.first_timestep:
            return st.numsteps - st.first_timestep
        return None

    def ended(self) -> bool:
        """NAMD's normal exit: ``WallClock:`` (printed after the last command; ``End of program`` may
        follow, or not: NAMD 2.12's ibverbs builds print none)."""
        return self.state.wallclock_s is not None

    def steps_run(self) -> int | None:
        """Steps actually run, counted per command (see the module docs); None before any command."""
        st = self.state
        if not st.commands:
            return None
        done = sum(n for _, n in st.commands[:-1])  # every command followed by another ran whole
        current = st.commands[-1][1]
        if st.command_first_step is not None and st.command_last_step is not None:
            done += max(0, min(current, st.command_last_step - st.command_first_step))
        return done

    def outcome(self) -> LogOutcome:
        """What the log proves: ``failed`` on NAMD's error lines or a runtime crash; ``completed`` when
        NAMD exited normally (WallClock) after writing its final outputs; those outputs without
        WallClock ``finishing``; else ``running`` (or cut off: a kill leaves no mark in the log)."""
        st = self.state
        if st.fatal_errors or st.errors or st.crash:
            return LogOutcome.FAILED
        if st.final_output_step is not None and self.ended():
            return LogOutcome.COMPLETED
        if st.final_output_step is not None:
            planned = self.planned_steps()
            run = self.steps_run()
            if planned is None or run is None or run >= planned or self._last_command_done():
                return LogOutcome.FINISHING
        return LogOutcome.RUNNING

    def _last_command_done(self) -> bool:
        st = self.state
        return bool(
            st.commands
            and st.command_first_step is not None
            and st.command_last_step is not None
            and st.command_last_step - st.command_first_step >= st.commands[-1][1]
        )

    def ns_per_day(self) -> float | None:
        """Best speed estimate: PERFORMANCE average, else TIMING, else the Benchmark line."""
        st = self.state
        if st.performance_ns_per_day:
            return st.performance_ns_per_day
        t = st.last_timing
        if t is not None:
            if t.ns_per_day:
                return t.ns_per_day
            if st.timestep_fs and t.wall_per_step > 0:
                return st.timestep_fs * 1e-6 * 86400 / t.wall_per_step
        return st.benchmark_ns_per_day

    def progress(self, total_steps: int | None = None) -> Progress:
        """Progress of the whole config: steps done over planned steps, speed and ETA.

        ``total_steps`` is the config's planned Σ of run/minimize counts (known from the rendered
        config); without it, the commands seen so far in the log are the plan.
        """
        st = self.state
        outcome = self.outcome()
        planned = total_steps if total_steps is not None else (self.planned_steps() or None)
        step = st.current_step
        run = self.steps_run()  # per command; without commands, from FIRST TIMESTEP
        done = run if run is not None else (max(0, step - st.first_timestep) if step is not None else 0)
        if planned:
            done = min(done, planned)
        if outcome in (LogOutcome.COMPLETED, LogOutcome.FINISHING) and planned:
            done = planned
        percent = 100.0 * done / planned if planned else None
        nsd = self.ns_per_day()
        eta = None
        t = st.last_timing
        if planned and outcome is LogOutcome.RUNNING:
            per_step = t.wall_per_step if t is not None else None
            if per_step is None and nsd and st.timestep_fs:
                per_step = st.timestep_fs * 1e-6 * 86400 / nsd
            if per_step:
                eta = (planned - done) * per_step
        simulated = done * st.timestep_fs * 1e-6 if st.timestep_fs else None
        message = st.fatal_errors[0] if st.fatal_errors else (st.errors[0] if st.errors else (st.crash or ""))
        return Progress(step, done, planned, percent, nsd, eta, simulated, outcome, message)


def parse_log_text(text: str | bytes, *, keep_energies: bool = True) -> NamdLogParser:
    """Parse a whole log at once (convenience for tests and small logs)."""
    parser = NamdLogParser(keep_energies=keep_energies)
    data = text.encode() if isinstance(text, str) else text
    parser.feed(data if data.endswith(b"\n") else data + b"\n")
    return parser


def iter_energy_rows(path: Path) -> Iterator[EnergyRow]:
    """Every ENERGY row of a log file, streamed (for plots of long runs)."""
    rows: list[EnergyRow] = []
    parser = NamdLogParser(on_energy=rows.append)
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(4 * 1024 * 1024), b""):
            parser.feed(block)
            yield from rows
            rows.clear()
    parser.feed(b"\n")
    yield from rows
