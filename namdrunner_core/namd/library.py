"""Builtin templates, and importing/exporting templates as TOML or JSON."""

from __future__ import annotations

import json
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import attrs

from namdrunner_core.errors import NotFoundError, ValidationError
from namdrunner_core.namd.config import Template, check_template
from namdrunner_core.serde import converter, structure


def _load(data: dict[str, Any], source: str) -> Template:
    try:
        template = structure(data, Template, source=source)
    except ValueError as exc:
        raise ValidationError("template", str(exc)) from None
    check_template(template)
    return template


@lru_cache(maxsize=1)
def builtin_templates() -> dict[str, Template]:
    """The templates shipped with namdrunner, by id."""
    out: dict[str, Template] = {}
    for entry in resources.files("namdrunner_core.namd.templates").iterdir():
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            t = _load(data, f"builtin template {entry.name}")
            out[t.id] = attrs.evolve(t, builtin=True)
    return out


def builtin_template(template_id: str) -> Template:
    """One builtin template by id."""
    try:
        return builtin_templates()[template_id]
    except KeyError:
        raise NotFoundError(
            f"unknown template {template_id!r}; builtin: {', '.join(sorted(builtin_templates()))}"
        ) from None


def template_from_text(text: str, *, fmt: Literal["toml", "json"], source: str) -> Template:
    """Parse an exported template (TOML or JSON); errors name the source and the key path."""
    try:
        data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError("template", f"{source}: not valid {fmt.upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError("template", f"{source}: expected a table/object at the top level")
    data.pop("builtin", None)
    return attrs.evolve(_load(data, source), builtin=False)


def template_to_text(template: Template, *, fmt: Literal["toml", "json"]) -> str:
    """Serialise a template for sharing; ``template_from_text`` reads it back unchanged."""
    data = converter.unstructure(attrs.evolve(template, builtin=False))
    data.pop("builtin", None)
    for v in data["variables"]:
        for key in [k for k, val in v.items() if val is None or val == []]:
            del v[key]
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    import tomli_w

    return tomli_w.dumps(data, multiline_strings=True)
