"""The atoms of a PSF and selections of them in MDAnalysis's selection language: with MDAnalysis
installed (``namdrunner[analysis]``) the selection is MDAnalysis's own; without it, the part of the
language a structure series needs is understood here - ``all``, ``protein``, ``backbone``, ``nucleic``,
``nucleicbackbone``, ``name``/``resname``/``segid``/``type`` with values (``*`` and ``?`` wildcards),
``resid``/``index`` with values and ranges (``1:10``, ``1-10``), combined with ``and``, ``or``, ``not``
and parentheses. Anything else is refused naming the word and the fix."""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from namdrunner_core.errors import ValidationError

# residue names as MDAnalysis's selection keywords know them (its core/selection.py)
PROTEIN = frozenset(
    """
ACE ALA ALAD ARG ARGN ASF ASH ASN ASN1 ASP ASPH CALA CARG CASF CASN CASP CCYS CCYX CGLN CGLU CGLY
CHID CHIE CHIP CILE CLEU CLYS CME CMET CPHE CPRO CSER CTHR CTRP CTYR CVAL CYM CYS CYS1 CYS2 CYSH CYX
DAB GLH GLN GLU GLUH GLY HID HIE HIP HIS HIS1 HIS2 HISA HISB HISD HISE HISH HSD HSE HSP HYP ILE LEU
LYN LYS LYSH MET MSE NALA NARG NASN NASP NCYS NCYX NGLN NGLU NGLY NHID NHIE NHIP NILE NLEU NLYS NME
NMET NPHE NPRO NSER NTHR NTRP NTYR NVAL ORN PGLU PHE PRO QLN SER THR TRP TYR VAL
""".split()  # noqa: SIM905 - a table of names, wrapped
)
NUCLEIC = frozenset(
    """
A ADE C CYT DA DA3 DA5 DC DC3 DC5 DG DG3 DG5 DT DT3 DT5 G GUA RA RA3 RA5 RC RC3 RC5 RG RG3 RG5 RU
RU3 RU5 T THY U URA
""".split()  # noqa: SIM905 - a table of names, wrapped
)
BACKBONE = frozenset(["N", "CA", "C", "O"])
NUCLEIC_BACKBONE = frozenset(["P", "C5'", "C3'", "O3'", "O5'"])
_VALUED = ("name", "resname", "segid", "type", "resid", "index")


@dataclasses.dataclass(frozen=True, slots=True, eq=False)  # stdlib: also run on a node (remote.py)
class Atoms:
    """A PSF's atoms, as columns (``index`` is 0-based, as in MDAnalysis)."""

    path: Path
    segid: NDArray[np.str_]
    resid: NDArray[np.int64]
    resname: NDArray[np.str_]
    name: NDArray[np.str_]
    type: NDArray[np.str_]
    mass: NDArray[np.float64]

    @property
    def count(self) -> int:
        """How many atoms."""
        return int(self.mass.size)


#: atoms turned into numpy columns at a time (a multi-million-atom PSF never lives as Python lists)
_CHUNK = 100_000


def natom_rows(path: Path, field: str = "--psf") -> Iterator[list[str]]:
    """The words of each atom line of a PSF's ``!NATOM`` section, streamed (X-PLOR or CHARMM types,
    standard or EXT widths); a file without one, or with fewer lines than it says, is refused."""
    if not path.is_file():
        raise ValidationError(field, f"{path}: no such file")
    left: int | None = None
    seen = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if left is None:
                if "!NATOM" in line:
                    left = int(line.split()[0])
                continue
            if seen >= left:
                break
            words = line.split()
            if len(words) >= 8:
                seen += 1
                yield words
    if left is None:
        raise ValidationError(field, f"{path}: no !NATOM section (is it a PSF?)")
    if seen != left:
        raise ValidationError(field, f"{path}: !NATOM says {left} atoms, {seen} are listed")


def read_psf(path: Path) -> Atoms:
    """The atoms of a PSF as numpy columns, built a chunk of atoms at a time."""
    chunks: list[list[NDArray[Any]]] = []
    rows: list[list[str]] = []

    def flush() -> None:
        cols = list(zip(*rows, strict=False))
        numbers = [re.match(r"-?\d+", r) for r in cols[2]]  # a resid may carry an insertion code: 52A
        resid = np.array([int(m.group(0)) if m else 0 for m in numbers], dtype=np.int64)
        text = [np.array(cols[i], dtype=str) for i in (1, 3, 4, 5)]
        chunks.append([text[0], resid, text[1], text[2], text[3], np.array(cols[7], dtype=np.float64)])
        rows.clear()

    for words in natom_rows(path):
        rows.append(words)
        if len(rows) >= _CHUNK:
            flush()
    if rows:
        flush()
    if not chunks:
        empty: list[NDArray[Any]] = [np.array([], dtype=str), np.array([], dtype=np.int64)] + [
            np.array([], dtype=str)] * 3 + [np.array([], dtype=np.float64)]  # fmt: skip
        chunks.append(empty)
    c = [np.concatenate([ch[k] for ch in chunks]) for k in range(6)]
    return Atoms(path, c[0], c[1], c[2], c[3], c[4], c[5])


def select(atoms: Atoms, selection: str, *, use_mdanalysis: bool = True) -> NDArray[np.int64]:
    """The 0-based indices of the atoms ``selection`` picks (refused when it picks none). The common
    subset is read here (no MDAnalysis universe: 100 MB and most of a second less for 100,000 atoms);
    a keyword it does not know goes to MDAnalysis when installed."""
    tokens = re.findall(r"\(|\)|[^\s()]+", selection)
    try:
        parser = _Parser(atoms, tokens, selection)
        mask = parser.expression()
        if parser.pos != len(tokens):
            raise _bad(selection, f"'{tokens[parser.pos]}' is not understood there")
        indices = np.flatnonzero(mask).astype(np.int64)
    except _UnknownKeyword as unknown:
        found = _mdanalysis_select(atoms.path, selection) if use_mdanalysis else None
        if found is None:
            raise _bad(selection, f"{unknown} is not a keyword understood without MDAnalysis; "
                       "install namdrunner[analysis]") from None  # fmt: skip
        indices = found
    if indices.size == 0:
        raise ValidationError(
            "--select", f"'{selection}' matches no atom of {atoms.path.name}; check the names in the PSF"
        )
    return indices


class _UnknownKeyword(Exception):
    """A keyword of MDAnalysis's language the subset here does not read."""


def _mdanalysis_select(psf: Path, selection: str) -> NDArray[np.int64] | None:
    import logging
    import warnings

    quiet = logging.getLogger("MDAnalysis")  # its import and PSF reader log guesses at WARNING: not ours to show
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import MDAnalysis  # the optional extra, read only when installed

            universe = MDAnalysis.Universe(str(psf), topology_format="PSF")
    except ImportError:
        return None
    finally:
        quiet.setLevel(level)
    try:
        picked = universe.select_atoms(selection)
    except Exception as exc:
        raise _bad(selection, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
    return np.asarray(picked.indices, dtype=np.int64)


def _bad(selection: str, why: str) -> ValidationError:
    return ValidationError("--select", f"'{selection}': {why} (MDAnalysis's selection language)")


class _Parser:
    """``expr := term ('or' term)*; term := factor ('and' factor)*; factor := 'not' factor | '(' expr ')'
    | keyword | valued-keyword value+``."""

    def __init__(self, atoms: Atoms, tokens: list[str], text: str) -> None:
        self.atoms, self.tokens, self.text, self.pos = atoms, tokens, text, 0

    def peek(self) -> str | None:
        return self.tokens[self.pos].lower() if self.pos < len(self.tokens) else None

    def take(self) -> str:
        if self.pos >= len(self.tokens):
            raise _bad(self.text, "it ends too early")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expression(self) -> NDArray[np.bool_]:
        mask = self.term()
        while self.peek() == "or":
            self.take()
            mask = mask | self.term()
        return mask

    def term(self) -> NDArray[np.bool_]:
        mask = self.factor()
        while self.peek() == "and":
            self.take()
            mask = mask & self.factor()
        return mask

    def factor(self) -> NDArray[np.bool_]:
        word = self.take()
        low = word.lower()
        a = self.atoms
        if low == "not":
            return ~self.factor()
        if word == "(":
            mask = self.expression()
            if self.take() != ")":
                raise _bad(self.text, "a '(' is not closed")
            return mask
        fixed = {
            "all": np.ones(a.count, dtype=bool),
            "protein": np.isin(a.resname, list(PROTEIN)),
            "nucleic": np.isin(a.resname, list(NUCLEIC)),
        }
        if low in fixed:
            return fixed[low]
        if low == "backbone":
            return fixed["protein"] & np.isin(a.name, list(BACKBONE))
        if low == "nucleicbackbone":
            return fixed["nucleic"] & np.isin(a.name, list(NUCLEIC_BACKBONE))
        if low in _VALUED:
            return self.valued(low)
        raise _UnknownKeyword(f"'{word}'")

    def valued(self, key: str) -> NDArray[np.bool_]:
        values: list[str] = []
        while (
            (nxt := self.peek()) is not None
            and nxt not in ("and", "or", ")")
            and not (nxt in _VALUED or nxt in ("not", "("))
        ):
            values.append(self.take())
        if not values:
            raise _bad(self.text, f"'{key}' needs a value")
        if key in ("resid", "index"):
            column = self.atoms.resid if key == "resid" else np.arange(self.atoms.count)
            mask = np.zeros(self.atoms.count, dtype=bool)
            joined = re.sub(r"(\d)\s*(?::|-|\bto\b)\s*(-?\d)", r"\1:\2", " ".join(values))  # "1 - 3", "1 to 3"
            for v in joined.split():
                m = re.fullmatch(r"(-?\d+)(?:[:-](-?\d+))?", v)
                if not m:
                    raise _bad(self.text, f"'{v}' is not a number or range for {key}")
                low, high = int(m.group(1)), int(m.group(2) or m.group(1))
                mask |= (column >= low) & (column <= high)
            return mask
        column = getattr(self.atoms, key)
        mask = np.zeros(self.atoms.count, dtype=bool)
        for v in values:
            if any(c in v for c in "*?["):
                mask |= np.array([fnmatch.fnmatchcase(x, v) for x in column], dtype=bool)
            else:
                mask |= column == v
        return mask
