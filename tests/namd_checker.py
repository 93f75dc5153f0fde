"""An independent reader of NAMD configs for tests, written from NAMD's grammar (not the core's
reader): keywords case-insensitive, '#' comments at a word start and ';#', Tcl `set` and `$var`."""

from __future__ import annotations

import re


def read_keywords(text: str) -> tuple[dict[str, list[str]], list[tuple[str, int]]]:
    tclvars: dict[str, str] = {}
    keys: dict[str, list[str]] = {}
    commands: list[tuple[str, int]] = []
    for raw in text.splitlines():
        line = raw.split(";#")[0]
        words: list[str] = []
        for w in re.findall(r"\{[^}]*\}|\S+", line):
            if w.startswith("#"):
                break
            words.append(w.strip("{}"))
        if not words:
            continue
        words = [re.sub(r"\$(\w+)", lambda m: tclvars[m.group(1)], w) for w in words]
        head = words[0].lower()
        if head == "set":
            tclvars[words[1]] = " ".join(words[2:])
        elif head in ("run", "minimize"):
            commands.append((head, int(words[-1])))
        else:
            keys.setdefault(head, []).append(" ".join(words[1:]))
    return keys, commands


def on(keys: dict[str, list[str]], key: str) -> bool:
    v = keys.get(key.lower())
    return bool(v) and v[-1].lower() in ("on", "yes", "true")
