"""`cluster detect` and `usage` against the loopback cluster: what they report is what sinfo,
sacctmgr, Lmod and sacct say, each in ONE remote command."""

from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner, Result

from namdrunner_cli.main import cli
from namdrunner_core import Job, JobStore, Resources, Session
from namdrunner_core.diagnostics import detect_cluster
from namdrunner_core.jobs.sync import sync_jobs
from namdrunner_core.profile import load_profile
from namdrunner_core.usage import usage_from_store
from tests.conftest import ClusterEnv
from tests.integration.conftest import TINY

pytestmark = pytest.mark.cluster

STALE = """extends = "loopback"
max_array_size = 1001      # deliberately stale: the cluster's MaxArraySize is 201
[[partitions]]
name = "amilan"
cores_per_node = 32        # deliberately stale: the node has 16
memory_per_core_gb = 1.95
default = true
default_qos = "normal"
[[partitions]]
name = "retired"           # deliberately stale: no such partition
cores_per_node = 16
memory_per_core_gb = 1.95
default_qos = "normal"
[[qos]]
name = "normal"
max_walltime_hours = 48    # deliberately stale: MaxWall is 24 h
partitions = ["amilan", "retired"]
default = true
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_json(*args: str) -> dict[str, object]:
    result = run("--json", *args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def _hours(text: str) -> float:
    d, _, hms = text.rpartition("-")
    h, m, s = (int(x) for x in hms.split(":"))
    return int(d or 0) * 24 + h + m / 60 + s / 3600


def test_detect_matches_sinfo_and_sacctmgr_field_by_field(env: dict[str, str], session: Session) -> None:
    found = run_json("cluster", "detect", "loopback")
    # the same facts asked of Slurm directly, in other formats
    sinfo = session.slurm(["sinfo", "-h", "-o", "%P %c %m %l %G"]).stdout.split("\n")
    rows = {r.split()[0].rstrip("*"): r.split() for r in sinfo if r.strip()}
    default = next(r.split()[0].rstrip("*") for r in sinfo if r.split() and r.split()[0].endswith("*"))
    partitions = {p["name"]: p for p in found["partitions"]}  # type: ignore[union-attr]
    assert set(partitions) == set(rows) == {"amilan", "atesting", "agpu", "apreempt", "aurgent"}
    for name, (_, cpus, mem, limit, gres) in rows.items():
        p = partitions[name]
        assert p["cpus_per_node"] == int(cpus)
        assert p["memory_per_node_mb"] == int(mem)
        assert p["max_walltime"] == limit
        assert p["max_walltime_hours"] == pytest.approx(_hours(limit))
        assert [f"{g['name']}:{g['type']}:{g['count']}" for g in p["gres"]] == gres.split(",")
        assert p["default"] is (name == default)
    qos_raw = session.slurm(["sacctmgr", "-n", "-p", "show", "qos", "format=name,maxwall,maxtrespu,maxjobspu"]).stdout
    qos = {q["name"]: q for q in found["qos"]}  # type: ignore[union-attr]
    for line in qos_raw.strip().split("\n"):
        name, maxwall, tres, jobs, _ = line.split("|")
        assert qos[name]["max_walltime_hours"] == pytest.approx(_hours(maxwall))
        limits = qos[name]["limits"]
        assert limits.get("max_jobs_per_user") == (int(jobs) if jobs else None)
        expect = {k: int(v) for k, v in (x.split("=") for x in tres.split(",") if x)}
        assert limits.get("max_tres_per_user", {}) == expect
    assert qos["long"]["limits"]["max_tres_per_user"] == {"cpu": 16, "node": 1}  # the test cluster's own
    (account,) = found["accounts"]  # type: ignore[misc]
    assert account["account"] == "nrlab"
    assert set(account["qos"]) == {"normal", "long", "testing"}
    modules = {m["name"]: m for m in found["namd_modules"]}  # type: ignore[union-attr]
    assert modules["namd/3.0.1_cpu"]["needs"] == ["gcc/14.2.0", "openmpi/5.0.6"]  # hierarchical Lmod
    assert modules["namd/2.14"]["needs"] == []
    assert all(m["program"] in ("namd3", "namd2") for m in modules.values())
    # `module avail namd` without the compiler sees only the core tree, as on Alpine
    avail = session.transport.run(["bash", "-lc", "module -t avail namd 2>&1"]).stdout
    assert "namd/2.14" in avail
    assert "3.0.1_cpu" not in avail
    assert found["differences"] == []
    assert found["errors"] == []


def test_detect_costs_one_remote_command(session: Session, env: dict[str, str]) -> None:
    before = len(session.command_log)
    detection = detect_cluster(session)
    assert len(session.command_log) - before == 1
    assert [d.field for d in detection.differences] == []
    # the Pythons an analysis job could run: the module the profile names has numpy, the plain one not
    by_module = {p.module: p for p in detection.pythons}
    assert by_module["anaconda/2024.10"].numpy
    assert by_module[None].numpy is None
    bare = Session(attrs.evolve(session.profile, analysis_modules=[]), session.transport, session.user)
    (told,) = detect_cluster(bare, cache=False).differences
    assert (told.field, told.cluster) == ("analysis_modules", ["anaconda/2024.10"])
    assert told.message.startswith("the analysis Python (the plain python3) has no numpy; module anaconda/2024.10 has")


def test_a_stale_profile_is_reported_and_a_detected_one_fixes_it(env: dict[str, str]) -> None:
    profiles = Path(env["NAMDRUNNER_CONFIG_DIR"]) / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "stale.toml").write_text(STALE)
    found = run_json("cluster", "detect", "stale", "--write", "fixed")
    fields = {d["field"]: d for d in found["differences"]}  # type: ignore[union-attr]
    assert set(fields) == {
        "max_array_size",
        "partitions[amilan].cores_per_node",
        "partitions[retired]",
        "qos[normal].max_walltime_hours",
    }
    assert (fields["max_array_size"]["profile"], fields["max_array_size"]["cluster"]) == (1001, 201)
    assert found["max_array_size"] == 201
    assert (
        fields["partitions[amilan].cores_per_node"]["profile"],
        fields["partitions[amilan].cores_per_node"]["cluster"],
    ) == (32, 16)
    assert fields["qos[normal].max_walltime_hours"]["cluster"] == 24
    assert found["written"] == str(profiles / "fixed.toml")
    text = (profiles / "fixed.toml").read_text()
    assert 'extends = "stale"' in text
    check = run("cluster", "check", "stale")
    assert check.exit_code == 3  # the retired partition FAILs
    assert "WARN profile      amilan: nodes have 16 cores, the profile says 32" in check.stdout
    fixed = run("cluster", "check", "fixed")
    assert fixed.exit_code == 0, fixed.output
    assert "WARN" not in fixed.stdout
    assert load_profile("fixed").partition("amilan").cores_per_node == 16
    assert load_profile("fixed").max_array_size == 201
    again = run("cluster", "detect", "stale", "--write", "fixed")
    assert again.exit_code == 1
    assert "exists" in again.stderr  # never overwritten without --force


def test_detected_limits_are_what_validation_uses(env: dict[str, str]) -> None:
    profiles = Path(env["NAMDRUNNER_CONFIG_DIR"]) / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "cached.toml").write_text("use_detected_limits = true\n" + STALE)
    files = [f"--file={f}" for f in TINY]
    job = ["--profile", "cached", "job", "create", "--name", "long", "--template", "vacuum_optimization_v1",
           *files, "--cores", "1", "--memory", "1", "--walltime", "30:00:00", "--dry-run"]  # fmt: skip
    assert run(*job).exit_code == 0  # the file's 48 h QOS allows it
    run_json("cluster", "detect", "cached")
    cache = json.loads((Path(env["NAMDRUNNER_CONFIG_DIR"]) / "detected" / "cached.json").read_text())
    assert cache["detected_at"]
    refused = run(*job)
    assert refused.exit_code == 1
    assert "walltime" in refused.stderr
    assert "24" in refused.stderr


def _mem_gb(tres: str) -> float:
    m = re.search(r"mem=([\d.]+)([MGT])", tres)
    assert m, tres
    return float(m.group(1)) * {"M": 1 / 1024, "G": 1.0, "T": 1024.0}[m.group(2)]


def _cpu_s(text: str) -> float:
    m = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)", text)
    assert m, text
    d, h, mi, s = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi) * 60 + float(s)


def test_usage_matches_a_hand_computation_from_sacct(
    env: dict[str, str], session: Session, cluster: ClusterEnv
) -> None:
    store = JobStore(env["NAMDRUNNER_DB"])
    jobs = [
        Job.create(
            session,
            store,
            name=f"bill{cores}",
            template="vacuum_optimization_v1",
            values={"steps": 12000, "execution_command": "run"},
            files=TINY,
            resources=Resources(cores=cores, memory_gb=memory, walltime="00:10:00"),
        )
        for cores, memory in ((1, 1.0), (2, 3.9))  # 3.9 GB on 2 cores: more than 2 x 1.95, billed as 3 cores
    ]
    for j in jobs:
        j.submit()
    held = session.slurm(["sbatch", "--parsable", "--begin=now+3600", "-p", "amilan", "-t", "00:01:00",
                          "--mem=100M", "-o", "/dev/null", "--wrap", "true"]).stdout.strip()  # fmt: skip
    try:
        deadline = time.time() + 300
        while any(store.get_job(j.id).is_active for j in jobs):
            assert time.time() < deadline, "jobs did not finish"
            sync_jobs(store, session)
            time.sleep(2)
        old = jobs[0].record.scratch_dir
        victim = next(Path(old).rglob("*.log"))
        eighty_days = time.time() - 80 * 86400
        os.utime(victim, (eighty_days, eighty_days))
        before = len(session.command_log)
        report = usage_from_store(store, session)
        assert len(session.command_log) - before == 1
    finally:
        session.slurm(["scancel", held], check=False)
    profile = session.profile
    assert {u.id for u in report.jobs} == {j.id for j in jobs}
    for u in report.jobs:
        # by hand: the allocation line (-X) for elapsed, cores and TRES; TotalCPU summed over the steps
        raw = session.slurm(["sacct", "-P", "-n", "-X", "-j", u.slurm_job_id, "-o", "ElapsedRaw,AllocCPUS,AllocTRES"])
        elapsed, cpus, tres = raw.stdout.strip().split("|")
        steps = session.slurm(["sacct", "-P", "-n", "-j", u.slurm_job_id, "-o", "JobID,TotalCPU"]).stdout.split()
        total = sum(_cpu_s(line.split("|")[1]) for line in steps if "." in line.split("|")[0])
        billed_cores = max(int(cpus), math.ceil(_mem_gb(tres) / 1.95 - 1e-9))
        assert u.elapsed_s == int(elapsed) > 0
        assert u.su == pytest.approx(int(elapsed) / 3600 * billed_cores * profile.billing_su_per_core_hour)
        assert u.su > 0
        assert u.cpu_efficiency == pytest.approx(min(1.0, total / (int(elapsed) * int(cpus))))
        assert 0 < u.cpu_efficiency <= 1  # type: ignore[operator]
        assert u.memory_efficiency is not None
        assert u.memory_efficiency > 0
        assert u.ns_per_day == store.get_job(u.id).progress.ns_per_day  # type: ignore[union-attr]
    two = next(u for u in report.jobs if u.cores == 2)
    assert two.su == pytest.approx(two.elapsed_s / 3600 * 3)
    (warning,) = report.purge_warnings
    assert warning.id == jobs[0].id
    assert 79 < warning.oldest_file_age_days < 81
    assert 9 < warning.purge_in_days < 11
    (pending,) = [p for p in report.pending if p.slurm_job_id == held]
    assert pending.expected_start is not None
    assert pending.id is None  # not a namdrunner job
    assert [q.path for q in report.quota] == [session.jobs_root, session.scratch_root]
    assert all(q.size_bytes and q.size_bytes > 0 for q in report.quota)
    cli_json = run_json("usage", jobs[1].id)
    (only,) = cli_json["jobs"]  # type: ignore[misc]
    assert only["id"] == jobs[1].id
    assert only["su"] == pytest.approx(round(two.su, 4))
    text = run("usage", "--since", "2026-01-01").stdout
    assert "total" in text
    assert jobs[0].id in text
