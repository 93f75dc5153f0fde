"""CLI error paths that need no cluster: one line and the documented exit code for every failure,
including bugs (an exception namdrunner did not expect), bad files and unknown profiles."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from namdrunner_cli.main import cli
from namdrunner_core import errors, load_profile
from namdrunner_core.jobs.prepare import prepare_job
from namdrunner_core.slurm.resources import Resources

ROOT = Path(__file__).resolve().parent.parent.parent
TINY = ROOT / "tests" / "data" / "tiny"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAMDRUNNER_DB", str(tmp_path / "db.sqlite"))
    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("NAMDRUNNER_PROFILE", "loopback")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_an_unexpected_exception_is_one_line_with_its_own_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    from namdrunner_core.store import JobStore

    def boom(self: JobStore) -> None:
        raise RuntimeError("something broke\nsecond line")

    monkeypatch.setattr(JobStore, "list_templates", boom)
    JobStore.default()  # the store exists, so `template list` reads the user's templates from it
    quiet = run("template", "list")
    assert quiet.exit_code == errors.EXIT_INTERNAL == 70
    assert quiet.stderr == "error: internal error: RuntimeError: something broke; rerun with -v and report it\n"
    loud = run("-v", "template", "list")
    assert loud.exit_code == 70
    assert "Traceback (most recent call last)" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1].startswith("error: internal error: RuntimeError")


def test_a_non_utf8_template_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "mine.toml"
    bad.write_bytes(b'id = "caf\xe9"\n')
    result = run("template", "import", str(bad))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: template: ")
    assert "not UTF-8" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_an_unknown_profile_is_exit_1_every_way() -> None:
    for args in (["--profile", "alpin", "job", "list"], ["cluster", "show", "alpin"], ["cluster", "check", "alpin"]):
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "profiles that exist" in result.stderr
    assert "did you mean alpine?" in run("cluster", "show", "alpin").stderr


def test_the_exit_code_table_in_the_docs_is_the_code() -> None:
    table = (ROOT / "docs" / "cli.md").read_text()
    documented = {int(m.group(1)) for m in re.finditer(r"^\| (\d+) \|", table, flags=re.MULTILINE)}
    in_code = {v for k, v in vars(errors).items() if k.startswith("EXIT_")} | {0, 130}
    assert documented == in_code
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.NamdRunnerError)]
    assert {c.exit_code for c in classes} <= documented


def test_a_generic_txt_file_never_switches_extrabonds_on(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"  # looks like an extra-bonds file, but .txt says nothing
    notes.write_text("bond 1 2 10.0 3.4\n")
    prepared = prepare_job(
        load_profile("loopback"),
        "nrtest",
        None,
        name="notes",
        template="vacuum_optimization_v1",
        files=[TINY / "tiny.psf", TINY / "tiny.pdb", TINY / "par_tiny.prm", notes],
        resources=Resources(cores=1, memory_gb=1, walltime="00:10:00"),
    )
    assert "extraBonds" not in prepared.config_text
    assert prepared.record.template_values.get("extrabonds") is None
    assert "notes.txt is uploaded but no template variable uses it (name it with --set KEY=notes.txt)" in (
        prepared.record.preflight_notes
    )
    named = prepare_job(
        load_profile("loopback"),
        "nrtest",
        None,
        name="notes",
        template="vacuum_optimization_v1",
        values={"extrabonds": "notes.txt"},
        files=[TINY / "tiny.psf", TINY / "tiny.pdb", TINY / "par_tiny.prm", notes],
        resources=Resources(cores=1, memory_gb=1, walltime="00:10:00"),
    )
    assert "extraBondsFile     input_files/notes.txt" in named.config_text  # named explicitly: used


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _profile(tmp_path: Path, port: int) -> None:
    d = tmp_path / "cfg" / "profiles"
    d.mkdir(parents=True, exist_ok=True)
    (d / "broken.toml").write_text(f'extends = "loopback"\nhost = "127.0.0.1"\nport = {port}\n')


def test_connection_errors_are_one_line_naming_host_port_and_fix(tmp_path: Path) -> None:
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def drop() -> None:  # accepts and closes at once: no SSH banner ever
        for _ in range(10):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=drop, daemon=True).start()
    try:
        for p, fix in ((port, "before speaking SSH"), (_closed_port(), "connection refused")):
            _profile(tmp_path, p)
            result = run("cluster", "check", "broken")
            assert result.exit_code == 3, result.output
            err = result.stderr.strip().splitlines()
            assert len(err) == 1, result.stderr
            assert f"127.0.0.1:{p}" in err[0]
            assert fix in err[0]
            for noise in ("Traceback", "Exception (client)", "bash -c", "[Errno"):
                assert noise not in result.output
    finally:
        listener.close()


def test_a_failing_remote_script_never_shows_its_text() -> None:
    err = errors.RemoteCommandError("bash -c 'for d in \"$@\"; do ...; done' _ /x", 1, "find: /x: No such file\n")
    assert err.message == "a remote script failed (exit 1): find: /x: No such file"
    assert "for d in" in err.command  # kept for -v


def test_close_matches_and_preview_preflight() -> None:
    typo = run("template", "preview", "vacuum_optimization_v1", "--set", "temprature=310")
    assert typo.exit_code == 1
    assert "did you mean temperature?" in typo.stderr
    assert len(typo.stderr.strip().splitlines()) == 1  # not all 37 names over nine lines
    wrong = run("job", "create", "--name", "x", "--template", "vacum_optimization_v1", "--cores", "1",
                "--memory", "1", "--walltime", "00:10:00", "--dry-run")  # fmt: skip
    assert wrong.exit_code == 1
    assert "did you mean vacuum_optimization_v1?" in wrong.stderr
    refused = run("template", "preview", "vacuum_optimization_v1", "--set", "steps=24001")
    assert refused.exit_code == 1  # the same preflight as job create --dry-run
    assert "nearest: 24000 or 24012" in refused.stderr
    assert "minimize            24001" not in refused.stderr


def test_short_help_is_never_cut_mid_sentence() -> None:
    from namdrunner_cli.main import cli

    def walk(group: object) -> list[str]:
        import click

        out = []
        for cmd in getattr(group, "commands", {}).values():
            out.append(cmd.get_short_help_str(limit=200))
            if isinstance(cmd, click.Group):
                out += walk(cmd)
        return out

    for text in walk(cli):
        assert not text.rstrip().endswith(("(e.g", "e.g.", "(such")), text


def test_a_broken_profile_is_one_bad_row_of_cluster_list(tmp_path: Path) -> None:
    d = tmp_path / "cfg" / "profiles"
    d.mkdir(parents=True)
    (d / "broken.toml").write_text("host = \n")  # not TOML
    (d / "mine.toml").write_text('extends = "loopback"\ndescription = "my loopback"\n')
    listed = run("--json", "cluster", "list")
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert {"alpine", "loopback", "mine", "broken"} <= set(rows)
    assert rows["broken"]["error"]
    assert rows["mine"]["error"] is None
    assert rows["mine"]["description"] == "my loopback"
    table = run("cluster", "list")  # piped: tab-separated, the broken one says why
    broken = next(line for line in table.stdout.splitlines() if line.startswith("broken\t"))
    assert "cannot be read" in broken
