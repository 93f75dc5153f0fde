"""Builtin templates, and importing/exporting templates as TOML or JSON."""

from __future__ import annotations

import json
import re
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeGuard

import attrs

from namdrunner_core.errors import NotFoundError, ValidationError
from namdrunner_core.namd.config import (
    INPUT_DIR,
    Template,
    Variable,
    VariableType,
    preview_config,
    read_config,
    render_config,
)
from namdrunner_core.namd.reader import split_commands
from namdrunner_core.namd.template_check import check_template
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


# -- a raw NAMD config becomes a template -----------------------------------------------------------

#: Keywords whose value is an input file, and the variable key each becomes (``_2``, ``_3`` for repeats).
_FILE_KEYWORDS = {
    "structure": "structure",
    "coordinates": "coordinates",
    "parameters": "parameters",
    "extrabondsfile": "extrabonds",
    "bincoordinates": "restart_coordinates",
    "binvelocities": "restart_velocities",
    "velocities": "velocities",
    "extendedsystem": "restart_xsc",
    "consref": "consref",
    "conskfile": "conskfile",
    "fixedatomsfile": "fixed_atoms_file",
    "parmfile": "parmfile",
    "ambercoor": "ambercoor",
    "colvarsconfig": "colvars_config",
    "source": "source",
}
#: Keywords whose number becomes a typed variable when it appears exactly once (key, type).
_NUMBER_KEYWORDS = {
    "run": ("steps", VariableType.INTEGER),
    "numsteps": ("steps", VariableType.INTEGER),
    "minimize": ("minimize_steps", VariableType.INTEGER),
    "temperature": ("temperature", VariableType.NUMBER),
    "langevintemp": ("temperature", VariableType.NUMBER),
    "dcdfreq": ("dcd_freq", VariableType.INTEGER),
    "restartfreq": ("restart_freq", VariableType.INTEGER),
    "outputenergies": ("energy_freq", VariableType.INTEGER),
    "xstfreq": ("xst_freq", VariableType.INTEGER),
}
_VALUE_LINE = re.compile(r"^(\s*)([A-Za-z][A-Za-z0-9_]*)(\s*=\s*|\s+)([^\s;#{}\[\]$\"\\]+)(.*)$")
_JINJA_OPEN = re.compile(r"\{[{%#]")


def _escape_jinja(text: str) -> str:
    """Literal text inside a Jinja2 template: each '{{', '{%', '{#' becomes an expression printing it."""
    return _JINJA_OPEN.sub(lambda m: "{{ '" + m.group(0) + "' }}", text)


def _extension(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lstrip(".")
    return "." + name.rsplit(".", 1)[1].lower() if "." in name else ""  # the last suffix: x.restart.coor -> .coor


def template_from_namd_config(text: str, *, template_id: str, name: str = "", source: str = "") -> Template:
    """A raw NAMD config (``.namd``, ``.conf``, ``.inp``) as a template, nothing of its text lost.

    Every input file it names (structure, coordinates, parameters, extraBonds, restart files,
    ``source``d files, ...) becomes a file variable with that file's extension, so ``job create --file``
    fills it; obvious numbers that appear once (``run``/``numsteps``, ``temperature``/``langevinTemp``,
    output frequencies) become typed variables with the config's values as defaults. ``template
    preview`` with the defaults reproduces the config line for line (CRLF aside). Values Tcl computes
    (``$var``, ``[expr]``) stay as they are.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    file_counts: dict[str, int] = {}
    number_hits: dict[str, list[tuple[int, str, tuple[str, ...]]]] = {}  # var key -> (line, keyword, groups)
    plan: dict[int, tuple[str, str, str, str, str]] = {}  # line -> (indent, keyword, sep, var key, rest)
    variables: list[Variable] = []
    for i, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        m = _VALUE_LINE.match(line)
        if not m:
            continue
        indent, keyword, sep, value, rest = m.groups()
        kw = keyword.lower()
        if kw in _FILE_KEYWORDS:
            base = _FILE_KEYWORDS[kw]
            file_counts[base] = file_counts.get(base, 0) + 1
            key = base if file_counts[base] == 1 else f"{base}_{file_counts[base]}"
            ext = _extension(value)
            variables.append(
                Variable(
                    key=key,
                    label=f"{keyword} file",
                    type=VariableType.FILE,
                    help=f"{keyword} in the imported config: {value}",
                    extensions=[ext] if ext else [],
                    original=value,
                )
            )
            plan[i] = (indent, keyword, sep, key, rest)
        elif kw in _NUMBER_KEYWORDS:
            number_hits.setdefault(_NUMBER_KEYWORDS[kw][0], []).append((i, kw, m.groups()))
    for key, hits in number_hits.items():
        values = {g[3] for _, _, g in hits}
        kinds = {k for _, k, _ in hits}
        if len(values) != 1 or (key == "steps" and len(hits) != 1) or (key != "temperature" and len(kinds) != 1):
            continue  # several different values, or several runs: left as written
        literal = values.pop()
        vtype = _NUMBER_KEYWORDS[hits[0][1]][1]
        try:
            number: int | float = int(literal) if vtype is VariableType.INTEGER else float(literal)
        except ValueError:
            continue
        var = Variable(
            key=key, label=key.replace("_", " "), type=vtype, default=number, min=0, help=f"from {hits[0][1]}"
        )
        probe = Template(id="probe", name="probe", text="{{ " + key + " }}", variables=[var])
        if render_config(probe, {}) != literal:  # must render back exactly as written ("310.0" renders "310")
            continue
        variables.append(var)
        for i, _kw, (indent, keyword, sep, _value, rest) in hits:
            plan[i] = (indent, keyword, sep, key, rest)
    out_lines = []
    for i, line in enumerate(lines):
        if i in plan:
            indent, keyword, sep, key, rest = plan[i]
            out_lines.append(f"{indent}{keyword}{sep}{{{{ {key} }}}}{_escape_jinja(rest)}")
        else:
            out_lines.append(_escape_jinja(line))
    template = Template(
        id=template_id,
        name=name or template_id,
        text="\n".join(out_lines),
        variables=variables,
        description=f"imported from {source or 'a NAMD config'}",
    )
    check_template(template)
    restored = preview_config(template, {})
    if restored != "\n".join(lines):  # never lose text: refuse rather than import something different
        raise ValidationError("template", f"{source or template_id}: the config could not be imported without changes")
    return template


RAW_CONFIG_SUFFIXES = (".namd", ".conf", ".inp", ".cfg")
#: Keywords of which a NAMD config names at least one; a file with none of them is not a config.
_CONFIG_MARKERS = ("structure", "coordinates", "outputname", "parameters", "parmfile", "ambercoor", "bincoordinates",
                   "cellbasisvector1", "extendedsystem", "timestep", "cutoff", "numsteps")  # fmt: skip
#: A value written as ``<topology>``: a form's blank, which NAMD would take as a file name.
_PLACEHOLDER = re.compile(r"<[A-Za-z][\w .-]{0,60}>")


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None  # template_from_text says what is wrong with it


def _toml_table_or_none(text: str) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    return data if isinstance(data, dict) and ("text" in data or "variables" in data) else None


def template_kind(text: str, suffix: str) -> Literal["json", "toml", "namd"] | None:
    """What a file holds, read from its CONTENT (NAMD ignores file names, and so does namdrunner:
    Longbow's ``benchmark.in`` or ``r2.namd.tcl`` are configs): a JSON object, a TOML template
    (a table with ``text``/``variables``), a NAMD config (commands, at least one NAMD keyword such
    as ``structure`` or ``run``), or None. The suffix only breaks a tie."""
    if text.lstrip().startswith("{") and isinstance(_json_or_none(text), dict):
        return "json"
    if _toml_table_or_none(text) is not None:
        return "toml"
    cfg = read_config(text)
    if cfg.commands or any(k in cfg.keywords or k in cfg.unknown for k in _CONFIG_MARKERS):
        return "namd"
    if suffix == ".json":
        return "json"
    if suffix == ".toml":
        return "toml"
    return None


def placeholder_problems(text: str) -> list[str]:
    """``<topology>``-style blanks in a config's values: NAMD cannot run such a config (it would look
    for a file literally named ``<topology>``)."""
    out = []
    for line, command in split_commands(text):
        m = _PLACEHOLDER.search(command)
        if m and not command.lstrip().startswith("#"):
            out.append(f"line {line}: {m.group(0)} is a placeholder, not a value")
    return out


def read_template_file(path: Path, *, template_id: str | None = None) -> Template:
    """A template from a file: TOML/JSON as exported, the desktop app's JSON, or a raw NAMD config
    (whose input files become file variables), told apart by content, never by the file's name.
    Nothing is saved (see :func:`namdrunner_core.template_library.import_template_file`).

    Raises :class:`ValidationError` for a file that is not UTF-8 text, not valid TOML/JSON, a config
    with ``<placeholder>`` values, or one that would replace a builtin template.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("template", f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    suffix = path.suffix.lower()
    kind = template_kind(text, suffix)
    if kind == "namd":
        blanks = placeholder_problems(text)
        if blanks:
            raise ValidationError(
                "template",
                f"{path}: " + "; ".join(blanks[:5]) + ": NAMD cannot run it; fill in the values, or write a "
                "template with variables (`namdrunner template export explicit_solvent_npt_v1` shows one)",
            )
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem).strip("_") or "imported"
        template = template_from_namd_config(text, template_id=template_id or stem, name=path.name, source=str(path))
    elif kind in ("toml", "json"):
        data = _json_or_none(text) if kind == "json" else None
        if is_app_template(data):
            template = template_from_app_json(data, source=str(path))
        else:
            template = template_from_text(text, fmt=kind, source=str(path))
        if template_id:
            template = attrs.evolve(template, id=template_id)
    else:
        raise ValidationError(
            "template",
            f"{path}: neither a template (TOML or JSON with its text and variables) nor a NAMD config (no "
            "structure, coordinates, outputName, parameters or run/minimize command in it)",
        )
    if template.id in builtin_templates():
        raise ValidationError("id", f"{template.id!r} is a builtin template; give yours another id (--id)")
    check_template(template)
    return template


_APP_PLAIN_KINDS = {"Text": VariableType.TEXT, "Boolean": VariableType.BOOLEAN}
_APP_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def is_app_template(data: Any) -> TypeGuard[dict[str, Any]]:
    """True for the NAMDRunner desktop app's template JSON (``namd_config_template`` + typed variables)."""
    return isinstance(data, dict) and "namd_config_template" in data and isinstance(data.get("variables"), dict)


def template_from_app_json(data: dict[str, Any], *, source: str) -> Template:
    """A template from the desktop app's JSON shape: ``{id, name, description, namd_config_template,
    variables: {key: {"Number": {min, max, default}} | {"Text": {default}} | {"Boolean": {default}} |
    {"FileUpload": {extensions}}}}`` with ``{{key}}`` placeholders (see the fixtures' SOURCES.md)."""
    variables: list[Variable] = []
    for key, spec in data["variables"].items():
        field = f"variables.{key}"
        if not isinstance(spec, dict) or len(spec) != 1:
            raise ValidationError(field, f"{source}: expected one of Number, Text, Boolean, FileUpload")
        kind, body = next(iter(spec.items()))
        body = body if isinstance(body, dict) else {}
        label = str(body.get("label") or key.replace("_", " "))
        help_text = str(body.get("help_text") or body.get("help") or "")
        if kind == "Number":
            variables.append(
                Variable(
                    key=key,
                    label=label,
                    type=VariableType.NUMBER,
                    help=help_text,
                    default=body.get("default"),
                    min=body.get("min"),
                    max=body.get("max"),
                )
            )
        elif kind in _APP_PLAIN_KINDS:
            variables.append(
                Variable(key=key, label=label, type=_APP_PLAIN_KINDS[kind], help=help_text, default=body.get("default"))
            )
        elif kind == "FileUpload":
            exts = [str(e) if str(e).startswith(".") else f".{e}" for e in body.get("extensions") or []]
            variables.append(Variable(key=key, label=label, type=VariableType.FILE, help=help_text, extensions=exts))
        else:
            raise ValidationError(field, f"{source}: unknown variable kind {kind!r}")
    text = data["namd_config_template"]
    if not isinstance(text, str):
        raise ValidationError("namd_config_template", f"{source}: expected the config text")
    files = {v.key for v in variables if v.type is VariableType.FILE}
    out: list[str] = []
    pos = 0
    for m in _APP_PLACEHOLDER.finditer(text):
        literal = text[pos : m.start()]
        if m.group(1) in files and literal.endswith(f"{INPUT_DIR}/"):
            literal = literal[: -len(INPUT_DIR) - 1]  # namdrunner puts input_files/ in front itself
        out.append(_escape_jinja(literal) + "{{ " + m.group(1) + " }}")
        pos = m.end()
    out.append(_escape_jinja(text[pos:]))
    template = Template(
        id=str(data.get("id") or ""),
        name=str(data.get("name") or data.get("id") or ""),
        text="".join(out),
        variables=variables,
        description=str(data.get("description") or ""),
    )
    check_template(template)
    unknown = sorted({m.group(1) for m in _APP_PLACEHOLDER.finditer(text)} - {v.key for v in variables})
    if unknown:
        raise ValidationError(
            "namd_config_template", f"{source}: placeholders without a variable: {', '.join(unknown)}"
        )
    return template
