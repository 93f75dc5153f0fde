"""The session's local IPC on every system (issue 29, item 8): the owner check of a Unix socket
(SO_PEERCRED here; LOCAL_PEERCRED's struct on macOS), the loopback socket + token that Windows uses -
run here too, by forcing that path -, the lock, and no Linux-only import on a path Windows reaches."""

from __future__ import annotations

import ast
import socket
import struct
import sys
import threading
from pathlib import Path

import pytest

from namdrunner_core.transport import localipc

ROOT = Path(__file__).resolve().parent.parent.parent


def _serve_once(server: socket.socket, token: str | None, verdicts: list[bool]) -> None:
    conn, _ = server.accept()
    with conn:
        ok = localipc.peer_is_owner(conn, token)
        verdicts.append(ok)
        if ok:
            conn.sendall(b"hello")


def test_unix_socket_owner_check(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    server, token = localipc.listen(path)
    server.listen(1)
    assert token is None
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    verdicts: list[bool] = []
    t = threading.Thread(target=_serve_once, args=(server, token, verdicts))
    t.start()
    with localipc.connect(path, timeout=5) as sock:
        assert sock.recv(5) == b"hello"
    t.join()
    server.close()
    assert verdicts == [True]


def test_loopback_with_token_refuses_anyone_without_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(localipc, "USE_LOOPBACK", True)  # Windows' path, run here
    path = tmp_path / "s.sock"
    server, token = localipc.listen(path)
    assert token is not None
    assert len(token) == 64
    info = path.read_text()
    assert token in info  # the session file (in the user's own folder) holds port and token
    assert server.getsockname()[0] == "127.0.0.1"
    verdicts: list[bool] = []
    t = threading.Thread(target=lambda: [_serve_once(server, token, verdicts) for _ in range(2)])
    t.start()
    with localipc.connect(path, timeout=5) as sock:
        assert sock.recv(5) == b"hello"
    port = server.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as intruder:
        intruder.sendall(b"0" * 64)
        assert intruder.recv(5) == b""  # refused before anything is served
    t.join()
    server.close()
    assert verdicts == [True, False]
    path.write_text("not json")
    with pytest.raises(ConnectionRefusedError):
        localipc.connect(path, timeout=1)


def test_macos_peer_credentials_struct_layout() -> None:
    # struct xucred { u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]; }
    raw = struct.pack("IIh16I", 0, 501, 1, *([20] + [0] * 15))

    class FakeConn:
        def getsockopt(self, level: int, option: int, size: int) -> bytes:
            assert (level, option) == (0, 1)  # SOL_LOCAL, LOCAL_PEERCRED
            assert size >= struct.calcsize("II")
            return raw[:size]

    saved = sys.platform
    try:
        sys.platform = "darwin"  # type: ignore[misc]
        assert localipc.peer_uid(FakeConn()) == 501  # type: ignore[arg-type]
        sys.platform = "win32"  # type: ignore[misc]
        assert localipc.peer_uid(FakeConn()) is None  # type: ignore[arg-type]
    finally:
        sys.platform = saved  # type: ignore[misc]


def test_the_lock_is_exclusive(tmp_path: Path) -> None:
    order: list[str] = []
    lock = tmp_path / "x.lock"
    with localipc.exclusive_lock(lock):
        t = threading.Thread(target=lambda: (localipc.exclusive_lock(lock).__enter__(), order.append("second")))
        t.start()
        t.join(timeout=0.3)
        order.append("first")
    t.join(timeout=5)
    assert order == ["first", "second"]


POSIX_ONLY = {"fcntl", "termios", "pwd", "grp", "resource", "pty", "tty"}


def test_no_posix_only_module_is_imported_at_module_level() -> None:
    """Windows users import these packages: a POSIX-only module may be imported only inside a
    function, behind a platform check."""
    offenders = []
    for path in sorted([*(ROOT / "namdrunner_core").rglob("*.py"), *(ROOT / "namdrunner_cli").rglob("*.py")]):
        if path.name in ("fake_slurm.py", "hostq.py"):  # programs that run on the (POSIX) cluster or host
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n in POSIX_ONLY]
    assert offenders == []


def test_os_calls_windows_lacks_go_through_localipc() -> None:
    """os.setsid, os.getuid, SO_PEERCRED and pass_fds appear only in localipc (which checks first)."""
    offenders = []
    for path in sorted([*(ROOT / "namdrunner_core").rglob("*.py"), *(ROOT / "namdrunner_cli").rglob("*.py")]):
        if path.name in ("localipc.py", "fake_slurm.py", "hostq.py"):  # the cluster and the host runner are POSIX
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("os.setsid(", "os.getuid(", "socket.SO_PEERCRED", "pass_fds=", "fcntl.flock"):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []
