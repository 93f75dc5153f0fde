"""The shared session's broker and its client, in-process on the Local transport: the transport
contract holds through it, the socket is private, a stale one is replaced, a lost session says so.
(The real login, the server-side count of authentications and the other-uid refusal are
tests/integration/test_session.py.)"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from namdrunner_core.broker import Broker, parse_duration, stop_session
from namdrunner_core.errors import SessionLostError, UnsafePathError, ValidationError
from namdrunner_core.transport.broker_client import BrokerTransport, find_broker, socket_path
from namdrunner_core.transport.local import LocalTransport
from namdrunner_core.transport.ratelimit import RateLimiter
from tests import transport_contract as contract


@pytest.fixture
def broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Broker]:
    monkeypatch.setenv("NAMDRUNNER_RUNTIME_DIR", str(tmp_path / "run"))
    local = LocalTransport(rate_limiter=RateLimiter(rate=1000, burst=1000))
    b = Broker("unit", local, "me", "localhost", ttl_s=600, idle_s=600, interactive=True)
    b.listen()
    thread = threading.Thread(target=b.serve, daemon=True)
    thread.start()
    yield b
    b.stopping.set()
    thread.join(5)


@pytest.fixture
def client(broker: Broker) -> BrokerTransport:
    return BrokerTransport("unit", "me@localhost")


def test_the_transport_contract_holds_through_the_broker(client: BrokerTransport, tmp_path: Path) -> None:
    contract.check_run(client, str(tmp_path))
    contract.check_transfers(client, tmp_path / "local", str(tmp_path / "remote"))
    contract.check_trees(client, tmp_path / "local2", str(tmp_path / "remote2"))


def test_status_counts_what_it_served_and_stop_removes_the_socket(broker: Broker, client: BrokerTransport) -> None:
    for _ in range(3):
        client.run(["true"])
    info = find_broker("unit")
    assert info is not None
    assert (info.user, info.commands, info.interactive_login) == ("me", 3, True)
    assert (socket_path("unit").stat().st_mode & 0o777, socket_path("unit").parent.stat().st_mode & 0o777) == (
        0o600,
        0o700,
    )
    assert stop_session("unit") is True
    assert not socket_path("unit").exists()
    assert find_broker("unit") is None
    with pytest.raises(SessionLostError, match="session start"):
        client.run(["true"])


def test_a_socket_others_may_use_is_refused(broker: Broker) -> None:
    path = socket_path("unit")
    path.chmod(0o666)
    try:
        with pytest.raises(UnsafePathError, match="mode 0666"):
            find_broker("unit")
    finally:
        path.chmod(0o600)
    path.parent.chmod(0o755)
    try:
        with pytest.raises(UnsafePathError, match="mode 0755"):
            find_broker("unit")
    finally:
        path.parent.chmod(0o700)


def test_a_stale_socket_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAMDRUNNER_RUNTIME_DIR", str(tmp_path / "run"))
    path = socket_path("dead")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))  # a killed broker's socket: the file stays, nothing listens
    s.close()
    path.chmod(0o600)
    assert find_broker("dead") is None
    assert not path.exists()


def test_a_lost_session_never_logs_in_again_and_says_how_to_start_it(broker: Broker, client: BrokerTransport) -> None:
    broker.lost = "the shared session lost its connection; run `namdrunner session start`"
    with pytest.raises(SessionLostError, match="namdrunner session start"):
        client.run(["true"])


def test_durations() -> None:
    assert parse_duration("8h") == 8 * 3600
    assert parse_duration("90m") == 5400
    assert parse_duration("45") == 45
    with pytest.raises(ValidationError, match="--ttl"):
        parse_duration("soon")


def test_the_broker_knows_which_commands_are_not_safe_to_repeat(
    broker: Broker, client: BrokerTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    real = broker.transport._run_command

    def spy(command: str, **kw: object) -> object:
        seen.append(bool(kw["idempotent"]))
        return real(command, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(broker.transport, "_run_command", spy)
    client.run(["true"])
    client.run(["true"], idempotent=False)  # sbatch: never re-sent after a dropped connection
    assert seen == [True, False]
