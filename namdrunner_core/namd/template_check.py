"""Whether a template is well formed: its id, its variables' keys, bounds and defaults, its aliases
and its Jinja2 syntax; every problem at once (an editor shows each at its field)."""

from __future__ import annotations

import jinja2

from namdrunner_core.errors import ValidationError, validation_error
from namdrunner_core.namd.config import _KEY, _TEMPLATE_ID, Template, Variable, VariableType, _jinja, coerce_value


def check_template(t: Template) -> None:
    """Reject a malformed template (bad id, keys, bounds, Jinja2 syntax): every problem at once."""
    if problems := template_problems(t):
        raise validation_error(problems)


def template_problems(t: Template, *, row_fields: bool = False) -> list[tuple[str, str]]:
    """Every ``(field, message)`` that makes ``t`` malformed. A variable's field is
    ``variables.<key>``, or with ``row_fields`` ``variables.<index>`` (a form's row: its key may be
    the very mistake) and the attribute at fault: ``variables.2.min``."""
    problems: list[tuple[str, str]] = []
    if not _TEMPLATE_ID.match(t.id):
        problems.append(("id", f"{t.id!r} must be letters, digits, '_' or '-' (at most 80)"))
    seen: set[str] = set()
    for index, v in enumerate(t.variables):
        field = f"variables.{v.key}"
        if problem := _variable_problem(v, seen):
            attr, message = problem
            problems.append((f"variables.{index}.{attr}", message) if row_fields else (field, message))
        seen.add(v.key)
    for alias, target in t.aliases.items():
        if target not in seen or alias in seen:
            problems.append((f"aliases.{alias}", f"must name a variable ({target!r}) and not be one itself"))
    try:
        _jinja().parse(t.text)
    except jinja2.TemplateSyntaxError as exc:
        problems.append(("text", f"template syntax error on line {exc.lineno}: {exc.message}"))
    return problems


def _variable_problem(v: Variable, seen: set[str]) -> tuple[str, str] | None:
    if not _KEY.match(v.key):
        return "key", f"{v.key!r}: keys are lower-case letters, digits and '_', starting with a letter"
    if v.key in seen:
        return "key", f"{v.key!r} is defined twice"
    if v.min is not None and v.max is not None and v.min > v.max:
        return "min", f"min {v.min:g} is above max {v.max:g}"
    if v.type is VariableType.CHOICE and not v.choices:
        return "choices", "a choice variable needs choices"
    if v.default is not None and v.type is not VariableType.FILE:
        try:
            coerce_value(v, v.default)
        except ValidationError as exc:
            return "default", exc.reason
    return None
