"""NAMD log truth through the real sync path on the loopback cluster (issue: NAMD log truth).

A config whose length is given by ``numsteps`` (no ``run`` command: the stand-in then prints no
``TCL: Running`` line, as NAMD does) is tracked with a plan and reported Completed; the same config
told to stop right after ``WRITING COORDINATES TO OUTPUT FILE`` (killed before ``WallClock`` and
``End of program``) is never reported complete: its log says ``finishing`` and Slurm's failure decides.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from namdrunner_core import Job, JobStatus, JobStore, Resources, Session
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.namd.template_files import builtin_template
from tests.conftest import DATA

pytestmark = pytest.mark.cluster

TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]
SMALL = Resources(cores=1, memory_gb=1, walltime="00:10:00")
RUN_BLOCK = """{% if execution_command == "minimize" %}
minimize           {{ steps }}
{% else %}
run                {{ steps }}
{% endif %}"""


def _numsteps_template(store: JobStore, template_id: str, *, stop_before_end: bool) -> None:
    base = builtin_template("vacuum_optimization_v1")
    assert RUN_BLOCK in base.text
    tail = "numsteps           {{ steps }}\n"
    if stop_before_end:
        tail += "#namd-standin: stop-before-end\n"  # test-cluster directive: die before the end markers
    store.save_template(attrs.evolve(base, id=template_id, text=base.text.replace(RUN_BLOCK, tail)))


def _numsteps_job(session: Session, store: JobStore, name: str, *, stop_before_end: bool) -> Job:
    template_id = f"vacuum_numsteps_{name}"
    _numsteps_template(store, template_id, stop_before_end=stop_before_end)
    return Job.create(
        session, store, name=name, template=template_id, values={"steps": 2400}, files=TINY, resources=SMALL
    )


def _run_to_end(session: Session, store: JobStore, job: Job, wait_until: Callable[..., object]) -> Job:
    job.submit()

    def finished() -> bool:
        sync_jobs(store, session)
        return not store.get_job(job.id).status.is_active

    wait_until(finished, 120, 1, what=f"{job.id} to finish")
    return Job(session, store, store.get_job(job.id))


def test_numsteps_run_is_tracked_and_completed(
    session: Session, store: JobStore, wait_until: Callable[..., object]
) -> None:
    job = _numsteps_job(session, store, "numsteps", stop_before_end=False)
    assert job.record.total_steps == 2400  # from the rendered config's numsteps
    log = session.transport.run(["cat", f"{job.record.project_dir}/config.namd"]).stdout
    assert "numsteps           2400" in log
    assert "\nrun " not in log
    done = _run_to_end(session, store, job, wait_until)
    r = done.record
    assert r.status is JobStatus.COMPLETED, (r.status, r.error_info)
    assert r.progress is not None
    assert (r.progress.outcome, r.progress.total_steps, r.progress.percent) == ("completed", 2400, 100.0)
    text = done.logs("namd")
    assert "Info: NUMBER OF STEPS        2400" in text
    assert "TCL: Running for" not in text  # the plan came from NUMBER OF STEPS alone
    assert "End of program" in text


def test_killed_while_writing_final_files_is_not_completed(
    session: Session, store: JobStore, wait_until: Callable[..., object]
) -> None:
    job = _numsteps_job(session, store, "cut", stop_before_end=True)
    done = _run_to_end(session, store, job, wait_until)
    r = done.record
    text = done.logs("namd")
    assert "WRITING COORDINATES TO OUTPUT FILE AT STEP 2400" in text
    assert "WallClock:" not in text
    assert r.status is JobStatus.FAILED, (r.status, r.error_info)
    assert r.progress is not None
    assert r.progress.outcome == "finishing"
    assert r.progress.eta_s is None
