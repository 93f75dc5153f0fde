"""Issue 29: nothing namdrunner says is false, nothing it is given can escape. Each test here failed
before its fix: a path a config writes outside the job, inputs out of every sane range, error lines
named by internal keys, output cut at 80 columns in a pipe, a template judged by its file name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from namdrunner_cli.context import error_lines
from namdrunner_core import load_profile
from namdrunner_core.errors import ValidationError, ValidationErrors
from namdrunner_core.ids import MAX_NAME_CHARS, check_display_name
from namdrunner_core.jobs.prepare import prepare_job
from namdrunner_core.namd.config import check_config, escaping_path
from namdrunner_core.namd.template_files import read_template_file
from namdrunner_core.slurm.resources import Resources, resolve_resources
from tests.unit.test_cli_errors import isolated, run  # noqa: F401 - the same isolated store, config and CLI runner

ROOT = Path(__file__).resolve().parent.parent.parent
TINY = ROOT / "tests" / "data" / "tiny"
FILES = [str(TINY / n) for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]
BASE = """structure input_files/a.psf
coordinates input_files/a.pdb
parameters input_files/p.prm
cutoff 12
switching off
exclude scaled1-4
temperature 300
outputName outputs/run
"""


@pytest.mark.parametrize(
    ("path", "escapes"),
    [
        ("outputs/run", False),
        ("run", False),
        ("./outputs/../outputs/x", False),
        ("{outputs/with space}", False),
        ("a/b/../../c", False),
        ("../x", True),
        ("outputs/../../x", True),
        ("outputs/../../../escaped_out", True),
        ("/tmp/x", True),
        ("~/x", True),
        ("{/scratch/x}", True),
        ("C:/x", True),
        ("..\\x", True),
    ],
)
def test_one_confinement_rule(path: str, escapes: bool) -> None:
    assert (escaping_path(path) is not None) is escapes


@pytest.mark.parametrize(
    "line",
    [
        "outputName outputs/../../x",
        "restartname ../r",
        "DCDfile /tmp/x.dcd",
        "velDCDfile ../v.dcd",
        "forceDCDfile ../f.dcd",
        "XSTfile /tmp/x.xst",
        "alchOutFile ../fep.fepout",
        "set where ../../x\nrestartName $where",
        "output withvelocities ../snap",
        "cwd /tmp",
        "cd ..",
    ],
)
def test_every_path_a_config_writes_must_stay_inside_the_job(line: str) -> None:
    report = check_config(BASE + line + "\nrun 100\n")
    assert report.escapes, line
    assert not report.ok
    assert not check_config(BASE + "run 100\n").escapes


def test_a_path_only_tcl_knows_is_a_warning_not_silence() -> None:
    report = check_config(BASE + "restartname [pwd]/r\noutput $::somewhere\nrun 100\n")
    assert not report.escapes
    assert any("restartname" in w.lower() and "not checked" in w for w in report.warnings)
    assert any("`output` writes" in w for w in report.warnings)


def _prepare(**kw: object) -> object:
    args: dict[str, object] = {
        "name": "t",
        "template": "explicit_solvent_npt_v1",
        "values": {"steps": 2400},
        "files": FILES,
        "resources": Resources(cores=4, memory_gb=2, walltime="00:10:00"),
    }
    args.update(kw)
    return prepare_job(load_profile("loopback"), "nrtest", None, **args)  # type: ignore[arg-type]


def test_a_template_value_cannot_send_results_out_and_no_preflight_does_not_skip_it() -> None:
    for skip in (False, True):
        with pytest.raises(ValidationError, match=r"outside the job's directory.*escaped_out.*--no-preflight"):
            _prepare(values={"steps": 2400, "output_name": "../../../escaped_out"}, run_preflight=not skip)
    _prepare(values={"steps": 2400, "output_name": "fine_name"})


def test_the_cli_refuses_escaping_outputs_in_one_line() -> None:
    result = run("job", "create", "--name", "x", "--template", "explicit_solvent_npt_v1", *[
        a for f in FILES for a in ("--file", f)], "--set", "output_name=../../../escaped_out", "--cores", "4",
        "--memory", "2", "--walltime", "00:10:00", "--no-preflight", "--dry-run")  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "outputName 'outputs/../../../escaped_out' climbs out of the job's directory" in result.stderr


@pytest.mark.parametrize("memory", [1e-7, 0.05, 0.0, -1.0, float("nan"), float("inf")])
def test_memory_below_what_namd_needs_is_refused(memory: float) -> None:
    with pytest.raises(ValidationError) as err:
        resolve_resources(Resources(cores=4, memory_gb=memory, walltime="00:10:00"), load_profile("loopback"))
    assert err.value.field == "memory_gb"
    resolve_resources(Resources(cores=4, memory_gb=0.1, walltime="00:10:00"), load_profile("loopback"))


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("x" * (MAX_NAME_CHARS + 1), "at most 200"),
        ("x" * 1_000_000, "at most 200"),
        ("evil\u202etxt.exe", r"U\+202E"),
        ("a\u200bb", r"U\+200B"),
        ("a\u2066b", r"U\+2066"),
        ("line\nbreak", "control characters"),
        ("   ", "needs a name"),
    ],
)
def test_names_that_lie_or_overflow_are_refused(name: str, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        check_display_name(name)
    with pytest.raises(ValidationError, match=fragment):
        _prepare(name=name)


def test_names_in_any_script_are_fine() -> None:
    for name in ("hextube min", "DNA-origami 6HB", "équilibration", "折り紙", "x" * MAX_NAME_CHARS):
        assert check_display_name(name) == name


def test_errors_name_the_option_typed_one_line_per_problem() -> None:
    exc = ValidationErrors([("memory_gb", "1e-07 GB is below 0.1 GB"), ("cores", "0 is not positive")])
    assert error_lines(exc) == ["--memory: 1e-07 GB is below 0.1 GB", "--cores: 0 is not positive"]
    result = run("job", "create", "--name", "x", "--template", "explicit_solvent_npt_v1", *[
        a for f in FILES for a in ("--file", f)], "--cores", "0", "--memory", "1e-7", "--walltime", "00:10:00",
        "--dry-run")  # fmt: skip
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert any(line.startswith("error: --memory: ") for line in lines), lines
    assert any(line.startswith("error: --cores: ") for line in lines), lines
    assert not any("memory_gb" in line for line in lines)


def test_piped_output_never_wraps(tmp_path: Path) -> None:
    env = {"NAMDRUNNER_DB": str(tmp_path / "db"), "NAMDRUNNER_CONFIG_DIR": str(tmp_path / "c"), "PATH": "/usr/bin:/bin"}
    long_root = "/projects/" + "a" * 120 + "/namdrunner_jobs"
    (tmp_path / "c" / "profiles").mkdir(parents=True)
    (tmp_path / "c" / "profiles" / "wide.toml").write_text(f'extends = "loopback"\njobs_root = "{long_root}"\n')
    out = subprocess.run(
        [sys.executable, "-m", "namdrunner_cli", "cluster", "show", "wide"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "a" * 120 in out.stdout  # whole, on one line, although far wider than 80 columns


def test_placeholders_are_refused_and_the_file_name_decides_nothing(tmp_path: Path) -> None:
    blank = tmp_path / "benchmark.in"
    blank.write_text(BASE.replace("input_files/a.psf", "<topology>") + "run 100\n")
    with pytest.raises(ValidationError, match=r"line 1: <topology> is a placeholder"):
        read_template_file(blank)
    blank.write_text(BASE + "run 100\n")
    assert read_template_file(blank).id == "benchmark"


def test_workflow_template_export_prints_to_stdout_without_o() -> None:
    result = run("workflow", "template", "export", "dna_origami_equilibration")
    assert result.exit_code == 0, result.stderr
    assert "[[stages]]" in result.stdout or "stages" in result.stdout


def test_a_closed_pipe_is_a_normal_end(tmp_path: Path) -> None:
    """Issue 30: `namdrunner ... | head -1` exited 70 with "internal error: BrokenPipeError"."""
    env = {**os.environ, "NAMDRUNNER_DB": str(tmp_path / "db"), "NAMDRUNNER_CONFIG_DIR": str(tmp_path / "c")}
    # `true` reads nothing and is gone before Python writes its first line: that write meets EPIPE
    code = f"{sys.executable} -m namdrunner_cli template list | true; echo ${{PIPESTATUS[0]}}"
    out = subprocess.run(["bash", "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.stdout.strip() == "0", out.stderr
    assert "BrokenPipe" not in out.stderr
    assert "Exception ignored" not in out.stderr


def test_a_full_disk_is_one_line_naming_the_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import errno

    from namdrunner_core.template_library import export_template

    def full(*_a: object, **_k: object) -> str:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "npt.toml"))

    monkeypatch.setattr("namdrunner_core.template_library.export_template", full)
    assert export_template is not full
    result = run("template", "export", "explicit_solvent_npt_v1", "-o", str(tmp_path / "out" / "npt.toml"))
    assert result.exit_code == 73
    assert result.stderr.count("\n") == 1
    assert f"no space left on the disk of {tmp_path / 'out'}" in result.stderr
    assert "[Errno 28]" not in result.stderr
