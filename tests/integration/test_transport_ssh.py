"""The SSH transport against the real loopback sshd: the shared contract, one authentication per
session, recovery from a dropped connection, interrupted uploads, rate limits and ssh-config."""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from namdrunner_core.errors import ConnectionFailedError
from namdrunner_core.transport.ratelimit import RateLimiter
from namdrunner_core.transport.ssh import AuthPrompt, SSHTarget, SSHTransport
from namdrunner_core.transport.transfer import put_file
from tests import transport_contract as contract
from tests.conftest import ClusterEnv, cluster_vars, totp

pytestmark = pytest.mark.cluster


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
    with SSHTransport(cluster.key_target(), rate_limiter=limiter) as t:
        assert len(contract.check_queue_depth(t, threads=6)) == 4


def _site() -> tuple[str, int, int]:
    """The test cluster's site: (jump host address, jump port, login port inside the site namespace)."""
    values = cluster_vars()
    return values["NR_TEST_JUMP_HOST"], int(values["NR_TEST_JUMP_PORT"]), int(values["NR_TEST_LOGIN_PORT"])


def _site_answer(cluster: ClusterEnv, asked: list[tuple[str, str]]) -> Callable[[AuthPrompt], str]:
    def answer(p: AuthPrompt) -> str:
        asked.append((p.host, p.text))
        return cluster.password if "assword" in p.text else totp(cluster.totp_secret)

    return answer


def test_ssh_config_alias(cluster: ClusterEnv, tmp_path: Path) -> None:
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        f"Host nrloop\n  HostName {cluster.host}\n  Port {cluster.port}\n  User {cluster.user}\n"
        f"  IdentityFile {cluster.key}\n  StrictHostKeyChecking no\n"
    )
    with SSHTransport(
        SSHTarget(host="nrloop", ssh_config_path=str(cfg), use_agent=False, host_key_policy="ignore")
    ) as t:
        assert t.resolved_host == (cluster.host, cluster.port, cluster.user)
        assert t.run(["whoami"]).stdout.strip() == cluster.user


def test_proxyjump_through_the_sites_bastion(cluster: ClusterEnv, tmp_path: Path) -> None:
    jump, jump_port, login_port = _site()
    known = tmp_path / "known_hosts"
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        f"Host bastion\n  HostName {jump}\n  Port {jump_port}\n  User {cluster.user}\n\n"
        f"Host login\n  HostName 127.0.0.1\n  Port {login_port}\n  User {cluster.user}\n"
        f"  IdentityFile {cluster.key}\n  ProxyJump bastion\n"
    )
    via_config = SSHTarget(
        host="login",
        ssh_config_path=str(cfg),
        use_agent=False,
        look_for_keys=False,
        host_key_policy="accept-new",
        known_hosts_path=str(known),
    )
    via_profile = cluster.key_target(
        host="127.0.0.1",
        port=login_port,
        look_for_keys=False,
        host_key_policy="accept-new",
        known_hosts_path=str(known),
        proxy_jump=f"{cluster.user}@{jump}:{jump_port}",
    )
    our_netns = os.readlink("/proc/self/ns/net")
    for target in (via_config, via_profile):
        asked: list[tuple[str, str]] = []
        with SSHTransport(target, auth=_site_answer(cluster, asked)) as t:
            assert t.run(["whoami"]).stdout.strip() == cluster.user
            # we are on the login node, inside the site's own network namespace
            assert t.run(["readlink", "/proc/self/ns/net"]).stdout.strip() != our_netns
            assert t.methods_used == ["publickey"]
            assert t.jump_methods_used == ["keyboard-interactive"]
        # the bastion's password and code came through the same callback, naming the bastion
        assert {host for host, _ in asked} == {jump}
        assert any("assword" in text for _, text in asked)
        assert any("code" in text.lower() for _, text in asked)
    recorded = known.read_text()
    assert f"[{jump}]:{jump_port}" in recorded  # the jump host's key was checked and remembered
    # skipping the jump cannot work: the login node is reachable only through it
    with pytest.raises(ConnectionFailedError):
        SSHTransport(attrs.evolve(via_profile, proxy_jump=None, connect_timeout=5), auth=lambda p: "")
    # a changed jump host key is refused before anything is sent to it
    fake = "AAAAC3NzaC1lZDI1NTE5AAAAIHNvbWVvdGhlcmtleXNvbWVvdGhlcmtleXNvbWVvdGg="  # some other ed25519 key
    lines = [
        f"[{jump}]:{jump_port} ssh-ed25519 {fake}" if ln.startswith(f"[{jump}]:{jump_port} ") else ln
        for ln in recorded.splitlines()
    ]
    known.write_text("\n".join(lines) + "\n")
    asked = []
    with pytest.raises(ConnectionFailedError, match=rf"host key for \[?{re.escape(jump)}"):
        SSHTransport(via_profile, auth=_site_answer(cluster, asked))
    assert asked == []  # no password or code was typed into a host that is not the one we know


def test_changed_host_key_is_refused(cluster: ClusterEnv, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    key = "AAAAC3NzaC1lZDI1NTE5AAAAIHNvbWVvdGhlcmtleXNvbWVvdGhlcmtleXNvbWVvdGg="
    known.write_text(f"[{cluster.host}]:{cluster.port} ssh-ed25519 {key}\n")
    with pytest.raises(ConnectionFailedError, match="CHANGED"):
        SSHTransport(cluster.key_target(host_key_policy="accept-new", known_hosts_path=str(known)))


def test_unknown_host_is_remembered(cluster: ClusterEnv, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    with SSHTransport(cluster.key_target(host_key_policy="accept-new", known_hosts_path=str(known))) as t:
        t.run(["true"])
    assert f"[{cluster.host}]:{cluster.port}" in known.read_text()
    with SSHTransport(cluster.key_target(host_key_policy="strict", known_hosts_path=str(known))) as t:
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


def test_transfers_survive_many_rekeys_with_channels_closing_in_between(
    ssh: SSHTransport, tmp_path: Path, remote_dir: str
) -> None:
    from namdrunner_core.transport.ssh import _FastTransport
    from namdrunner_core.transport.transfer import get_file

    paramiko_transport = ssh._transport
    assert isinstance(paramiko_transport, _FastTransport)
    packetizer = paramiko_transport.packetizer
    packetizer.REKEY_BYTES = packetizer.REKEY_PACKETS = 1 << 20  # re-key every MiB (paramiko: 512 MiB)
    # what may still arrive after asking for a re-key (data in flight) before paramiko gives up on it
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(6 * 1024 * 1024))
    before = paramiko_transport.key_exchanges
    for i in range(12):  # every transfer and every channel close lands in or near a key exchange
        put_file(ssh, src, f"{remote_dir}/f{i}.bin")
        get_file(ssh, f"{remote_dir}/f{i}.bin", tmp_path / f"back{i}.bin")
        assert ssh.run(["true"]).ok
        assert (tmp_path / f"back{i}.bin").read_bytes() == src.read_bytes()
    assert paramiko_transport.key_exchanges - before >= 50
