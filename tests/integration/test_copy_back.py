"""A copy-back that never loses results (issue: trajectory-sized data, the copy-back part).

On the loopback cluster: a job's project directory is made read-only for the test user while the job
runs on scratch, so the scratch -> project rsync really fails (exit 23). The job is Completed, but its
copy-back stays `failed` with the reason; `job show` says the results are on scratch only; `job
download` takes them from scratch; `job delete` refuses; once the directory is writable again the next
sync copies, verifies the sha256 manifests and marks it `verified`.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from namdrunner_cli.main import cli
from namdrunner_core import JobStore, Resources, Session
from namdrunner_core.jobs.sync import sync_jobs
from tests.integration.conftest import vacuum_job

pytestmark = pytest.mark.cluster


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_failed_copy_back_is_retried_and_never_passes_for_done(
    session: Session,
    env: dict[str, str],
    tmp_path: Path,
    wait_until: Callable[..., object],
) -> None:
    store = JobStore(env["NAMDRUNNER_DB"])
    job = vacuum_job(
        session, store, "copy back", Resources(cores=1, memory_gb=1, walltime="00:10:00"),
        steps=24000, execution_command="run",
    )  # fmt: skip
    project = job.record.project_dir
    try:
        job.submit()  # copies project -> scratch (permissions too), then runs there for a few seconds
        # meanwhile outputs/ on project storage turns unwritable for the user (root's, mode 755: the
        # owner's rsync can neither write into it nor chmod it, as with a full or read-only quota)
        subprocess.run(["chown", "root:", f"{project}/outputs"], check=True)
        subprocess.run(["chmod", "755", f"{project}/outputs"], check=True)

        def settled() -> bool:
            sync_jobs(store, session)
            return store.get_job(job.id).finalized

        wait_until(settled, 120, 1, what="the job to finish")
        r = store.get_job(job.id)
        assert r.status.value == "Completed"
        assert r.copy_back == "failed"
        assert "rsync scratch -> project exit 23" in (r.copy_back_error or "")
        assert not os.path.exists(f"{project}/outputs/vacuum_opt.coor")  # really not copied
        shown = json.loads(run("--json", "job", "show", job.id).stdout)
        assert (shown["status"], shown["copy_back"]) == ("Completed", "failed")
        text = run("job", "show", job.id).stdout
        assert "results on scratch only" in text
        got = run("--json", "job", "download", job.id, "--to", str(tmp_path / "dl"), "--include", "outputs/*")
        assert got.exit_code == 0, got.output
        assert (tmp_path / "dl" / job.id / "outputs" / "vacuum_opt.coor").is_file()  # from scratch
        refused = run("job", "delete", job.id, "--yes")
        assert refused.exit_code == 1
        assert "results are on scratch only" in refused.stderr
        assert os.path.isdir(job.record.scratch_dir)
        assert os.path.isdir(project)
        # a later sync retries it (one finalize command), and still fails while the cause remains
        report = sync_jobs(store, session)
        assert job.id in report.changed or store.get_job(job.id).copy_back == "failed"
    finally:
        subprocess.run(["chown", "-R", f"{session.user}:", project], check=True)
    sync_jobs(store, session)  # the cause fixed: copied, manifests compared, verified
    r = store.get_job(job.id)
    assert (r.copy_back, r.copy_back_error) == ("verified", None)
    assert os.path.isfile(f"{project}/outputs/vacuum_opt.coor")
    assert sync_jobs(store, session).remote_commands == 0  # nothing left to do for it
    assert run("job", "delete", job.id, "--yes").exit_code == 0
