"""Shared fixtures: the loopback test cluster's coordinates and helpers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from namdrunner_core.transport.ssh import SSHTarget

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_SCRIPT = ROOT / "tests" / "cluster" / "cluster.sh"
DATA = ROOT / "tests" / "data"


@attrs.frozen
class ClusterEnv:
    """What `tests/cluster/cluster.sh env` prints, typed."""

    host: str
    port: int
    port_2fa: int
    user: str
    key: str
    password: str
    totp_secret: str
    projects: str
    scratch: str
    slurm_conf: str
    state_dir: str

    def key_target(self, **overrides: object) -> SSHTarget:
        """A key login to this cluster's sshd (host keys ignored); ``overrides`` replace any field."""
        fields: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "identity_files": (self.key,),
            "use_agent": False,
            "host_key_policy": "ignore",
        }
        fields.update(overrides)
        return SSHTarget(**fields)  # type: ignore[arg-type]


def totp(secret_b32: str, at: float | None = None, step: int = 30) -> str:
    """RFC 6238 code, as an authenticator app shows it."""
    key = base64.b32decode(secret_b32.upper())
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def cluster_vars() -> dict[str, str]:
    """Every ``export NAME=value`` that `tests/cluster/cluster.sh env` prints, by name."""
    out = subprocess.run(["bash", str(CLUSTER_SCRIPT), "env"], capture_output=True, text=True, check=True).stdout
    env: dict[str, str] = {}
    for line in out.splitlines():
        if line.startswith("export "):
            k, _, v = line[len("export ") :].partition("=")
            env[k] = v
    return env


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def cluster() -> ClusterEnv:
    """The running loopback cluster. In CI (CI=true) a missing cluster fails, never skips."""
    env = cluster_vars()
    ce = ClusterEnv(
        host=env["NR_TEST_HOST"],
        port=int(env["NR_TEST_PORT"]),
        port_2fa=int(env["NR_TEST_2FA_PORT"]),
        user=env["NR_TEST_USER"],
        key=env["NR_TEST_KEY"],
        password=env["NR_TEST_PASSWORD"],
        totp_secret=env["NR_TEST_TOTP_SECRET"],
        projects=env["NR_TEST_PROJECTS"],
        scratch=env["NR_TEST_SCRATCH"],
        slurm_conf=env["SLURM_CONF"],
        state_dir=env["NR_CLUSTER_DIR"],
    )
    if not _port_open(ce.host, ce.port) or not Path(ce.key).is_file():
        msg = f"loopback cluster not running on {ce.host}:{ce.port}: run `sudo tests/cluster/cluster.sh up`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return ce


@pytest.fixture
def wait_until() -> Callable[..., object]:
    """Poll ``fn`` until it returns a truthy value or ``timeout`` seconds pass."""

    def _wait(fn: Callable[[], object], timeout: float = 60.0, interval: float = 0.5, what: str = "") -> object:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what or fn}; last value: {last!r}")

    return _wait


#: Unit-test modules that run the CLUSTER side on this machine (bash scripts, LocalTransport, the fake
#: Slurm): clusters are POSIX, so these are not run on the Windows runner (`pytest -m "not posix"`).
POSIX_MODULES = {
    "test_broker", "test_lifecycle_fake", "test_origami_file", "test_remote_scripts", "test_sbatch",
    "test_transport_local", "test_workflow_file",
}  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of :data:`POSIX_MODULES` ``posix``."""
    for item in items:
        if item.path.stem in POSIX_MODULES:
            item.add_marker(pytest.mark.posix)
