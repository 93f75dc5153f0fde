"""Settings in a real headless Chromium against the real loopback Slurm: the served profile edited as
text (a text that does not load is refused in the loader's words, nothing written; a good one saved and
used at once), then `cluster detect` from the page: what the cluster offers, where the edited profile
differs (a partition said to have 64 cores on a 16-core node) and the differences applied."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from namdrunner_core.profile import load_profile
from tests.integration.browser import Server, shoot, wait_for

pytestmark = pytest.mark.cluster


def _wrong() -> str:
    """The bundled loopback profile's partitions, amilan said to have 64 cores (its nodes have 16)."""
    from importlib import resources

    text = resources.files("namdrunner_core.profiles").joinpath("loopback.toml").read_text()
    partitions = text[text.index("[[partitions]]") : text.index("[[qos]]")]
    return 'extends = "loopback"\ndescription = "edited on the page"\n\n' + partitions.replace(
        "cores_per_node = 16", "cores_per_node = 64", 1
    )


def test_the_profile_edited_then_corrected_by_what_the_cluster_says(
    server: Server, browser: object, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from selenium.webdriver.common.by import By

    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", env["NAMDRUNNER_CONFIG_DIR"])
    user_file = Path(env["NAMDRUNNER_CONFIG_DIR"]) / "profiles" / "loopback.toml"
    driver = browser
    find = driver.find_element  # type: ignore[attr-defined]
    server.open(driver, "/cluster")
    find(By.ID, "edit-profile").click()
    text = find(By.ID, "profile-text")
    assert 'extends = "loopback"' in text.get_attribute("value")

    text.clear()
    text.send_keys('extends = "loopback"\nport = "twenty-two"\n')
    find(By.ID, "save-profile").click()
    error = wait_for(lambda: find(By.ID, "profile-error").text, what="the loader's words")
    assert "port" in str(error)
    assert find(By.ID, "profile-text").get_attribute("value").startswith('extends = "loopback"\nport = "twenty-two"')
    assert not user_file.exists()  # nothing written
    shoot(driver, "profile-edit-error")

    text = find(By.ID, "profile-text")
    text.clear()
    text.send_keys(_wrong())
    find(By.ID, "save-profile").click()
    wait_for(lambda: urllib.parse.urlparse(driver.current_url).path == "/cluster", what="the saved profile in use")  # type: ignore[attr-defined]
    assert "edited on the page" in find(By.TAG_NAME, "main").text
    assert "saved" in find(By.ID, "toast").text
    assert load_profile("loopback").partitions[0].cores_per_node == 64

    find(By.ID, "run-detect").click()
    table = wait_for(lambda: find(By.ID, "differences"), timeout=120, what="where the profile differs")
    assert "cores_per_node" in table.text  # type: ignore[attr-defined]
    assert "16" in table.text  # type: ignore[attr-defined]
    names = {r.text.split()[0] for r in find(By.ID, "detected-partitions").find_elements(By.CSS_SELECTOR, "tbody tr")}
    assert {"amilan", "agpu", "atesting"} <= names
    shoot(driver, "detected")
    assert find(By.ID, "apply-name").get_attribute("value") == "loopback"  # bundled: a user file of its name
    find(By.ID, "apply-detected").click()
    driver.switch_to.alert.accept()  # type: ignore[attr-defined]
    wait_for(lambda: "/cluster" in driver.current_url and find(By.ID, "toast"), what="the differences applied")  # type: ignore[attr-defined]
    profile = load_profile("loopback")
    assert {p.name: p.cores_per_node for p in profile.partitions}["amilan"] == 16
    assert "detected" in user_file.read_text()
