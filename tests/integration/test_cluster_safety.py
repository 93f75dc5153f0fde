"""The loopback test cluster is safe on a scientist's own machine (issue: a safe test cluster).

- every listener of the cluster is on loopback (checked with ss, independently of `cluster.sh status`);
- the test account cannot be used through any other sshd: a system-style sshd (the machine's own PAM
  service `sshd`, password logins on) refuses both the password once written in the repository and the
  cluster's current random one, while the cluster's own sshd accepts the current one;
- `down` would stop only what it can prove is the cluster's: a stranger named `slurmstepd: [x]`
  (even with the process name slurmstepd) is never among them, a real job step of ours is.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest

from tests.conftest import CLUSTER_SCRIPT, ClusterEnv

pytestmark = pytest.mark.cluster

OLD_REPOSITORY_PASSWORD = "nr-loopback-test-pw"  # what the repository held before the password became random


def _slurm_ports(cluster: ClusterEnv) -> dict[str, int]:
    ports: dict[str, int] = {}
    for line in Path(cluster.slurm_conf).read_text().splitlines():
        key, _, value = line.partition("=")
        if key in ("SlurmctldPort", "SlurmdPort"):
            ports[key] = int(value)
    dbd = Path(cluster.slurm_conf).with_name("slurmdbd.conf").read_text()
    ports["DbdPort"] = int(next(v for k, _, v in (ln.partition("=") for ln in dbd.splitlines()) if k == "DbdPort"))
    return ports


def test_every_listener_of_the_cluster_is_on_loopback(cluster: ClusterEnv) -> None:
    status = subprocess.run(["bash", str(CLUSTER_SCRIPT), "status"], capture_output=True, text=True)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "listeners  all on loopback" in status.stdout  # (the jump host inside its own namespace)
    ss = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout
    ports = {"ssh": cluster.port, "ssh-2fa": cluster.port_2fa, "mariadb": 13306, **_slurm_ports(cluster)}
    for name, port in ports.items():
        local = [fields[3] for fields in (ln.split() for ln in ss.splitlines()) if fields[3].endswith(f":{port}")]
        assert local, f"{name} does not listen on :{port}"
        assert all(a.startswith(("127.", "[::1]")) for a in local), f"{name} listens on {local}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def system_style_sshd(tmp_path: Path) -> Iterator[int]:
    """An sshd configured like a workstation's own: PAM service `sshd`, password logins allowed."""
    key = tmp_path / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    port = _free_port()
    cfg = tmp_path / "sshd_config"
    cfg.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile {tmp_path}/sshd.pid\nUsePAM yes\n"
        "PasswordAuthentication yes\nKbdInteractiveAuthentication yes\nPubkeyAuthentication yes\n"
        "PermitRootLogin no\nStrictModes no\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", str(cfg), "-E", str(tmp_path / "sshd.log")])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _password_login(port: int, user: str, password: str) -> bool:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507 - throwaway test sshd on loopback
    try:
        client.connect(
            "127.0.0.1", port, username=user, password=password, allow_agent=False, look_for_keys=False, timeout=15
        )
        return True
    except paramiko.AuthenticationException:
        return False
    finally:
        client.close()


def test_the_test_account_cannot_log_in_through_another_sshd(cluster: ClusterEnv, system_style_sshd: int) -> None:
    assert cluster.password != OLD_REPOSITORY_PASSWORD
    assert _password_login(cluster.port, cluster.user, cluster.password)  # the cluster's own sshd: yes
    assert not _password_login(cluster.port, cluster.user, OLD_REPOSITORY_PASSWORD)
    for password in (OLD_REPOSITORY_PASSWORD, cluster.password):
        assert not _password_login(system_style_sshd, cluster.user, password), "another sshd let the test user in"
    shadow = subprocess.run(["getent", "shadow", cluster.user], capture_output=True, text=True, check=True).stdout
    assert shadow.split(":")[1] in ("*", "!", "!*"), "the system account has a usable password"
    secret = Path(cluster.state_dir) / "secret" / "password"
    assert secret.stat().st_mode & 0o077 == 0


def _down_would_stop() -> dict[int, str]:
    out = subprocess.run(
        ["bash", str(CLUSTER_SCRIPT), "down", "--dry-run"], capture_output=True, text=True, check=True
    ).stdout
    return {int(pid): what for pid, _, what in (line.partition(" ") for line in out.splitlines())}


def test_down_would_stop_only_what_is_provably_ours(
    cluster: ClusterEnv, tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    fake = tmp_path / "slurmstepd"  # process name (comm) "slurmstepd", argv "slurmstepd: [x]"
    shutil.copy("/bin/sleep", fake)
    stranger = subprocess.Popen(["bash", "-c", f'exec -a "slurmstepd: [x]" {fake} 300'])
    env = {**os.environ, "SLURM_CONF": cluster.slurm_conf}
    job = subprocess.run(
        ["sbatch", "--parsable", "-p", "amilan", "-t", "5", "-o", "/dev/null", "-D", "/tmp", "--wrap", "sleep 120"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    try:
        wait_until(lambda: Path(f"/proc/{stranger.pid}/comm").read_text().strip() == "slurmstepd", 5, what="stranger")

        def step_listed() -> bool:
            return "slurmstepd" in _down_would_stop().values()

        wait_until(step_listed, 60, 1, what="a job step of ours in `down --dry-run`")
        listed = _down_would_stop()
        assert stranger.pid not in listed
        assert {"slurmd", "slurmctld", "slurmdbd", "sshd", "mariadb"} <= set(listed.values())
    finally:
        subprocess.run(["scancel", job], env=env, check=False)
        stranger.kill()
        stranger.wait()
