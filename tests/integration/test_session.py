"""The shared session (issue 13) on the loopback cluster: one authentication for a day of commands,
counted by the server; local, private IPC; a lost session never logs in again by itself."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from namdrunner_core import Cluster
from namdrunner_core.errors import NamdRunnerError, SessionLostError, UnsafePathError
from namdrunner_core.transport.broker_client import BrokerTransport, socket_path
from namdrunner_core.transport.transfer import get_file, partial_name, put_file
from tests.conftest import ROOT, ClusterEnv
from tests.integration.conftest import TINY

pytestmark = pytest.mark.cluster
SSHD_LOG = Path("/var/tmp/namdrunner-cluster/log/sshd.log")
NAMDRUNNER = [sys.executable, "-m", "namdrunner_cli"]


AUTHORIZED = Path("/var/tmp/namdrunner-cluster/ssh/authorized_keys/nrtest")
#: the fingerprint of the key of the test running now (its logins are the ones counted)
COUNTED: list[str] = []


def accepted_logins() -> int:
    """Successful logins the test sshd logged with THIS test's own key (the server's own count; tests
    in the other CI lanes log in at the same time with the common key)."""
    lines = SSHD_LOG.read_text(errors="replace").splitlines()
    return sum(1 for line in lines if line.startswith("Accepted publickey") and line.endswith(COUNTED[-1]))


def _authorize(text: str) -> None:
    """``AUTHORIZED`` replaced whole (never half-written under an sshd reading it for another login)."""
    tmp = AUTHORIZED.with_name(f".{AUTHORIZED.name}.{os.getpid()}")
    tmp.write_text(text)
    tmp.chmod(0o644)
    tmp.replace(AUTHORIZED)


@pytest.fixture
def session_env(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    runtime = Path(tempfile.mkdtemp(prefix="nrrun-", dir="/tmp"))  # 0700; below /tmp, not pytest's tree
    key = tmp_path / "id_counted"  # a key of this test's own: its logins are told from the other lanes'
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "counted", "-f", str(key)], check=True)
    public = Path(f"{key}.pub").read_text().strip()
    COUNTED.append(subprocess.run(["ssh-keygen", "-lf", f"{key}.pub"], capture_output=True, text=True,
                                  check=True).stdout.split()[1])  # fmt: skip
    _authorize(AUTHORIZED.read_text() + public + "\n")
    profiles = Path(env["NAMDRUNNER_CONFIG_DIR"]) / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / "loopback.toml").write_text(f'extends = "loopback"\nidentity_file = "{key}"\n')
    monkeypatch.setenv("NAMDRUNNER_RUNTIME_DIR", str(runtime))
    values = {**os.environ, **env, "NAMDRUNNER_RUNTIME_DIR": str(runtime)}
    yield values
    _authorize("".join(ln for ln in AUTHORIZED.read_text().splitlines(True) if ln.strip() != public))
    subprocess.run([*NAMDRUNNER, "session", "stop", "loopback"], env=values, capture_output=True, check=False)
    shutil.rmtree(runtime, ignore_errors=True)


CALLS = [0]


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process, with no terminal attached."""
    CALLS[0] += 1
    return subprocess.run(
        [*NAMDRUNNER, *args], env=env, cwd=ROOT, capture_output=True, text=True, input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL, timeout=300,
    )  # fmt: skip


def cli_json(env: dict[str, str], *args: str) -> object:
    result = cli(env, "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_one_authentication_for_a_day_of_commands(session_env: dict[str, str], tmp_path: Path) -> None:
    before = accepted_logins()
    calls = CALLS[0]
    started = cli_json(session_env, "session", "start", "loopback", "--ttl", "1h")
    assert isinstance(started, dict)
    assert started["running"] is True
    again = cli(session_env, "session", "start", "loopback")  # a second start says so and does nothing
    assert again.returncode == 0
    assert "already running" in again.stderr
    files = [f"--file={p}" for p in TINY]
    res = ["--cores", "1", "--memory", "0.5", "--walltime", "00:10:00"]
    job = cli_json(session_env, "job", "create", "--name", "shared", "--template", "vacuum_optimization_v1",
                   "--set", "steps=240", *files, *res)  # fmt: skip
    assert isinstance(job, dict)
    job_id = str(job["id"])
    commands = [["job", "submit", job_id], *[["sync"]] * 10, ["job", "show", job_id], ["cluster", "check", "loopback"]]
    for args in commands:
        result = cli(session_env, *args)
        assert result.returncode in (0, 3), result.stderr  # cluster check may warn; never a login
    deadline = time.monotonic() + 120
    while cli_json(session_env, "job", "show", job_id)["status"] != "Completed":  # type: ignore[index]
        assert time.monotonic() < deadline
        cli(session_env, "sync")
        time.sleep(1)
    dl = ["job", "download", job_id, "--to", str(tmp_path / "dl")]
    for args in (["job", "logs", job_id], ["job", "outputs", job_id], dl, ["job", "delete", job_id, "--yes"]):
        result = cli(session_env, *args)
        assert result.returncode == 0, (args, result.stderr)
    assert (tmp_path / "dl" / job_id / "outputs" / "vacuum_opt.coor").is_file()
    assert accepted_logins() - before == 1  # counted by the server, not only in-process
    status = cli_json(session_env, "session", "status", "loopback")
    assert isinstance(status, dict)
    assert status["authentications"] == 1
    assert status["commands"] >= 10  # the remote commands it served (a sync with nothing active sends none)
    assert CALLS[0] - calls >= 20  # separate namdrunner processes, one login between them all
    assert cli(session_env, "session", "stop", "loopback").returncode == 0
    assert cli(session_env, "session", "status", "loopback").returncode == 4


def test_only_its_user_can_use_it(session_env: dict[str, str]) -> None:
    cli_json(session_env, "session", "start", "loopback")
    sock = socket_path("loopback")
    served = cli_json(session_env, "session", "status", "loopback")["commands"]  # type: ignore[index]
    probe = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX)\n"
        "try:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print('refused', e.errno); sys.exit(0)\n"
        's.sendall(b\'J\'+len(b\'{"op":"run","command":"touch /tmp/pwned"}\').to_bytes(4,\'big\')'
        '+b\'{"op":"run","command":"touch /tmp/pwned"}\')\n'
        "try:\n print('answer', s.recv(100))\nexcept OSError as e:\n print('closed', e.errno)\n"
    )
    as_nobody = [
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "/usr/bin/python3",  # a python another uid may run (the venv's lives under /root)
        "-c",
        probe,
        str(sock),
    ]
    # the socket's directory is the user's alone: another uid cannot even reach it
    probed = subprocess.run(as_nobody, capture_output=True, text=True, check=False)
    assert probed.stdout.startswith("refused"), (probed.returncode, probed.stdout, probed.stderr)
    # open the directory and the socket to everyone: the broker still refuses the other uid (SO_PEERCRED)
    modes = [(p, p.stat().st_mode & 0o777) for p in (sock.parent.parent, sock.parent, sock)]
    try:
        for p, _ in modes:
            p.chmod(0o777 if p != sock else 0o666)
        probed = subprocess.run(as_nobody, capture_output=True, text=True, check=False)
        out = probed.stdout
        assert probed.returncode == 0, probed.stderr
        assert out.strip() in ("answer b''", "closed 104")  # closed without a word
    finally:
        for p, mode in modes:
            p.chmod(mode)
    assert not Path("/tmp/pwned").exists()
    assert cli_json(session_env, "session", "status", "loopback")["commands"] == served  # type: ignore[index]
    # a socket that others may use is refused by our own clients too
    sock.chmod(0o666)
    try:
        with pytest.raises(UnsafePathError, match="mode 0666"):
            Cluster.from_profile("loopback").connect()
    finally:
        sock.chmod(0o600)


def test_a_killed_broker_is_a_clear_error_leaves_no_partial_and_a_new_start_works(
    session_env: dict[str, str], tmp_path: Path, cluster: ClusterEnv
) -> None:
    info = cli_json(session_env, "session", "start", "loopback")
    assert isinstance(info, dict)
    session = Cluster.from_profile("loopback").connect()
    assert isinstance(session.transport, BrokerTransport)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(48 * 1024 * 1024))
    remote = f"{cluster.scratch}/session-{os.getpid()}.bin"
    put_file(session.transport, big, remote)
    dest = tmp_path / "back" / "big.bin"
    killed = threading.Event()

    def kill_broker(done: int, total: int) -> None:
        if done > 8 * 1024 * 1024 and not killed.is_set():
            killed.set()
            os.kill(int(info["pid"]), signal.SIGKILL)

    with pytest.raises(NamdRunnerError) as caught:
        get_file(session.transport, remote, dest, progress=kill_broker)
    assert isinstance(caught.value, SessionLostError | NamdRunnerError)
    assert "session" in caught.value.message
    assert not dest.exists()  # nothing partial under the final name
    assert Path(partial_name(str(dest))).exists()  # the partial is kept: the next download resumes
    restarted = cli_json(session_env, "session", "start", "loopback")  # the stale socket is replaced
    assert isinstance(restarted, dict)
    assert restarted["pid"] != info["pid"]
    again = Cluster.from_profile("loopback").connect()
    assert get_file(again.transport, remote, dest) < big.stat().st_size  # resumed
    assert dest.read_bytes() == big.read_bytes()
    again.transport.run(["rm", "-f", "--", remote])


def test_a_password_login_is_never_repeated_by_itself(session_env: dict[str, str], cluster: ClusterEnv) -> None:
    cfg = Path(session_env["NAMDRUNNER_CONFIG_DIR"]) / "profiles"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "pw.toml").write_text('extends = "loopback"\nidentity_file = "/nonexistent/key"\nuse_agent = false\n')
    started = cli(session_env, "--password-stdin", "--json", "session", "start", "pw", stdin=cluster.password + "\n")
    assert started.returncode == 0, started.stderr
    pid = json.loads(started.stdout)["pid"]
    try:
        assert cli(session_env, "--profile", "pw", "cluster", "check", "pw").returncode in (0, 3)
        # the server side of the broker's connection goes away (sshd restarted, a network cut)
        pw_profile = Cluster.from_profile("pw")
        shared = pw_profile.connect()
        assert isinstance(shared.transport, BrokerTransport)
        os.kill(int(shared.transport.run(["bash", "-c", "echo $PPID"]).stdout), signal.SIGKILL)
        lost = cli(session_env, "--profile", "pw", "discover")  # always a remote command
        assert lost.returncode == 3
        assert lost.stderr.strip().splitlines() == [lost.stderr.strip()]  # one line
        assert "namdrunner session start" in lost.stderr
        assert "Traceback" not in lost.stderr
    finally:
        cli(session_env, "session", "stop", "pw")
        with_pid = Path(f"/proc/{pid}")
        deadline = time.monotonic() + 10
        while with_pid.exists() and time.monotonic() < deadline:
            time.sleep(0.1)


def test_a_profile_with_session_auto_starts_one_on_first_use(session_env: dict[str, str]) -> None:
    cfg = Path(session_env["NAMDRUNNER_CONFIG_DIR"]) / "profiles"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "auto.toml").write_text('extends = "loopback"\nsession = "auto"\n')
    try:
        assert cli(session_env, "session", "status", "auto").returncode == 4
        before = accepted_logins()
        assert cli(session_env, "--profile", "auto", "discover").returncode == 0
        assert cli(session_env, "--profile", "auto", "discover").returncode == 0
        assert accepted_logins() - before == 1  # the first command started it; the second reused it
        assert cli(session_env, "session", "status", "auto").returncode == 0
    finally:
        cli(session_env, "session", "stop", "auto")
