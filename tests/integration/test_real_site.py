"""Paths only a real site has, on the Alpine-shaped loopback cluster (issue: the real cluster and the
real desktop app).

- Slurm is reachable only after ``module load slurm/nrcluster`` (the loopback profile's
  ``slurm_module``): a bare ``sinfo`` fails, every namdrunner path loads the module.
- A port that wants a public key THEN a one-time code (partial authentication).
- Accounting off (slurmdbd stopped: sacct fails) with finished jobs leaving squeue within seconds:
  the batch script's exit marker carries the real state.
- sbatch that queues the job and then hangs past the time-out, or answers ``Socket timed out``; and a
  retry after a crash that left a token but no Slurm id: exactly one job queued every time.
- The desktop app's own job_info.json documents (tests/fixtures/namdrunner-app) discovered with the
  right states, and ``job logs`` finding Slurm logs under the app's names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from namdrunner_cli.main import cli
from namdrunner_core import Job, JobStatus, JobStore, Resources, Session
from namdrunner_core.jobs import submission
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.scripts import SBATCH_IN, STAGE_JOB
from namdrunner_core.transport.ssh import AuthPrompt, SSHTransport
from tests.conftest import ClusterEnv, cluster_vars, totp
from tests.integration.conftest import cluster_sh, vacuum_job

pytestmark = pytest.mark.cluster

SMALL = Resources(cores=1, memory_gb=1, walltime="00:10:00")
APP = Path(__file__).resolve().parent.parent / "fixtures" / "namdrunner-app"


def slurm_env(cluster: ClusterEnv) -> dict[str, str]:
    return {**os.environ, "SLURM_CONF": cluster.slurm_conf}


def jobs_named(cluster: ClusterEnv, name: str) -> list[str]:
    """Every Slurm job of that name, queued or in accounting (as root, beside namdrunner)."""
    env = slurm_env(cluster)
    queued = subprocess.run(["squeue", "-h", "-n", name, "-o", "%i"], capture_output=True, text=True, env=env)
    acct = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-S", "now-1hour", f"--name={name}", "-o", "JobID"],
        capture_output=True,
        text=True,
        env=env,
    )
    return sorted({ln.strip() for ln in (queued.stdout + acct.stdout).splitlines() if ln.strip()})


def test_slurm_needs_the_sites_module(session: Session) -> None:
    assert session.profile.slurm_module == "slurm/nrcluster"
    bare = session.transport.run(["sinfo", "-h", "-o", "%P"], check=False)
    assert bare.exit_code != 0  # as on Alpine: no Slurm without its module
    assert "amilan*" in session.slurm(["sinfo", "-h", "-o", "%P"]).stdout


def test_key_then_code_login(cluster: ClusterEnv) -> None:
    port = int(cluster_vars()["NR_TEST_KEYCODE_PORT"])
    asked: list[str] = []

    def answer(p: AuthPrompt) -> str:
        asked.append(p.text)
        return totp(cluster.totp_secret)

    target = cluster.key_target(port=port, look_for_keys=False)
    with SSHTransport(target, auth=answer) as t:
        assert t.run(["whoami"]).stdout.strip() == cluster.user
        assert t.methods_used == ["publickey", "keyboard-interactive"]
    assert asked
    assert all("assword" not in a for a in asked)  # the key stood for the password: only the code was asked
    # without the code the key alone is not enough
    with pytest.raises(Exception, match=r"refused|ailed|uthentication"):
        SSHTransport(target, auth=lambda p: "000000").run(["true"])


def test_accounting_off_the_exit_marker_carries_the_state(
    session: Session, store: JobStore, accounting_off: None, wait_until: Callable[..., object]
) -> None:
    ok = vacuum_job(session, store, "no acct ok", SMALL).submit()
    bad = vacuum_job(session, store, "no acct bad", SMALL)
    session.transport.run(["rm", "-f", f"{bad.record.project_dir}/input_files/tiny.pdb"])  # NAMD will die
    bad.submit()
    assert session.slurm(["sacct", "-n", "-j", ok.record.slurm_job_id or ""], check=False).exit_code != 0
    # make the records old enough that "unknown to both" is not taken for accounting lag
    for j in (ok, bad):
        old = attrs.evolve(j.record, submitted_at=j.record.submitted_at.replace(year=2025))  # type: ignore[union-attr]
        store.save_job(old)

    def settled() -> bool:
        sync_jobs(store, session)
        return all(store.get_job(j.id).finalized for j in (ok, bad))

    wait_until(settled, 120, 2, what="both jobs settled without accounting")
    assert store.get_job(ok.id).status is JobStatus.COMPLETED
    failed = store.get_job(bad.id)
    assert failed.status is JobStatus.FAILED
    assert failed.slurm_state == "UNKNOWN"  # Slurm could not tell; the exit marker did
    for j in (ok, bad):
        Job(session, store, store.get_job(j.id)).delete()


@pytest.mark.parametrize("fault", ["socket-timeout", "hang"])
def test_an_uncertain_sbatch_never_submits_twice(
    session: Session, store: JobStore, cluster: ClusterEnv, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(submission, "SBATCH_TIMEOUT_S", 6.0)
    job = vacuum_job(session, store, f"fault {fault}", SMALL, steps=12_000_000, execution_command="run")
    cluster_sh("fault", "sbatch", fault)
    try:
        job.submit()
    finally:
        cluster_sh("fault", "sbatch", "none")
    assert job.record.status is JobStatus.PENDING
    assert jobs_named(cluster, job.id) == [job.record.slurm_job_id]  # found, adopted, and only one
    session.slurm(["scancel", job.record.slurm_job_id or ""], check=False)


def test_a_retry_after_a_crash_adopts_the_queued_job(session: Session, store: JobStore, cluster: ClusterEnv) -> None:
    job = vacuum_job(session, store, "crashed submit", SMALL, steps=12_000_000, execution_command="run")
    r = job.record
    # what a client that died right after sbatch leaves: the job queued under a token, no Slurm id stored
    session.run_remote(STAGE_JOB, [r.project_dir, r.scratch_dir])
    session.run_remote(SBATCH_IN, [r.scratch_dir, "sbatch", "--parsable", "--comment=nr-crashed", "job.sbatch"])
    store.save_job(attrs.evolve(r, submit_token="nr-crashed"))
    again = Job(session, store, store.get_job(r.job_id)).submit()
    assert jobs_named(cluster, r.job_id) == [again.record.slurm_job_id]
    assert again.record.status is JobStatus.PENDING
    again.cancel()


@pytest.fixture
def app_jobs(cluster: ClusterEnv) -> Iterator[list[str]]:
    """The desktop app's four documents laid out as the app leaves them on this cluster."""
    projects = Path(cluster.projects) / "namdrunner_jobs"
    scratch = Path(cluster.scratch) / "namdrunner_jobs"
    ids = []
    for state in ("created", "running", "completed", "failed"):
        doc = json.loads((APP / f"job_info.{state}.json").read_text())
        job_id = doc["job_id"]
        doc["project_dir"] = str(projects / job_id)
        doc["scratch_dir"] = str(scratch / job_id)
        for d in (projects / job_id, scratch / job_id):
            d.mkdir(parents=True, exist_ok=True)
        (projects / job_id / "job_info.json").write_text(json.dumps(doc, indent=2))
        if doc["slurm_job_id"]:  # the app names Slurm's logs after the job NAME
            log = f"{doc['job_name']}_{doc['slurm_job_id']}.out"
            (scratch / job_id / log).write_text(f"app log of {state}\n")
        ids.append(job_id)
    subprocess.run(["chown", "-R", f"{cluster.user}:", str(projects), str(scratch)], check=True)
    yield ids
    for job_id in ids:
        shutil.rmtree(projects / job_id, ignore_errors=True)
        shutil.rmtree(scratch / job_id, ignore_errors=True)


def test_the_desktop_apps_jobs_are_discovered_and_their_logs_found(
    app_jobs: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cluster: ClusterEnv
) -> None:
    monkeypatch.setenv("NAMDRUNNER_DB", str(tmp_path / "db.sqlite"))
    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("NAMDRUNNER_PROFILE", "loopback")
    runner = CliRunner()
    found = runner.invoke(cli, ["--json", "discover"], catch_exceptions=False)
    assert found.exit_code == 0, found.output
    report = json.loads(found.stdout)
    assert set(app_jobs) <= set(report["added"]), report
    assert not [r for r in report["refused"] if r[0] in app_jobs]
    states = {}
    for job_id in app_jobs:
        shown = json.loads(runner.invoke(cli, ["--json", "job", "show", job_id], catch_exceptions=False).stdout)
        states[job_id] = shown["status"]
        assert shown["template_values"]["structure"] == "hextube.psf"  # the app's keys read as ours
    assert list(states.values()) == ["Created", "Running", "Completed", "Failed"]
    done = runner.invoke(cli, ["job", "logs", app_jobs[2]], catch_exceptions=False)
    assert done.exit_code == 0
    # the file itself, under the name it was read from (issue 29: the text the app cached in
    # job_info.json was shown instead, labelled with a file name that does not exist)
    assert "app log of completed" in done.stdout
    assert "==> stdout (hextube_min_21334456.out) <==" in done.stdout
    # once the file is gone, the copy kept at completion - and it says so
    log = Path(cluster.scratch) / "namdrunner_jobs" / app_jobs[2] / "hextube_min_21334456.out"
    log.unlink()
    kept = runner.invoke(cli, ["job", "logs", app_jobs[2]], catch_exceptions=False)
    assert kept.exit_code == 0, kept.output
    assert "Loading modules..." in kept.stdout  # what the app stored
    assert "(kept at completion)" in kept.stdout
    running = runner.invoke(cli, ["job", "logs", app_jobs[1]], catch_exceptions=False)
    assert running.exit_code == 0, running.output
    assert "app log of running" in running.stdout  # found under <job_name>_<slurm id>.out
