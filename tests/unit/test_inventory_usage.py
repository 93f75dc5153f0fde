"""Cluster detection (sinfo/scontrol/sacctmgr/Lmod parsing, profile differences) and the bill
(sacct accounting, SUs, efficiencies), on outputs in the shapes Slurm 22-24 and Lmod 8 print."""

from __future__ import annotations

import math

import pytest

from namdrunner_core.profile import ClusterProfile, load_profile
from namdrunner_core.serde import structure, to_data
from namdrunner_core.slurm.accounting import (
    cpu_efficiency,
    cpu_seconds,
    memory_efficiency,
    memory_mb,
    parse_df,
    parse_usage,
    scaling_hint,
    service_units,
)
from namdrunner_core.slurm.inventory import (
    compare_profile,
    parse_gres,
    parse_inventory,
    profile_overrides,
    slurm_hours,
)

# What Alpine answered after its 2026-08 renames (amilan -> acpu, normal -> cpu-normal), in the
# shape lib_detect.sh prints: acpu mixes node sizes, aa100 offers whole GPUs and MIG slices.
ALPINE_2026 = """@@USER ralph
@@SINFO
acpu*|64|243000|1-00:00:00|(null)|up|300
acpu*|128|486000|1-00:00:00|(null)|up|120
aa100|64|243000|1-00:00:00|gpu:a100-40gb:3(S:0-1),gpu:a100_3g.20gb:6|up|12
atesting|64|243000|1:00:00|(null)|up|2
@@SINFO_RC 0
@@PARTS
PartitionName=acpu AllowQos=cpu-normal,cpu-long Default=YES MaxNodes=UNLIMITED MaxTime=1-00:00:00 TotalNodes=420
PartitionName=aa100 AllowQos=gpu-normal,gpu-testing Default=NO MaxNodes=1 MaxTime=1-00:00:00 TotalNodes=12
PartitionName=atesting AllowQos=testing Default=NO MaxNodes=2 MaxTime=01:00:00 TotalNodes=2
@@PARTS_RC 0
@@QOS
normal|1-00:00:00|||
cpu-normal|1-00:00:00|node=128|1000|
cpu-long|7-00:00:00|node=20|200|
gpu-normal|1-00:00:00||1000|
gpu-testing|01:00:00|gres/gpu=1|5|
testing|01:00:00|node=2|5|
@@QOS_RC 0
@@ASSOC
ucb-general||cpu-long,cpu-normal,gpu-normal,gpu-testing,testing|cpu-normal
@@ASSOC_RC 0
@@NAMD namd/2.14||/curc/sw/namd/2.14/bin/namd2
@@NAMD namd/3.0.1_cpu|gcc/14.2.0 openmpi/5.0.6|/curc/sw/namd/3.0.1/bin/namd3
"""

OLD_PROFILE = """
host = "login.rc.colorado.edu"
jobs_root = "/projects/{user}/j"
scratch_root = "/scratch/alpine/{user}/j"
modules = ["gcc/14.2.0", "openmpi/5.0.6", "namd/3.0.1_cpu"]
[[partitions]]
name = "amilan"
cores_per_node = 64
max_nodes = 4
memory_per_core_gb = 3.75
default = true
default_qos = "normal"
[[partitions]]
name = "aa100"
cores_per_node = 64
max_nodes = 1
memory_per_core_gb = 3.75
gpu_type = "a100"
gpus_per_node = 3
default_qos = "normal"
gpu_su_weight = 108.2
[[qos]]
name = "normal"
max_walltime_hours = 24
partitions = ["amilan", "aa100"]
default = true
[[qos]]
name = "long"
max_walltime_hours = 168
partitions = ["amilan"]
"""


def old_profile() -> ClusterProfile:
    import tomllib

    return structure({**tomllib.loads(OLD_PROFILE), "name": "old"}, ClusterProfile, source="test")


def test_slurm_times_and_gres() -> None:
    assert slurm_hours("7-00:00:00") == 168
    assert slurm_hours("1:00:00") == 1
    assert slurm_hours("30:00") == 0.5
    assert slurm_hours("infinite") is None
    assert slurm_hours("UNLIMITED") is None
    g = parse_gres("gpu:a100-40gb:3(S:0-1),gpu:a100_3g.20gb:6")
    assert [(x.name, x.type, x.count) for x in g] == [("gpu", "a100-40gb", 3), ("gpu", "a100_3g.20gb", 6)]
    assert parse_gres("(null)") == []
    assert [(x.type, x.count) for x in parse_gres("gpu:2")] == [(None, 2)]


def test_inventory_merges_node_kinds_and_reads_limits() -> None:
    inv = parse_inventory(ALPINE_2026)
    acpu = inv.partition("acpu")
    assert acpu is not None
    assert (acpu.cpus_per_node_min, acpu.cpus_per_node, acpu.nodes, acpu.default) == (64, 128, 420, True)
    assert acpu.memory_per_core_mb_min == pytest.approx(243000 / 64)
    aa100 = inv.partition("aa100")
    assert aa100 is not None
    assert aa100.gpu_types == ["a100-40gb", "a100_3g.20gb"]
    assert aa100.gpus_per_node == 6
    assert aa100.node_limit == 1
    assert aa100.allow_qos == ["gpu-normal", "gpu-testing"]
    long_qos = inv.qos_named("cpu-long")
    assert long_qos is not None
    assert long_qos.max_walltime_hours == 168
    assert long_qos.limits == {"max_tres_per_user": {"node": 20}, "max_jobs_per_user": 200}
    assert inv.accounts[0].default_qos == "cpu-normal"
    assert [to_data(m)["load"] for m in inv.namd_modules] == [
        ["namd/2.14"],
        ["gcc/14.2.0", "openmpi/5.0.6", "namd/3.0.1_cpu"],
    ]
    assert [m.program for m in inv.namd_modules] == ["namd2", "namd3"]
    assert inv.errors == []


def test_a_failed_section_is_named_not_fatal() -> None:
    text = ALPINE_2026.replace("@@QOS_RC 0", "@@QOS_RC 1").replace("@@ASSOC\nucb", "@@ASSOC\nsacctmgr: error: ucb")
    inv = parse_inventory(text)
    assert inv.qos == []
    assert any("sacctmgr show qos failed (exit 1)" in e for e in inv.errors)
    assert inv.partitions  # the rest still counts


def test_a_stale_profile_is_named_field_by_field() -> None:
    inv = parse_inventory(ALPINE_2026)
    diffs = {d.field: d for d in compare_profile(inv, old_profile())}
    assert "partitions[amilan]" in diffs  # renamed to acpu
    assert "acpu" in diffs["partitions[amilan]"].message
    assert diffs["partitions[aa100].gpu_type"].cluster == ["a100-40gb", "a100_3g.20gb"]
    assert "qos[long]" in diffs  # now cpu-long
    assert "qos[normal].partitions" in diffs  # acpu and aa100 no longer take "normal"
    assert "qos[normal].access" in diffs  # nor do the user's associations
    assert diffs["partitions[aa100].memory_per_core_gb"].profile == 3.75  # nodes have 3.7 GB/core
    assert "modules" not in diffs  # namd/3.0.1_cpu is still there


def test_a_matching_profile_has_no_differences() -> None:
    inv = parse_inventory(ALPINE_2026)
    p = old_profile()
    fixed = structure({**_profile_data(p), **profile_overrides(inv, p), "name": "fixed"}, ClusterProfile, source="t")
    assert compare_profile(inv, fixed) == []
    assert {x.name for x in fixed.partitions} == {"acpu", "aa100", "atesting"}
    aa100 = fixed.partition("aa100")
    assert (aa100.gpu_type, aa100.gpus_per_node, aa100.gpu_su_weight) == ("a100-40gb", 6, 108.2)  # weight kept
    assert fixed.partition(None).name == "acpu"
    assert fixed.qos_named("cpu-long").max_nodes_per_user == 20
    assert fixed.default_qos_for(fixed.partition("acpu")).name in ("cpu-normal", "cpu-long")


def _profile_data(p: ClusterProfile) -> dict[str, object]:
    from namdrunner_core.serde import unstructure

    data = unstructure(p)
    assert isinstance(data, dict)
    return data


def test_the_bundled_profiles_match_their_own_test_data() -> None:
    # the loopback profile describes tests/cluster/cluster.sh: 16 cores, 32000 MB, one node
    sinfo = "@@SINFO\namilan*|16|32000|7-00:00:00|gpu:tgpu:2|up|1\nagpu|16|32000|1-00:00:00|gpu:tgpu:2|up|1\n"
    sinfo += "atesting|16|32000|1:00:00|gpu:tgpu:2|up|1\napreempt|16|32000|1-00:00:00|gpu:tgpu:2|up|1\n"
    sinfo += "aurgent|16|32000|1:00:00|gpu:tgpu:2|up|1\n@@SINFO_RC 0\n"
    parts = "@@PARTS\nPartitionName=amilan AllowQos=normal,long\nPartitionName=agpu AllowQos=normal\n"
    parts += "PartitionName=atesting AllowQos=testing\nPartitionName=apreempt AllowQos=normal\n"
    parts += "PartitionName=aurgent AllowQos=normal\n@@PARTS_RC 0\n"
    qos = "@@QOS\nnormal|1-00:00:00|||\nlong|7-00:00:00|cpu=16,node=1|20|50\ntesting|01:00:00||100|\n@@QOS_RC 0\n"
    inv = parse_inventory(sinfo + parts + qos)
    assert compare_profile(inv, load_profile("loopback")) == []


def test_sacct_usage_folds_steps_and_falls_back_to_step_cpu() -> None:
    text = (
        "101|npt|COMPLETED|7200|24|16:00:00||1|acpu|billing=24,cpu=24,mem=90G,node=1|\n"
        "101.batch|batch|COMPLETED|7200|24|16:00:00|1200M|1||cpu=24,mem=90G,node=1|cpu=16:00:00,mem=60G,pages=0\n"
        "102|gpu|COMPLETED|3600|10|||1|aa100|billing=118,cpu=10,gres/gpu=1,gres/gpu:a100-40gb=1,mem=20G,node=1|\n"
        "102.0|namd3|COMPLETED|3600|10|01:00:00|3G|1||cpu=10,mem=20G|cpu=01:00:00,mem=3G\n"
        "102.extern|extern|COMPLETED|3600|10|00:00:00|0|1||cpu=10|cpu=00:00:00,mem=0\n"
    )
    u = parse_usage(text)
    assert set(u) == {"101", "102"}
    assert u["101"].total_cpu_s == 16 * 3600
    assert u["101"].peak_memory_mb == 60 * 1024
    assert u["102"].total_cpu_s == 3600  # the job line had none: its steps' sum
    assert u["102"].gpus == 1  # gres/gpu, not counted twice with gres/gpu:<type>
    assert cpu_efficiency(u["101"]) == pytest.approx(16 / (2 * 24))
    assert memory_efficiency(u["101"]) == pytest.approx(60 / 90)
    p = load_profile("alpine")
    # 24 cores asking 90 GB on acpu (3.8 GB/core): billed as ceil(90/3.8) = 24 cores -> 48 SU in 2 h
    assert service_units(u["101"], p) == pytest.approx(2 * max(24, math.ceil(90 / 3.8)))
    # 10 cores + one A100 for an hour: 10 + 108.6
    assert service_units(u["102"], p) == pytest.approx(10 + 108.6)


def test_memory_beyond_the_per_core_share_is_billed_as_cores() -> None:
    text = "7|big|COMPLETED|3600|2|00:30:00||1|acpu|cpu=2,mem=38G,node=1|\n"
    u = parse_usage(text)["7"]
    assert service_units(u, load_profile("alpine")) == pytest.approx(math.ceil(38 / 3.8))  # 10 cores' worth


def test_units_and_hints() -> None:
    assert cpu_seconds("1-02:03:04") == 93784
    assert cpu_seconds("03:04.500") == 184.5
    assert cpu_seconds("") == 0
    assert memory_mb("2976K") == pytest.approx(2976 / 1024)
    assert memory_mb("1.5G") == 1536
    assert memory_mb("4000Mn") == 4000
    assert scaling_hint(24, 0.41) == "24 cores at 41 % CPU efficiency: try 12"
    assert scaling_hint(16, 0.05) == "16 cores at 5 % CPU efficiency: try 1"
    assert scaling_hint(24, 0.9) is None
    assert scaling_hint(1, 0.1) is None
    df = ["Filesystem 1-blocks Used Available Capacity Mounted on", "/dev/sda1 1000 250 750 25% /projects"]
    (use,) = parse_df(df, ["/projects/me/j"])
    assert (use.size_bytes, use.used_bytes, use.percent) == (1000, 250, 25.0)
