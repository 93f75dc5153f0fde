"""The template library as a user sees it: builtin and own templates, listed, previewed, imported,
exported and deleted, with the rule that builtins are read-only.

Builtin templates ship with namdrunner (:mod:`namdrunner_core.namd.template_files`); a user's own live in
the :class:`~namdrunner_core.store.JobStore`. Template ids resolve the same way everywhere
(:func:`get_template`: the store's first, then the builtins).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import attrs

from namdrunner_core.errors import ValidationError
from namdrunner_core.files import write_text_atomic
from namdrunner_core.jobs.prepare import resolve_template
from namdrunner_core.namd.config import Template, check_config, parse_assignments, preview_config, read_config
from namdrunner_core.namd.template_files import builtin_templates, read_template_file, template_to_text
from namdrunner_core.serde import HIDDEN
from namdrunner_core.store import JobStore


@attrs.frozen(slots=True)
class TemplateInfo:
    """One row of ``template list``."""

    id: str
    name: str
    builtin: bool
    description: str


def list_templates(store: JobStore | None) -> list[TemplateInfo]:
    """Builtin templates, then the user's own (``store`` None: builtins only)."""
    rows = [TemplateInfo(t.id, t.name, True, t.description) for t in builtin_templates().values()]
    if store is not None:
        rows += [TemplateInfo(t.id, t.name, False, t.description) for t in store.list_templates()]
    return rows


def template_ids(store: JobStore | None) -> list[str]:
    """Every template id (for completion and close-match suggestions)."""
    return [t.id for t in list_templates(store)]


def get_template(store: JobStore | None, template_id: str) -> Template:
    """A template by id: the user's own first, then the builtins; a clear error naming close ids."""
    return resolve_template(store, template_id)


def import_template_file(store: JobStore, path: Path, *, template_id: str | None = None) -> Template:
    """Read a template file (see :func:`~namdrunner_core.namd.template_files.read_template_file`) and save it
    as the user's. A builtin's id is refused: builtins are read-only."""
    template = read_template_file(path, template_id=template_id)
    store.save_template(template)
    return template


def delete_template(store: JobStore, template_id: str) -> None:
    """Delete one of the user's templates; a builtin is refused (:class:`ValidationError`)."""
    if template_id in builtin_templates():
        raise ValidationError("template", f"{template_id!r} is builtin and cannot be deleted")
    store.delete_template(template_id)


def export_template(store: JobStore | None, template_id: str, output: Path | None = None) -> str:
    """A template as TOML (JSON when ``output`` ends in ``.json``); written atomically to ``output``
    when given (a temporary name, then renamed: never a half-written file). Returns the text."""
    template = get_template(store, template_id)
    fmt: Literal["toml", "json"] = "json" if output is not None and output.suffix.lower() == ".json" else "toml"
    text = template_to_text(template, fmt=fmt)
    if output is not None:
        write_text_atomic(output, text)
    return text


@attrs.frozen(slots=True)
class TemplatePreview:
    """A template rendered with its defaults and the given values (file names as placeholders),
    and what the preflight (the same as ``job create --dry-run``'s) says of it."""

    __serde_computed__ = ("template_id", "keywords")

    template: Template = attrs.field(metadata=HIDDEN)
    config: str
    problems: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def template_id(self) -> str:
        """The previewed template's id."""
        return self.template.id

    @property
    def keywords(self) -> dict[str, list[str]]:
        """The rendered config's keywords (as NAMD reads them)."""
        return read_config(self.config).keywords

    @property
    def refused(self) -> bool:
        """NAMD would refuse the config."""
        return bool(self.problems)


def preview_template(store: JobStore | None, template_id: str, assignments: list[str]) -> TemplatePreview:
    """Render ``template_id`` with ``KEY=VALUE`` assignments and run the preflight on it."""
    template = get_template(store, template_id)
    text = preview_config(template, parse_assignments(assignments))
    report = check_config(text)
    return TemplatePreview(template, text, tuple(report.problems + report.escapes), tuple(report.warnings))
