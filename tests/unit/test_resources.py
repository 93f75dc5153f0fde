"""Resources are validated against the profile before anything touches a cluster."""

from __future__ import annotations

import attrs
import pytest

from namdrunner_core.errors import ValidationError
from namdrunner_core.jobs.campaign import su_per_hour
from namdrunner_core.profile import load_profile
from namdrunner_core.slurm.resources import Resources, format_walltime, parse_walltime, resolve_resources

ALPINE = load_profile("alpine")


def res(**kw: object) -> Resources:
    base: dict[str, object] = {"cores": 24, "memory_gb": 16, "walltime": "04:00:00"}
    base.update(kw)
    return Resources(**base)  # type: ignore[arg-type]


def test_defaults_resolve_to_default_partition_and_qos() -> None:
    r = resolve_resources(res(), ALPINE)
    assert (r.partition.name, r.qos.name, r.nodes, r.mem_arg) == ("acpu", "cpu-normal", 1, "16GB")
    assert r.constraint is None


def test_nodes_from_cores_and_multinode_constraint() -> None:
    r = resolve_resources(res(cores=130, memory_gb=64), ALPINE)
    assert r.nodes == 3
    assert r.constraint == "ib"


def test_fractional_memory_keeps_a_unit() -> None:
    assert resolve_resources(res(memory_gb=1.5), ALPINE).mem_arg == "1536MB"


@pytest.mark.parametrize(
    ("kw", "field", "fragment"),
    [
        ({"cores": 0}, "cores", "positive"),
        ({"cores": 64 * 128 + 1}, "cores", "exceeds partition 'acpu' maximum of 8192"),
        ({"memory_gb": 92}, "memory_gb", "exceeds 91.2 GB"),
        ({"memory_gb": 0}, "memory_gb", "more than 0"),
        ({"memory_gb": "lots"}, "memory_gb", "not a number"),
        ({"walltime": "25:00:00"}, "walltime", "exceeds QOS 'cpu-normal' maximum of 24:00:00"),
        ({"walltime": "4h"}, "walltime", "HH:MM:SS"),
        ({"walltime": "00:00:00"}, "walltime", "longer than"),
        ({"partition": "amilan"}, "partition", "not a partition of profile 'alpine'"),
        ({"qos": "normal"}, "qos", "not a QOS"),
        ({"qos": "gpu-normal"}, "qos", "not valid on partition 'acpu'"),
        ({"partition": "aa100", "qos": "gpu-normal"}, "gpus", "GPU partition"),
        ({"gpus": 1}, "gpus", "has no GPUs"),
        ({"partition": "aa100", "gpus": 4}, "gpus", "exceeds 3 GPUs per node"),
        ({"partition": "aa100", "gpus": 1, "cores": 22}, "cores", "21 cores per GPU"),
        ({"partition": "aa100", "gpus": 2, "qos": "gpu-testing", "walltime": "00:30:00"}, "gpus", "QOS 'gpu-testing'"),
        ({"partition": "amem", "memory_gb": 128}, "memory_gb", "below QOS 'mem-normal' minimum of 256"),
        ({"partition": "atesting", "walltime": "02:00:00"}, "walltime", "exceeds QOS 'testing' maximum of 01:00:00"),
        ({"partition": "bad name"}, "partition", "not a valid Slurm name"),
        ({"account": "x;rm -rf"}, "account", "not a valid Slurm name"),
        ({"constraint": "ib && $(x)"}, "constraint", "not a valid Slurm constraint"),
    ],
)
def test_every_bound_names_field_and_limit(kw: dict[str, object], field: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        resolve_resources(res(**kw), ALPINE)
    assert err.value.field == field
    assert fragment in str(err.value)


def test_gpu_job_resolves_gres() -> None:
    r = resolve_resources(res(partition="ah200", gpus=2, cores=48, memory_gb=200), ALPINE)
    assert r.gres == "gpu:h200:2"
    assert r.qos.name == "gpu-normal"
    # billed by usage's rule: 48 cores + 2 GPUs x the partition's weight, an hour
    assert su_per_hour(r, ALPINE) == pytest.approx(48 + 2 * 370.4)


@pytest.mark.parametrize(("text", "seconds"), [("00:01:00", 60), ("1-00:00:00", 86400), ("168:00:00", 604800)])
def test_walltime_round_trip(text: str, seconds: int) -> None:
    assert parse_walltime(text) == seconds
    assert parse_walltime(format_walltime(seconds)) == seconds


def test_a_form_over_a_jobs_resources_changes_only_what_was_changed() -> None:
    from namdrunner_core.errors import ValidationErrors
    from namdrunner_core.slurm.resources import resources_over

    base = res(partition="acpu", qos="cpu-long", walltime="24:00:00")
    same = {"partition": "acpu", "qos": "cpu-long", "cores": "24", "memory_gb": "16", "walltime": "24:00:00"}
    assert resources_over(base, same) == base
    assert resources_over(base, {**same, "walltime": "", "cores": "48"}) == attrs.evolve(base, cores=48)
    # another partition: the QOS shown (the old one's) is dropped, as `job restart --partition` does
    moved = resources_over(base, {**same, "partition": "aa100", "gpus": "1"})
    assert (moved.partition, moved.qos, moved.gpus) == ("aa100", None, 1)
    assert resources_over(base, {**same, "partition": "aa100", "qos": "gpu-normal"}).qos == "gpu-normal"
    with pytest.raises(ValidationErrors) as err:
        resources_over(base, {**same, "cores": "x", "memory_gb": "inf"})
    assert err.value.problems == [("cores", "'x' is not an integer"), ("memory_gb", "'inf' is not a finite number")]


def test_a_form_number_of_hundreds_of_digits_is_refused_not_a_crash() -> None:
    from namdrunner_core.errors import ValidationErrors
    from namdrunner_core.slurm.resources import resources_from_text

    with pytest.raises(ValidationErrors) as err:
        resources_from_text({"cores": "9" * 400, "memory_gb": "1", "walltime": "01:00:00", "gpus": "9" * 400})
    assert [f for f, _ in err.value.problems] == ["cores", "gpus"]
    assert all(m.endswith("... is too large") for _, m in err.value.problems)
    # the CLI's whole numbers reach the rules unparsed: a node count of 400 digits is exact, not a float
    with pytest.raises(ValidationError, match="cores: 9999"):
        resolve_resources(res(cores=int("9" * 400)), ALPINE)


def test_a_memory_that_is_not_a_number_is_said_once() -> None:
    from namdrunner_core.errors import ValidationErrors

    for value, said in ((float("inf"), "inf is not a number of GB"), (float("nan"), "nan is not a number of GB")):
        with pytest.raises(ValidationErrors) as err:
            resolve_resources(res(memory_gb=value, partition="acpu"), ALPINE)
        assert [(f, m.split(" (")[0]) for f, m in err.value.problems] == [("memory_gb", said)]  # not "exceeds" too
