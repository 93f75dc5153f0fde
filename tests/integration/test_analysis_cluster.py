"""Issue 33 on the real loopback Slurm: the structure series of a run's DCD computed where the DCD is, by a
small Slurm job in the job's own directory (the site's Python with numpy from the profile's module), equal
to the same series computed here from the fetched DCD; a selection that matches nothing and a DCD of
another system are one clear line from the node; the profile's size threshold picks where."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import attrs
import numpy as np
import pytest

from namdrunner_core import Job, JobStatus, JobStore, Resources, Session
from namdrunner_core.errors import RemoteError, ValidationError
from namdrunner_core.jobs import analyze_remote
from namdrunner_core.jobs.sync import sync_jobs
from tests.conftest import ClusterEnv
from tests.integration.conftest import vacuum_job

pytestmark = pytest.mark.cluster


def sacct_rows(cluster: ClusterEnv, name: str) -> list[str]:
    env = {**os.environ, "SLURM_CONF": cluster.slurm_conf}
    out = subprocess.run(["sacct", "-a", "-n", "-X", "-P", "--name", name, "-o", "JobID,State"],
                         capture_output=True, text=True, env=env, check=True).stdout  # fmt: skip
    return [ln for ln in out.splitlines() if ln.strip()]


@pytest.fixture(scope="module")
def finished(session: Session, tmp_path_factory: pytest.TempPathFactory) -> tuple[JobStore, Job]:
    store = JobStore(tmp_path_factory.mktemp("db") / "db.sqlite")
    job = vacuum_job(session, store, "dcd analysis", Resources(cores=1, memory_gb=0.5, walltime="00:10:00"),
                     execution_command="run", steps=2400, dcd_freq=240, energy_freq=48)  # fmt: skip
    job.submit()
    for _ in range(240):
        sync_jobs(store, session, [job.record])
        job.record = store.get_job(job.id)
        if job.record.status.is_terminal and job.record.finalized:
            break
        time.sleep(1)
    assert job.record.status is JobStatus.COMPLETED
    return store, job


def test_on_the_cluster_equals_here(
    finished: tuple[JobStore, Job], session: Session, cluster: ClusterEnv, tmp_path: Path
) -> None:
    _, job = finished
    here = job.analysis(tmp_path / "here", select="name CA", where="local")
    there = job.analysis(tmp_path / "there", select="name CA", where="cluster")
    assert here.structure is not None
    assert there.structure is not None
    assert there.structure.frames == here.structure.frames == 10  # 2400 steps, a frame every 240
    np.testing.assert_allclose(there.structure.rmsd, here.structure.rmsd, atol=1e-9, rtol=0)
    np.testing.assert_allclose(there.structure.radius_of_gyration, here.structure.radius_of_gyration, atol=1e-9)
    assert [a.rmsf for a in there.structure.rmsf] == [a.rmsf for a in here.structure.rmsf]
    assert list(there.structure.steps) == list(here.structure.steps)
    assert there.structure.rmsd.max() > 0  # the stand-in's atoms move
    # the DCD did not cross: only the answer came back; the job ran in Slurm and its files stayed in
    # the job's own directory
    assert not list((tmp_path / "there").rglob("*.dcd"))
    assert list((tmp_path / "here").rglob("*.dcd"))
    rows = sacct_rows(cluster, analyze_remote.job_name(job.record))
    assert rows
    assert rows[-1].endswith("|COMPLETED")
    remote = Path(job.record.results_dir) / "analysis"
    names = {p.name for p in remote.iterdir()}
    assert "namdrunner-analysis.zip" in names
    assert any(n.startswith("structure-") and n.endswith(".json") for n in names)


def test_bad_input_from_the_node_is_one_line(finished: tuple[JobStore, Job], tmp_path: Path) -> None:
    _, job = finished
    with pytest.raises(ValidationError, match=r"--select: .*'name ZZZ' matches no atom of tiny.psf"):
        job.analysis(tmp_path / "a", select="name ZZZ", where="cluster")
    with pytest.raises(ValidationError, match=r"'resid 1 and \(name CA': "):
        job.analysis(tmp_path / "b", select="resid 1 and (name CA", where="cluster")


def test_auto_chooses_by_the_profile_threshold(finished: tuple[JobStore, Job], session: Session) -> None:
    _, job = finished
    dcd = next(o for o in job.record.output_files if o.name.endswith(".dcd"))
    assert analyze_remote.choose_where("auto", job.record, dcd.name, session) == "local"
    tiny_limit = Session(attrs.evolve(session.profile, analysis_local_max_gb=dcd.size / 2e9), session.transport,
                         session.user)  # fmt: skip
    assert analyze_remote.choose_where("auto", job.record, dcd.name, tiny_limit) == "cluster"
    with pytest.raises(ValidationError, match=r"--where: 'moon': give auto, local or cluster"):
        analyze_remote.choose_where("moon", job.record, dcd.name, session)


def test_an_analysis_env_made_on_request_runs_the_analysis(
    finished: tuple[JobStore, Job], session: Session, tmp_path: Path
) -> None:
    """No module with numpy: `cluster analysis-env` makes a venv in namdrunner's folder of the project
    space (a second call finds it ready), and the analysis job runs with it."""
    _, job = finished
    python = analyze_remote.make_analysis_env(session)
    assert python == f"{session.jobs_root}/.analysis-env/bin/python"
    made = Path(python).parent.parent.stat().st_mtime_ns
    assert analyze_remote.make_analysis_env(session) == python  # ready: nothing done again
    assert Path(python).parent.parent.stat().st_mtime_ns == made
    own = Session(attrs.evolve(session.profile, analysis_modules=[], analysis_python=python), session.transport,
                  session.user)  # fmt: skip
    there = Job(own, JobStore(tmp_path / "db.sqlite"), job.record).analysis(tmp_path / "v", select="all",
                                                                           where="cluster")  # fmt: skip
    here = job.analysis(tmp_path / "h", select="all", where="local")
    assert there.structure is not None
    assert here.structure is not None
    np.testing.assert_allclose(there.structure.rmsd, here.structure.rmsd, atol=1e-9)
    # MDAnalysis asked for with a Python that does not exist: refused in one line, the working one kept
    with pytest.raises(RemoteError, match=r"could not be made in .*\.analysis-env: no-such-python3 -m venv"):
        analyze_remote.make_analysis_env(session, mdanalysis=True, python="no-such-python3")
    assert analyze_remote.make_analysis_env(session) == python
    assert Path(python).parent.parent.stat().st_mtime_ns == made
