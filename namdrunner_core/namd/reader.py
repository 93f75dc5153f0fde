"""Reading a NAMD config the way NAMD (through Tcl) tokenizes it, and knowing what it could not read.

NAMD hands its config to a Tcl interpreter: commands end at a newline or ``;`` outside braces,
brackets and quotes; ``#`` starts a comment where a command starts (so ``;#`` ends a line's command and
starts a comment); a backslash before the newline continues a line; braces group a word without
substitution, quotes group it with ``$var`` substitution; ``[...]`` is a command whose result only Tcl
knows. Keyword lines (``cutoff 12.0``, ``PME yes;``, ``extendedSystem<TAB>x.xsc``, ``key = value``) set
NAMD options; ``set`` defines variables; ``source FILE`` reads another file (resolved when the file is
among the job's inputs); ``run``/``minimize`` step.

What a static reader cannot evaluate (procs, loops, ``if``, ``callback``, ``[expr ...]``, a variable
set by Tcl) is never guessed: each such part is recorded as a :attr:`NamdConfig.notes` entry and the
values it touches are marked unknown, so that preflight warns instead of refusing.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

import attrs

_MULTI = {"parameters", "extrabondsfile"}
_BLOCKS = {"if", "for", "foreach", "while", "switch", "eval", "uplevel", "catch", "callback", "namespace"}
_NOT_KEYWORDS = {
    "print",
    "puts",
    "exit",
    "reinitvels",
    "rescalevels",
    "output",
    "checkpoint",
    "revert",
    "global",
    "return",
    "after",
    "package",
    "error",
    "coorfile",
    "measure",
    "reinitatoms",
    "reloadcharges",
    "atomselect",
    "startup",
    "unset",
}
_VAR = re.compile(r"\$\{([\w:]+)\}|\$((?:::)?\w+(?:::\w+)*)")  # $x, ${x}, $::ns::x


@attrs.frozen(slots=True)
class Word:
    """One Tcl word of a command: its text after substitution, and whether that text is certain."""

    text: str
    known: bool = True
    braced: bool = False


@attrs.define
class NamdConfig:
    """Keywords (lower-cased) to values, in the order NAMD reads them, plus run/minimize commands.

    ``unknown`` holds keywords whose value Tcl computes (``cutoff [expr 2*6]``, ``temperature $t`` with
    ``t`` set by Tcl); ``notes`` says which parts could not be checked and why; ``dynamic`` is True
    when any such part exists.
    """

    keywords: dict[str, list[str]] = attrs.Factory(dict)
    commands: list[tuple[str, int]] = attrs.Factory(list)
    tcl_vars: dict[str, str] = attrs.Factory(dict)
    duplicates: list[str] = attrs.Factory(list)
    unknown: set[str] = attrs.Factory(set)
    notes: list[str] = attrs.Factory(list)
    sources: list[str] = attrs.Factory(list)
    plan_known: bool = True
    #: the prefixes of Tcl ``output [withvelocities|withforces] PREFIX`` commands (NAMD writes
    #: PREFIX.coor/.vel/.xsc there), as ``(line, prefix, known)``
    output_commands: list[tuple[int, str, bool]] = attrs.Factory(list)

    @property
    def dynamic(self) -> bool:
        """True when part of the config could not be read statically."""
        return bool(self.notes)

    def get(self, key: str) -> str | None:
        """Last value of ``key`` (case-insensitive), or None (also when only Tcl knows it)."""
        values = self.keywords.get(key.lower())
        return values[-1] if values else None

    def all(self, key: str) -> list[str]:
        """Every value of a repeatable ``key``."""
        return list(self.keywords.get(key.lower(), []))

    def is_known(self, key: str) -> bool:
        """False when ``key`` was set to a value only Tcl can compute."""
        return key.lower() not in self.unknown

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


def split_commands(text: str) -> list[tuple[int, str]]:  # noqa: C901 - a Tcl tokenizer's states
    """The config's commands as ``(line number, text)``, split as Tcl splits them; comments dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[tuple[int, str]] = []
    i, n, line = 0, len(text), 1
    while i < n:
        # at a command start: skip blanks and separators; '#' here is a comment to the end of the line
        while i < n and text[i] in " \t\n;":
            if text[i] == "\n":
                line += 1
            i += 1
        if i >= n:
            break
        if text[i] == "#":
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    line += 1
                    i += 1
                i += 1
            continue
        start, start_line = i, line
        braces = brackets = 0
        quoted = False
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n:
                if text[i + 1] == "\n":
                    line += 1
                i += 2
                continue
            if c == "\n":
                if braces == 0 and brackets == 0 and not quoted:
                    break
                line += 1
            elif c == ";" and braces == 0 and brackets == 0 and not quoted:
                break
            elif c == '"' and braces == 0:
                quoted = not quoted
            elif c == "{" and not quoted:
                braces += 1
            elif c == "}" and not quoted and braces:
                braces -= 1
            elif c == "[" and braces == 0:
                brackets += 1
            elif c == "]" and braces == 0 and brackets:
                brackets -= 1
            i += 1
        cmd = text[start:i].replace("\\\n", " ").strip()
        if cmd:
            out.append((start_line, cmd))
    return out


def split_words(command: str, variables: Mapping[str, str | None]) -> list[Word]:
    """A command's words, with ``$var`` substituted where the value is known."""
    words: list[Word] = []
    i, n = 0, len(command)
    while i < n:
        while i < n and command[i] in " \t\n":
            i += 1
        if i >= n:
            break
        if command[i] == "{":
            depth, j = 1, i + 1
            while j < n and depth:
                if command[j] == "\\":
                    j += 2
                    continue
                depth += {"{": 1, "}": -1}.get(command[j], 0)
                j += 1
            words.append(Word(command[i + 1 : j - 1], braced=True))
            i = j
            continue
        quoted = command[i] == '"'
        j = i + 1 if quoted else i
        depth = 0
        while j < n:
            c = command[j]
            if c == "\\":
                j += 2
                continue
            if c == "[":
                depth += 1
            elif c == "]" and depth:
                depth -= 1
            elif depth == 0 and ((quoted and c == '"') or (not quoted and c in " \t\n")):
                break
            j += 1
        raw = command[i + 1 : j] if quoted else command[i:j]
        i = j + 1 if quoted else j
        known = "[" not in raw

        def sub(m: re.Match[str]) -> str:
            nonlocal known
            value = variables.get(m.group(1) or m.group(2))
            if value is None:
                known = False
                return m.group(0)
            return value

        words.append(Word(_VAR.sub(sub, raw), known=known))
    return words


def read_config(  # noqa: C901 - one branch per Tcl command NAMD configs use
    text: str, *, includes: Mapping[str, str] | None = None, _cfg: NamdConfig | None = None, _depth: int = 0
) -> NamdConfig:
    """Read a NAMD config statically (see the module docs); ``includes`` maps file names to texts for
    ``source`` (by base name: the job's input files)."""
    cfg = _cfg if _cfg is not None else NamdConfig()
    variables: dict[str, str | None] = dict(cfg.tcl_vars)
    procs: set[str] = set()
    for line, command in split_commands(text):
        words = split_words(command, variables)
        if not words:
            continue
        head = words[0].text
        name = head.lower()
        if "=" in head and not words[0].braced:  # "key=value" / "key= value"
            key, _, tail = head.partition("=")
            words = [Word(key), *([Word(tail, words[0].known)] if tail else []), *words[1:]]
            name = key.lower()
        args = words[1:]
        if args and args[0].text == "=":
            args = args[1:]
        if name == "set" and args:
            var = args[0].text
            value = " ".join(w.text for w in args[1:]) if len(args) > 1 else None
            known = all(w.known for w in args[1:])
            variables[var] = value if known else None
            if known and value is not None:
                cfg.tcl_vars[var] = value
            else:
                cfg.tcl_vars.pop(var, None)
            continue
        if name == "incr" and args:
            variables[args[0].text] = None
            continue
        if name == "source" and args:
            target = args[0].text
            cfg.sources.append(target)
            included = (includes or {}).get(posixpath.basename(target)) if args[0].known else None
            if included is None or _depth >= 10:
                cfg.notes.append(f"line {line}: `source {target}`: the file is not among the job's inputs; not checked")
                continue
            cfg.tcl_vars = {k: v for k, v in variables.items() if v is not None}
            read_config(included, includes=includes, _cfg=cfg, _depth=_depth + 1)
            variables.update(cfg.tcl_vars)
            continue
        if name in ("run", "minimize"):
            steps = [w for w in args if w.text != "norepeat"]
            try:
                if not steps or not steps[0].known:
                    raise ValueError
                cfg.commands.append((name, int(steps[0].text)))
            except ValueError:
                cfg.plan_known = False
                cfg.notes.append(f"line {line}: `{command[:60]}`: step count computed by Tcl; not checked")
            continue
        if name == "proc" and args:
            procs.add(args[0].text)
            cfg.notes.append(f"line {line}: `proc {args[0].text}`: a Tcl procedure; what it does is not checked")
            continue
        if name in _BLOCKS:
            cfg.notes.append(f"line {line}: `{name} ...` block: Tcl control flow; what it sets is not checked")
            if name != "catch":
                cfg.plan_known = False
            continue
        if head in procs:
            cfg.notes.append(f"line {line}: calls `{head}`: what the procedure sets is not checked")
            cfg.plan_known = False
            continue
        if name == "cd":  # Tcl's cd moves NAMD's working directory, as the `cwd` keyword does
            name = "cwd"
        elif name in ("exec", "open", "file", "glob"):
            cfg.notes.append(
                f"line {line}: `{name} ...`: a Tcl command on files or programs; what it does is not checked"
            )
            continue
        if name == "output" and args:
            outs = [w for w in args if w.text.lower() not in ("withvelocities", "withforces")]
            if outs:
                cfg.output_commands.append((line, outs[-1].text, outs[-1].known))
            continue
        if name in _NOT_KEYWORDS or name == "expr":
            continue
        values: list[Word] = []
        for w in args:  # a word starting with '#' ends a keyword's value (NAMD's inline comment)
            if w.text.startswith("#") and not w.braced:
                break
            values.append(w)
        value = " ".join(w.text for w in values).strip()
        if not all(w.known for w in values):
            cfg.unknown.add(name)
            cfg.notes.append(f"line {line}: the value of `{head}` is computed by Tcl; not checked")
            if name not in _MULTI:
                cfg.keywords.pop(name, None)
            continue
        cfg.unknown.discard(name)
        if name in cfg.keywords and name not in _MULTI and name != "cwd" and not cfg.commands:
            cfg.duplicates.append(head)
        cfg.keywords.setdefault(name, []).append(value)
    cfg.tcl_vars = {k: v for k, v in variables.items() if v is not None}
    return cfg


__all__ = ["NamdConfig", "Word", "read_config", "split_commands", "split_words"]
