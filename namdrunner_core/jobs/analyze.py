"""A job's run analyzed where its data is fetched to: the NAMD log (and the ``.xst``, and the PSF for the
density) brought into a local folder - unchanged files are not fetched again - and every series judged
(:func:`namdrunner_core.analysis.report.analyze_log`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from namdrunner_core.analysis.report import Analysis, analyze_log
from namdrunner_core.errors import NotFoundError
from namdrunner_core.models import JobRecord
from namdrunner_core.namd.config import read_config
from namdrunner_core.slurm.script import NAMD_LOG_NAME


def analyze_job(record: JobRecord, download: Callable[[Path, list[str]], object], into: Path) -> Analysis:
    """Fetch what the analysis reads into ``into`` (``download(into, patterns)``: the job's verified,
    resumable download) and judge every series of the run."""
    structure = next((f for f in record.input_files if f.endswith(".psf")), None)
    include = [NAMD_LOG_NAME, "outputs/*.xst", "config.namd"] + ([f"input_files/{structure}"] if structure else [])
    download(into, include)
    log = into / NAMD_LOG_NAME
    if not log.is_file():
        raise NotFoundError(f"job {record.job_id} has no NAMD log yet ({NAMD_LOG_NAME}): it has not run")
    config = into / "config.namd"
    xst = None
    if config.is_file():
        out = read_config(config.read_text(encoding="utf-8", errors="replace")).keywords.get("outputname", [""])[-1]
        xst = into / f"{out}.xst" if out else None
    psf = into / "input_files" / structure if structure else None
    return analyze_log(log, xst=xst, psf=psf, xst_optional=True)
