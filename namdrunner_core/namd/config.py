"""NAMD configs: templates with typed variables, rendering, and a reader that parses a config the
way NAMD does (keywords case-insensitive, ``#``/``;#`` comments, Tcl ``set``/``$var``) so that a
rendered config can be checked for what NAMD would refuse BEFORE it is submitted."""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import jinja2
import jinja2.sandbox

from namdrunner_core.errors import ValidationError, validation_error
from namdrunner_core.namd.inputs import TCL_SPECIAL, check_file_name
from namdrunner_core.namd.reader import NamdConfig as NamdConfig  # re-exported: the reader is namd.reader
from namdrunner_core.namd.reader import read_config as read_config

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
    #: For a file variable of a template imported from a raw config: the path as the config wrote it
    #: (``template preview`` shows it, so the original text is reproduced).
    original: str | None = None


@attrs.frozen(slots=True)
class Template:
    """A NAMD config template: Jinja2 text plus typed variables."""

    id: str
    name: str
    text: str
    variables: list[Variable]
    description: str = ""
    builtin: bool = False
    #: Other names a value may be given under (alias -> variable key): the NAMDRunner desktop app's
    #: keys for the builtin templates it shares (``structure_file`` -> ``structure``, ...).
    aliases: dict[str, str] = attrs.Factory(dict)

    def canonical(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with aliased keys renamed to the variable keys; an alias beside its key is an error."""
        out: dict[str, Any] = {}
        for key, value in values.items():
            target = self.aliases.get(key, key)
            if target in out:
                raise ValidationError(key, f"given twice: as {key!r} and as {target!r}")
            out[target] = value
        return out

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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def coerce_value(v: Variable, value: Any) -> Any:  # noqa: C901 - one branch per NAMD value type, as NAMD's own parser
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
        num = float(value) if abs(value) < 1e300 else float("inf")  # (a float of 400 digits overflows)
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
        name = str(value)
        check_file_name(name, field=field)
        if v.extensions and not any(name.lower().endswith(ext.lower()) for ext in v.extensions):
            raise ValidationError(field, f"{name!r} must end in {' or '.join(v.extensions)}")
        return name
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValidationError(field, "text values are one line")
    if TCL_SPECIAL.search(text):
        raise ValidationError(
            field, f"{text!r} holds one of [ ] {{ }} $ \" \\ ; which NAMD's Tcl would run or substitute"
        )
    return text


def validate_values(template: Template, values: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``values``, each coerced and bound-checked. Unknown keys are errors;
    the template's aliases (the desktop app's keys) are accepted."""
    values = template.canonical(values)
    if unknown := sorted(set(values) - set(template.keys())):
        close = difflib.get_close_matches(unknown[0], template.keys(), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        listed = f"`namdrunner template show {template.id}` lists its {len(template.keys())} variables"
        raise ValidationError(unknown[0], f"template {template.id!r} has no variable {unknown[0]!r}{hint} ({listed})")
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []  # every variable's problem, all at once
    for v in template.variables:
        raw = values.get(v.key, v.default)
        if raw is None or raw == "":
            if v.required:
                ext = f"; give a file ending in {' or '.join(v.extensions)}" if v.type is VariableType.FILE else ""
                problems.append((v.key, f"is required ({v.label}){ext}"))
            out[v.key] = None
            continue
        try:
            out[v.key] = coerce_value(v, raw)
        except ValidationError as exc:
            problems.append((exc.field, exc.reason))
    if problems:
        raise validation_error(problems)
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


def render_config(template: Template, values: Mapping[str, Any], *, raw: Mapping[str, str] | None = None) -> str:
    """Render ``template`` with validated ``values``. File variables become ``input_files/<name>``;
    whole numbers render without decimals. ``raw`` values are inserted as written (previews only)."""
    raw = dict(raw or {})
    stand_ins = {
        v.key: "placeholder" + (v.extensions[0] if v.extensions else "")
        for v in template.variables
        if v.key in raw and v.key not in values
    }
    checked = validate_values(template, {**values, **stand_ins})
    context: dict[str, Any] = {}
    for v in template.variables:
        if v.key in raw and v.key not in values:
            context[v.key] = raw[v.key]
            continue
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


@attrs.frozen(slots=True)
class PreflightReport:
    """What NAMD would do with a config: ``problems`` it certainly refuses (from values read with
    certainty), and ``warnings`` where the reader could not check (Tcl blocks, computed values,
    ``source`` files not among the inputs). Only problems block ``job create``."""

    problems: list[str]
    warnings: list[str]
    #: paths NAMD would write outside the job's directory (:func:`output_path_problems`); unlike
    #: ``problems`` (NAMD's own refusals) these are never skipped: such results would be lost
    escapes: list[str] = attrs.Factory(list)

    @property
    def ok(self) -> bool:
        """True when nothing is refused (warnings may remain)."""
        return not self.problems and not self.escapes


def _nearest_multiples(n: int, m: int) -> str:
    low = n - n % m
    return f"{low} or {low + m}" if low > 0 else f"{low + m}"


def check_config(text: str, includes: Mapping[str, str] | None = None) -> PreflightReport:  # noqa: C901 - one check per NAMD refusal, each a line
    """Check a config for what NAMD refuses: refuse only what is certain, warn where it could not check.

    Covers the refusals seen in practice: required options missing, PME without a periodic cell,
    extraBonds on without a file, temperature together with binvelocities (or neither for dynamics),
    ``run``/``minimize`` counts and ``firsttimestep`` that are not multiples of stepspercycle (NAMD applies
    the rule to all three), frequencies that do not divide, and keywords defined twice. ``includes``
    (file name -> text) resolves ``source`` lines.
    """
    cfg = read_config(text, includes=includes)
    certain = not cfg.dynamic
    problems: list[str] = []
    warnings: list[str] = list(cfg.notes)
    unsure = " (it may be set in a part that was not checked)"

    def refuse_or_warn(message: str, *keys: str) -> None:
        # certain only when the whole config was read and every keyword involved has a known value
        if certain and all(cfg.is_known(k) for k in keys):
            problems.append(message)
        else:
            warnings.append(message + unsure)

    for key in ("structure", "coordinates", "outputName", "cutoff", "exclude"):
        if cfg.get(key) is None and cfg.is_known(key):
            refuse_or_warn(f"'{key}' is a required configuration option", key)
    if not cfg.all("parameters") and not cfg.on("amber") and cfg.is_known("parameters"):
        refuse_or_warn("parameters not found in the configuration file", "parameters")
    cell_keys = ("cellBasisVector1", "cellBasisVector2", "cellBasisVector3", "extendedSystem", "PME")
    periodic = _cell_volume(cfg) > 0 or cfg.get("extendedSystem") is not None
    if cfg.on("PME") and not periodic:
        refuse_or_warn(
            "PME requires periodic boundary conditions: set cellBasisVector1-3 or extendedSystem", *cell_keys
        )
    if cfg.on("PME") and cfg.get("PMEGridSpacing") is None and cfg.get("PMEGridSizeX") is None:
        refuse_or_warn("PME needs PMEGridSpacing (or PMEGridSizeX/Y/Z)", "PMEGridSpacing", "PMEGridSizeX")
    if cfg.on("extraBonds") and not cfg.all("extraBondsFile"):
        refuse_or_warn("extraBonds is on but no extraBondsFile is given", "extraBondsFile")
    vel_keys = ("temperature", "binvelocities", "velocities")
    has_temp = cfg.get("temperature") is not None
    has_vel = cfg.get("binvelocities") is not None or cfg.get("velocities") is not None
    if has_temp and has_vel:
        problems.append("cannot specify both an initial temperature and a velocity file")
    if any(c == "run" for c, _ in cfg.commands) and not (has_temp or has_vel):
        refuse_or_warn("dynamics needs either an initial temperature or a velocity file", *vel_keys)
    spc_value = cfg.number("stepspercycle")
    spc = int(spc_value or 20)
    spc_sure = cfg.is_known("stepspercycle") and (spc_value is not None or certain)
    first = int(cfg.number("firsttimestep", 0) or 0)

    def step_rule(message: str) -> None:
        (problems if spc_sure else warnings).append(message if spc_sure else message + unsure)

    if cfg.is_known("firsttimestep") and first % spc:
        step_rule(
            f"firsttimestep {first}: NAMD needs a multiple of stepspercycle {spc} "
            f"(nearest: {_nearest_multiples(first, spc)})"
        )
    counts = list(cfg.commands)  # what NAMD steps: each run/minimize, or numsteps when there is none
    if not counts and cfg.plan_known and cfg.number("numsteps") is not None:
        counts.append(("numsteps", int(cfg.number("numsteps") or 0)))
    for kind, n in counts:
        if n % spc:
            step_rule(
                f"{kind} {n}: the number of steps must be a multiple of stepspercycle {spc} "
                f"(nearest: {_nearest_multiples(n, spc)})"
            )
    nb = int(cfg.number("nonbondedFreq", 1) or 1)
    fe = int(cfg.number("fullElectFrequency", nb) or nb)
    if spc % nb or spc % fe or fe % nb:
        refuse_or_warn(
            f"stepspercycle {spc} must be a multiple of nonbondedFreq {nb} and fullElectFrequency {fe}, "
            "and fullElectFrequency a multiple of nonbondedFreq",
            "stepspercycle",
            "nonbondedFreq",
            "fullElectFrequency",
        )
    cutoff = cfg.number("cutoff")
    pld = cfg.number("pairlistdist")
    if cutoff is not None and pld is not None and pld < cutoff:
        problems.append(f"pairlistdist {pld:g} must be >= cutoff {cutoff:g}")
    sw = cfg.number("switchdist")
    if cfg.get("switching") is None or cfg.on("switching"):
        if sw is None and cutoff is not None and cfg.get("switching") is not None:
            refuse_or_warn("switchdist must be defined when switching is on", "switchdist")
        if sw is not None and cutoff is not None and not 0 < sw <= cutoff:
            problems.append(f"switchdist {sw:g} must be between 0 and cutoff {cutoff:g}")
    for dup in cfg.duplicates:
        problems.append(f"'{dup}' is defined more than once")
    escapes, unchecked = output_path_problems(cfg)
    return PreflightReport(problems, warnings + unchecked, escapes)


#: Every keyword whose value is a path NAMD WRITES to (a file, or a prefix of files). Relative paths
#: are relative to the config's directory - the job's own directory on the cluster.
OUTPUT_PATH_KEYWORDS = (
    "outputName",
    "restartName",
    "DCDfile",
    "velDCDfile",
    "forceDCDfile",
    "XSTfile",
    "alchOutFile",
    "fepOutFile",
    "tiOutFile",
    "qmBaseDir",
    "IMDfile",
)


def escaping_path(path: str) -> str | None:
    """Why NAMD writing to ``path`` (as a config names it) would leave the job's directory, or None
    when it stays inside. Relative paths are taken from the job's directory (where the config is);
    an absolute path, ``~``, or a ``..`` that climbs out is refused. The ONE confinement rule for
    every path a config can write (keywords, Tcl ``output``)."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if not text:
        return "is empty"
    if text.startswith(("/", "~")) or re.match(r"[A-Za-z]:[\\/]", text):
        return "is an absolute path: outside the job's directory, it is never copied back and is lost to the purge"
    depth = 0
    for part in text.replace("\\", "/").split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return "climbs out of the job's directory with '..': such files are never copied back"
        elif part not in ("", "."):
            depth += 1
    return None


def output_path_problems(cfg: NamdConfig) -> tuple[list[str], list[str]]:
    """(problems, warnings) for where a config makes NAMD write: every output keyword and ``output``
    command must name a path inside the job's directory (see :func:`escaping_path`); ``cwd`` moves
    every relative path and is refused; a path only Tcl computes is a warning."""
    problems: list[str] = []
    warnings: list[str] = []
    fix = "; give a name inside the job, e.g. outputs/run1"
    for key in OUTPUT_PATH_KEYWORDS:
        if not cfg.is_known(key):
            warnings.append(f"where `{key}` writes is computed by Tcl; it was not checked to stay inside the job")
        for value in cfg.all(key):
            why = escaping_path(value)
            if why:
                problems.append(f"{key} {value!r} {why}{fix}")
    for value in cfg.all("cwd"):
        problems.append(
            f"cwd {value!r} (or Tcl `cd`): namdrunner runs NAMD in the job's own directory, where every "
            "relative path points and whose files are copied back; remove it"
        )
    for line, prefix, known in cfg.output_commands:
        if not known:
            warnings.append(f"line {line}: where `output` writes is computed by Tcl; not checked")
            continue
        why = escaping_path(prefix)
        if why:
            problems.append(f"line {line}: output {prefix!r} {why}{fix}")
    return problems, warnings


def preflight(text: str, includes: Mapping[str, str] | None = None) -> list[str]:
    """What NAMD would certainly refuse in this config, and where it would write outside the job
    (empty when it would start and stay inside); see :func:`check_config`."""
    report = check_config(text, includes)
    return report.problems + report.escapes


def input_references(text: str, includes: Mapping[str, str] | None = None) -> list[str]:
    """Every input file the config names (paths as written, relative to the config's dir), ``source``d
    files included."""
    cfg = read_config(text, includes=includes)
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
    refs += cfg.all("parameters") + cfg.all("extraBondsFile") + cfg.sources
    return refs


def missing_references(text: str, available: Sequence[str], includes: Mapping[str, str] | None = None) -> list[str]:
    """Warnings for files the config names that are not among the job's inputs (``available``, by name,
    uploaded to ``input_files/``): NAMD will not find a relative one; an absolute one must exist on the
    cluster."""
    out = []
    names = set(available)
    for ref in dict.fromkeys(input_references(text, includes)):
        inside = ref.startswith(f"{INPUT_DIR}/") and ref[len(INPUT_DIR) + 1 :] in names
        if inside or ref.startswith("/"):
            continue
        out.append(f"the config names {ref!r}, which is not among the job's input files (add it with --file)")
    return out


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
    originals: dict[str, str] = {}
    for v in template.file_variables():
        if filled.get(v.key):
            continue
        if v.original:
            originals[v.key] = v.original
        elif v.required:
            ext = v.extensions[0] if v.extensions else ""
            filled[v.key] = f"{v.key}{ext}"
    return render_config(template, filled, raw=originals)
