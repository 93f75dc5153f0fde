"""NAMD configs: templates with typed variables, rendering, and a reader that parses a config the
way NAMD does (keywords case-insensitive, ``#``/``;#`` comments, Tcl ``set``/``$var``) so that a
rendered config can be checked for what NAMD would refuse BEFORE it is submitted."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any

import attrs
import jinja2
import jinja2.sandbox

from namdrunner_core.errors import ValidationError

INPUT_DIR = "input_files"
OUTPUT_DIR = "outputs"
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,79}$")


class VariableType(enum.StrEnum):
    """What kind of value a template variable takes."""

    NUMBER = "number"
    INTEGER = "integer"
    TEXT = "text"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    FILE = "file"


@attrs.frozen(slots=True)
class Variable:
    """One template variable: its key, label, help, type, bounds and default."""

    key: str
    label: str
    type: VariableType
    help: str = ""
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: list[str] = attrs.Factory(list)
    extensions: list[str] = attrs.Factory(list)
    required: bool = True
    multiple_of: int | None = None


@attrs.frozen(slots=True)
class Template:
    """A NAMD config template: Jinja2 text plus typed variables."""

    id: str
    name: str
    text: str
    variables: list[Variable]
    description: str = ""
    builtin: bool = False

    def variable(self, key: str) -> Variable:
        """The variable called ``key``."""
        for v in self.variables:
            if v.key == key:
                return v
        raise ValidationError(key, f"template {self.id!r} has no variable {key!r}; it has {', '.join(self.keys())}")

    def keys(self) -> list[str]:
        """Variable keys, in order."""
        return [v.key for v in self.variables]

    def defaults(self) -> dict[str, Any]:
        """Every variable's default."""
        return {v.key: v.default for v in self.variables}

    def file_variables(self) -> list[Variable]:
        """The variables that name input files."""
        return [v for v in self.variables if v.type is VariableType.FILE]


def check_template(t: Template) -> None:
    """Reject a malformed template (bad id, keys, bounds, Jinja2 syntax) with a clear message."""
    if not _TEMPLATE_ID.match(t.id):
        raise ValidationError("id", f"{t.id!r} must be letters, digits, '_' or '-' (at most 80)")
    seen: set[str] = set()
    for v in t.variables:
        if not _KEY.match(v.key):
            raise ValidationError(f"variables.{v.key}", "keys are lower-case letters, digits and '_'")
        if v.key in seen:
            raise ValidationError(f"variables.{v.key}", "defined twice")
        seen.add(v.key)
        if v.min is not None and v.max is not None and v.min > v.max:
            raise ValidationError(f"variables.{v.key}", f"min {v.min:g} is above max {v.max:g}")
        if v.type is VariableType.CHOICE and not v.choices:
            raise ValidationError(f"variables.{v.key}", "a choice variable needs choices")
        if v.default is not None and v.type is not VariableType.FILE:
            coerce_value(v, v.default)
    try:
        _jinja().parse(t.text)
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError("text", f"template syntax error on line {exc.lineno}: {exc.message}") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def coerce_value(v: Variable, value: Any) -> Any:
    """``value`` converted to the variable's type and checked against its bounds.

    Strings are accepted for every type (they come from ``--set key=value``).
    """
    field = v.key
    if v.type in (VariableType.NUMBER, VariableType.INTEGER):
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ValidationError(field, f"{value!r} is not a number") from None
        if not _is_number(value):
            raise ValidationError(field, f"{value!r} is not a number")
        num = float(value)
        if num != num or num in (float("inf"), float("-inf")):
            raise ValidationError(field, f"{value!r} is not a finite number")
        if v.type is VariableType.INTEGER:
            if not num.is_integer():
                raise ValidationError(field, f"{value!r} is not a whole number")
            num = int(num)
        if v.min is not None and num < v.min:
            raise ValidationError(field, f"{num:g} is below the minimum {v.min:g}")
        if v.max is not None and num > v.max:
            raise ValidationError(field, f"{num:g} is above the maximum {v.max:g}")
        if v.multiple_of and int(num) % v.multiple_of:
            lo = int(num) // v.multiple_of * v.multiple_of
            raise ValidationError(
                field,
                f"{num:g} is not a multiple of {v.multiple_of}; use {lo or v.multiple_of} or {lo + v.multiple_of}",
            )
        if v.type is VariableType.INTEGER:
            return int(num)
        return int(num) if float(num).is_integer() else num
    if v.type is VariableType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "no", "off", "0"):
            return False
        raise ValidationError(field, f"{value!r} is not true/false")
    if v.type is VariableType.CHOICE:
        if str(value) not in v.choices:
            raise ValidationError(field, f"{value!r} is not one of {', '.join(v.choices)}")
        return str(value)
    if v.type is VariableType.FILE:
        from namdrunner_core.namd.inputs import check_file_name

        name = str(value)
        check_file_name(name, field=field)
        if v.extensions and not any(name.lower().endswith(ext.lower()) for ext in v.extensions):
            raise ValidationError(field, f"{name!r} must end in {' or '.join(v.extensions)}")
        return name
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValidationError(field, "text values are one line")
    from namdrunner_core.namd.inputs import TCL_SPECIAL

    if TCL_SPECIAL.search(text):
        raise ValidationError(
            field, f"{text!r} holds one of [ ] {{ }} $ \" \\ ; which NAMD's Tcl would run or substitute"
        )
    return text


def validate_values(template: Template, values: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``values``, each coerced and bound-checked. Unknown keys are errors."""
    unknown = sorted(set(values) - set(template.keys()))
    if unknown:
        raise ValidationError(
            unknown[0],
            f"template {template.id!r} has no variable {unknown[0]!r}; it has {', '.join(template.keys())}",
        )
    out: dict[str, Any] = {}
    for v in template.variables:
        raw = values.get(v.key, v.default)
        if raw is None or raw == "":
            if v.required:
                raise ValidationError(
                    v.key,
                    f"is required ({v.label})"
                    + (f"; give a file ending in {' or '.join(v.extensions)}" if v.type is VariableType.FILE else ""),
                )
            out[v.key] = None
            continue
        out[v.key] = coerce_value(v, raw)
    return out


def _jinja() -> jinja2.Environment:
    env = jinja2.sandbox.SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    return env


def render_config(template: Template, values: Mapping[str, Any]) -> str:
    """Render ``template`` with validated ``values``. File variables become ``input_files/<name>``;
    whole numbers render without decimals."""
    checked = validate_values(template, values)
    context: dict[str, Any] = {}
    for v in template.variables:
        value = checked[v.key]
        if v.type is VariableType.FILE and value is not None:
            value = f"{INPUT_DIR}/{value}"
            if any(ch.isspace() for ch in value):
                value = "{" + value + "}"  # Tcl braces keep a name with spaces one word for NAMD
        context[v.key] = value
    context["output_dir"] = OUTPUT_DIR
    try:
        return _jinja().from_string(template.text).render(context)
    except jinja2.TemplateError as exc:
        raise ValidationError("template", f"{template.id}: {exc}") from None


# -- reading configs back, as NAMD does -----------------------------------------------------------

_MULTI = {"parameters", "extrabondsfile"}


@attrs.define
class NamdConfig:
    """Keywords (lower-cased) to values, in the order NAMD reads them, plus run/minimize commands."""

    keywords: dict[str, list[str]] = attrs.Factory(dict)
    commands: list[tuple[str, int]] = attrs.Factory(list)
    tcl_vars: dict[str, str] = attrs.Factory(dict)
    duplicates: list[str] = attrs.Factory(list)
    dynamic: bool = False

    def get(self, key: str) -> str | None:
        """Last value of ``key`` (case-insensitive), or None."""
        values = self.keywords.get(key.lower())
        return values[-1] if values else None

    def all(self, key: str) -> list[str]:
        """Every value of a repeatable ``key``."""
        return list(self.keywords.get(key.lower(), []))

    def on(self, key: str) -> bool:
        """True when ``key`` is set to on/yes/true."""
        v = self.get(key)
        return v is not None and v.lower() in ("on", "yes", "true", "1")

    def number(self, key: str, default: float | None = None) -> float | None:
        """``key`` as a float (None or ``default`` when absent or not numeric)."""
        v = self.get(key)
        if v is None:
            return default
        try:
            return float(v.split()[0])
        except (ValueError, IndexError):
            return default


def _strip_comment(line: str) -> str:
    s = line.strip()
    if s.startswith("#"):
        return ""
    s = s.split(";#", 1)[0]
    s = re.split(r"\s#", s, maxsplit=1)[0]
    return s.strip()


def read_config(text: str) -> NamdConfig:
    """Parse a NAMD config's static part. Tcl blocks (``proc``, ``if``, loops) mark it ``dynamic``."""
    cfg = NamdConfig()
    depth = 0
    for raw in text.splitlines():
        if depth > 0:
            depth += raw.count("{") - raw.count("}")
            continue
        line = _strip_comment(raw)
        if not line:
            continue
        if line.count("{") > line.count("}"):
            depth = line.count("{") - line.count("}")
            cfg.dynamic = True
            continue

        def sub(m: re.Match[str]) -> str:
            name = m.group(1) or m.group(2)
            return cfg.tcl_vars.get(name, m.group(0))

        line = re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, line)
        if "[" in line:
            cfg.dynamic = True
        first, _, rest = line.partition(" ")
        if "=" in first:
            first, _, tail = first.partition("=")
            rest = (tail + " " + rest).strip()
        rest = rest.strip().lstrip("=").strip()
        key = first.lower()
        if key == "set":
            name, _, val = rest.partition(" ")
            cfg.tcl_vars[name] = val.strip().strip('{}"')
            continue
        if key in ("run", "minimize"):
            parts = rest.split()
            if parts and parts[0] == "norepeat":
                parts = parts[1:]
            try:
                cfg.commands.append((key, int(parts[0])))
            except (ValueError, IndexError):
                cfg.dynamic = True
            continue
        if key in (
            "source",
            "print",
            "puts",
            "proc",
            "reinitvels",
            "rescalevels",
            "output",
            "checkpoint",
            "exit",
        ):
            continue
        value = rest.strip("{} ")
        if key in cfg.keywords and key not in _MULTI and not cfg.commands:
            cfg.duplicates.append(first)
        cfg.keywords.setdefault(key, []).append(value)
    return cfg


def _cell_volume(cfg: NamdConfig) -> float:
    vecs = []
    for n in (1, 2, 3):
        v = cfg.get(f"cellBasisVector{n}")
        if v is None:
            return 0.0
        try:
            vecs.append([float(x) for x in v.split()[:3]])
        except ValueError:
            return 0.0
    a, b, c = vecs
    return abs(
        a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])
    )


def preflight(text: str) -> list[str]:
    """What NAMD would refuse in this config, as messages; empty when it would start.

    Covers the refusals seen in practice: PME without a periodic cell, extraBonds on without a
    file, missing required options, temperature together with binvelocities (or neither), step
    counts that are not multiples of stepspercycle, and keywords defined twice.
    """
    cfg = read_config(text)
    problems: list[str] = []
    for key in ("structure", "coordinates", "outputName", "cutoff", "exclude"):
        if cfg.get(key) is None:
            problems.append(f"'{key}' is a required configuration option")
    if not cfg.all("parameters") and not cfg.on("amber"):
        problems.append("parameters not found in the configuration file")
    periodic = _cell_volume(cfg) > 0 or cfg.get("extendedSystem") is not None
    if cfg.on("PME") and not periodic:
        problems.append("PME requires periodic boundary conditions: set cellBasisVector1-3 or extendedSystem")
    if cfg.on("PME") and cfg.get("PMEGridSpacing") is None and cfg.get("PMEGridSizeX") is None:
        problems.append("PME needs PMEGridSpacing (or PMEGridSizeX/Y/Z)")
    if cfg.on("extraBonds") and not cfg.all("extraBondsFile"):
        problems.append("extraBonds is on but no extraBondsFile is given")
    has_temp = cfg.get("temperature") is not None
    has_vel = cfg.get("binvelocities") is not None or cfg.get("velocities") is not None
    if has_temp and has_vel:
        problems.append("cannot specify both an initial temperature and a velocity file")
    if any(c == "run" for c, _ in cfg.commands) and not (has_temp or has_vel):
        problems.append("dynamics needs either an initial temperature or a velocity file")
    spc = int(cfg.number("stepspercycle", 20) or 20)
    first = int(cfg.number("firsttimestep", 0) or 0)
    if first % spc:
        problems.append(f"firsttimestep {first} is not a multiple of stepspercycle {spc}")
    for kind, n in cfg.commands:
        if kind == "run" and n % spc:
            problems.append(f"run {n}: the number of steps must be a multiple of stepspercycle {spc}")
    nb = int(cfg.number("nonbondedFreq", 1) or 1)
    fe = int(cfg.number("fullElectFrequency", nb) or nb)
    if spc % nb or spc % fe or fe % nb:
        problems.append(
            f"stepspercycle {spc} must be a multiple of nonbondedFreq {nb} and fullElectFrequency {fe}, "
            "and fullElectFrequency a multiple of nonbondedFreq"
        )
    cutoff = cfg.number("cutoff")
    pld = cfg.number("pairlistdist")
    if cutoff is not None and pld is not None and pld < cutoff:
        problems.append(f"pairlistdist {pld:g} must be >= cutoff {cutoff:g}")
    sw = cfg.number("switchdist")
    if cfg.get("switching") is None or cfg.on("switching"):
        if sw is None and cutoff is not None and cfg.get("switching") is not None:
            problems.append("switchdist must be defined when switching is on")
        if sw is not None and cutoff is not None and not 0 < sw <= cutoff:
            problems.append(f"switchdist {sw:g} must be between 0 and cutoff {cutoff:g}")
    for dup in cfg.duplicates:
        problems.append(f"'{dup}' is defined more than once")
    return problems


def input_references(text: str) -> list[str]:
    """Every input file the config names (paths as written, relative to the config's dir)."""
    cfg = read_config(text)
    keys = (
        "structure",
        "coordinates",
        "bincoordinates",
        "binvelocities",
        "velocities",
        "extendedSystem",
        "consref",
        "conskfile",
        "fixedAtomsFile",
        "parmfile",
        "ambercoor",
    )
    refs = [v for k in keys for v in cfg.all(k)]
    refs += cfg.all("parameters") + cfg.all("extraBondsFile")
    return refs


def total_steps(text: str) -> int | None:
    """Σ of the config's static run/minimize counts; None when Tcl makes them dynamic.

    A config with no run/minimize command runs ``numsteps`` (NAMD's last step) from ``firsttimestep``.
    """
    cfg = read_config(text)
    if cfg.dynamic:
        return None
    if not cfg.commands:
        numsteps = cfg.number("numsteps", None)
        first = cfg.number("firsttimestep", 0) or 0
        if numsteps is None or numsteps <= first:
            return None
        return int(numsteps - first)
    return sum(n for _, n in cfg.commands)


def parse_assignments(items: list[str] | tuple[str, ...], *, option: str = "--set") -> dict[str, str]:
    """``["temperature=310", "steps=4800"]`` -> ``{"temperature": "310", "steps": "4800"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValidationError(option, f"{item!r} is not KEY=VALUE (e.g. {option} temperature=310)")
        out[key] = value.strip()
    return out


def preview_config(template: Template, values: Mapping[str, Any]) -> str:
    """Render with placeholder names for file variables not given (the template page's preview)."""
    filled = dict(values)
    for v in template.file_variables():
        if not filled.get(v.key) and v.required:
            ext = v.extensions[0] if v.extensions else ""
            filled[v.key] = f"{v.key}{ext}"
    return render_config(template, filled)
