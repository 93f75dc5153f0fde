"""Creating and editing a template as a form: the fields as the user typed them, every mistake at
once at its field, a live preflight of the config it renders, and saving without losing what the
form does not show.

The web page's template editor is this module's thin frontend; the command line's
``template duplicate`` calls :func:`duplicate_template`. Builtin templates stay read-only: a user
changes one by duplicating it (the copy is theirs, under a new id).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

import attrs
import jinja2
import jinja2.meta

from namdrunner_core.errors import NotFoundError, ValidationError, problems_of, validation_error
from namdrunner_core.namd.config import (
    Template,
    Variable,
    VariableType,
    check_config,
    preview_config,
)
from namdrunner_core.namd.template_check import check_template, template_problems
from namdrunner_core.namd.template_files import builtin_templates
from namdrunner_core.store import JobStore
from namdrunner_core.template_library import get_template

#: the form's names of the variable types, in the order a picker shows them
TYPES = tuple(t.value for t in VariableType)
#: names the config text may use without a variable of that name (render_config provides them)
_PROVIDED = frozenset({"output_dir"})
_LIST_SPLIT = re.compile(r"[,\s|]+")


@attrs.frozen(slots=True)
class VariableForm:
    """One variable's row as typed (every value a string; ``required`` a checkbox)."""

    key: str = ""
    label: str = ""
    type: str = VariableType.NUMBER.value
    help: str = ""
    default: str = ""
    min: str = ""
    max: str = ""
    extensions: str = ""
    choices: str = ""
    required: bool = True
    #: the key this row had when the form was opened: what the form does not show (a multiple,
    #: a raw config's original path) is kept from that variable
    was: str = ""

    @property
    def blank(self) -> bool:
        """An untouched new row (ignored, not an error)."""
        return not any((self.key, self.label, self.help, self.default, self.min, self.max, self.extensions,
                        self.choices))  # fmt: skip


@attrs.frozen(slots=True)
class TemplateForm:
    """A template as the editor shows it; ``was`` is the id being edited ("" for a new one)."""

    id: str = ""
    name: str = ""
    description: str = ""
    text: str = ""
    variables: tuple[VariableForm, ...] = ()
    was: str = ""


@attrs.frozen(slots=True)
class TemplateCheck:
    """What the editor shows live: problems by field (saving is refused while there are any), and
    the config rendered with the defaults with what NAMD would refuse or warn about."""

    problems: tuple[tuple[str, str], ...]
    config: str = ""
    refused: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def form_of(template: Template) -> TemplateForm:
    """The editor's form for an existing template (``was`` set: saving replaces it)."""
    rows = tuple(
        VariableForm(
            key=v.key, label=v.label, type=v.type.value, help=v.help, default=_text(v.default),
            min=_text(v.min), max=_text(v.max), extensions=", ".join(v.extensions), choices=", ".join(v.choices),
            required=v.required, was=v.key,
        )
        for v in template.variables
    )  # fmt: skip
    return TemplateForm(template.id, template.name, template.description, template.text, rows, was=template.id)


def form_from_fields(fields: Mapping[str, str], checked: set[str] | frozenset[str] = frozenset()) -> TemplateForm:
    """A form from flat field names (``id``, ``name``, ``var.3.key``, ...), as an HTML form posts them;
    ``checked`` names the ticked ``var.N.required`` boxes (an unticked box posts nothing)."""
    indices = sorted({int(m.group(1)) for k in fields if (m := re.fullmatch(r"var\.(\d{1,4})\.\w+", k))})
    rows = []
    for i in indices:

        def get(attr: str, i: int = i) -> str:
            return fields.get(f"var.{i}.{attr}", "").strip()

        rows.append(VariableForm(
            key=get("key"), label=get("label"), type=get("type") or VariableType.NUMBER.value, help=get("help"),
            default=get("default"), min=get("min"), max=get("max"), extensions=get("extensions"),
            choices=get("choices"), required=f"var.{i}.required" in checked, was=get("was"),
        ))  # fmt: skip
    return TemplateForm(
        id=fields.get("id", "").strip(), name=fields.get("name", "").strip(),
        description=fields.get("description", "").strip(), text=_one_final_newline(fields.get("text", "")),
        variables=tuple(rows), was=fields.get("was", "").strip(),
    )  # fmt: skip


def _one_final_newline(text: str) -> str:
    """Browsers post CRLF, and an editor keeps a blank last line for its caret: neither is the user's."""
    text = text.replace("\r\n", "\n").rstrip("\n")
    return text + "\n" if text.strip() else ""


def check_form(store: JobStore | None, form: TemplateForm) -> TemplateCheck:
    """Every problem of the form at once, by field, and when it makes a template, the preflight of
    the config it renders with its defaults (file names as placeholders)."""
    try:
        template = template_from_form(store, form)
    except ValidationError as exc:
        return TemplateCheck(tuple(problems_of(exc)))
    try:
        config = preview_config(template, {})
    except ValidationError as exc:
        return TemplateCheck((), warnings=(f"no preview with the defaults alone: {exc.reason}",))
    report = check_config(config)
    used = _used_names(template.text)
    unused = [v.key for v in template.variables if v.key not in used]
    warnings = report.warnings + [f"variable {key!r} is not used in the config text" for key in unused]
    return TemplateCheck((), config, tuple(report.problems + report.escapes), tuple(warnings))


def template_from_form(store: JobStore | None, form: TemplateForm) -> Template:
    """The template the form describes; :class:`ValidationErrors` with every problem, each at its
    field (``id``, ``name``, ``text``, ``variables.2.min``), in the user's words."""
    problems: list[tuple[str, str]] = []
    kept = _kept(store, form, problems)
    variables = []
    for index, row in enumerate(form.variables):
        if not row.blank:
            variables.append(_variable(index, row, kept, problems))
    if not form.name:
        problems.append(("name", "give the template a name (shown in the template list)"))
    if not form.text.strip():
        problems.append(("text", "the NAMD config text is empty"))
    aliases = kept.aliases if kept is not None else {}
    keys = {v.key for v in variables}
    template = Template(
        id=form.id, name=form.name, text=form.text, variables=variables, description=form.description,
        aliases={alias: key for alias, key in aliases.items() if key in keys and alias not in keys},
    )  # fmt: skip
    rows = [i for i, row in enumerate(form.variables) if not row.blank]
    for field, message in template_problems(template, row_fields=True):
        if field.startswith("variables."):  # the index among the kept rows -> the form's own row
            _, kept_index, attr = field.split(".")
            field = f"variables.{rows[int(kept_index)]}.{attr}"
        if not any(f == field for f, _ in problems):
            problems.append((field, message))
    if not any(f == "text" for f, _ in problems):
        problems += [("text", m) for m in _undefined_names(template)]
    if problems:
        raise validation_error(problems)
    return template


def save_template_form(store: JobStore, form: TemplateForm) -> Template:
    """Save the form as one of the user's templates (replacing the one being edited); nothing is
    written when it has any problem."""
    template = template_from_form(store, form)
    store.save_template(template)
    return template


def duplicate_template(store: JobStore, template_id: str, new_id: str | None = None) -> Template:
    """A copy of any template (a builtin too: how a user changes one) saved as theirs under
    ``new_id`` (default: the first free ``<id>_copy``, ``<id>_copy2``, ...)."""
    source = get_template(store, template_id)
    new_id = new_id or free_template_id(store, f"{template_id}_copy")
    copy = attrs.evolve(source, id=new_id, name=f"{source.name} (copy)", builtin=False)
    _refuse_taken(store, new_id)
    check_template(copy)
    store.save_template(copy)
    return copy


def free_template_id(store: JobStore | None, base: str) -> str:
    """``base``, or ``base2``, ``base3``... : the first id no template has."""
    taken = set(builtin_templates()) | ({t.id for t in store.list_templates()} if store is not None else set())
    n, candidate = 1, base
    while candidate in taken:
        n += 1
        candidate = f"{base}{n}"
    return candidate


def _refuse_taken(store: JobStore | None, template_id: str) -> None:
    if template_id in builtin_templates():
        raise ValidationError("id", f"{template_id!r} is a builtin template's id; choose another")
    if store is not None:
        try:
            store.get_template(template_id)
        except NotFoundError:
            return
        raise ValidationError("id", f"a template {template_id!r} exists already; choose another id or edit it")


def _kept(store: JobStore | None, form: TemplateForm, problems: list[tuple[str, str]]) -> Template | None:
    """The template being edited (what the form does not show is kept from it); the id checks."""
    if not form.id:
        problems.append(("id", "give the template an id: letters, digits, '_' or '-'"))
        return None
    if form.was and form.was in builtin_templates():
        problems.append(("id", f"{form.was!r} is builtin and read-only: duplicate it to change it"))
        return None
    if form.was and form.id != form.was:
        problems.append(("id", f"the id of a saved template cannot change (jobs name it): duplicate it as {form.id!r}"))
        return None
    if not form.was:
        try:
            _refuse_taken(store, form.id)
        except ValidationError as exc:
            problems.append((exc.field, exc.reason))
        return None
    if store is None:
        return None
    try:
        return store.get_template(form.was)
    except NotFoundError:
        problems.append(("id", f"template {form.was!r} no longer exists (deleted elsewhere?): save it under a new id"))
        return None


def _variable(index: int, row: VariableForm, kept: Template | None, problems: list[tuple[str, str]]) -> Variable:
    field = f"variables.{index}"
    before = next((v for v in kept.variables if v.key == row.was), None) if kept is not None else None
    try:
        kind = VariableType(row.type)
    except ValueError:
        problems.append((f"{field}.type", f"{row.type!r} is not a type; use one of {', '.join(TYPES)}"))
        kind = VariableType.TEXT
    bounds = {attr: _number(getattr(row, attr), f"{field}.{attr}", problems) for attr in ("min", "max")}
    extensions = [e if e.startswith(".") else f".{e}" for e in _LIST_SPLIT.split(row.extensions) if e]
    choices = [c for c in re.split(r"[,|]", row.choices) if c.strip()]
    return Variable(
        key=row.key, label=row.label or row.key, type=kind, help=row.help, default=_default(kind, row.default),
        min=bounds["min"], max=bounds["max"], choices=[c.strip() for c in choices], extensions=extensions,
        required=row.required, multiple_of=before.multiple_of if before else None,
        original=before.original if before else None,
    )  # fmt: skip


def _number(text: str, field: str, problems: list[tuple[str, str]]) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append((field, f"{text!r} is not a number"))
        return None
    if value != value or value in (float("inf"), float("-inf")):
        problems.append((field, f"{text!r} is not a finite number"))
        return None
    return value


def _default(kind: VariableType, text: str) -> object:
    """A typed default from its text (checked against the type and bounds by the template checks)."""
    if not text:
        return None
    if kind in (VariableType.NUMBER, VariableType.INTEGER):
        try:
            value = float(text)
        except ValueError:
            return text  # the checks name it "not a number", at the default's field
        return int(value) if value.is_integer() else value
    if kind is VariableType.BOOLEAN:
        return {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False,
                "0": False}.get(text.lower(), text)  # fmt: skip
    return text


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@functools.lru_cache(maxsize=8)  # one parse per text: the form's checks and the live check's warnings
def _used_names(text: str) -> frozenset[str]:
    try:
        return frozenset(jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(text)))  # noqa: S701 - parsed, never rendered
    except jinja2.TemplateSyntaxError:
        return frozenset()


def _undefined_names(template: Template) -> list[str]:
    missing = sorted(_used_names(template.text) - set(template.keys()) - _PROVIDED)
    return [f"{{{{ {name} }}}} names no variable: add a variable {name!r} or change the text" for name in missing]
