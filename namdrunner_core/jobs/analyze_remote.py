"""The structure series of a job computed where its DCD is: a small Slurm job in the job's own directory
(``analysis/``), run by the site's Python with numpy (profile ``analysis_modules``, ``analysis_python``)
from a zip of namdrunner's analysis modules (:mod:`namdrunner_core.analysis.remote`). Only its answer -
a few numbers per frame and per atom - crosses the network.

Where: ``local`` fetches the DCD (verified, resumable, once) and reads it here; ``cluster`` runs the job;
``auto`` runs it when the DCD is over the profile's ``analysis_local_max_gb`` (default 2 GB: on a
100 MB/s link that is 20 s of transfer for the DCD alone, more than a short job's queue wait on a
debug partition; on a home connection far more)."""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from namdrunner_core.analysis.remote import bundle
from namdrunner_core.analysis.structure import StructureSeries, assemble
from namdrunner_core.analysis.topology import read_psf
from namdrunner_core.cluster import ready
from namdrunner_core.errors import NamdRunnerError, RemoteError, ValidationError
from namdrunner_core.jobs.submission import new_token, submit_once
from namdrunner_core.models import JobRecord
from namdrunner_core.scripts import ANALYSIS_ENV
from namdrunner_core.slurm.parse import parse_sacct, sacct_command
from namdrunner_core.slurm.resources import Resources, resolve_resources
from namdrunner_core.transport.transfer import get_tree, put_files, remote_sizes

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session

#: where the analysis job keeps its files, inside the job's own directory
ANALYSIS_DIR = "analysis"
#: the analysis job's wall time: reading a DCD is I/O bound (a node reads ~100 MB/s or more: an hour is
#: hundreds of GB)
ANALYSIS_WALLTIME = "01:00:00"
#: seconds between looks at the analysis job: from this, doubled while nothing changes, up to the cap
POLL_FIRST_S, POLL_CAP_S = 3.0, 60.0

WHERE = ("auto", "local", "cluster")


def job_name(record: JobRecord) -> str:
    """The analysis job's Slurm name: the job's, made safe for an ``#SBATCH`` line, and ``-analyze``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", record.job_name)[:40] + "-analyze"


def choose_where(where: str, record: JobRecord, dcd_name: str, session: Session) -> str:
    """``local`` or ``cluster`` for ``where`` (``auto``: by the DCD's size on the cluster)."""
    if where not in WHERE:
        raise ValidationError("--where", f"{where!r}: give auto, local or cluster")
    if where != "auto":
        return where
    size = next((o.size for o in record.output_files if o.name == dcd_name), None)
    if size is None:  # a running job: its outputs are not listed yet - ONE listing of the job's files
        size = remote_sizes(session.transport, record.results_dir).get(dcd_name, 0)
    return "cluster" if size > session.profile.analysis_local_max_gb * 1e9 else "local"


def _script(session: Session, record: JobRecord, token: str, args: list[str]) -> str:
    p = session.profile
    memory = min(2.0, p.partition(None).memory_per_core_gb)  # one core's share of the default partition
    res = resolve_resources(Resources(cores=1, memory_gb=memory, walltime=ANALYSIS_WALLTIME,
                                      account=record.resources.account or p.account), p)  # fmt: skip
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={job_name(record)}",
        f"#SBATCH --output={ANALYSIS_DIR}/structure-{token}.out",
        f"#SBATCH --partition={res.partition.name}",
        f"#SBATCH --qos={res.qos.name}",
        "#SBATCH --ntasks=1",
        f"#SBATCH --time={res.walltime}",
        f"#SBATCH --mem={res.mem_arg}",
    ]
    if res.account:
        lines.append(f"#SBATCH --account={res.account}")
    lines.append(f"# Written by namdrunner: the structure series of job {record.job_id}.")
    if p.source_profile:
        lines.append("source /etc/profile >/dev/null 2>&1")
    lines.append("module purge >/dev/null 2>&1")
    if p.analysis_modules:
        lines.append("module load " + " ".join(shlex.quote(m) for m in p.analysis_modules))
    lines += [f"export PYTHONPATH={shlex.quote(ANALYSIS_DIR + '/namdrunner-analysis.zip')}",
              f"exec {shlex.quote(p.analysis_python)} -m namdrunner_core.analysis.remote "
              + " ".join(shlex.quote(a) for a in args)]  # fmt: skip
    return "\n".join(line for line in lines if line) + "\n"


def structure_on_cluster(
    session: Session,
    record: JobRecord,
    *,
    dcd_name: str,
    psf_name: str,
    local_psf: Path,
    selection: str,
    reference: Path | None,
    into: Path,
    sleep: Callable[[float], None] = time.sleep,
) -> StructureSeries:
    """Run the analysis job in the job's directory, wait for it (politely: one ``sacct`` per look, the
    looks further apart while nothing changes), fetch its answer and make the typed result."""
    atoms = read_psf(local_psf)  # the names of the atoms; the node reads its own copy
    root = record.results_dir
    token = new_token().removeprefix("nr-")
    out = f"{ANALYSIS_DIR}/structure-{token}.json"
    args = ["--dcd", dcd_name, "--psf", psf_name, "--select", selection, "--out", out]
    files: dict[str, Path | bytes] = {f"{ANALYSIS_DIR}/namdrunner-analysis.zip": bundle()}
    if reference is not None:
        if not reference.is_file():
            raise ValidationError("--reference", f"{reference}: no such file")
        files[f"{ANALYSIS_DIR}/reference-{token}{reference.suffix}"] = reference
        args += ["--reference", f"{ANALYSIS_DIR}/reference-{token}{reference.suffix}"]
    files[f"{ANALYSIS_DIR}/structure-{token}.sbatch"] = _script(session, record, token, args).encode()
    put_files(session.transport, files, root, incremental=False)
    slurm_id = submit_once(session, workdir=root, script_name=f"{ANALYSIS_DIR}/structure-{token}.sbatch",
                           token=f"nr-{token}", job_name=job_name(record), extra=[])  # fmt: skip
    state = _wait(session, slurm_id, sleep)
    get_tree(session.transport, root, into, include=[out, f"{ANALYSIS_DIR}/structure-{token}.out"])
    answer_path = into / out
    if state != "COMPLETED" or not answer_path.is_file():
        log = into / ANALYSIS_DIR / f"structure-{token}.out"
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        said = next(
            (ln.removeprefix("error: ") for ln in reversed(text.splitlines()) if ln.startswith("error: ")), None
        )
        if said is not None:
            raise ValidationError("--select" if "--select" in said else "--dcd", said.split(": ", 1)[-1])
        last = text.strip().splitlines()[-1:] or ["no output"]
        raise RemoteError(f"the analysis job {slurm_id} ended {state}: {last[0][:300]} ({root}/{ANALYSIS_DIR})")
    a = json.loads(answer_path.read_text(encoding="utf-8"))
    steps = a["first_step"] + a["step_interval"] * np.arange(a["frames"], dtype=np.float64)
    label = str(reference) if reference is not None else "first frame"
    return assemble(f"{root}/{dcd_name}", atoms, selection, label, np.array(a["indices"], dtype=np.int64), steps,
                    np.array(a["rmsd"]), np.array(a["rg"]), np.array(a["rmsf"]))  # fmt: skip


def _wait(session: Session, slurm_id: str, sleep: Callable[[float], None]) -> str:
    """The analysis job's final state (``COMPLETED``, ``FAILED``, ``TIMEOUT``...)."""
    delay, last = POLL_FIRST_S, ""
    deadline = time.monotonic() + 2 * 3600  # the job's own hour, and as long again in the queue
    while time.monotonic() < deadline:
        sleep(delay)
        row = parse_sacct(session.slurm(sacct_command([slurm_id]), check=False).stdout).get(slurm_id)
        state = row.state_name if row is not None else "PENDING"
        if row is not None and row.status.is_terminal:
            return state
        delay = POLL_FIRST_S if state != last else min(POLL_CAP_S, delay * 2)
        last = state
    raise NamdRunnerError(f"the analysis job {slurm_id} has not ended after 2 hours; see `squeue -j {slurm_id}`")


def make_analysis_env(session: Session, *, mdanalysis: bool = False, python: str = "python3") -> str:
    """A Python environment for analysis jobs, made with ``python -m venv`` in namdrunner's own folder of
    the project space (``<jobs root>/.analysis-env``) with numpy (and MDAnalysis); found ready and left
    alone when it has them. Returns its Python: the profile's ``analysis_python`` (with
    ``analysis_modules = []``). ONE command; pip needs the login node's network."""
    where = f"{session.jobs_root.rstrip('/')}/.analysis-env"
    packages = ["numpy", *(["MDAnalysis"] if mdanalysis else [])]
    out = session.run_remote(ANALYSIS_ENV, [where, python, *packages], check=False, timeout=2000).stdout
    return ready(out, f"the analysis environment could not be made in {where}")
