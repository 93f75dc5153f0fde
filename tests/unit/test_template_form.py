"""The template editor's core: a form as typed -> a template, every mistake at once at its field,
the live preflight, saving and duplicating (builtins read-only)."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from namdrunner_core.errors import ValidationError, problems_of
from namdrunner_core.namd.config import Template, Variable, VariableType
from namdrunner_core.namd.template_files import builtin_templates
from namdrunner_core.store import JobStore
from namdrunner_core.template_form import (
    TemplateForm,
    VariableForm,
    check_form,
    duplicate_template,
    form_from_fields,
    form_of,
    free_template_id,
    save_template_form,
    template_from_form,
)
from namdrunner_core.template_library import get_template

BUILTIN = "explicit_solvent_npt_v1"
GOOD_TEXT = """structure {{ structure }}
coordinates {{ coordinates }}
parameters par.prm
paraTypeCharmm on
exclude scaled1-4
temperature {{ temperature }}
cutoff 12
switching off
pairlistdist 14
timestep 2
outputName {{ output_dir }}/run
run {{ steps }}
"""


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path / "jobs.db")


def good_form(**changes: object) -> TemplateForm:
    rows = (
        VariableForm(key="structure", label="Structure", type="file", extensions="psf"),
        VariableForm(key="coordinates", label="Coordinates", type="file", extensions=".pdb"),
        VariableForm(key="temperature", label="Temperature (K)", type="number", default="300", min="200", max="400"),
        VariableForm(key="steps", label="Steps", type="integer", default="1000", min="1"),
    )
    return attrs.evolve(TemplateForm(id="my_npt", name="My NPT", text=GOOD_TEXT, variables=rows), **changes)


def test_a_builtin_shown_as_a_form_makes_the_same_template_back(store: JobStore) -> None:
    builtin = builtin_templates()[BUILTIN]
    form = attrs.evolve(form_of(builtin), id="mine", was="")
    made = template_from_form(store, form)
    # a new template keeps nothing hidden (no variable to keep it from): everything the form shows
    assert made.variables == [attrs.evolve(v, multiple_of=None, original=None) for v in builtin.variables]
    assert made.text == builtin.text
    assert made.id == "mine"
    assert not made.builtin


def test_every_mistake_is_named_at_its_field_at_once(store: JobStore) -> None:
    rows = (
        *good_form().variables[:2],
        VariableForm(key="temperature", type="number", default="500", min="200", max="400"),  # default too high
        VariableForm(key="steps", type="integer", min="ten"),  # not a number
        VariableForm(key="Bad Key", type="text"),  # not a key
        VariableForm(),  # a blank new row: ignored
    )
    form = good_form(id="my id", variables=rows, text=GOOD_TEXT + "margin {{ margin }}\n")
    with pytest.raises(ValidationError) as caught:
        template_from_form(store, form)
    problems = dict(problems_of(caught.value))
    assert set(problems) == {"id", "variables.2.default", "variables.3.min", "variables.4.key", "text"}
    assert "above the maximum 400" in problems["variables.2.default"]
    assert "'ten' is not a number" in problems["variables.3.min"]
    assert "{{ margin }}" in problems["text"]
    check = check_form(store, form)
    assert dict(check.problems) == problems
    assert check.config == ""


def test_the_live_check_renders_with_the_defaults_and_says_what_namd_would_refuse(store: JobStore) -> None:
    check = check_form(store, good_form())
    assert check.problems == ()
    assert check.refused == ()
    assert "temperature 300\n" in check.config
    assert "input_files/structure.psf" in check.config
    refused = check_form(store, good_form(text=GOOD_TEXT.replace("pairlistdist 14", "pairlistdist 11")))
    assert any("pairlistdist 11 must be >= cutoff 12" in p for p in refused.refused)
    unused = check_form(store, good_form(text=GOOD_TEXT.replace("{{ temperature }}", "300")))
    assert any("'temperature' is not used" in w for w in unused.warnings)


def test_ids_builtin_taken_and_renamed_are_refused(store: JobStore) -> None:
    for form, says in (
        (good_form(id=BUILTIN), "builtin template's id"),
        (good_form(id="x", was=BUILTIN), "builtin and read-only"),
        (good_form(id=""), "give the template an id"),
    ):
        with pytest.raises(ValidationError, match=says):
            save_template_form(store, form)
    save_template_form(store, good_form())
    with pytest.raises(ValidationError, match="exists already"):
        save_template_form(store, good_form())
    with pytest.raises(ValidationError, match="cannot change"):
        save_template_form(store, good_form(id="other", was="my_npt"))
    assert [t.id for t in store.list_templates()] == ["my_npt"]


def test_editing_keeps_what_the_form_does_not_show(store: JobStore) -> None:
    own = Template(
        id="kept", name="Kept", text="run {{ steps }}\n",
        variables=[Variable(key="steps", label="Steps", type=VariableType.INTEGER, default=24, multiple_of=12)],
        aliases={"number_of_steps": "steps"},
    )  # fmt: skip
    store.save_template(own)
    form = form_of(own)
    edited = attrs.evolve(form, name="Kept, renamed", variables=(attrs.evolve(form.variables[0], label="Steps!"),))
    saved = save_template_form(store, edited)
    back = store.get_template("kept")
    assert back == saved
    assert back.name == "Kept, renamed"
    assert back.variables[0].label == "Steps!"
    assert back.variables[0].multiple_of == 12
    assert back.aliases == {"number_of_steps": "steps"}


def test_fields_as_a_browser_posts_them(store: JobStore) -> None:
    fields = {"id": " my_npt ", "name": "My NPT", "text": GOOD_TEXT.replace("\n", "\r\n"), "was": ""}
    for i, row in enumerate(good_form().variables):
        for attr in ("key", "label", "type", "default", "min", "max", "extensions"):
            fields[f"var.{i * 3}.{attr}"] = getattr(row, attr)  # gaps in the numbering: rows removed by the page
    form = form_from_fields(fields, checked={"var.0.required", "var.3.required"})
    made = template_from_form(store, form)
    assert made.id == "my_npt"
    assert "\r" not in made.text
    assert [v.key for v in made.variables] == ["structure", "coordinates", "temperature", "steps"]
    assert [v.required for v in made.variables] == [True, True, False, False]
    assert made.variables[0].extensions == [".psf"]
    assert made.variables[2].default == 300


def test_duplicating_a_builtin_makes_it_yours_under_a_free_id(store: JobStore) -> None:
    first = duplicate_template(store, BUILTIN)
    second = duplicate_template(store, BUILTIN)
    assert (first.id, second.id) == (f"{BUILTIN}_copy", f"{BUILTIN}_copy2")
    assert get_template(store, first.id).text == builtin_templates()[BUILTIN].text
    assert not get_template(store, first.id).builtin
    assert first.name.endswith("(copy)")
    assert free_template_id(store, f"{BUILTIN}_copy") == f"{BUILTIN}_copy3"
    with pytest.raises(ValidationError, match="exists already"):
        duplicate_template(store, BUILTIN, first.id)
