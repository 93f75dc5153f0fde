"""Resource presets (profile ``[[presets]]``): every bundled one is a request its profile's own rules
accept; a preset naming what the profile lacks is refused when the profile loads; a name it does not
have is refused with the ones it has."""

from __future__ import annotations

from pathlib import Path

import pytest

from namdrunner_core.errors import ValidationError
from namdrunner_core.profile import bundled_profile_names, load_profile
from namdrunner_core.slurm.resources import parse_walltime, preset_resources, resolve_resources


def test_every_bundled_preset_is_accepted_by_its_own_profile() -> None:
    seen = 0
    for name in bundled_profile_names():
        profile = load_profile(name)
        for p in profile.presets:
            r = resolve_resources(preset_resources(profile, p.name), profile)
            assert (r.cores, r.walltime_s, r.partition.name) == (p.cores, parse_walltime(p.walltime), p.partition), p
            seen += 1
    assert seen >= 6  # alpine's four, loopback's two


def test_a_preset_by_name_and_a_name_the_profile_lacks() -> None:
    alpine = load_profile("alpine")
    gpu = preset_resources(alpine, "gpu ACCELERATED")
    assert (gpu.partition, gpu.qos, gpu.gpus, gpu.cores) == ("aa100", "gpu-normal", 1, 16)
    with pytest.raises(ValidationError, match="'Huge' is not a preset of profile alpine: it has 'Small test'"):
        preset_resources(alpine, "Huge")


def test_a_preset_of_a_partition_the_profile_lacks_is_not_offered_and_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a user profile that renames the partitions inherits the presets: it still loads
    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path))
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "mine.toml").write_text(
        'extends = "loopback"\n[[partitions]]\nname = "acpu"\ncores_per_node = 16\nmax_nodes = 1\n'
        'memory_per_core_gb = 1.95\ndefault = true\n[[qos]]\nname = "normal"\nmax_walltime_hours = 24\n'
        'partitions = ["acpu"]\ndefault = true\n'
    )
    mine = load_profile("mine")
    assert [p.name for p in mine.presets] == ["Toy test", "Two GPUs"]  # inherited
    assert mine.usable_presets == []  # neither fits: not offered
    with pytest.raises(ValidationError, match="'Toy test' cannot be used: partition 'atesting' is not in"):
        preset_resources(mine, "toy test")


def test_the_command_line_takes_a_preset_and_the_options_beside_it_win() -> None:
    from namdrunner_cli.options import pop_resources

    r = pop_resources({"preset": "small TEST", "cores": 32, "walltime": None}, profile="alpine")
    assert (r.cores, r.memory_gb, r.walltime, r.partition, r.qos) == (32, 16.0, "04:00:00", "acpu", "cpu-normal")
    with pytest.raises(ValidationError, match="missing: give --memory, --walltime, or --preset NAME"):
        pop_resources({"cores": 4, "memory_gb": None})
    with pytest.raises(ValidationError, match="'Tiny' is not a preset of profile loopback"):
        pop_resources({"preset": "Tiny"}, profile="loopback")


def test_the_create_form_offers_the_profiles_presets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from namdrunner_cli.web import html, wizards
    from namdrunner_cli.web.state import UiState
    from namdrunner_core.store import JobStore

    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path))
    state = UiState("alpine", JobStore(tmp_path / "db.sqlite"))
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(ui=state)), url=None)
    ctx = wizards.create_context(state, {"template": "vacuum_optimization_v1"})
    page = bytes(html.page(request, "create.html", **ctx).body).decode()  # type: ignore[arg-type]
    assert 'data-cores="16" data-memory_gb="48" data-walltime="24:00:00" data-partition="aa100"' in page
    assert ">Large scale</button>" in page


def test_a_preset_fills_only_what_the_options_leave_out() -> None:
    from namdrunner_cli.options import preset_into

    kw = {"preset": "Production run", "cores": 64, "walltime": None, "gpus": None, "structure": "x.psf"}
    preset_into(kw, load_profile("alpine"))
    assert kw == {"cores": 64, "walltime": "24:00:00", "memory_gb": 32.0, "partition": "acpu", "qos": "cpu-normal",
                  "gpus": None, "structure": "x.psf"}  # fmt: skip
