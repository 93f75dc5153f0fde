"""The structure series as a small Slurm job on the cluster, next to the DCD: a trajectory of tens of GB
never crosses the network. Run by the node's Python (numpy; MDAnalysis only for a selection keyword the
subset of :mod:`topology` does not read) from a zip of this module, :mod:`dcd`, :mod:`topology`,
:mod:`fit` and :mod:`namdrunner_core.errors` - nothing else of namdrunner, no attrs, no cattrs.

    python -m namdrunner_core.analysis.remote --dcd D --psf P --select S [--reference R] --out OUT.json

writes OUT.json whole (a temporary name, then renamed): the selected atoms' indices, per frame the RMSD
and the radius of gyration, per atom the RMSF, the steps, the DCD's size and the seconds it took. A
problem is one line ``error: <field>: <message>`` on stderr and exit code 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

#: the files a cluster-side analysis needs, as they are named inside the zip
BUNDLE = (
    "namdrunner_core/errors.py",
    "namdrunner_core/analysis/__init__.py",
    "namdrunner_core/analysis/dcd.py",
    "namdrunner_core/analysis/topology.py",
    "namdrunner_core/analysis/fit.py",
    "namdrunner_core/analysis/remote.py",
)


def bundle() -> bytes:
    """A zip of :data:`BUNDLE` (and a package ``__init__`` of its own: the real one imports everything),
    for ``PYTHONPATH=bundle.zip python -m namdrunner_core.analysis.remote``."""
    import io
    import zipfile

    root = Path(__file__).resolve().parent.parent.parent
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("namdrunner_core/__init__.py", '"""The analysis modules of namdrunner, run on a node."""\n')
        for name in BUNDLE:
            z.write(root / name, name)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Compute the structure series and write them as JSON (see the module's docstring)."""
    from namdrunner_core.analysis.dcd import open_dcd, read_reference
    from namdrunner_core.analysis.fit import first_frame, fit_trajectory, require_match
    from namdrunner_core.analysis.topology import read_psf, select
    from namdrunner_core.errors import NamdRunnerError

    ap = argparse.ArgumentParser(prog="namdrunner_core.analysis.remote")
    ap.add_argument("--dcd", required=True, type=Path)
    ap.add_argument("--psf", required=True, type=Path)
    ap.add_argument("--select", default="all")
    ap.add_argument("--reference", type=Path)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    try:
        dcd = open_dcd(args.dcd)
        atoms = read_psf(args.psf)
        require_match(dcd, atoms)
        picked = select(atoms, args.select)
        ref = read_reference(args.reference, dcd.atoms) if args.reference else first_frame(dcd)
        rmsd, rg, rmsf = fit_trajectory(dcd, atoms.mass[picked], picked, ref[picked])
    except NamdRunnerError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    answer = {"frames": dcd.frames, "first_step": dcd.first_step, "step_interval": dcd.step_interval,
              "dcd_bytes": args.dcd.stat().st_size, "seconds": round(time.monotonic() - t0, 3),
              "indices": picked.tolist(), "rmsd": rmsd.tolist(), "rg": rg.tolist(), "rmsf": rmsf.tolist()}  # fmt: skip
    tmp = args.out.with_name(f".{args.out.name}.{os.getpid()}.part")
    tmp.write_text(json.dumps(answer), encoding="utf-8")
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
