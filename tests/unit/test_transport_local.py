"""The Local transport, the rate limiter and the command log."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from namdrunner_core.transport import transfer
from namdrunner_core.transport.console import CommandLog
from namdrunner_core.transport.local import LocalTransport
from namdrunner_core.transport.protocol import quote_command
from namdrunner_core.transport.ratelimit import RateLimiter
from tests import transport_contract as contract


@pytest.fixture
def local() -> LocalTransport:
    return LocalTransport(rate_limiter=RateLimiter(rate=1000, burst=1000))


def test_run_contract(local: LocalTransport, tmp_path: Path) -> None:
    contract.check_run(local, str(tmp_path))


@pytest.mark.parametrize("python", ["python3", ""], ids=["one-pass-python3", "shell-without-python3"])
def test_transfer_contract(local: LocalTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, python: str) -> None:
    """Both paths of the remote side (a cluster with python3 hashes in the same pass; one without it
    hashes with a second reader / afterwards) move and verify the same bytes."""
    monkeypatch.setenv("NR_PYTHON", python)
    (tmp_path / "remote").mkdir()
    contract.check_transfers(local, tmp_path / "local", str(tmp_path / "remote"))
    # a resumed upload: the partial left on the cluster is continued, the whole verified
    monkeypatch.setattr(transfer, "BIG_FILE", 1024)
    src = tmp_path / "local" / "big.bin"
    remote = tmp_path / "remote" / "again.bin"
    Path(transfer.partial_name(str(remote))).write_bytes(src.read_bytes()[:1_000_000])
    assert transfer.put_file(local, src, str(remote)) == src.stat().st_size - 1_000_000
    assert remote.read_bytes() == src.read_bytes()
    Path(transfer.partial_name(str(remote))).write_bytes(b"x" * 1_000_000)  # not a prefix: sent whole
    assert transfer.put_file(local, src, str(remote)) == src.stat().st_size
    assert remote.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("python", ["python3", ""], ids=["one-process-python3", "shell-without-python3"])
def test_tree_contract(local: LocalTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, python: str) -> None:
    monkeypatch.setenv("NR_PYTHON", python)
    contract.check_trees(local, tmp_path / "local", str(tmp_path / "remote"))


def test_quote_command_and_login_shell() -> None:
    assert quote_command(["echo", "a b", "$x"]) == "echo 'a b' '$x'"
    assert quote_command(["module", "avail"], login_shell=True) == "bash -lc 'module avail'"


def test_command_log_records_and_redacts(local: LocalTransport) -> None:
    local.command_log.add_secret("hunter2")
    local.run(["echo", "hunter2"])
    local.run(["echo", "password=abc"])
    entries = local.command_log.entries()
    assert entries[-2].command == "echo ***"
    assert "abc" not in entries[-1].command
    assert entries[-1].exit_code == 0
    assert entries[-1].duration_s >= 0


def test_command_log_file(tmp_path: Path) -> None:
    log = CommandLog(path=tmp_path / "console.log", capacity=2)
    t = LocalTransport(command_log=log)
    for i in range(3):
        t.run(["echo", str(i)])
    assert len(log) == 2
    assert len((tmp_path / "console.log").read_text().splitlines()) == 3


def test_rate_limit_paces_requests() -> None:
    limiter = RateLimiter(rate=20, burst=1, max_pending=50)
    t0 = time.monotonic()
    for _ in range(6):
        limiter.acquire()
    assert time.monotonic() - t0 >= 5 / 20 * 0.9


def test_queue_depth_error_is_logged() -> None:
    t = LocalTransport(rate_limiter=RateLimiter(rate=2, burst=1, max_pending=2))
    assert len(contract.check_queue_depth(t, threads=5)) == 3
