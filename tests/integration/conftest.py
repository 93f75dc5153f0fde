"""Fixtures shared by the integration tests that drive the lifecycle through a loopback Session."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from namdrunner_core import Cluster, Job, JobStore, Resources, Session
from namdrunner_core.transport.ratelimit import RateLimiter
from namdrunner_core.transport.ssh import SSHTransport
from tests.conftest import CLUSTER_SCRIPT, DATA, ClusterEnv
from tests.integration.browser import CHROMEDRIVER, CHROMIUM, SHOTS, Server

#: The toy system every integration job runs.
TINY = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")]


@pytest.fixture(scope="module")
def session(cluster: ClusterEnv) -> Iterator[Session]:
    """One authenticated session to the loopback cluster per test module."""
    with Cluster.from_profile("loopback").connect() as s:
        yield s


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    """A fresh job store per test."""
    return JobStore(tmp_path / "jobs.db")


@pytest.fixture
def env(tmp_path: Path, cluster: ClusterEnv, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI pointed at a fresh store and config dir, on the loopback profile, in a wide terminal."""
    values = {
        "NAMDRUNNER_DB": str(tmp_path / "db.sqlite"),
        "NAMDRUNNER_CONFIG_DIR": str(tmp_path / "cfg"),
        "NAMDRUNNER_CACHE_DIR": str(tmp_path / "cache"),
        "NAMDRUNNER_PROFILE": "loopback",
        "COLUMNS": "200",
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def vacuum_job(session: Session, store: JobStore, name: str, resources: Resources, **values: object) -> Job:
    """A created (not submitted) job of the toy system with the vacuum template (minimize 480 by default)."""
    vals: dict[str, object] = {"steps": 480, "execution_command": "minimize", **values}
    return Job.create(
        session, store, name=name, template="vacuum_optimization_v1", values=vals, files=TINY, resources=resources
    )


@pytest.fixture
def ssh(cluster: ClusterEnv) -> Iterator[SSHTransport]:
    """A bare SSH transport to the loopback cluster (key login), with a rate limit tests do not feel."""
    with SSHTransport(cluster.key_target(), rate_limiter=RateLimiter(rate=200, burst=200)) as t:
        yield t


@pytest.fixture
def remote_dir(ssh: SSHTransport, cluster: ClusterEnv) -> Iterator[str]:
    """A fresh directory on the cluster's scratch, removed afterwards."""
    d = f"{cluster.scratch}/transport-{uuid.uuid4().hex[:8]}"
    ssh.run(["mkdir", "-p", d])
    yield d
    ssh.run(["rm", "-rf", "--", d])


def cluster_sh(*args: str) -> None:
    """A switch of the test cluster (tests/cluster/cluster.sh), as root."""
    out = subprocess.run(["bash", str(CLUSTER_SCRIPT), *args], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


@pytest.fixture
def accounting_off(cluster: ClusterEnv) -> Iterator[None]:
    """Slurm's accounting (slurmdbd) stopped, finished jobs leaving squeue within seconds."""
    cluster_sh("min-job-age", "2")
    cluster_sh("accounting", "off")
    try:
        yield
    finally:
        cluster_sh("accounting", "on")
        cluster_sh("min-job-age", "30")


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[Server]:
    s = Server(env)
    yield s
    s.stop()


@pytest.fixture
def browser(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("Debian's chromium and chromium-driver are needed (scripts/test.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"):
        opts.add_argument(arg)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})  # fmt: skip
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)  # where the test ended: a picture and the page's HTML
        driver.save_screenshot(str(SHOTS / f"last-{request.node.name}.png"))
        (SHOTS / f"last-{request.node.name}.html").write_text(driver.page_source)
        driver.quit()
