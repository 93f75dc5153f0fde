"""A profile edited as text: the bundled one is never touched, a user file takes its place and is saved
only when it loads; a text that does not load is refused in the loader's words, the earlier file back."""

from __future__ import annotations

from pathlib import Path

import pytest

from namdrunner_core.errors import ProfileError
from namdrunner_core.profile import load_profile
from namdrunner_core.profile_files import profile_text, save_profile_text


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    return tmp_path / "cfg"


def test_a_bundled_profile_starts_as_a_file_that_extends_it(config: Path) -> None:
    start = profile_text("alpine")
    assert not start.user_file
    assert start.bundled
    assert 'extends = "alpine"' in start.text
    assert not start.path.exists()  # nothing written by reading
    path = save_profile_text("alpine", start.text.replace('# account = "ucb-general"', 'account = "ucb-general"'))
    assert path == config / "profiles" / "alpine.toml"
    assert load_profile("alpine").account == "ucb-general"
    again = profile_text("alpine")
    assert again.user_file
    assert 'account = "ucb-general"' in again.text


def test_a_text_that_does_not_load_is_refused_and_the_file_before_stays(config: Path) -> None:
    good = 'extends = "alpine"\naccount = "ucb-general"\n'
    save_profile_text("alpine", good)
    for bad, says in (('extends = "alpine"\naccount = \n', "not valid TOML"),
                      ('extends = "alpine"\nport = "twenty-two"\n', "port")):  # fmt: skip
        with pytest.raises(ProfileError, match=says):
            save_profile_text("alpine", bad)
        assert (config / "profiles" / "alpine.toml").read_text() == good
    with pytest.raises(ProfileError, match="unknown profile"):
        save_profile_text("no-such-profile", good)


def test_a_new_file_that_does_not_load_leaves_no_file(config: Path) -> None:
    with pytest.raises(ProfileError):
        save_profile_text("loopback", 'extends = "loopback"\npartitions = "all of them"\n')
    assert not (config / "profiles" / "loopback.toml").exists()


def test_cluster_edit_saves_what_the_editor_wrote_only_when_it_loads(config: Path) -> None:
    from click.testing import CliRunner

    from namdrunner_cli.main import cli

    runner = CliRunner()
    good = runner.invoke(cli, ["cluster", "edit", "alpine"], env={"EDITOR": "sed -i s/^#.account/account/"})
    assert good.exit_code == 0, good.output
    assert load_profile("alpine").account == "ucb-general"
    bad = runner.invoke(cli, ["cluster", "edit", "alpine"], env={"EDITOR": "sed -i s/^account.*/port=x/"})
    assert bad.exit_code != 0
    assert "not valid TOML" in bad.output
    assert 'account = "ucb-general"' in (config / "profiles" / "alpine.toml").read_text()


def test_a_profile_name_that_is_not_a_plain_file_name_writes_nothing(config: Path) -> None:
    from namdrunner_core.errors import ValidationError
    from namdrunner_core.profile_files import write_profile_file

    for name in ("../outside", "a/b", "", ".hidden"):
        with pytest.raises(ValidationError, match="a profile name is letters"):
            write_profile_file(name, 'extends = "alpine"\n')
    assert not (config / "outside.toml").exists()
    assert not list(config.parent.glob("*.toml"))
