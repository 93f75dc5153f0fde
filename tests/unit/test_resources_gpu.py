"""One resource model for every kind of job: GRES types (MIG slices), per-QOS caps, and every problem
of a request reported at once with the fix the profile knows (Alpine's documented rules)."""

from __future__ import annotations

import pytest

from namdrunner_core.errors import ValidationErrors
from namdrunner_core.profile import load_profile
from namdrunner_core.slurm.resources import Resources, resolve_resources

ALPINE = load_profile("alpine")


def problems(**kw: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationErrors) as info:
        resolve_resources(Resources(**kw), ALPINE)  # type: ignore[arg-type]
    return info.value.problems


def test_every_problem_at_once_each_with_its_fix() -> None:
    found = problems(cores=64, memory_gb=300, walltime="9-00:00:00", partition="acpu", gpus=2)
    fields = [f for f, _ in found]
    assert fields == ["memory_gb", "walltime", "gpus"], found  # three mistakes, all shown at once
    text = dict(found)
    assert "longest QOS on 'acpu' allows 7 days" in text["walltime"]
    assert "--partition aa100" in text["gpus"]


def test_walltime_suggests_the_qos_that_allows_it() -> None:
    [(field, message)] = problems(cores=64, memory_gb=100, walltime="7-00:00:00", partition="acpu")
    assert field == "walltime"
    assert message.endswith("use --qos cpu-long (up to 7 days)")


def test_per_user_caps_of_a_qos() -> None:
    [(field, message)] = problems(cores=1344, memory_gb=100, walltime="48:00:00", qos="cpu-long")
    assert field == "cores"
    assert "allows 20 nodes per user (at most 1280 cores" in message
    ok = resolve_resources(Resources(cores=1280, memory_gb=100, walltime="48:00:00", qos="cpu-long"), ALPINE)
    assert ok.nodes == 20
    [(field, message)] = problems(cores=256, memory_gb=1000, walltime="48:00:00", partition="amem", qos="mem-long")
    assert "185 cores per user" in message


def test_gpu_types_mig_slices_and_the_qos_default() -> None:
    normal = resolve_resources(
        Resources(cores=21, memory_gb=64, walltime="04:00:00", partition="aa100", gpus=1), ALPINE
    )
    assert normal.gres == "gpu:a100-40gb:1"
    testing = resolve_resources(
        Resources(cores=8, memory_gb=16, walltime="00:30:00", partition="aa100", qos="gpu-testing", gpus=1), ALPINE
    )
    assert testing.gres == "gpu:a100_3g.20gb:1"  # gpu-testing on aa100 means MIG slices
    mig = resolve_resources(
        Resources(cores=8, memory_gb=16, walltime="04:00:00", partition="aa100", gpus=1, gpu_type="a100_3g.20gb"),
        ALPINE,
    )
    assert mig.gres == "gpu:a100_3g.20gb:1"
    [(field, message)] = problems(
        cores=8, memory_gb=16, walltime="04:00:00", partition="aa100", gpus=1, gpu_type="h200"
    )
    assert field == "gpu_type"
    assert "offers a100-40gb, a100_3g.20gb" in message
    [(field, message)] = problems(cores=8, memory_gb=16, walltime="04:00:00", partition="acpu", gpu_type="l40")
    assert field == "gpu_type"


def test_a_gpu_partition_says_how_to_ask_for_gpus() -> None:
    [(field, message)] = problems(cores=21, memory_gb=64, walltime="04:00:00", partition="aa100")
    assert field == "gpus"
    assert "ask for 1 to 3 GPUs (--gpus N)" in message


def test_the_message_names_every_field_in_one_line() -> None:
    with pytest.raises(ValidationErrors) as info:
        resolve_resources(Resources(cores=0, memory_gb=-1, walltime="soon"), ALPINE)
    msg = info.value.message
    assert "\n" not in msg
    assert msg.startswith("cores: ")
    assert "; memory_gb: " in msg
    assert "; walltime: " in msg


def test_a_restart_that_moves_drops_what_belonged_to_the_old_partition() -> None:
    old = Resources(cores=64, memory_gb=200, walltime="24:00:00", partition="acpu", qos="cpu-long", constraint="ib")
    same = old.overridden(walltime="12:00:00")
    assert (same.partition, same.qos, same.constraint, same.walltime) == ("acpu", "cpu-long", "ib", "12:00:00")
    moved = old.overridden(partition="aa100", cores=21, memory_gb=64, gpus=1)
    assert (moved.qos, moved.constraint, moved.gpu_type) == (None, None, None)
    kept = old.overridden(partition="aa100", qos="gpu-long", cores=21, memory_gb=64, gpus=1)
    assert kept.qos == "gpu-long"
    resolved = resolve_resources(moved, ALPINE)
    assert (resolved.qos.name, resolved.gres) == ("gpu-normal", "gpu:a100-40gb:1")
