"""The library of workflow files: the builtin ones (package data) and the user's own."""

from __future__ import annotations

import re
from importlib import resources as package_data
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from namdrunner_core.errors import ValidationError
from namdrunner_core.files import write_text_atomic
from namdrunner_core.paths import config_dir
from namdrunner_core.workflow.file_model import (
    read_workflow_file,
)

if TYPE_CHECKING:
    pass


@attrs.frozen(slots=True)
class WorkflowFileInfo:
    """One row of ``workflow template list``."""

    id: str
    name: str
    builtin: bool
    stages: int
    replicas: int
    description: str
    path: str


def _builtin_dir() -> Path:
    return Path(str(package_data.files("namdrunner_core.workflow.files")))


def user_workflow_dir() -> Path:
    """``<config dir>/workflows``: the user's own workflow files (one ``<id>.toml`` each)."""
    return config_dir() / "workflows"


def _library() -> dict[str, tuple[Path, bool]]:
    found = {p.stem: (p, True) for p in sorted(_builtin_dir().glob("*.toml"))}
    d = user_workflow_dir()
    if d.is_dir():
        found.update({p.stem: (p, False) for p in sorted(d.glob("*.toml")) if p.stem not in found})
    return found


def list_workflow_files() -> list[WorkflowFileInfo]:
    """Builtin workflow files, then the user's (a file that no longer reads is listed with its error)."""
    rows = []
    for wid, (path, builtin) in _library().items():
        try:
            wf = read_workflow_file(path)
            rows.append(WorkflowFileInfo(wid, wf.name, builtin, len(wf.stages), wf.replicas, wf.description, str(path)))
        except ValidationError as exc:
            rows.append(WorkflowFileInfo(wid, wid, builtin, 0, 0, f"cannot be read: {exc.message}", str(path)))
    return rows


def workflow_file_path(workflow_template: str) -> Path:
    """The file of a library entry by id (builtins first; a close id is suggested)."""
    library = _library()
    if workflow_template not in library:
        import difflib

        close = difflib.get_close_matches(workflow_template, list(library), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ValidationError(
            "--from", f"no workflow template {workflow_template!r}{hint} (`namdrunner workflow template list`)"
        )
    return library[workflow_template][0]


def import_workflow_file(path: Path, *, workflow_id: str | None = None) -> WorkflowFileInfo:
    """Copy a workflow file into the user's library after reading it (a file that does not read, or
    would replace a builtin, is refused); written atomically."""
    wf = read_workflow_file(path)
    wid = workflow_id or re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem).strip("_") or "workflow"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,80}", wid):
        raise ValidationError("--id", f"{wid!r}: letters, digits, '-' and '_' only")
    if (_builtin_dir() / f"{wid}.toml").exists():
        raise ValidationError("--id", f"{wid!r} is a builtin workflow template; give yours another id (--id)")
    d = user_workflow_dir()
    d.mkdir(parents=True, exist_ok=True)
    target = write_text_atomic(d / f"{wid}.toml", path.read_text(encoding="utf-8"))
    return WorkflowFileInfo(wid, wf.name, False, len(wf.stages), wf.replicas, wf.description, str(target))


def export_workflow_template(workflow_template: str, output: Path) -> Path:
    """Copy a library workflow file to ``output``, atomically (a temporary name, then renamed)."""
    return write_text_atomic(output, workflow_file_path(workflow_template).read_text(encoding="utf-8"))
