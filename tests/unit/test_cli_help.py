"""The help a person reads: short help never cut mid-sentence, an Examples section in every command."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from namdrunner_cli.main import cli, first_sentence


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the top level loads its commands lazily: ask for each
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            out += _leaves(command, (*prefix, name))
        else:
            out.append(((*prefix, name), command))
    return out


def test_first_sentence_is_whole() -> None:
    assert first_sentence("Continue a failed (e.g. TIMEOUT) job. More.") == "Continue a failed (e.g. TIMEOUT) job."
    assert first_sentence("One line\nwrapped here.\n\nSecond paragraph.") == "One line wrapped here."
    assert first_sentence("Ends with `x.y` inside. Next") == "Ends with `x.y` inside."


def test_every_short_help_is_a_whole_sentence_and_every_command_has_examples() -> None:
    leaves = _leaves(cli)
    assert len(leaves) > 25
    for path, command in leaves:
        short = command.get_short_help_str(limit=45)
        assert short.endswith("."), (path, short)
        assert "..." not in short, (path, short)
        assert "Examples:" in (command.help or ""), f"namdrunner {' '.join(path)} --help has no examples"


@pytest.mark.parametrize("width", ["60", "80"])
def test_group_listings_are_not_cut(width: str) -> None:
    result = CliRunner().invoke(cli, ["job", "--help"], env={"COLUMNS": width}, terminal_width=int(width))
    assert result.exit_code == 0
    assert "restart" in result.output
    assert "(such as TIMEOUT)" in " ".join(result.output.split())
    assert "..." not in result.output.split("Commands:")[1]


def _complete(words: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import subprocess
    import sys

    env = {"_NAMDRUNNER_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
    code = "from namdrunner_cli.main import main; main()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})
    return [line.split(",", 1)[1] for line in out.stdout.splitlines() if "," in line]


def test_completion_of_ids_templates_and_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks._fixtures import make_store

    monkeypatch.setenv("NAMDRUNNER_DB", str(tmp_path / "jobs.db"))
    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    assert _complete("namdrunner job show x", monkeypatch) == []  # no store yet: nothing, and no error
    store = make_store(tmp_path / "jobs.db", 3)
    ids = sorted(r.job_id for r in store.list_jobs())
    assert _complete(f"namdrunner job show {ids[0][:4]}", monkeypatch) == [i for i in ids if i.startswith(ids[0][:4])]
    assert _complete("namdrunner template show expl", monkeypatch) == ["explicit_solvent_npt_v1"]
    assert _complete("namdrunner --profile alp", monkeypatch) == ["alpine"]
    assert _complete("namdrunner cluster check loop", monkeypatch) == ["loopback", "loopback-host"]
    assert _complete("namdrunner cluster check loopback-", monkeypatch) == ["loopback-host"]
