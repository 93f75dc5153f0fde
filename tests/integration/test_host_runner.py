"""Issue 35: jobs where there is no Slurm - the loopback host reached over SSH with profile
``loopback-host`` (``scheduler = "none"``, 2 pretend GPUs, 4 cores): namdrunner's host runner installed on
first use, 5 GPU jobs submitted at once run 2 at a time in order, a 3-stage workflow whose middle stage
fails stops its last, a time limit ends a job as TIMEOUT, the runner killed mid-job and started again
loses nothing and runs nothing twice, two clients at once get distinct slots, and what cannot run is
refused in one line with nothing started."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from namdrunner_core import Cluster, Job, JobStatus, JobStore, Resources, Session, Workflow
from namdrunner_core.errors import RemoteError, ValidationError
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.workflow import StageSpec
from tests.conftest import DATA, ClusterEnv

pytestmark = pytest.mark.cluster

TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]
GPU = Resources(cores=1, memory_gb=0.5, walltime="00:05:00", partition="host-gpu", gpus=1)
CPU = Resources(cores=1, memory_gb=0.5, walltime="00:05:00")


@pytest.fixture(scope="module")
def host(cluster: ClusterEnv) -> Iterator[Session]:
    with Cluster.from_profile("loopback-host").connect() as s:
        yield s


def on_host(host: Session, *argv: str) -> str:
    return host.transport.run(list(argv), check=False).stdout


def hostq_state(host: Session) -> dict[str, Any]:
    home = on_host(host, "bash", "-c", 'printf %s "$HOME"')
    state: dict[str, Any] = json.loads(on_host(host, "cat", f"{home}/.namdrunner/hostq/state.json"))
    return state


def paced(host: Session, store: JobStore, name: str, resources: Resources, pace: int = 600, steps: int = 2400) -> Job:
    """A run of the toy system at ``pace`` steps a second (2400 steps: 4 s)."""
    values = {"steps": steps, "execution_command": "run", "restart_freq": 480}
    return Job.create(host, store, name=name, template="vacuum_optimization_v1", values=values, files=TINY,
                      resources=resources, extra_files={"namd-standin.control": f"pace {pace}\n".encode()})  # fmt: skip


def settle(
    host: Session, store: JobStore, jobs: list[Job], wait_until: Callable[..., object], limit: float = 180
) -> None:
    def done() -> bool:
        sync_jobs(store, host)
        return all(store.get_job(j.id).status.is_terminal and store.get_job(j.id).finalized for j in jobs)

    wait_until(done, limit, 1, what="the jobs settled")


def test_five_gpu_jobs_run_two_at_a_time_in_order(
    host: Session, store: JobStore, wait_until: Callable[..., object]
) -> None:
    jobs = [paced(host, store, f"gpu {i}", GPU) for i in range(5)]
    for j in jobs:
        j.submit()
    settle(host, store, jobs, wait_until)
    records = [store.get_job(j.id) for j in jobs]
    assert [r.status for r in records] == [JobStatus.COMPLETED] * 5
    assert all(r.copy_back == "verified" for r in records)
    state = hostq_state(host)["jobs"]
    ran = [state[r.slurm_job_id or ""] for r in records]
    starts = [j["start"] for j in ran]
    assert starts == sorted(starts)  # in the order they were submitted
    for j in ran:  # never more than the host's 2 GPUs at once, one job per GPU
        overlapping = [k for k in ran if k["start"] <= j["start"] < k["end"]]  # running as j started
        assert len(overlapping) <= 2
        assert len({d for k in overlapping for d in k["devices"]}) == len(overlapping)
        assert len(j["devices"]) == 1
    assert max(len([k for k in ran if k["start"] <= j["start"] < k["end"]]) for j in ran) == 2  # and it used both


def test_a_failed_stage_stops_its_dependants(host: Session, store: JobStore, wait_until: Callable[..., object]) -> None:
    values = {"steps": 240, "execution_command": "run"}
    stages = [StageSpec(n, "vacuum_optimization_v1", values, CPU) for n in ("a", "b", "c")]
    wf = Workflow.create(host, store, name="host chain", shared_files=TINY, stages=stages)
    a, b, c = wf.jobs()
    host.transport.run(["rm", "--", f"{b.record.project_dir}/input_files/tiny.pdb"])  # b fails as NAMD does
    wf.submit()
    settle(host, store, [a, b, c], wait_until)
    a, b, c = wf.jobs()
    assert (a.status, b.status, c.status) == (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
    assert "tiny.pdb" in (b.record.error_info or "")
    assert c.record.error_info == "not run: stage 'b' failed"
    assert wf.status is JobStatus.FAILED


def test_a_time_limit_ends_a_job_as_timeout(host: Session, store: JobStore, wait_until: Callable[..., object]) -> None:
    short = attrs.evolve(CPU, walltime="00:01:00")
    job = paced(host, store, "too long", short, pace=10, steps=2400)  # 240 s of work in a 60 s limit
    job.submit()
    settle(host, store, [job], wait_until, 150)
    r = store.get_job(job.id)
    assert r.status is JobStatus.FAILED
    assert r.slurm_state == "TIMEOUT"
    ran = hostq_state(host)["jobs"][r.slurm_job_id or ""]
    assert 58 <= ran["end"] - ran["start"] <= 70  # ended at its limit (and SIGTERM ended it at once)


def test_the_runner_killed_mid_job_loses_nothing_and_runs_nothing_twice(
    host: Session, store: JobStore, wait_until: Callable[..., object]
) -> None:
    jobs = [paced(host, store, f"survives {i}", CPU, pace=400) for i in range(2)]  # 6 s each
    for j in jobs:
        j.submit()
    wait_until(lambda: hostq_state(host)["jobs"][jobs[0].record.slurm_job_id or ""]["state"] == "RUNNING", 30, 0.5)
    on_host(host, "pkill", "-KILL", "-f", "hostq.py runner")
    time.sleep(2)
    assert not on_host(host, "pgrep", "-f", "hostq.py runner").strip()  # no runner now
    settle(host, store, jobs, wait_until)  # the next look (sync) starts it again
    for j in jobs:
        r = store.get_job(j.id)
        assert r.status is JobStatus.COMPLETED
        log = on_host(host, "cat", f"{r.results_dir}/namd_output.log")
        assert log.count("Info: NAMD ") == 1  # started once
        assert log.count("End of program") == 1
    assert len(on_host(host, "pgrep", "-f", "hostq.py runner").split()) <= 1  # never two runners


def test_two_clients_at_once_get_distinct_slots(
    host: Session, store: JobStore, cluster: ClusterEnv, wait_until: Callable[..., object]
) -> None:
    made: list[Job] = []
    errors: list[BaseException] = []

    def client(i: int) -> None:
        try:
            with Cluster.from_profile("loopback-host").connect() as own:
                made.append(paced(own, JobStore(store.path), f"client {i}", GPU).submit())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ids = {j.record.slurm_job_id for j in made}
    assert len(ids) == 2
    settle(host, store, made, wait_until)
    state = hostq_state(host)["jobs"]
    first, second = (state[i or ""] for i in sorted(ids, key=lambda x: int(x or 0)))
    assert first["start"] < second["end"]  # both ran at once...
    assert second["start"] < first["end"]
    assert first["devices"] != second["devices"]  # ... each on its own GPU


def test_what_cannot_run_is_refused_in_one_line(host: Session, store: JobStore, cluster: ClusterEnv) -> None:
    with pytest.raises(ValidationError, match=r"gpus"):
        paced(host, store, "three gpus", attrs.evolve(GPU, gpus=3))
    # a host without the NAMD the profile names: `cluster check` says so in one line
    from namdrunner_core.diagnostics import check_cluster

    missing = attrs.evolve(host.profile, cpu_launcher="/opt/no-namd/namd3 +p$SLURM_NTASKS")
    (namd,) = [c for c in check_cluster(Session(missing, host.transport, host.user)) if c.name == "namd"]
    assert not namd.ok
    assert namd.detail.startswith("/opt/no-namd/namd3: not found on this host; set cpu_launcher")
    (good,) = [c for c in check_cluster(host) if c.name == "namd"]
    assert good.ok
    # the runner's folder owned by someone else: refused, nothing started
    home = on_host(host, "bash", "-c", 'printf %s "$HOME"')
    env = {**os.environ}
    subprocess.run(["chown", "root:root", f"{home}/.namdrunner/hostq"], check=True, env=env)
    try:
        fresh = Session(host.profile, host.transport, host.user)
        with pytest.raises(RemoteError, match=r"belongs to user id 0, not to you"):
            fresh.slurm(["squeue", "-h"])
    finally:
        subprocess.run(["chown", "nrtest:", f"{home}/.namdrunner/hostq"], check=True, env=env)


def test_a_campaign_continues_past_its_time_limit(
    host: Session, store: JobStore, wait_until: Callable[..., object]
) -> None:
    """The autopilot on a host without Slurm: a two-minute segment is warned before its limit, stops NAMD
    at a restart point and queues the next segment itself (the runner's sbatch), to the exact target."""
    fast = Session(attrs.evolve(host.profile, campaign_warn_s=20, campaign_startup_s=3.0), host.transport, host.user)
    values = {"steps": 1200, "execution_command": "run", "restart_freq": 1200}
    job = Job.create(fast, store, name="host campaign", template="vacuum_optimization_v1", values=values, files=TINY,
                     resources=attrs.evolve(CPU, walltime="00:02:00"), target_ns=0.36,
                     extra_files={"namd-standin.control": b"pace 1500\n"}).submit()  # fmt: skip
    settle(host, store, [job], wait_until, 420)
    r = store.get_job(job.id)
    assert r.status is JobStatus.COMPLETED, r.error_info
    campaign = r.campaign or {}
    assert campaign["state"] == "done"
    assert len({a["segment"] for a in campaign["attempts"]}) >= 2  # 180,000 steps at 1,500/s: past one segment
    assert campaign["attempts"][-1]["end_step"] == campaign["target_step"] == 180_000


def test_a_sweep_runs_as_one_array_on_the_host(
    host: Session, store: JobStore, wait_until: Callable[..., object]
) -> None:
    from namdrunner_core import Sweep

    sweep = Sweep.create_sweep(host, store, name="host temps", template="vacuum_optimization_v1",
                               grid={"temperature": [290, 300, 310]}, values={"execution_command": "run", "steps": 240},
                               files=TINY, resources=CPU)  # fmt: skip
    sweep.submit()
    ids = [j.record.slurm_job_id or "" for j in sweep.jobs()]
    assert len({i.split("_")[0] for i in ids}) == 1  # one array, a task per point
    assert sorted(int(i.split("_")[1]) for i in ids) == [0, 1, 2]
    settle(host, store, sweep.jobs(), wait_until)
    assert sweep.refresh().status is JobStatus.COMPLETED
    assert all(store.get_job(j.id).exit_code == "0:0" for j in sweep.jobs())
