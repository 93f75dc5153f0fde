"""The single-job lifecycle end to end on the real loopback cluster: create, submit, sync to a final
state, fetch, delete, rediscover; failures, cancellation and time-outs; and every bad input refused
with nothing changed on the remote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import attrs
import pytest

from namdrunner_core import Job, JobStatus, JobStore, Resources, Session, Template, ValidationError
from namdrunner_core.errors import UnsafePathError
from namdrunner_core.jobs.discover import discover_jobs
from namdrunner_core.jobs.safety import remove_job_dir
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.namd.template_files import builtin_template
from tests.conftest import DATA, ClusterEnv

pytestmark = pytest.mark.cluster

TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]
SMALL = Resources(cores=2, memory_gb=1, walltime="00:10:00")


def remote_ls(session: Session, path: str) -> list[str]:
    res = session.transport.run(["ls", "-A", "--", path], check=False)
    return sorted(res.stdout.split("\n")[:-1]) if res.exit_code == 0 else []


def remote_json(session: Session, path: str) -> dict[str, object]:
    doc = json.loads(session.transport.run(["cat", "--", path]).stdout)
    assert isinstance(doc, dict)
    return doc


def vacuum(session: Session, store: JobStore, name: str, **values: object) -> Job:
    vals: dict[str, object] = {"steps": 480, "execution_command": "minimize"}
    vals.update(values)
    return Job.create(
        session, store, name=name, template="vacuum_optimization_v1", values=vals, files=TINY, resources=SMALL
    )


@pytest.fixture(scope="module")
def timeout_job(session: Session, tmp_path_factory: pytest.TempPathFactory) -> tuple[JobStore, Job]:
    """Started first so that Slurm's one-minute limit runs while the other tests do."""
    store = JobStore(tmp_path_factory.mktemp("timeout") / "jobs.db")
    job = Job.create(
        session,
        store,
        name="runs too long",
        template="vacuum_optimization_v1",
        values={"steps": 12_000_000, "execution_command": "run", "restart_freq": 12000},
        files=TINY,
        resources=Resources(cores=1, memory_gb=1, walltime="00:01:00"),
    )
    job.submit()
    return store, job


def test_full_lifecycle(session: Session, store: JobStore, tmp_path: Path, timeout_job: tuple[JobStore, Job]) -> None:
    job = vacuum(session, store, "hex tube: min #1")
    r = job.record
    assert r.job_id.startswith("hex_tube_min_1_")
    assert r.job_name == "hex tube: min #1"
    # Remote layout of the desktop app.
    assert remote_ls(session, r.project_dir) == ["config.namd", "input_files", "job.sbatch", "job_info.json", "outputs"]
    assert remote_ls(session, f"{r.project_dir}/input_files") == ["par_tiny.prm", "tiny.exb", "tiny.pdb", "tiny.psf"]
    info = remote_json(session, f"{r.project_dir}/job_info.json")
    assert (info["status"], info["slurm_job_id"], info["job_id"]) == (
        "CREATED",
        None,
        r.job_id,
    )  # the desktop app's spelling
    assert info["slurm_config"] == {
        "cores": 2,
        "memory": "1GB",
        "walltime": "00:10:00",
        "partition": "amilan",
        "qos": "normal",
    }
    assert store.get_job(r.job_id).status is JobStatus.CREATED

    job.submit()
    assert job.record.slurm_job_id is not None
    assert job.status is JobStatus.PENDING
    assert remote_json(session, f"{r.project_dir}/job_info.json")["status"] == "PENDING"
    with pytest.raises(ValidationError, match="only Created, Failed or Cancelled"):
        job.submit()  # never double-submitted

    job.wait(timeout=120, max_interval=2)
    r = store.get_job(r.job_id)
    assert r.status is JobStatus.COMPLETED
    assert r.exit_code == "0:0"
    assert r.finalized
    assert r.progress is not None
    assert r.progress.percent == 100.0
    assert r.progress.outcome == "completed"
    names = {o.name for o in r.output_files}
    assert {"outputs/vacuum_opt.coor", "outputs/vacuum_opt.vel", "outputs/vacuum_opt.xsc"} <= names
    assert "namd_output.log" in names
    assert f"{r.job_id}_{r.slurm_job_id}.out" in names
    assert r.slurm_stdout is not None
    # Results were copied scratch -> project on the cluster, and job_info.json says Completed.
    project_outputs = remote_ls(session, f"{r.project_dir}/outputs")
    assert {"vacuum_opt.coor", "vacuum_opt.vel", "vacuum_opt.xsc"} <= set(project_outputs)
    info = remote_json(session, f"{r.project_dir}/job_info.json")
    assert info["status"] == "COMPLETED"
    assert info["completed_at"]

    prog = Job.load(session, store, r.job_id).progress()
    assert prog.percent == 100.0
    assert "Minimizing" not in Job.load(session, store, r.job_id).logs("namd", tail=3)
    assert "End of program" in Job.load(session, store, r.job_id).logs("namd", tail=3)

    seen: list[tuple[int, int]] = []
    report = Job.load(session, store, r.job_id).download(
        tmp_path / "results", progress=lambda d, t: seen.append((d, t))
    )
    assert (tmp_path / "results" / "outputs" / "vacuum_opt.coor").stat().st_size == 4 + 24 * 12
    assert (tmp_path / "results" / "namd_output.log").read_text().rstrip().endswith("End of program")
    assert report.payload_bytes > 0
    assert seen
    again = Job.load(session, store, r.job_id).download(tmp_path / "results")
    assert again.payload_bytes == 0
    only = Job.load(session, store, r.job_id).download(tmp_path / "only", include=["outputs/*.xsc"])
    assert set(only.files_sent) == {"outputs/vacuum_opt.xsc"}  # 480 steps: no restart files yet

    Job.load(session, store, r.job_id).delete()
    assert remote_ls(session, r.project_dir) == []
    assert session.transport.run(["test", "-e", r.project_dir], check=False).exit_code == 1
    assert session.transport.run(["test", "-e", r.scratch_dir], check=False).exit_code == 1
    assert store.list_jobs() == []


@pytest.mark.parametrize("template_id", ["vacuum_optimization_v1", "explicit_solvent_npt_v1"])
def test_both_builtin_templates_complete(session: Session, store: JobStore, template_id: str) -> None:
    job = Job.create(
        session,
        store,
        name=f"{template_id} run",
        template=template_id,
        values={
            "execution_command": "run",
            "steps": 600,
            "restart_freq": 300,
            "dcd_freq": 120,
            "xst_freq": 120,
            "energy_freq": 60,
        },
        files=TINY,
        resources=SMALL,
    )
    job.submit().wait(timeout=120, max_interval=2)
    assert job.status is JobStatus.COMPLETED, job.record.error_info
    log = job.logs("namd")
    assert "TCL: Running for 600 steps" in log
    assert ("PME requires" in log) is False
    job.delete()


def test_failed_job_surfaces_namd_message(session: Session, store: JobStore) -> None:
    job = vacuum(session, store, "missing input")
    session.transport.run(["rm", "--", f"{job.record.project_dir}/input_files/tiny.pdb"])
    job.submit().wait(timeout=120, max_interval=2)
    r = job.record
    assert r.status is JobStatus.FAILED
    assert r.error_info is not None
    assert "Cannot open file 'input_files/tiny.pdb'" in r.error_info
    assert r.slurm_state == "FAILED"
    job.delete()


def test_cancel(session: Session, store: JobStore, wait_until: object) -> None:
    job = vacuum(session, store, "to cancel", steps=12_000_000, execution_command="run")
    job.submit()
    for _ in range(60):
        job.refresh()
        if job.status is JobStatus.RUNNING:
            break
    job.cancel()
    assert job.status is JobStatus.CANCELLED
    assert job.record.slurm_state is not None
    assert job.record.slurm_state.startswith("CANCELLED")
    assert remote_json(session, f"{job.record.project_dir}/job_info.json")["status"] == "CANCELLED"
    job.delete()


def test_sync_is_a_constant_number_of_commands(session: Session, store: JobStore) -> None:
    jobs = [vacuum(session, store, f"batch {i}", steps=1_200_000, execution_command="run").submit() for i in range(4)]
    before = len(session.command_log)
    report = sync_jobs(store, session)
    assert report.checked == 4
    assert report.remote_commands <= 3
    assert len(session.command_log) - before == report.remote_commands
    for j in jobs:
        j.delete()


def test_discovery_after_losing_the_local_store(session: Session, store: JobStore, tmp_path: Path) -> None:
    done = vacuum(session, store, "to rediscover")
    done.submit().wait(timeout=120, max_interval=2)
    fresh_job = vacuum(session, store, "never submitted")
    store.engine.dispose()
    (tmp_path / "jobs.db").unlink()
    new_store = JobStore(tmp_path / "jobs.db")
    assert new_store.list_jobs() == []
    report = discover_jobs(new_store, session)
    assert {done.id, fresh_job.id} <= set(report.added)
    back = new_store.get_job(done.id)
    assert back.status is JobStatus.COMPLETED
    assert back.slurm_job_id == done.record.slurm_job_id
    assert back.resources == done.record.resources
    assert new_store.get_job(fresh_job.id).status is JobStatus.CREATED
    for j in (done, fresh_job):
        Job.load(session, new_store, j.id).delete()


def test_discovery_refuses_untrusted_json(session: Session, store: JobStore) -> None:
    good = vacuum(session, store, "neighbour")
    evil_dir = f"{session.jobs_root}/evil_1"
    session.transport.run(["mkdir", "-p", evil_dir])
    evil = json.loads(session.transport.run(["cat", f"{good.record.project_dir}/job_info.json"]).stdout)
    evil.update(job_id="evil_1", project_dir="/etc", scratch_dir=f"{session.scratch_root}/evil_1")
    session.transport.run(
        ["bash", "-c", 'cat > "$1"', "_", f"{evil_dir}/job_info.json"], stdin=json.dumps(evil).encode()
    )
    fresh = JobStore(Path(str(store.path) + ".2"))
    report = discover_jobs(fresh, session)
    assert good.id in report.added
    assert "evil_1" in [d for d, _ in report.refused]
    session.transport.run(["rm", "-rf", "--", evil_dir])
    good.delete()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"template": "no_such_template"}, "template"),
        ({"values": {"temperature": 9999}}, "temperature"),
        ({"files": [*TINY[:3], DATA / "tiny" / "missing.pdb"]}, "file missing.pdb"),
        ({"resources": Resources(cores=2, memory_gb=1, walltime="00:10:00", partition="acpu")}, "partition"),
        ({"resources": Resources(cores=64, memory_gb=1, walltime="00:10:00")}, "cores"),
        ({"values": {"pme": True, "cell_x": 5}}, "cell_x"),
    ],
)
def test_bad_input_changes_nothing_remote(
    session: Session, store: JobStore, kwargs: dict[str, object], field: str
) -> None:
    # this test's own directories only (bad_*): the other lanes create jobs meanwhile
    before = [n for n in remote_ls(session, session.jobs_root) if n.startswith("bad_")]
    args: dict[str, object] = {"name": "bad", "template": "vacuum_optimization_v1", "files": TINY, "resources": SMALL}
    args.update(kwargs)
    with pytest.raises(ValidationError) as err:
        Job.create(session, store, **args)  # type: ignore[arg-type]
    assert err.value.field == field
    assert [n for n in remote_ls(session, session.jobs_root) if n.startswith("bad_")] == before
    assert store.list_jobs() == []


def test_pme_without_cell_rejected_before_submission(session: Session, store: JobStore) -> None:
    base = builtin_template("explicit_solvent_npt_v1")
    no_cell = attrs.evolve(
        base, id="npt_no_cell", text="\n".join(line for line in base.text.splitlines() if "cellBasisVector" not in line)
    )
    store.save_template(no_cell)
    before = [n for n in remote_ls(session, session.jobs_root) if n.startswith("no_cell_")]
    with pytest.raises(ValidationError, match="PME requires periodic boundary conditions"):
        Job.create(session, store, name="no cell", template="npt_no_cell", files=TINY, resources=SMALL)
    assert [n for n in remote_ls(session, session.jobs_root) if n.startswith("no_cell_")] == before
    assert isinstance(store.get_template("npt_no_cell"), Template)


@pytest.mark.parametrize("bad_id", ["..", "", "/", "a/../../b", ".", "x/y"])
def test_unsafe_delete_targets_refused(session: Session, bad_id: str) -> None:
    before = remote_ls(session, session.jobs_root)
    with pytest.raises(UnsafePathError):
        remove_job_dir(session, "project", bad_id)
    assert set(before) <= set(remote_ls(session, session.jobs_root))  # nothing removed (other lanes add)


def test_symlinked_job_dir_is_not_followed(session: Session, store: JobStore, cluster: ClusterEnv) -> None:
    job = vacuum(session, store, "symlinked")
    home = session.transport.run(["bash", "-c", "echo $HOME"]).stdout.strip()
    session.transport.run(["touch", f"{home}/precious.txt"])
    session.transport.run(["rm", "-rf", "--", job.record.project_dir])
    session.transport.run(["ln", "-s", home, job.record.project_dir])
    with pytest.raises(UnsafePathError, match="symlink"):
        job.delete()
    assert session.transport.run(["test", "-f", f"{home}/precious.txt"], check=False).exit_code == 0
    session.transport.run(["rm", "--", job.record.project_dir])
    store.delete_job(job.id)


def test_create_failure_leaves_no_half_job(session: Session, store: JobStore, mocker: object) -> None:
    import namdrunner_core.jobs.job as jobmod

    # only this test's own job directories count: tests in the other lanes create jobs meanwhile
    before = [n for n in remote_ls(session, session.jobs_root) if n.startswith("half_")]

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("upload died")

    mocker.patch.object(jobmod, "put_files", boom)  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="upload died"):
        vacuum(session, store, "half")
    assert [n for n in remote_ls(session, session.jobs_root) if n.startswith("half_")] == before
    assert store.list_jobs() == []


def test_timeout_is_a_named_failure(timeout_job: tuple[JobStore, Job]) -> None:
    store, job = timeout_job
    job.wait(timeout=240, max_interval=5)
    r = job.record
    assert r.status is JobStatus.FAILED
    assert r.slurm_state == "TIMEOUT"
    assert r.error_info is not None
    assert "TIMEOUT" in r.error_info
    assert r.progress is not None
    assert r.progress.last_checkpoint_step is not None
    job.delete()
    shutil.rmtree(store.path.parent, ignore_errors=True)
