#!/usr/bin/python3
"""A stand-in for NAMD on the namdrunner loopback TEST cluster. It is NOT NAMD and never shipped.

It reads a NAMD config the way NAMD does (keywords case-insensitive, `#`/`;#` comments, Tcl `set`
and `$var` substitution, `source`, `run [norepeat] N`, `minimize N`, `firsttimestep`), refuses
what NAMD refuses with `FATAL ERROR:` lines and exit code 1 (missing input files, PME without a
periodic cell, missing required options, bad step multiples, temperature together with
binvelocities), and writes a log in NAMD's real format plus the output files (`.coor .vel .xsc
.dcd .xst`, `.restart.*`) under `outputName`, at a pace set by NAMD_STANDIN_STEPS_PER_SECOND
(default 4000 steps/s) so that a job takes a few seconds.

A config without run/minimize commands runs `numsteps` (the absolute last step, as in NAMD) with no
`TCL: Running` line, as NAMD does. Test-only directive: a comment line `#namd-standin: stop-before-end`
makes it stop right after `WRITING COORDINATES TO OUTPUT FILE` (exit 137, as if killed while writing
its final files), before the velocities, `WallClock:` and `End of program`.

Test-only control file: `namd-standin.control` in the working directory: a line `pace N` sets the
steps per second (as NAMD_STANDIN_STEPS_PER_SECOND does); a line `fail-at STEP KIND`
makes the run die at that timestep with NAMD's own run-time error text (KIND: `too-fast`: atoms
moving too fast; `rattle`: a RATTLE constraint failure; `cell`: the periodic cell too small for the
patch grid), exit code 1 - what a campaign must stop on, never retry.
"""

from __future__ import annotations

import math
import os
import random
import re
import shlex
import struct
import sys
import time

VERSION = os.environ.get("NAMD_STANDIN_VERSION", "3.0.1")
STEPS_PER_SECOND = float(os.environ.get("NAMD_STANDIN_STEPS_PER_SECOND", "4000"))
T0 = time.time()
CPU0 = time.process_time()


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fatal(msg: str) -> None:
    out(f"FATAL ERROR: {msg}")
    sys.stderr.write(f"FATAL ERROR: {msg}\n")
    sys.stderr.flush()
    sys.exit(1)


class Config:
    def __init__(self) -> None:
        self.values: dict[str, list[str]] = {}
        self.tclvars: dict[str, str] = {}
        self.commands: list[tuple[str, int]] = []  # ("run"|"minimize", steps)

    def get(self, key: str, default: str | None = None) -> str | None:
        v = self.values.get(key.lower())
        return v[-1] if v else default

    def on(self, key: str, default: bool = False) -> bool:
        v = self.get(key)
        if v is None:
            return default
        return v.lower() in ("on", "yes", "true", "1")

    def num(self, key: str, default: float) -> float:
        v = self.get(key)
        if v is None:
            return default
        try:
            return float(v)
        except ValueError:
            fatal(f"Unable to parse value '{v}' for configuration option {key}")
            raise


MULTI = {"parameters", "extrabondsfile"}


def substitute(text: str, tclvars: dict[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in tclvars:
            fatal(f'can\'t read "{name}": no such variable')
        return tclvars[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, text)


def strip_comment(line: str) -> str:
    s = line.strip()
    if s.startswith("#"):
        return ""
    # ';#' always starts a comment; '#' does when it begins a word (before the first run).
    s = s.split(";#", 1)[0]
    s = re.split(r"\s#", s, maxsplit=1)[0]
    return s.strip()


def read_config(path: str, cfg: Config, depth: int = 0) -> None:
    if depth > 10:
        fatal("source nesting too deep")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        fatal(f"Unable to open config file {path}: {exc.strerror}")
        return
    brace_depth = 0
    for raw in lines:
        if brace_depth > 0:  # inside a Tcl block (proc, if, loop): not interpreted by the stand-in
            brace_depth += raw.count("{") - raw.count("}")
            continue
        line = strip_comment(raw)
        if not line:
            continue
        if line.count("{") > line.count("}"):
            brace_depth = line.count("{") - line.count("}")
            continue
        # Tcl ends a command at ';' too ("PME yes;", "set a 1; set b 2"), braces aside.
        pieces = [line] if "{" in line else [p.strip() for p in line.split(";") if p.strip()]
        for piece in pieces:
            read_command(piece, cfg, depth)


def read_command(line: str, cfg: Config, depth: int) -> None:
    """One Tcl command of the config (a line, or a piece of one between ';')."""
    line = substitute(line, cfg.tclvars)
    parts = line.replace("=", " ", 1).split() if "=" in line.split()[0] else line.split()
    if not parts:
        return
    key = parts[0].lower()
    args = [p.strip("{}") for p in parts[1:]]
    args = [a for a in args if a]
    if key == "set":
        if len(args) < 2:
            fatal(f"wrong # args: should be \"set varName ?newValue?\" in '{line}'")
        cfg.tclvars[args[0]] = " ".join(args[1:])
        return
    if key == "source":
        read_config(args[0], cfg, depth + 1)
        return
    if key in ("run", "minimize"):
        if args and args[0] == "norepeat":
            args = args[1:]
        try:
            n = int(args[0])
        except (IndexError, ValueError):
            fatal(f"{key} requires an integer number of steps")
            return
        cfg.commands.append((key, n))
        return
    if key in ("print", "puts", "proc", "exit", "reinitvels", "rescalevels", "output", "checkpoint"):
        return
    if key in cfg.values and key not in MULTI and not cfg.commands:
        out(f"ERROR: Multiple definitions of '{parts[0]}'")
        fatal("Multiple definitions in the configuration file are not allowed")
    cfg.values.setdefault(key, []).append(" ".join(args))


def require_file(kind: str, name: str | None, message: str | None = None) -> None:
    if name is None:
        return
    if not os.path.isfile(name):
        if message:
            fatal(message.format(name=name))
        fatal(f"Cannot open file '{name}' for input in {kind}: No such file or directory")


def pdb_atoms(path: str) -> list[tuple[float, float, float]]:
    atoms: list[tuple[float, float, float]] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(("ATOM", "HETATM")):
                try:
                    atoms.append((float(line[30:38]), float(line[38:46]), float(line[46:54])))
                except ValueError:
                    atoms.append((0.0, 0.0, 0.0))
    return atoms


def write_atomic(path: str, data: bytes) -> None:
    tmp = path + ".standin-tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def bin_coords(coords: list[tuple[float, float, float]]) -> bytes:
    body = b"".join(struct.pack("<3d", *c) for c in coords)
    return struct.pack("<i", len(coords)) + body


def xsc_text(kind: str, step: int, cell: list[list[float]], labels_piston: bool) -> str:
    o = [0.0, 0.0, 0.0]
    labels = "step a_x a_y a_z b_x b_y b_z c_x c_y c_z o_x o_y o_z"
    vals = [step] + cell[0] + cell[1] + cell[2] + o
    if labels_piston:
        labels += " s_x s_y s_z s_u s_v s_w"
        vals += [0, 0, 0, 0, 0, 0]
    return f"# NAMD extended system {kind} file\n#$LABELS {labels}\n" + " ".join(
        f"{v:.12g}" if isinstance(v, float) else str(v) for v in vals
    ) + "\n"


class Dcd:
    """A DCD file with NAMD's 276-byte header; NFILE and NSTEP are updated after every frame."""

    def __init__(self, path: str, natoms: int, first: int, freq: int, dt: float, cell: bool) -> None:
        self.path, self.natoms, self.cell, self.frames = path, natoms, cell, 0
        self.first, self.freq = first, freq
        hdr = struct.pack("<i4s9if10i", 84, b"CORD", 0, first, freq, first, 0, 0, 0, 0, 0,
                          dt / 48.88821, 1 if cell else 0, 0, 0, 0, 0, 0, 0, 0, 0, 24)
        hdr += struct.pack("<i", 84)
        title1 = b"REMARKS FILENAME=" + os.path.basename(path).encode() + b" CREATED BY NAMD"
        title2 = b"REMARKS DATE: " + time.strftime("%m/%d/%y").encode() + b" CREATED BY USER: standin"
        titles = title1.ljust(80)[:80] + title2.ljust(80)[:80]
        hdr += struct.pack("<ii", 164, 2) + titles + struct.pack("<i", 164)
        hdr += struct.pack("<iii", 4, natoms, 4)
        with open(path, "wb") as fh:
            fh.write(hdr)

    def frame(self, step: int, coords: list[tuple[float, float, float]], box: list[float]) -> None:
        with open(self.path, "r+b") as fh:
            fh.seek(0, 2)
            if self.cell:
                fh.write(struct.pack("<i6di", 48, box[0], 0.0, box[1], 0.0, 0.0, box[2], 48))
            for axis in range(3):
                n4 = 4 * self.natoms
                fh.write(struct.pack("<i", n4))
                fh.write(struct.pack(f"<{self.natoms}f", *(c[axis] for c in coords)))
                fh.write(struct.pack("<i", n4))
            self.frames += 1
            fh.seek(8)
            fh.write(struct.pack("<i", self.frames))
            fh.seek(20)
            fh.write(struct.pack("<i", step))


ETITLE_BASE = ["BOND", "ANGLE", "DIHED", "IMPRP", "ELECT", "VDW", "BOUNDARY", "MISC", "KINETIC",
               "TOTAL", "TEMP", "POTENTIAL", "TOTAL3", "TEMPAVG"]
ETITLE_PERIODIC = ["PRESSURE", "GPRESSURE", "VOLUME", "PRESSAVG", "GPRESSAVG"]


def fmt_energy_row(label: str, step: int, values: list[float]) -> str:
    s = f"{label}: {step:7d}"
    for i, v in enumerate(values):
        pad = "     " if i in (4, 9, 14) else ""  # NAMD's extra spaces before ELECT, TOTAL, PRESSURE
        s += pad + f" {v:14.4f}"
    return s


def etitle(periodic: bool) -> str:
    names = ETITLE_BASE + (ETITLE_PERIODIC if periodic else [])
    s = "ETITLE:      TS"
    for i, n in enumerate(names):
        pad = "     " if i in (4, 9, 14) else ""
        s += pad + f" {n:>14s}"
    return s


def die_unstable(kind: str, natoms: int) -> None:
    """NAMD's run-time instability errors, as NAMD prints them (reference namd.md 1.5), then exit 1."""
    atom = max(1, natoms // 2)
    if kind == "rattle":
        out(f"ERROR: Constraint failure in RATTLE algorithm for atom {atom}!")
        out("ERROR: Constraint failure; simulation has become unstable.")
        fatal("Exiting prematurely; see error messages above.")
    elif kind == "cell":
        out("FATAL ERROR: Periodic cell has become too small for original patch grid!")
        out("Possible solutions are to restart from a recent checkpoint, increase margin, or disable "
            "useFlexibleCell for liquid simulation.")
        sys.stderr.write("FATAL ERROR: Periodic cell has become too small for original patch grid!\n")
    else:
        out(f"ERROR: Atom {atom} velocity is 2349.09 -2102.39 3783.96 (limit is 1875, atom {atom + 1} of {natoms} "
            "on patch 0 pe 2)")
        out("ERROR: Atoms moving too fast; simulation has become unstable (1 atoms on patch 0 pe 2).")
        fatal("Exiting prematurely; see error messages above.")
    sys.stdout.flush()
    sys.exit(1)


def main(argv: list[str]) -> int:
    nprocs = 1
    overrides: dict[str, str] = {}
    conf_path = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("+p") and len(a) > 2:
            nprocs = int(a[2:])
        elif a in ("+p", "+ppn", "+devices", "+pmepes"):
            if a == "+p":
                nprocs = int(argv[i + 1])
            i += 1
        elif a.startswith("+"):
            pass
        elif a.startswith("--"):
            overrides[a[2:].lower()] = argv[i + 1]
            i += 1
        else:
            conf_path = a
        i += 1
    if nprocs == 1 and os.environ.get("SLURM_NTASKS"):
        nprocs = int(os.environ["SLURM_NTASKS"])

    out("Charm++: standalone mode (not using charmrun)")
    out(f"Charm++> Running in Multicore mode: {nprocs} threads (PEs)")
    out(f"Info: NAMD {VERSION} for Linux-x86_64-multicore")
    out("Info: Based on Charm++/Converse 80000 for multicore-linux-x86_64-gcc")
    out("Info: namdrunner loopback TEST STAND-IN -- this is not NAMD and computes no physics")
    out(f"Info: Running on {nprocs} processors, 1 nodes, 1 physical nodes.")
    if conf_path is None:
        fatal("No simulation config file specified on command line.")
        return 1
    out(f"Info: Configuration file is {conf_path}")
    conf_dir = os.path.dirname(conf_path)
    if conf_dir:
        try:
            os.chdir(conf_dir)
        except OSError:
            fatal(f"Unable to change directory to {conf_dir}")
        out(f"Info: Changed directory to {conf_dir}")
    else:
        out(f"Info: Working in the current directory {os.getcwd()}")
    out("TCL: Suspending until startup complete.")

    cfg = Config()
    read_config(os.path.basename(conf_path), cfg)
    with open(os.path.basename(conf_path), encoding="utf-8", errors="replace") as fh:
        stop_before_end = any(ln.strip() == "#namd-standin: stop-before-end" for ln in fh)
    for k, v in overrides.items():
        cfg.values[k] = [v]
    fail_at, fail_kind = None, ""
    if os.path.exists("namd-standin.control"):
        with open("namd-standin.control", encoding="utf-8") as fh:
            for ln in fh:
                words = ln.split()
                if len(words) == 3 and words[0] == "fail-at" and words[1].isdigit():
                    fail_at, fail_kind = int(words[1]), words[2]
                elif len(words) == 2 and words[0] == "pace":
                    global STEPS_PER_SECOND  # noqa: PLW0603 - the test-only control file overrides the default
                    STEPS_PER_SECOND = float(words[1])

    for req in ("outputname", "cutoff", "exclude"):
        if cfg.get(req) is None:
            fatal(f"'{req}' is a required configuration option")
    structure = cfg.get("structure")
    coordinates = cfg.get("coordinates")
    if structure is None:
        fatal("structure not found in the configuration file!")
    if coordinates is None:
        fatal("coordinates not found in the configuration file!")
    params = cfg.values.get("parameters", [])
    if not params:
        fatal("parameters not found in the configuration file!")
    require_file("PSF", structure, "UNABLE TO OPEN .psf FILE {name}")
    require_file("PDB::PDB.", coordinates)
    for p in params:
        require_file("Parameters", p, "UNABLE TO OPEN CHARMM PARAMETER FILE {name}")
    if cfg.on("extraBonds"):
        files = cfg.values.get("extrabondsfile", [])
        if not files:
            fatal("NO EXTRA BONDS FILES SPECIFIED")
        for f in files:
            require_file("extraBonds", f, "UNABLE TO OPEN EXTRA BONDS FILE {name}")
    for key in ("bincoordinates", "binvelocities"):
        require_file("binary", cfg.get(key), "Unable to open binary file {name}: No such file or directory")
    require_file("xsc", cfg.get("extendedSystem"), "Unable to open extended system file.")

    cell = [[0.0] * 3 for _ in range(3)]
    have = [False, False, False]
    for n in range(3):
        v = cfg.get(f"cellBasisVector{n + 1}")
        if v:
            try:
                cell[n] = [float(x) for x in v.split()[:3]]
                have[n] = True
            except ValueError:
                fatal(f"Unable to parse cellBasisVector{n + 1}")
    if have[2] and not have[1]:
        fatal("Used cellBasisVector3 without cellBasisVector2!")
    if have[1] and not have[0]:
        fatal("Used cellBasisVector2 without cellBasisVector1!")
    xsc = cfg.get("extendedSystem")
    if xsc:
        with open(xsc, encoding="utf-8") as fh:
            data = [ln for ln in fh if ln.strip() and not ln.startswith("#")]
        if data:
            f = data[0].split()
            cell = [[float(x) for x in f[1:4]], [float(x) for x in f[4:7]], [float(x) for x in f[7:10]]]
            have = [True, True, True]
    volume = abs(
        cell[0][0] * (cell[1][1] * cell[2][2] - cell[1][2] * cell[2][1])
        - cell[0][1] * (cell[1][0] * cell[2][2] - cell[1][2] * cell[2][0])
        + cell[0][2] * (cell[1][0] * cell[2][1] - cell[1][1] * cell[2][0])
    )
    periodic = volume > 0
    if cfg.on("PME") and not periodic:
        fatal("PME requires periodic boundary conditions.")
    if cfg.on("PME") and cfg.get("PMEGridSpacing") is None and cfg.get("PMEGridSizeX") is None:
        fatal("Either PMEGridSpacing or PMEGridSizeX, PMEGridSizeY, and PMEGridSizeZ must be specified.")

    spc = int(cfg.num("stepspercycle", 20))
    first = int(cfg.num("firsttimestep", 0))
    if first % spc:
        fatal("First timestep must be a multiple of stepsPerCycle!!")
    dt = cfg.num("timestep", 1.0)
    temp_given = cfg.get("temperature") is not None
    binvel = cfg.get("binvelocities") is not None
    if temp_given and binvel:
        fatal("Cannot specify both an initial temperature and a velocity file")
    if any(c == "run" for c, _ in cfg.commands) and not (temp_given or binvel):
        fatal("Must have either an initial temperature or a velocity file")
    out_name = cfg.get("outputname") or "out"
    out_dir = os.path.dirname(out_name)
    if out_dir and not os.path.isdir(out_dir):
        fatal(f"Unable to open output file {out_name}.dcd: No such file or directory")
    restart_name = cfg.get("restartname") or out_name + ".restart"
    restart_freq = int(cfg.num("restartfreq", 0))
    dcd_freq = int(cfg.num("dcdfreq", 0))
    xst_freq = int(cfg.num("xstfreq", 0))
    energy_freq = max(1, int(cfg.num("outputEnergies", 1)))
    timing_freq = int(cfg.num("outputTiming", max(5 * spc, 10 * energy_freq)))
    langevin_temp = cfg.num("langevinTemp", cfg.num("temperature", 300.0))
    piston = cfg.on("langevinPiston")

    atoms = pdb_atoms(coordinates or "")
    if not atoms:
        fatal(f"No atoms found in PDB file {coordinates}")
    bincoor = cfg.get("bincoordinates")
    if bincoor:
        with open(bincoor, "rb") as fh:
            raw = fh.read()
        n = struct.unpack("<i", raw[:4])[0] if len(raw) >= 4 else -1
        if n != len(atoms) or len(raw) != 4 + 24 * n:
            fatal(f"Number of atoms in binary file {bincoor} is incorrect")
        atoms = [struct.unpack_from("<3d", raw, 4 + 24 * k) for k in range(n)]
    natoms = len(atoms)

    # NAMD: with run/minimize commands numsteps is set to firsttimestep (the startup runs 0 steps);
    # without them the config's numsteps (the last step) is run, with no "TCL: Running" line.
    implicit = not cfg.commands
    numsteps = int(cfg.num("numsteps", 0)) if implicit else first
    if implicit and numsteps > first:
        cfg.commands.append(("minimize" if cfg.on("minimization") else "run", numsteps - first))
    out("Info: SIMULATION PARAMETERS:")
    out(f"Info: TIMESTEP               {dt:g}")
    out(f"Info: NUMBER OF STEPS        {numsteps}")
    out(f"Info: STEPS PER CYCLE        {spc}")
    if periodic:
        for n in range(3):
            out(f"Info: PERIODIC CELL BASIS {n + 1}  {cell[n][0]:g} {cell[n][1]:g} {cell[n][2]:g}")
    if dcd_freq:
        out(f"Info: DCD FILENAME           {out_name}.dcd")
        out(f"Info: DCD FREQUENCY          {dcd_freq}")
    if xst_freq:
        out(f"Info: XST FILENAME           {out_name}.xst")
        out(f"Info: XST FREQUENCY          {xst_freq}")
    out(f"Info: OUTPUT FILENAME        {out_name}")
    if restart_freq:
        out(f"Info: RESTART FILENAME       {restart_name}")
        out(f"Info: RESTART FREQUENCY      {restart_freq}")
    if bincoor:
        out(f"Info: BINARY COORDINATES     {bincoor}")
    if xsc:
        out(f"Info: EXTENDED SYSTEM FILE   {xsc}")
    out(f"Info: FIRST TIMESTEP         {first}")
    out(f"Info: ENERGY OUTPUT STEPS    {energy_freq}")
    out(f"Info: TIMING OUTPUT STEPS    {timing_freq}")
    if cfg.on("langevin"):
        out(f"Info: LANGEVIN TEMPERATURE   {langevin_temp:g}")
    # NAMD: `seed` as given, else one from the clock (so a run without one is never reproduced)
    seed = int(cfg.num("seed", 0)) or int(T0 * 1000) % 2_000_000_000
    out(f"Info: RANDOM NUMBER SEED     {seed}")
    for p in params:
        out(f"Info: PARAMETER file: CHARMM format! \nInfo: PARAMETERS             {p}")
    out(f"Info: {natoms} ATOMS")
    out(f"Info: {natoms * 3 - 6} DEGREES OF FREEDOM")
    out(f"Info: Finished startup at {time.time() - T0:.4f} s, 15.2836 MB of memory in use")

    rng = random.Random(natoms * 7919 + first)
    dcd = None
    if dcd_freq:
        dcd = Dcd(out_name + ".dcd", natoms, first + dcd_freq, dcd_freq, dt, periodic)
        out("OPENING COORDINATE DCD FILE")
    xst = None
    if xst_freq:
        xst = open(out_name + ".xst", "w", encoding="utf-8")  # noqa: SIM115
        xst.write("# NAMD extended system trajectory file\n")
        xst.write("#$LABELS step a_x a_y a_z b_x b_y b_z c_x c_y c_z o_x o_y o_z"
                  + (" s_x s_y s_z s_u s_v s_w" if piston else "") + "\n")
    box = [cell[0][0], cell[1][1], cell[2][2]]
    energy_base = -1000.0 * natoms / 100.0
    step = first
    titles_printed = 0

    def energies(s: int, minimizing: bool) -> list[float]:
        relax = math.exp(-(s - first) / 2000.0)
        temp = 0.0 if minimizing else langevin_temp * (1 + 0.02 * rng.uniform(-1, 1))
        kinetic = 0.0 if minimizing else 0.0019872 * 1.5 * natoms * temp
        bond, angle, dihed, imprp = (abs(energy_base) * f * (1 + relax) for f in (0.05, 0.12, 0.2, 0.01))
        elect = energy_base * (3 + 0.01 * rng.uniform(-1, 1)) - 50 * relax
        vdw = -0.2 * abs(energy_base) + 30 * relax
        potential = bond + angle + dihed + imprp + elect + vdw
        total = potential + kinetic
        row = [bond, angle, dihed, imprp, elect, vdw, 0.0, 0.0, kinetic, total, temp, potential, total, temp]
        if periodic:
            press = rng.uniform(-100, 100)
            row += [press, press * 0.9, volume, press, press * 0.9]
        return row

    def write_restart(s: int) -> None:
        for ext in (".coor", ".vel", ".xsc"):
            path = restart_name + ext
            if os.path.exists(path):
                os.replace(path, path + ".old")
        out(f"WRITING EXTENDED SYSTEM TO RESTART FILE AT STEP {s}")
        write_atomic(restart_name + ".xsc", xsc_text("configuration restart", s, cell, piston).encode())
        out(f"WRITING COORDINATES TO RESTART FILE AT STEP {s}")
        write_atomic(restart_name + ".coor", bin_coords(atoms))
        out("FINISHED WRITING RESTART COORDINATES")
        out(f"WRITING VELOCITIES TO RESTART FILE AT STEP {s}")
        write_atomic(restart_name + ".vel", bin_coords([(0.0, 0.0, 0.0)] * natoms))
        out("FINISHED WRITING RESTART VELOCITIES")

    run_start_wall = time.time()
    for cmd, nsteps in cfg.commands:
        if nsteps < 0:
            fatal("number of steps must be non-negative")
        minimizing = cmd == "minimize"
        if nsteps % spc:  # NAMD applies the rule to minimize as well as run
            fatal("number of steps must be a multiple of stepsPerCycle")
        if not implicit:
            out(f"TCL: {'Minimizing' if minimizing else 'Running'} for {nsteps} steps")
        start, end = step, step + nsteps
        run_start_wall = time.time()
        run_start_cpu = time.process_time()
        perf: list[float] = []
        last_timing_wall, last_timing_step = run_start_wall, start
        s = start
        while True:
            # Advance to the next step at which something is written, at the configured pace.
            events = [end]
            e_freq = 1 if minimizing else energy_freq
            for f in (e_freq, timing_freq, restart_freq, dcd_freq, xst_freq):
                if f:
                    events.append((s // f + 1) * f)
            nxt = min(e for e in events if e > s) if s < end else end
            nxt = min(nxt, end)
            if nxt > s:
                time.sleep((nxt - s) / STEPS_PER_SECOND)
            if fail_at is not None and s < fail_at <= nxt:
                nxt = fail_at
            s = nxt
            step = s
            if fail_at is not None and s >= fail_at:
                die_unstable(fail_kind, natoms)
            if s % (1 if minimizing else energy_freq) == 0 or s == start:
                if (minimizing and s % 10 == 0) or (not minimizing and s % (10 * energy_freq) == 0) \
                        or titles_printed == 0:
                    out()
                    out(etitle(periodic))
                    out()
                    titles_printed += 1
                out(fmt_energy_row("ENERGY", s, energies(s, minimizing)))
                if periodic and cfg.num("outputPressure", 0):
                    out(f"PRESSURE: {s} 0 0 0 0 0 0 0 0 0")
            if not minimizing and timing_freq and s % timing_freq == 0 and s >= start + timing_freq:
                now = time.time()
                per_step = (now - last_timing_wall) / max(1, s - last_timing_step)
                remaining = per_step * (end - s) / 3600.0
                cpu = time.process_time() - run_start_cpu
                out(f"TIMING: {s}  CPU: {cpu:.6g}, {cpu / max(1, s - start):.6g}/step  "
                    f"Wall: {now - run_start_wall:.6g}, {per_step:.6g}/step, {remaining:.6g} hours remaining, "
                    "232.488873 MB of memory in use.")
                nsday = dt * 1e-6 * 86400 / per_step if per_step > 0 else 0.0
                perf.append(nsday)
                mean = sum(perf) / len(perf)
                if VERSION.startswith("3"):
                    out(f"PERFORMANCE: {s}  averaging {mean:.6g} ns/day, {per_step:.6g} sec/step "
                        "with standard deviation 0")
                last_timing_wall, last_timing_step = now, s
            if restart_freq and s % restart_freq == 0 and s > start:
                write_restart(s)
            if dcd and s % dcd_freq == 0 and s > first:
                out(f"WRITING COORDINATES TO DCD FILE {out_name}.dcd AT STEP {s}")
                # the atoms vibrate about their places (deterministic by step): structure series vary
                dcd.frame(s, [(x + 0.3 * math.sin(0.01 * s + k), y + 0.3 * math.cos(0.013 * s + 2 * k),
                               z + 0.2 * math.sin(0.007 * s + 3 * k)) for k, (x, y, z) in enumerate(atoms)], box)
            if xst and s % xst_freq == 0:
                xst.write(xsc_text("x", s, cell, piston).splitlines()[2] + "\n")
                xst.flush()
            if s >= end:
                break

    out(f"WRITING EXTENDED SYSTEM TO OUTPUT FILE AT STEP {step}")
    write_atomic(out_name + ".xsc", xsc_text("configuration output", step, cell, piston).encode())
    out(f"WRITING COORDINATES TO OUTPUT FILE AT STEP {step}")
    write_atomic(out_name + ".coor", bin_coords(atoms))
    if stop_before_end:
        sys.stdout.flush()
        os._exit(137)
    if dcd:
        out(f"CLOSING COORDINATE DCD FILE {out_name}.dcd")
    elif dcd_freq:
        out(f"COORDINATE DCD FILE {out_name}.dcd WAS NOT CREATED")
    out(f"WRITING VELOCITIES TO OUTPUT FILE AT STEP {step}")
    write_atomic(out_name + ".vel", bin_coords([(0.0, 0.0, 0.0)] * natoms))
    if xst:
        xst.close()
    out("====================================================")
    out()
    out(f"WallClock: {time.time() - T0:.6f}  CPUTime: {time.process_time() - CPU0:.6f}  Memory: 315.710938 MB")
    out("[Partition 0][Node 0] End of program")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - a crash must still read like NAMD's fatal path
        fatal(f"stand-in internal error: {shlex.quote(str(exc))}")
