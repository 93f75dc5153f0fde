"""Every `namdrunner` command against the loopback cluster, through click's CliRunner (and a real
subprocess where start-up matters): outputs, --json shapes, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from namdrunner_cli.main import cli
from tests.conftest import DATA, ClusterEnv

pytestmark = pytest.mark.cluster

FILES = [f"--file={DATA / 'tiny' / n}" for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]
RES = ["--cores", "2", "--memory", "1", "--walltime", "00:10:00"]


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def run_json(*args: str) -> object:
    result = run("--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_version_and_module_entry() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "namdrunner_cli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("namdrunner, version ")


def test_fast_paths_do_not_import_ssh_libraries(env: dict[str, str]) -> None:
    code = (
        "import sys\nfrom namdrunner_cli.main import cli\n"
        "for args in (['--help'], ['job', 'list'], ['template', 'list']):\n"
        "    try:\n        cli(args, standalone_mode=False)\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('paramiko', 'fabric', 'invoke') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, **env}
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_cluster_commands(env: dict[str, str]) -> None:
    profiles = run_json("cluster", "list")
    assert isinstance(profiles, list)
    assert {p["name"] for p in profiles} >= {"alpine", "loopback"}
    shown = run_json("cluster", "show", "alpine")
    assert isinstance(shown, dict)
    assert shown["partitions"][0]["name"] == "acpu"
    checks = run_json("cluster", "check", "loopback")
    assert isinstance(checks, list)
    assert {c["name"] for c in checks} >= {"login", "partitions", "namd module", "storage"}
    assert all(c["ok"] for c in checks), checks


def test_cluster_check_catches_a_stale_profile(env: dict[str, str]) -> None:
    cfg = Path(env["NAMDRUNNER_CONFIG_DIR"]) / "profiles"
    cfg.mkdir(parents=True)
    (cfg / "stale.toml").write_text(
        'extends = "loopback"\nmodules = ["namd/9.9"]\n[[partitions]]\nname = "gone"\nmax_cores = 4\n'
        'memory_per_core_gb = 1\ndefault = true\n[[qos]]\nname = "normal"\nmax_walltime_hours = 1\n'
        'partitions = ["gone"]\n'
    )
    result = run("cluster", "check", "stale")
    assert result.exit_code == 3
    assert "FAIL partitions" in result.stdout
    assert "gone" in result.stdout
    assert "FAIL namd module" in result.stdout
    # the presets it inherits name partitions it no longer has: not offered, and said
    assert "WARN presets" in result.stdout
    assert "preset 'Toy test' is not offered: partition 'atesting' is not in profile 'stale'" in result.stdout


def test_template_commands(env: dict[str, str], tmp_path: Path) -> None:
    listed = run_json("template", "list")
    assert isinstance(listed, list)
    assert {t["id"] for t in listed} >= {"vacuum_optimization_v1", "explicit_solvent_npt_v1"}
    shown = run("template", "show", "explicit_solvent_npt_v1")
    assert "pme_grid_spacing" in shown.stdout
    preview = run("template", "preview", "explicit_solvent_npt_v1", "--set", "temperature=310", "--set", "pme=false")
    assert "langevinTemp       310" in preview.stdout
    assert "PME                no" in preview.stdout
    out = tmp_path / "mine.json"
    assert run("template", "export", "vacuum_optimization_v1", "-o", str(out)).exit_code == 0
    doc = json.loads(out.read_text())
    doc["id"] = "my_vacuum"
    out.write_text(json.dumps(doc))
    assert run("template", "import", str(out)).exit_code == 0
    toml_text = run("template", "export", "my_vacuum").stdout
    assert 'id = "my_vacuum"' in toml_text
    assert any(t["id"] == "my_vacuum" for t in run_json("template", "list"))  # type: ignore[union-attr]
    assert run("template", "delete", "my_vacuum").exit_code == 0
    builtin = run("template", "delete", "vacuum_optimization_v1")
    assert builtin.exit_code == 1
    assert "builtin" in builtin.stderr


def test_dry_run_touches_nothing(env: dict[str, str], cluster: ClusterEnv) -> None:
    def dry_dirs() -> list[str]:  # other tests may create jobs meanwhile: only a dry run's own name counts
        root = f"{cluster.projects}/namdrunner_jobs"
        return sorted(n for n in os.listdir(root) if n.startswith("dry_")) if os.path.isdir(root) else []

    before = dry_dirs()
    result = run("job", "create", "--name", "dry", "--template", "vacuum_optimization_v1", *FILES, *RES, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "# ---- config.namd" in result.stdout
    assert "#SBATCH --mem=1GB" in result.stdout
    assert dry_dirs() == before
    assert run_json("job", "list") == []


def test_job_workflow_through_the_cli(env: dict[str, str], tmp_path: Path) -> None:
    created = run_json(
        "job",
        "create",
        "--name",
        "cli run",
        "--template",
        "vacuum_optimization_v1",
        "--set",
        "steps=1200",
        "--set",
        "execution_command=run",
        *FILES,
        *RES,
        "--submit",
    )
    assert isinstance(created, dict)
    job_id = created["id"]
    assert created["status"] == "Pending"
    finished = run_json("watch", "--max-interval", "2", "--timeout", "120")
    assert isinstance(finished, list)
    assert [j["status"] for j in finished] == ["Completed"]
    listed = run_json("job", "list")
    assert isinstance(listed, list)
    assert listed[0]["id"] == job_id
    assert listed[0]["status"] == "Completed"
    shown = run_json("job", "show", job_id)
    assert isinstance(shown, dict)
    assert shown["status"] == "Completed"
    assert shown["progress"]["percent"] == 100.0
    table = run("job", "list")
    assert "Completed" in table.stdout
    assert job_id in table.stdout
    assert "End of program" in run("job", "logs", job_id, "--namd", "--tail", "2").stdout
    outputs = run_json("job", "outputs", job_id)
    assert isinstance(outputs, dict)
    assert any(f["name"] == "outputs/vacuum_opt.dcd" for f in outputs["project"])
    dl = run_json("job", "download", job_id, "--to", str(tmp_path / "dl"), "--include", "outputs/*")
    assert isinstance(dl, dict)
    assert (tmp_path / "dl" / job_id / "outputs" / "vacuum_opt.coor").is_file()  # DIR/<id>: jobs never mix
    assert all(f.startswith("outputs/") for f in dl["files"])
    flat = run_json("job", "download", job_id, "--to", str(tmp_path / "flat"), "--flat", "--include", "outputs/*")
    assert isinstance(flat, dict)
    assert (tmp_path / "flat" / "outputs" / "vacuum_opt.coor").is_file()
    assert run_json("sync") == {
        "loopback": {"checked": 0, "changed": [], "finished": [], "remote_commands": 0, "warnings": []}
    }
    no_tty = run("job", "delete", job_id)
    assert no_tty.exit_code == 1
    assert "--yes" in no_tty.stderr
    assert run("job", "delete", job_id, "--yes").exit_code == 0
    missing = run("job", "show", job_id)
    assert missing.exit_code == 4
    assert missing.stderr.startswith("error: no job")


def test_cancel_and_discover(env: dict[str, str]) -> None:
    created = run_json(
        "job",
        "create",
        "--name",
        "long",
        "--template",
        "vacuum_optimization_v1",
        "--set",
        "steps=12000000",
        "--set",
        "execution_command=run",
        *FILES,
        *RES,
        "--submit",
    )
    assert isinstance(created, dict)
    cancelled = run_json("job", "cancel", created["id"])
    assert isinstance(cancelled, dict)
    assert cancelled["status"] == "Cancelled"
    os.remove(env["NAMDRUNNER_DB"])
    report = run_json("discover")
    assert isinstance(report, dict)
    assert created["id"] in report["added"]
    shown = run_json("job", "show", created["id"])
    assert isinstance(shown, dict)
    assert shown["status"] == "Cancelled"
    assert run("job", "delete", created["id"], "--yes").exit_code == 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--template", "nope"], "template: unknown template 'nope'"),
        (["--template", "vacuum_optimization_v1", "--set", "temperature=9000"], "temperature: 9000 is above"),
        (["--template", "vacuum_optimization_v1", "--file", "/nonexistent/x.pdb"], "not found"),
        (["--template", "vacuum_optimization_v1", "--partition", "acpu"], "partition: 'acpu' is not a partition"),
        (["--template", "vacuum_optimization_v1", "--set", "oops"], "--set: 'oops' is not KEY=VALUE"),
    ],
)
def test_bad_input_is_exit_1_naming_the_field(env: dict[str, str], args: list[str], fragment: str) -> None:
    result = run("job", "create", "--name", "bad", *FILES, *RES, *args)
    assert result.exit_code == 1
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_unknown_profile_names_the_ones_that_exist(env: dict[str, str]) -> None:
    for args in (["job", "list"], ["sync"], ["template", "list"]):
        result = run("--profile", "nope", *args)
        assert result.exit_code == 1
        assert "profiles that exist: alpine, loopback" in result.stderr


def test_usage_error_is_exit_2(env: dict[str, str]) -> None:
    assert run("job", "create", "--name", "x").exit_code == 2


def test_verbose_shows_the_command_log_on_errors(env: dict[str, str]) -> None:
    created = run_json("job", "create", "--name", "verbose", "--template", "vacuum_optimization_v1", *FILES, *RES)
    assert isinstance(created, dict)
    quiet = run("job", "logs", created["id"], "--namd")
    assert quiet.exit_code == 4
    assert len(quiet.stderr.strip().splitlines()) == 1
    loud = run("-v", "job", "logs", created["id"], "--namd")
    assert loud.exit_code == 4
    log_lines = loud.stderr.strip().splitlines()[:-1]
    assert any("namd_output.log" in line for line in log_lines)
    assert loud.stderr.strip().splitlines()[-1].startswith("error: ")
    assert run("job", "delete", created["id"], "--yes").exit_code == 0


WF = [
    "--structure",
    str(DATA / "tiny" / "tiny.psf"),
    "--coordinates",
    str(DATA / "tiny" / "tiny.pdb"),
    "--parameters",
    str(DATA / "tiny" / "par_tiny.prm"),
    "--enm",
    str(DATA / "tiny" / "tiny.exb"),
    "--cell",
    "100",
    "100",
    "100",
    "--cores",
    "1",
    "--memory",
    "0.5",
    "--walltime",
    "00:10:00",
]
SMALL_STEPS = [
    "--steps",
    "minimize=120",
    "--steps",
    "npt_k0.5=240",
    "--steps",
    "npt_k0.1=240",
    "--steps",
    "npt_k0.01=240",
    "--steps",
    "production=240",
]


def test_workflow_sweep_and_restart_commands(env: dict[str, str]) -> None:
    plan = run_json("workflow", "create", "--name", "eq", *WF, *SMALL_STEPS, "--dry-run")
    assert isinstance(plan, dict)
    assert [s["job"]["name"].split(" / ")[1] for s in plan["stages"]] == [
        "minimize",
        "npt_k0.5",
        "npt_k0.1",
        "npt_k0.01",
        "production",
    ]
    assert run_json("workflow", "list") == []
    bad = run("workflow", "create", "--name", "eq", *WF, "--steps", "npt_k0.5=250")
    assert bad.exit_code == 1
    assert "stepspercycle" in bad.stderr
    created = run_json(
        "workflow", "create", "--name", "eq", *WF, *SMALL_STEPS, "--set", "production.temperature=310", "--submit"
    )
    assert isinstance(created, dict)
    assert created["status"] == "Pending"
    sweep = run_json(
        "sweep",
        "create",
        "--name",
        "temps",
        "--template",
        "vacuum_optimization_v1",
        "--grid",
        "temperature=290,310",
        "--set",
        "execution_command=run",
        "--set",
        "steps=240",
        *FILES,
        "--cores",
        "1",
        "--memory",
        "0.5",
        "--walltime",
        "00:10:00",
        "--submit",
    )
    assert isinstance(sweep, dict)
    assert len(sweep["stages"]) == 2
    run_json("watch", "--max-interval", "3", "--timeout", "300")
    shown = run_json("workflow", "show", created["id"])
    assert isinstance(shown, dict)
    assert shown["status"] == "Completed"
    assert shown["stages"][-1]["template_values"]["temperature"] == 310  # stored typed, not as text
    groups = run_json("workflow", "list")
    assert isinstance(groups, list)
    assert {(g["kind"], g["status"]) for g in groups} == {("workflow", "Completed"), ("sweep", "Completed")}
    last = shown["stages"][-1]["id"]
    child = run_json("job", "restart", last, "--steps", "240", "--submit")
    assert isinstance(child, dict)
    assert child["parent_job_id"] == last
    assert child["template_values"]["first_timestep"] == 120 + 4 * 240
    sweep_dirs = [s["project_dir"] for s in sweep["stages"]]
    deleted = run_json("workflow", "delete", sweep["id"], "--yes")
    assert deleted == {"id": sweep["id"], "deleted": True, "jobs": [s["id"] for s in sweep["stages"]]}
    assert not any(Path(d).exists() for d in sweep_dirs)  # through the delete safety check, remote dirs too
    assert [g["kind"] for g in run_json("workflow", "list")] == ["workflow"]  # type: ignore[union-attr]
    for job in run_json("job", "list", "--limit", "0"):  # type: ignore[union-attr]
        assert run("job", "delete", job["id"], "--yes").exit_code == 0
    assert run_json("workflow", "list") == []  # a group goes with its last job


def test_submit_logs_status_filter_and_workflow_cancel(env: dict[str, str]) -> None:
    created = run_json(
        "job", "create", "--name", "later", "--template", "vacuum_optimization_v1", "--set", "steps=240", *FILES, *RES
    )
    assert isinstance(created, dict)
    assert created["status"] == "Created"
    assert [j["id"] for j in run_json("job", "list", "--status", "created")] == [created["id"]]  # type: ignore[union-attr]
    submitted = run_json("job", "submit", created["id"])
    assert isinstance(submitted, dict)
    assert submitted["status"] == "Pending"
    assert run_json("job", "list", "--status", "created") == []
    run_json("watch", "--max-interval", "2", "--timeout", "120")
    slurm_log = run("job", "logs", created["id"])  # --slurm is the default
    assert slurm_log.exit_code == 0
    out_label, err_label = (f"==> {k} ({created['id']}_" for k in ("stdout", "stderr"))
    assert out_label in slurm_log.stdout  # each stream labelled
    assert err_label in slurm_log.stdout
    assert slurm_log.stdout.index(out_label) < slurm_log.stdout.index(err_label)
    assert run_json("job", "list", "--status", "completed")[0]["id"] == created["id"]  # type: ignore[index]
    sweep_plan = run_json(
        "sweep",
        "create",
        "--name",
        "t",
        "--template",
        "vacuum_optimization_v1",
        "--grid",
        "temperature=290,310",
        *FILES,
        "--cores",
        "1",
        "--memory",
        "0.5",
        "--walltime",
        "00:10:00",
        "--dry-run",
    )
    assert isinstance(sweep_plan, dict)
    assert len(sweep_plan["stages"]) == 2
    wf = run_json(
        "workflow",
        "create",
        "--name",
        "stop me",
        *WF,
        "--steps",
        "minimize=120",
        "--steps",
        "npt_k0.5=12000000",
        "--submit",
    )
    assert isinstance(wf, dict)
    cancelled = run_json("workflow", "cancel", wf["id"])
    assert isinstance(cancelled, dict)
    assert cancelled["status"] == "Cancelled"
    assert {s["status"] for s in cancelled["stages"]} <= {"Cancelled", "Completed"}
    for job in run_json("job", "list", "--limit", "0"):  # type: ignore[union-attr]
        assert run("job", "delete", job["id"], "--yes").exit_code == 0


def _password_profiles(env: dict[str, str], cluster: ClusterEnv) -> None:
    cfg = Path(env["NAMDRUNNER_CONFIG_DIR"]) / "profiles"
    cfg.mkdir(parents=True, exist_ok=True)
    # No usable key: the login must go through the server's prompts.
    (cfg / "pw.toml").write_text('extends = "loopback"\nidentity_file = "/nonexistent/key"\nuse_agent = false\n')
    (cfg / "duo.toml").write_text(
        f'extends = "loopback"\nidentity_file = "/nonexistent/key"\nuse_agent = false\nport = {cluster.port_2fa}\n'
    )


def test_password_from_stdin_and_second_factor_without_terminal(env: dict[str, str], cluster: ClusterEnv) -> None:
    _password_profiles(env, cluster)
    ok = run("--password-stdin", "cluster", "check", "pw", input=cluster.password + "\n")
    assert ok.exit_code == 0, ok.output
    assert "ok   login" in ok.stdout
    wrong = run("--password-stdin", "cluster", "check", "pw", input="not-the-password\n")
    assert wrong.exit_code == 3
    assert wrong.stderr.startswith("error: login to ")
    assert "not-the-password" not in wrong.output
    duo = run("--password-stdin", "cluster", "check", "duo", input=cluster.password + "\n")
    assert duo.exit_code == 3
    assert "no terminal to answer it" in duo.stderr
    assert "Verification code" in duo.stderr
