"""The Create job form as steps in a real headless Chromium: files dropped on the Files step go to the
fields whose endings they have; three deliberate mistakes on two steps come back in ONE round trip,
each at its field, each step's link counting its own, the first such step opened; fixed, the review;
Back keeps everything (the dropped files too)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import DATA
from tests.integration.browser import Server, shoot, wait_for

pytestmark = pytest.mark.cluster

DROP = """
const [names, texts] = [arguments[0], arguments[1]];
const dt = new DataTransfer();
names.forEach((n, i) => dt.items.add(new File([texts[i]], n)));
const step = document.getElementById("step-files");
step.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
step.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
"""


def _errors(driver: object) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    return {e.get_attribute("data-field"): e.get_attribute("textContent")
            for e in driver.find_elements(By.CSS_SELECTOR, "#create-form .field-error")}  # type: ignore[attr-defined]  # fmt: skip


def test_three_mistakes_on_two_steps_in_one_round_trip(server: Server, browser: object) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    find = driver.find_element  # type: ignore[attr-defined]
    server.open(driver, "/create?template=vacuum_optimization_v1")

    def shown() -> list[str]:
        steps = driver.find_elements(By.CSS_SELECTOR, "fieldset[data-step]")  # type: ignore[attr-defined]
        return [s.get_attribute("id") for s in steps if s.is_displayed()]

    wait_for(lambda: shown() == ["step-template"], what="one step at a time")
    find(By.ID, "f-name").send_keys("three mistakes")
    for field, value in (("f-steps", "many"), ("f-temperature", "9999")):  # mistakes 1 and 2
        find(By.ID, field).clear()
        find(By.ID, field).send_keys(value)
    find(By.CSS_SELECTOR, "a[data-step=files]").click()
    names = ["tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb", "notes.docx"]
    texts = [(DATA / "tiny" / n).read_text() for n in names[:4]] + ["not a NAMD file"]
    driver.execute_script(DROP, names, texts)  # type: ignore[attr-defined]
    said = find(By.ID, "dropped").text
    assert "tiny.psf -> Structure (PSF)" in said
    assert "No free field takes: notes.docx" in said
    assert driver.execute_script("return document.getElementById('f-coordinates').files[0].name") == "tiny.pdb"  # type: ignore[attr-defined]
    shoot(driver, "create-files-dropped")
    find(By.CSS_SELECTOR, "#step-files button[data-go=resources]").click()
    find(By.ID, "f-cores").clear()
    find(By.ID, "f-cores").send_keys("-3")  # mistake 3
    find(By.ID, "review").click()

    errors = wait_for(lambda: _errors(driver) or None, what="the form back with its mistakes")
    assert set(errors) == {"steps", "temperature", "cores"}, errors  # type: ignore[arg-type]
    assert "'many' is not a number" in errors["steps"]  # type: ignore[index]
    assert "above the maximum 400" in errors["temperature"]  # type: ignore[index]
    badges = {a.get_attribute("data-step"): a.text for a in driver.find_elements(By.CSS_SELECTOR, "#wizard-steps a")}  # type: ignore[attr-defined]
    assert badges["template"].endswith("2")
    assert badges["resources"].endswith("1")
    assert badges["files"] == "2. Files"
    assert find(By.ID, "step-template").is_displayed()  # the first step with a mistake is opened
    assert "kept: tiny.psf" in find(By.ID, "step-files").get_attribute("textContent")  # the drop was uploaded once
    shoot(driver, "create-mistakes")

    for field, value in (("f-steps", "4800"), ("f-temperature", "310")):
        find(By.ID, field).clear()
        find(By.ID, field).send_keys(value)
    find(By.CSS_SELECTOR, "a[data-step=resources]").click()
    find(By.ID, "f-cores").clear()
    find(By.ID, "f-cores").send_keys("1")
    find(By.ID, "review").click()
    wait_for(lambda: find(By.ID, "planned-id"), what="the review")
    assert re.search(r"^temperature\s+310$", find(By.ID, "config-text").text, re.M)
    find(By.ID, "back").click()
    wait_for(lambda: find(By.ID, "create-form"), what="the form again")
    assert find(By.ID, "f-temperature").get_attribute("value") == "310"
    assert find(By.ID, "f-cores").get_attribute("value") == "1"
    assert "kept: par_tiny.prm" in find(By.ID, "step-files").get_attribute("textContent")
    assert not _errors(driver)
