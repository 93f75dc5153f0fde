"""Cluster profiles: bundled, user, extends, and errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from namdrunner_core.cluster import Cluster
from namdrunner_core.errors import ProfileError
from namdrunner_core.profile import load_profile, profile_names


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path))
    (tmp_path / "profiles").mkdir()
    return tmp_path


def test_bundled_alpine_has_current_names() -> None:
    p = load_profile("alpine")
    assert p.host == "login.rc.colorado.edu"
    assert p.partition(None).name == "acpu"
    assert p.default_qos_for(p.partition("aa100")).name == "gpu-normal"
    assert p.roots_for("jdoe") == ("/projects/jdoe/namdrunner_jobs", "/scratch/alpine/jdoe/namdrunner_jobs")
    assert p.modules == ["gcc/14.2.0", "openmpi/5.0.6", "namd/3.0.1_cpu"]


def test_user_profile_with_the_issue_keys(config_dir: Path) -> None:
    (config_dir / "profiles" / "mine.toml").write_text(
        'host = "login.example.edu"\nport = 22\nuser = "jdoe"\nidentity_file = "~/.ssh/id_ed25519"\n'
        'jobs_root = "/projects/{user}/namdrunner_jobs"\nscratch_root = "/scratch/alpine/{user}/namdrunner_jobs"\n'
        'modules = ["gcc/14.2.0", "openmpi/5.0.6", "namd/3.0.1_cpu"]\n'
        '[[partitions]]\nname = "amilan"\nmax_cores = 64\nmemory_per_core_gb = 3.75\ndefault = true\n'
        '[[qos]]\nname = "normal"\nmax_walltime_hours = 24\npartitions = ["amilan"]\ndefault = true\n'
    )
    p = load_profile("mine")
    assert p.partition(None).max_cores == 64
    assert p.default_qos_for(p.partition(None)).name == "normal"
    assert "mine" in profile_names()


def test_extends_overrides_keys(config_dir: Path) -> None:
    (config_dir / "profiles" / "alpine-gpu.toml").write_text(
        'extends = "alpine"\nuser = "jdoe"\ngpu_namd_bin = "/projects/jdoe/namd3"\n'
    )
    p = load_profile("alpine-gpu")
    assert (p.user, p.gpu_namd_bin, p.host) == ("jdoe", "/projects/jdoe/namd3", "login.rc.colorado.edu")


def test_errors_name_file_and_key(config_dir: Path) -> None:
    f = config_dir / "profiles" / "bad.toml"
    f.write_text('extends = "alpine"\n[[partitions]]\nname = "x"\ncores_per_node = "many"\nmemory_per_core_gb = 2\n')
    with pytest.raises(ProfileError) as err:
        load_profile("bad")
    assert str(f) in str(err.value)
    assert "$.partitions[0].cores_per_node" in str(err.value)


def test_unknown_key_is_an_error(config_dir: Path) -> None:
    (config_dir / "profiles" / "typo.toml").write_text('extends = "alpine"\nhots = "x"\n')
    with pytest.raises(ProfileError, match="hots"):
        load_profile("typo")


def test_qos_partition_must_exist(config_dir: Path) -> None:
    (config_dir / "profiles" / "q.toml").write_text(
        'extends = "loopback"\n[[qos]]\nname = "n"\nmax_walltime_hours = 1\npartitions = ["nope"]\n'
    )
    with pytest.raises(ProfileError, match=r"\$\.qos\[0\]\.partitions: 'nope'"):
        load_profile("q")


def test_unknown_profile_lists_those_that_exist(config_dir: Path) -> None:
    with pytest.raises(ProfileError, match="profiles that exist: alpine, loopback"):
        Cluster.from_profile("nope")


def test_invalid_toml(config_dir: Path) -> None:
    (config_dir / "profiles" / "broken.toml").write_text("host = \n")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile("broken")
