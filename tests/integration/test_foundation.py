"""The loopback cluster is real: logins by key, password and two factors; sbatch through the
stand-in NAMD module; and the states Slurm reports for finished, failed, cancelled, timed-out and
held jobs, observed through squeue and sacct over one SSH session."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from namdrunner_core.errors import AuthenticationError
from namdrunner_core.transport.protocol import CommandResult
from namdrunner_core.transport.ssh import AuthPrompt, SSHTarget, SSHTransport
from namdrunner_core.transport.transfer import put_file
from tests.conftest import DATA, ClusterEnv, totp

pytestmark = pytest.mark.cluster

CONFIG = """\
# a small vacuum minimisation + run for the stand-in
set temp 300
structure          input_files/tiny.psf
coordinates        input_files/tiny.pdb
paraTypeCharmm     on
parameters         input_files/par_tiny.prm
exclude            scaled1-4
cutoff             10.0 ;# Å
switching          on
switchdist         8.0
pairlistdist       12.0
timestep           2.0
stepspercycle      12
outputName         outputs/{name}
temperature        $temp
langevin           on
langevinTemp       $temp
langevinDamping    0.1
dcdfreq            120
xstFreq            120
restartfreq        240
outputEnergies     60
{extra}
minimize           120
run                {steps}
"""

SBATCH = """\
#!/bin/bash
#SBATCH --job-name={name}
#SBATCH --output={name}_%j.out
#SBATCH --error={name}_%j.err
#SBATCH --partition=amilan
#SBATCH --nodes=1
#SBATCH --ntasks=2
#SBATCH --time={time}
#SBATCH --mem=1GB
#SBATCH --qos=normal
source /etc/profile
export SLURM_EXPORT_ENV=ALL
module purge
module load gcc/14.2.0 openmpi/5.0.6 namd/3.0.1_cpu
cd {workdir}
mpirun -np $SLURM_NTASKS namd3 config.namd > namd_output.log
"""


@pytest.fixture(scope="module")
def ssh(cluster: ClusterEnv) -> Iterator[SSHTransport]:
    with SSHTransport(cluster.key_target()) as t:
        yield t


def stage_job(
    ssh: SSHTransport,
    cluster: ClusterEnv,
    *,
    steps: int = 1200,
    time: str = "00:05:00",
    drop_input: str | None = None,
    extra: str = "",
) -> str:
    """Upload inputs, config and script into a fresh scratch dir; return the dir."""
    name = f"itest_{uuid.uuid4().hex[:8]}"
    workdir = f"{cluster.scratch}/{name}"
    ssh.run(["mkdir", "-p", f"{workdir}/input_files", f"{workdir}/outputs"])
    for f in ("tiny.psf", "tiny.pdb", "par_tiny.prm"):
        if f != drop_input:
            put_file(ssh, DATA / "tiny" / f, f"{workdir}/input_files/{f}")
    ssh.run(
        ["bash", "-c", 'cat > "$1"', "_", f"{workdir}/config.namd"],
        stdin=CONFIG.format(name=name, steps=steps, extra=extra).encode(),
    )
    ssh.run(
        ["bash", "-c", 'cat > "$1"', "_", f"{workdir}/job.sbatch"],
        stdin=SBATCH.format(name=name, time=time, workdir=workdir).encode(),
    )
    return workdir


SLURM_MODULE = "slurm/nrcluster"  # like Alpine: Slurm only after its module (the loopback profile's slurm_module)


def slurm(ssh: SSHTransport, args: list[str]) -> CommandResult:
    """A Slurm command over the raw transport, as a user types it on the login node: module first."""
    return ssh.run_script('module load "$1" >/dev/null 2>&1; shift; exec "$@"', [SLURM_MODULE, *args], login_shell=True)


def sbatch(ssh: SSHTransport, workdir: str, *extra: str) -> str:
    out = slurm(ssh, ["bash", "-c", 'cd "$1" && shift && sbatch --parsable "$@" job.sbatch', "_", workdir, *extra])
    job_id = out.stdout.strip().split(";")[0]
    assert job_id.isdigit(), out.stdout
    return job_id


def sacct_state(ssh: SSHTransport, job_id: str) -> tuple[str, str]:
    out = slurm(ssh, ["sacct", "-j", job_id, "-X", "-P", "-n", "-o", "State,ExitCode"]).stdout.strip()
    if not out:
        return ("", "")
    state, code = out.splitlines()[0].split("|")
    return state, code


def wait_terminal(
    ssh: SSHTransport, job_id: str, wait_until: Callable[..., object], timeout: float = 120
) -> tuple[str, str]:
    def done() -> tuple[str, str] | None:
        state, code = sacct_state(ssh, job_id)
        return (state, code) if state and state not in ("PENDING", "RUNNING", "COMPLETING") else None

    result = wait_until(done, timeout=timeout, interval=1.0, what=f"job {job_id} to finish")
    assert isinstance(result, tuple)
    return result


@pytest.fixture(scope="module")
def timeout_job(ssh: SSHTransport, cluster: ClusterEnv) -> str:
    """Submitted first so that Slurm's one-minute limit runs while the other tests do."""
    workdir = stage_job(ssh, cluster, steps=60_000_000, time="00:01:00")
    return sbatch(ssh, workdir)


def test_key_login_is_one_authentication(ssh: SSHTransport, cluster: ClusterEnv, timeout_job: str) -> None:
    for _ in range(5):
        assert ssh.run(["whoami"]).stdout.strip() == cluster.user
    assert ssh.authentications == 1
    assert "publickey" in ssh.methods_used


def test_module_needs_a_login_shell(ssh: SSHTransport) -> None:
    plain = ssh.run(["bash", "-c", "type module"], check=False)
    assert plain.exit_code != 0
    login = ssh.run(
        ["bash", "-c", "module load gcc/14.2.0 openmpi/5.0.6 namd/3.0.1_cpu && command -v namd3"],
        login_shell=True,
    )
    assert login.stdout.strip().endswith("/namd3")


def test_password_login(cluster: ClusterEnv) -> None:
    prompts: list[AuthPrompt] = []

    def answer(p: AuthPrompt) -> str:
        prompts.append(p)
        return cluster.password

    target = SSHTarget(
        host=cluster.host,
        port=cluster.port,
        user=cluster.user,
        use_agent=False,
        look_for_keys=False,
        host_key_policy="ignore",
    )
    with SSHTransport(target, auth=answer) as t:
        assert t.run(["whoami"]).stdout.strip() == cluster.user
        assert t.methods_used[-1] in ("keyboard-interactive", "password")
        # The password never reaches the command log.
        t.run(["echo", cluster.password])
        assert all(cluster.password not in e.command for e in t.command_log.entries())
    assert prompts


def _two_factor(cluster: ClusterEnv, code: str) -> tuple[SSHTransport, list[str]]:
    seen: list[str] = []

    def answer(p: AuthPrompt) -> str:
        seen.append(p.text)
        return cluster.password if "assword" in p.text else code

    target = SSHTarget(
        host=cluster.host,
        port=cluster.port_2fa,
        user=cluster.user,
        use_agent=False,
        look_for_keys=False,
        host_key_policy="ignore",
    )
    return SSHTransport(target, auth=answer), seen


def test_two_factor_login(cluster: ClusterEnv) -> None:
    t, seen = _two_factor(cluster, totp(cluster.totp_secret))
    with t:
        assert t.run(["whoami"]).stdout.strip() == cluster.user
        assert t.methods_used == ["keyboard-interactive"]
    assert any("assword" in s for s in seen)
    assert any("code" in s.lower() for s in seen), seen


def test_two_factor_wrong_code_fails_cleanly(cluster: ClusterEnv) -> None:
    good = totp(cluster.totp_secret)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    with pytest.raises(AuthenticationError, match="refused"):
        _two_factor(cluster, wrong)


def test_completed_job(ssh: SSHTransport, cluster: ClusterEnv, wait_until: Callable[..., object]) -> None:
    workdir = stage_job(ssh, cluster)
    job_id = sbatch(ssh, workdir)
    state, code = wait_terminal(ssh, job_id, wait_until)
    assert (state, code) == ("COMPLETED", "0:0")
    name = Path(workdir).name
    listing = ssh.run(["ls", f"{workdir}/outputs"]).stdout.split()
    for ext in (".coor", ".vel", ".xsc", ".dcd", ".xst", ".restart.coor", ".restart.vel", ".restart.xsc"):
        assert f"{name}{ext}" in listing
    log = ssh.run(["cat", f"{workdir}/namd_output.log"]).stdout
    assert "TCL: Minimizing for 120 steps" in log
    assert "TCL: Running for 1200 steps" in log
    assert "WallClock:" in log
    assert "End of program" in log
    assert "ETITLE:" in log
    assert "TIMING:" in log
    # Slurm's own stdout/stderr files carry the job name and id.
    ls_job = ssh.run(["ls", workdir]).stdout.split()
    assert f"{name}_{job_id}.out" in ls_job
    assert f"{name}_{job_id}.err" in ls_job


def test_failed_job_missing_input(ssh: SSHTransport, cluster: ClusterEnv, wait_until: Callable[..., object]) -> None:
    workdir = stage_job(ssh, cluster, drop_input="tiny.pdb")
    job_id = sbatch(ssh, workdir)
    state, code = wait_terminal(ssh, job_id, wait_until)
    assert state == "FAILED"
    assert code != "0:0"
    log = ssh.run(["cat", f"{workdir}/namd_output.log"]).stdout
    assert "FATAL ERROR: Cannot open file 'input_files/tiny.pdb'" in log


def test_pme_without_cell_fails_like_namd(
    ssh: SSHTransport, cluster: ClusterEnv, wait_until: Callable[..., object]
) -> None:
    workdir = stage_job(ssh, cluster, extra="PME yes\nPMEGridSpacing 1.0")
    job_id = sbatch(ssh, workdir)
    assert wait_terminal(ssh, job_id, wait_until)[0] == "FAILED"
    log = ssh.run(["cat", f"{workdir}/namd_output.log"]).stdout
    assert "FATAL ERROR: PME requires periodic boundary conditions." in log


def test_cancelled_job(ssh: SSHTransport, cluster: ClusterEnv, wait_until: Callable[..., object]) -> None:
    workdir = stage_job(ssh, cluster, steps=6_000_000)
    job_id = sbatch(ssh, workdir)
    wait_until(lambda: sacct_state(ssh, job_id)[0] == "RUNNING", timeout=60, what="RUNNING")
    slurm(ssh, ["scancel", job_id])
    state, _ = wait_terminal(ssh, job_id, wait_until)
    assert state.startswith("CANCELLED by ")


def test_held_job_stays_pending(ssh: SSHTransport, cluster: ClusterEnv, wait_until: Callable[..., object]) -> None:
    workdir = stage_job(ssh, cluster)
    job_id = sbatch(ssh, workdir, "--hold")
    try:

        def reason() -> str | None:
            out = slurm(ssh, ["squeue", "-h", "-j", job_id, "-o", "%T|%r"]).stdout.strip()
            return out or None

        assert wait_until(reason, timeout=30, what="squeue row") == "PENDING|JobHeldUser"
    finally:
        slurm(ssh, ["scancel", job_id])


def test_qos_walltime_breach_stays_pending(
    ssh: SSHTransport, cluster: ClusterEnv, wait_until: Callable[..., object]
) -> None:
    workdir = stage_job(ssh, cluster)
    job_id = sbatch(ssh, workdir, "--time=30:00:00")
    try:

        def reason() -> str | None:
            out = slurm(ssh, ["squeue", "-h", "-j", job_id, "-o", "%T|%r"]).stdout.strip()
            return out if out.endswith("Limit") else None

        assert wait_until(reason, timeout=30, what="QOS reason") == "PENDING|QOSMaxWallDurationPerJobLimit"
    finally:
        slurm(ssh, ["scancel", job_id])


def test_timeout_job(ssh: SSHTransport, timeout_job: str, wait_until: Callable[..., object]) -> None:
    state, _ = wait_terminal(ssh, timeout_job, wait_until, timeout=240)
    assert state == "TIMEOUT"
