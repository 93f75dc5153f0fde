"""The SSH transport against the real loopback sshd: the shared contract, one authentication per
session, recovery from a dropped connection, interrupted uploads, rate limits and ssh-config."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from namdrunner_core.errors import ConnectionFailedError
from namdrunner_core.transport.ratelimit import RateLimiter
from namdrunner_core.transport.ssh import SSHTarget, SSHTransport
from namdrunner_core.transport.transfer import put_file
from tests import transport_contract as contract
from tests.conftest import ClusterEnv

pytestmark = pytest.mark.cluster


def key_target(cluster: ClusterEnv, **kw: object) -> SSHTarget:
    base: dict[str, object] = {
        "host": cluster.host,
        "port": cluster.port,
        "user": cluster.user,
        "identity_files": (cluster.key,),
        "use_agent": False,
        "host_key_policy": "ignore",
    }
    base.update(kw)
    return SSHTarget(**base)  # type: ignore[arg-type]


@pytest.fixture
def ssh(cluster: ClusterEnv) -> Iterator[SSHTransport]:
    with SSHTransport(key_target(cluster), rate_limiter=RateLimiter(rate=200, burst=200)) as t:
        yield t


@pytest.fixture
def remote_dir(ssh: SSHTransport, cluster: ClusterEnv) -> Iterator[str]:
    d = f"{cluster.scratch}/transport-{uuid.uuid4().hex[:8]}"
    ssh.run(["mkdir", "-p", d])
    yield d
    ssh.run(["rm", "-rf", "--", d])


def session_sshd_pid(t: SSHTransport) -> int:
    """The sshd process serving this connection: the parent of the remote command's shell."""
    return int(t.run(["bash", "-c", "echo $PPID"]).stdout.strip())


def test_contract_run(ssh: SSHTransport, remote_dir: str) -> None:
    contract.check_run(ssh, remote_dir)
    assert ssh.authentications == 1


def test_contract_transfers(ssh: SSHTransport, tmp_path: Path, remote_dir: str) -> None:
    contract.check_transfers(ssh, tmp_path, remote_dir)


def test_contract_trees(ssh: SSHTransport, tmp_path: Path, remote_dir: str) -> None:
    contract.check_trees(ssh, tmp_path, remote_dir)
    assert ssh.authentications == 1


def test_dropped_connection_recovers(ssh: SSHTransport, cluster: ClusterEnv) -> None:
    before = session_sshd_pid(ssh)
    os.kill(before, signal.SIGKILL)  # the test runs as root beside the loopback sshd
    assert ssh.run(["whoami"]).stdout.strip() == cluster.user  # idempotent: reconnected and re-sent
    assert ssh.reconnects == 1
    assert ssh.authentications == 2
    assert session_sshd_pid(ssh) != before
    notes = [e.note for e in ssh.command_log.entries() if e.note]
    assert any("connection lost" in n for n in notes)


def test_non_idempotent_command_is_not_resent(ssh: SSHTransport, remote_dir: str) -> None:
    os.kill(session_sshd_pid(ssh), signal.SIGKILL)
    with pytest.raises(ConnectionFailedError, match="not re-sent"):
        ssh.run(["touch", f"{remote_dir}/marker"], idempotent=False)
    assert ssh.run(["ls", remote_dir]).stdout.split() == []


def test_interrupted_upload_leaves_nothing_and_retry_completes(
    ssh: SSHTransport, tmp_path: Path, remote_dir: str
) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(24 * 1024 * 1024))
    final = f"{remote_dir}/big.bin"
    pid = session_sshd_pid(ssh)
    killed = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > total // 2 and not killed.is_set():
            killed.set()
            os.kill(pid, signal.SIGKILL)

    with pytest.raises(ConnectionFailedError, match="retry the transfer"):
        put_file(ssh, src, final, progress=progress)
    assert ssh.run(["test", "-e", final], check=False).exit_code == 1
    put_file(ssh, src, final)
    assert ssh.run(["stat", "-c", "%s", final]).stdout.strip() == str(src.stat().st_size)


def test_rate_limit_queue_depth_over_ssh(cluster: ClusterEnv) -> None:
    limiter = RateLimiter(rate=2, burst=1, max_pending=2)
    with SSHTransport(key_target(cluster), rate_limiter=limiter) as t:
        assert len(contract.check_queue_depth(t, threads=6)) == 4


def test_ssh_config_alias_and_proxyjump(cluster: ClusterEnv, tmp_path: Path) -> None:
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        f"Host nrloop\n  HostName {cluster.host}\n  Port {cluster.port}\n  User {cluster.user}\n"
        f"  IdentityFile {cluster.key}\n  StrictHostKeyChecking no\n\n"
        f"Host nrjump\n  HostName {cluster.host}\n  Port {cluster.port}\n  User {cluster.user}\n"
        f"  IdentityFile {cluster.key}\n  ProxyJump nrloop\n"
    )
    with SSHTransport(
        SSHTarget(host="nrloop", ssh_config_path=str(cfg), use_agent=False, host_key_policy="ignore")
    ) as t:
        assert t.resolved_host == (cluster.host, cluster.port, cluster.user)
        assert t.run(["whoami"]).stdout.strip() == cluster.user
    with SSHTransport(
        SSHTarget(host="nrjump", ssh_config_path=str(cfg), use_agent=False, host_key_policy="ignore")
    ) as t:
        assert t.run(["whoami"]).stdout.strip() == cluster.user
        # Through the jump host, the server sees a forwarded connection from loopback.
        assert t.run(["bash", "-c", "echo $SSH_CONNECTION"]).stdout.split()[0] == "127.0.0.1"


def test_changed_host_key_is_refused(cluster: ClusterEnv, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    key = "AAAAC3NzaC1lZDI1NTE5AAAAIHNvbWVvdGhlcmtleXNvbWVvdGhlcmtleXNvbWVvdGg="
    known.write_text(f"[{cluster.host}]:{cluster.port} ssh-ed25519 {key}\n")
    with pytest.raises(ConnectionFailedError, match="CHANGED"):
        SSHTransport(key_target(cluster, host_key_policy="accept-new", known_hosts_path=str(known)))


def test_unknown_host_is_remembered(cluster: ClusterEnv, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    with SSHTransport(key_target(cluster, host_key_policy="accept-new", known_hosts_path=str(known))) as t:
        t.run(["true"])
    assert f"[{cluster.host}]:{cluster.port}" in known.read_text()
    with SSHTransport(key_target(cluster, host_key_policy="strict", known_hosts_path=str(known))) as t:
        assert t.run(["true"]).ok


def test_interrupted_download_resumes(ssh: SSHTransport, tmp_path: Path, remote_dir: str) -> None:
    from namdrunner_core.transport.transfer import PARTIAL_SUFFIX, get_file

    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(24 * 1024 * 1024))
    put_file(ssh, src, f"{remote_dir}/big.bin")
    dest = tmp_path / "down" / "big.bin"
    pid = session_sshd_pid(ssh)
    killed = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > 12 * 1024 * 1024 and not killed.is_set():
            killed.set()
            os.kill(pid, signal.SIGKILL)

    with pytest.raises(ConnectionFailedError, match="retry the transfer"):
        get_file(ssh, f"{remote_dir}/big.bin", dest, progress=progress)
    assert not dest.exists()
    partial = dest.with_name(f".{dest.name}{PARTIAL_SUFFIX}")
    kept = partial.stat().st_size
    assert kept > 0
    received = get_file(ssh, f"{remote_dir}/big.bin", dest)
    assert received == src.stat().st_size - kept
    assert dest.read_bytes() == src.read_bytes()
