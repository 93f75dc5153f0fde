"""The template editor in a real headless Chromium: a builtin duplicated to change it, a new template
typed into the highlighted config editor with three mistakes shown at their fields by the live check
(and by Save, without JavaScript's help), fixed, saved into the store, used by the create form,
edited and deleted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from namdrunner_core.store import JobStore
from tests.integration.browser import Server, shoot, wait_for

pytestmark = pytest.mark.cluster

BUILTIN = "vacuum_optimization_v1"
TEXT = """# a minimisation of my own
structure {{ structure }}
coordinates {{ coordinates }}
parameters {{ parameters }}
paraTypeCharmm on
exclude scaled1-4
temperature {{ temperature }}
cutoff 12
switching off
pairlistdist 11
outputName {{ output_dir }}/min
minimize {{ steps }}
"""


def _errors(driver: object) -> dict[str, str]:
    """The problems the page shows, by field."""
    from selenium.webdriver.common.by import By

    return {e.get_attribute("data-for"): e.text for e in driver.find_elements(By.CSS_SELECTOR, ".field-error")}  # type: ignore[attr-defined]


def _store(env: dict[str, str]) -> JobStore:
    return JobStore(Path(env["NAMDRUNNER_DB"]))


def test_templates_created_edited_duplicated_and_deleted_in_the_page(
    server: Server, browser: object, env: dict[str, str]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    driver = browser
    find = driver.find_element  # type: ignore[attr-defined]
    server.open(driver, f"/templates/{BUILTIN}")
    assert not driver.find_elements(By.ID, "edit-template")  # type: ignore[attr-defined]  # builtins are read-only
    find(By.ID, "duplicate-template").click()
    wait_for(lambda: "/edit" in driver.current_url, what="the copy in the editor")  # type: ignore[attr-defined]
    assert "Duplicated" in find(By.ID, "toast").text
    assert f"{BUILTIN}_copy" in [t.id for t in _store(env).list_templates()]

    # a new template: typed into the editor, with three mistakes
    driver.get(server.base + "/templates/new")  # type: ignore[attr-defined]
    editor = find(By.ID, "template-text-editor")
    assert editor.get_attribute("contenteditable") == "plaintext-only"
    find(By.NAME, "id").send_keys("my min")  # a space: not an id
    find(By.NAME, "name").send_keys("My minimisation")
    driver.execute_script("arguments[0].textContent = ''", editor)  # type: ignore[attr-defined]
    editor.click()
    editor.send_keys(TEXT.replace("{{ steps }}", "{{ nsteps }}"))  # a variable nobody defined
    rows = [("structure", "file", "", "", "", ".psf"), ("coordinates", "file", "", "", "", ".pdb"),
            ("parameters", "file", "", "", "", ".prm"), ("temperature", "number", "500", "200", "400", ""),
            ("steps", "integer", "1000", "1", "", "")]  # fmt: skip
    for i, (key, kind, default, lo, hi, ext) in enumerate(rows):
        if i:
            find(By.ID, "add-var").click()
        row = driver.find_elements(By.CSS_SELECTOR, "fieldset.var")[i]  # type: ignore[attr-defined]
        row.find_element(By.CSS_SELECTOR, "input[name$='.key']").send_keys(key)
        Select(row.find_element(By.CSS_SELECTOR, "select[name$='.type']")).select_by_visible_text(kind)
        for name, value in (("default", default), ("min", lo), ("max", hi), ("extensions", ext)):
            if value:
                row.find_element(By.CSS_SELECTOR, f"input[name$='.{name}']").send_keys(value)
    # the highlighting: the keyword, the Jinja placeholder and the comment are marked
    assert driver.find_elements(By.CSS_SELECTOR, "#template-text-editor .tk")  # type: ignore[attr-defined]
    assert driver.find_elements(By.CSS_SELECTOR, "#template-text-editor .tj")  # type: ignore[attr-defined]
    assert driver.find_elements(By.CSS_SELECTOR, "#template-text-editor .tc")  # type: ignore[attr-defined]
    three = {"id", "text", "variables.3.default"}
    errors = wait_for(lambda: _errors(driver) if set(_errors(driver)) == three else None, what="3 mistakes, live")
    assert "{{ nsteps }} names no variable" in errors["text"]  # type: ignore[index]
    assert "above the maximum 400" in errors["variables.3.default"]  # type: ignore[index]
    shoot(driver, "template-editor-errors")

    # Save as it is: the same three, each at its field, and nothing stored
    find(By.CSS_SELECTOR, "#template-form button[type=submit]").click()
    wait_for(lambda: driver.find_elements(By.ID, "form-errors"), what="the refused save")  # type: ignore[attr-defined]
    # the page's own live check runs again on load and rebuilds the messages: read them once it is done
    wait_for(lambda: set(_errors(driver)) == three, what="the same 3 mistakes at their fields")
    assert [t.id for t in _store(env).list_templates()] == [f"{BUILTIN}_copy"]

    # fixed: the live check renders the config and says what NAMD would refuse (pairlistdist < cutoff)
    ident = find(By.NAME, "id")
    ident.clear()
    ident.send_keys("my_min")
    default = find(By.NAME, "var.3.default")
    default.clear()
    default.send_keys("310")
    editor = find(By.ID, "template-text-editor")
    driver.execute_script("arguments[0].textContent = ''", editor)  # type: ignore[attr-defined]
    editor.click()
    editor.send_keys(TEXT)
    wait_for(lambda: "temperature 310" in find(By.ID, "check-config").text, what="the rendered config")
    wait_for(lambda: not _errors(driver), what="no mistake left")
    assert "pairlistdist 11 must be >= cutoff 12" in find(By.ID, "check-refused").text
    shoot(driver, "template-editor")
    find(By.CSS_SELECTOR, "#template-form button[type=submit]").click()
    wait_for(lambda: driver.current_url.split("?")[0].endswith("/templates/my_min"), what="the saved one")  # type: ignore[attr-defined]
    assert "Saved" in find(By.ID, "toast").text
    saved = _store(env).get_template("my_min")
    assert saved.text == TEXT
    assert [v.key for v in saved.variables] == [r[0] for r in rows]
    assert (saved.variables[3].default, saved.variables[3].max) == (310, 400)

    # the create form offers it, with its variables
    driver.get(server.base + "/create?template=my_min")  # type: ignore[attr-defined]
    assert find(By.NAME, "temperature").get_attribute("value") == "310"

    # edited: the id stays, a variable removed and the text changed with the keyboard
    driver.get(server.base + "/templates/my_min/edit")  # type: ignore[attr-defined]
    assert find(By.NAME, "id").get_attribute("readonly")
    editor = find(By.ID, "template-text-editor")
    editor.click()
    editor.send_keys(Keys.CONTROL, Keys.END)
    editor.send_keys("\n# checked")
    find(By.CSS_SELECTOR, "fieldset.var[data-row='3'] .remove-var").click()
    find(By.NAME, "var.4.default").send_keys(Keys.TAB)  # the check runs; temperature is now unknown
    errors = wait_for(lambda: _errors(driver) or None, what="the removed variable's use")
    assert "{{ temperature }} names no variable" in errors["text"]  # type: ignore[index]
    editor = find(By.ID, "template-text-editor")
    driver.execute_script("arguments[0].textContent = ''", editor)  # type: ignore[attr-defined]
    editor.click()
    editor.send_keys(TEXT.replace("{{ temperature }}", "300") + "# checked")
    wait_for(lambda: not _errors(driver) and "temperature 300" in find(By.ID, "check-config").text,
             what="the fixed text")  # fmt: skip

    # steps moved up before parameters, from the keyboard (the create form shows them in this order)
    def keys() -> list[str]:
        boxes = driver.find_elements(By.CSS_SELECTOR, "fieldset.var input[name$='.key']")  # type: ignore[attr-defined]
        return [e.get_attribute("value") for e in boxes if e.get_attribute("value")]  # the blank row left out

    row = next(r for r in driver.find_elements(By.CSS_SELECTOR, "fieldset.var")  # type: ignore[attr-defined]
               if r.find_element(By.CSS_SELECTOR, "input[name$='.key']").get_attribute("value") == "steps")  # fmt: skip
    up = row.find_element(By.CSS_SELECTOR, ".move-var[data-move='-1']")
    assert up.get_attribute("aria-label").startswith("Move variable steps up")
    up.send_keys(Keys.ENTER)
    assert keys() == ["structure", "coordinates", "steps", "parameters"]
    assert find(By.NAME, "var.2.key").get_attribute("value") == "steps"  # numbered again in the new order
    find(By.CSS_SELECTOR, "#template-form button[type=submit]").click()
    wait_for(lambda: driver.current_url.split("?")[0].endswith("/templates/my_min"), what="the edit saved")  # type: ignore[attr-defined]
    edited = _store(env).get_template("my_min")
    assert edited.text.endswith("# checked\n")
    assert "temperature" not in edited.keys()  # noqa: SIM118 - a Template, not a dict
    assert [v.key for v in edited.variables] == ["structure", "coordinates", "steps", "parameters"]

    # deleted (confirmed)
    find(By.ID, "delete-template").click()
    driver.switch_to.alert.accept()  # type: ignore[attr-defined]
    wait_for(lambda: driver.current_url.split("?")[0].endswith("/templates"), what="the delete")  # type: ignore[attr-defined]
    assert "Deleted" in find(By.ID, "toast").text
    assert [t.id for t in _store(env).list_templates()] == [f"{BUILTIN}_copy"]
    out = subprocess.run([sys.executable, "-m", "namdrunner_cli", "template", "list"], env={**os.environ, **env},
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert f"{BUILTIN}_copy" in out.stdout
    assert "my_min" not in out.stdout
