"""Scaled restraint files: NAMD has no keyword to scale an extra-bonds file's spring constants, so a
stage that softens an elastic network (the DNA-origami ladder's k = 0.5 -> 0.1 -> 0.01) gets its own
copy with the ``bond i j k r0`` lines rewritten; every other line is kept as it is."""

from __future__ import annotations

import re

_BOND = re.compile(r"^(\s*bond\s+\d+\s+\d+\s+)(\S+)(\s+\S+.*)$", re.IGNORECASE)


def scale_bond_line(line: str, *, k: float | None = None, factor: float | None = None) -> str:
    """One extra-bonds line with its spring constant set to ``k`` or multiplied by ``factor``
    (a line that is not a ``bond`` line, or whose constant is not a number, is returned unchanged)."""
    m = _BOND.match(line)
    if not m:
        return line
    if k is not None:
        return f"{m.group(1)}{k:g}{m.group(3)}"
    try:
        old = float(m.group(2))
    except ValueError:
        return line
    return f"{m.group(1)}{old * (factor if factor is not None else 1.0):g}{m.group(3)}"


def scale_extrabonds(text: str, k: float) -> str:
    """An extra-bonds file with every ``bond i j k r0`` spring constant set to ``k`` (other lines kept)."""
    return "\n".join(scale_bond_line(line, k=k) for line in text.splitlines()) + "\n"
