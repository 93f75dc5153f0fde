"""A job's run analyzed where its data is fetched to: the NAMD log (and the ``.xst``, and the PSF for the
density) brought into a local folder - unchanged files are not fetched again - and every series judged
(:func:`namdrunner_core.analysis.report.analyze_log`). With a selection, the run's DCD is fetched too
and the structure series of the selection added (:func:`~namdrunner_core.analysis.report.with_structure`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from namdrunner_core.analysis.report import Analysis, analyze_log, with_series, with_structure
from namdrunner_core.errors import NotFoundError, ValidationError
from namdrunner_core.models import JobRecord
from namdrunner_core.namd.config import read_config
from namdrunner_core.slurm.script import NAMD_LOG_NAME

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session


def _output(config: Path, keyword: str, suffix: str) -> str | None:
    """Where the run writes ``keyword``'s file (``dcdfile``), else ``outputName`` + ``suffix``."""
    if not config.is_file():
        return None
    keywords = read_config(config.read_text(encoding="utf-8", errors="replace")).keywords
    if keywords.get(keyword):
        return keywords[keyword][-1]
    out = keywords.get("outputname", [""])[-1]
    return f"{out}{suffix}" if out else None


def analyze_job(
    record: JobRecord,
    download: Callable[[Path, list[str]], object],
    into: Path,
    *,
    selection: str | None = None,
    reference: Path | None = None,
    where: str = "local",
    session: Session | None = None,
) -> Analysis:
    """Fetch what the analysis reads into ``into`` (``download(into, patterns)``: the job's verified,
    resumable download) and judge every series of the run; with ``selection``, the DCD's too - fetched
    and read here, or read on the cluster by a small Slurm job (``where``: local, cluster, auto by
    size, :mod:`namdrunner_core.jobs.analyze_remote`)."""
    structure = next((f for f in record.input_files if f.endswith(".psf")), None)
    include = [NAMD_LOG_NAME, "outputs/*.xst", "config.namd"] + ([f"input_files/{structure}"] if structure else [])
    download(into, include)
    log = into / NAMD_LOG_NAME
    if not log.is_file():
        raise NotFoundError(f"job {record.job_id} has no NAMD log yet ({NAMD_LOG_NAME}): it has not run")
    config = into / "config.namd"
    xst_name = _output(config, "xstfile", ".xst")
    psf = into / "input_files" / structure if structure else None
    analysis = analyze_log(log, xst=into / xst_name if xst_name else None, psf=psf, xst_optional=True)
    if selection is None:
        return analysis
    dcd_name = _output(config, "dcdfile", ".dcd")
    if psf is None or dcd_name is None:
        raise ValidationError("--select", f"job {record.job_id} has no PSF or writes no DCD: nothing to select from")
    if session is not None and where != "local":
        from namdrunner_core.jobs import analyze_remote

        if analyze_remote.choose_where(where, record, dcd_name, session) == "cluster":
            assert structure is not None
            s = analyze_remote.structure_on_cluster(session, record, dcd_name=dcd_name,
                                                    psf_name=f"input_files/{structure}", local_psf=psf,
                                                    selection=selection, reference=reference, into=into)  # fmt: skip
            return with_series(analysis, s)
    download(into, [dcd_name])
    if not (into / dcd_name).is_file():
        raise NotFoundError(f"job {record.job_id} has no trajectory {dcd_name} yet (is dcdFreq set?)")
    return with_structure(analysis, into / dcd_name, psf, selection, reference=reference)
