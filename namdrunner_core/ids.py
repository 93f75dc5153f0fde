"""How a person's id argument selects a job or a group, and the rule that keeps it safe.

An id typed on the command line (or passed by a script whose ``$ID`` happened to be empty) is checked
before anything is looked up: empty, blank, or holding a character that no id can contain is refused
at once. Reading commands may then use a unique prefix (:func:`match_prefix`); commands that change or
destroy use :func:`select_for_change`, which takes an exact id, or a unique prefix of at least
:data:`MIN_CONFIRM_PREFIX` characters only when a person confirms the full id.

Pure: this module knows ids and candidate lists, not the store.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from difflib import get_close_matches

import attrs

from namdrunner_core.errors import NotFoundError, ValidationError

#: What a job or group id may look like (the desktop app's ids match it too:
#: ``hextube_min_1732096800123456``; groups are ``wf_...`` / ``sw_...``).
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
#: The shortest prefix a destructive command accepts, and then only after a person confirms.
MIN_CONFIRM_PREFIX = 6


def check_id_argument(value: str, argument: str = "JOB_ID") -> str:
    """Return ``value`` if it can be an id (or a prefix of one); raise :class:`ValidationError` otherwise.

    Nothing is looked up: an empty or blank value, ``*``, ``..``, a ``/``, control characters and
    anything else no id holds are refused with a message naming ``argument``.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            argument, "is empty; pass a job id (`namdrunner job list` shows them) - was a shell variable unset?"
        )
    if not ID_PATTERN.fullmatch(value):
        shown = value if value.isprintable() else value.encode("unicode_escape").decode("ascii")
        raise ValidationError(
            argument,
            f"{shown!r} is not an id: ids hold only letters, digits, '_' and '-' (no '/', '..', '*', spaces "
            "or control characters)",
        )
    return value


#: The longest display name of a job, workflow or sweep (Slurm's own limit on a job name is far
#: larger, but a name is shown in every table and in the desktop app's job list).
MAX_NAME_CHARS = 200


def check_display_name(name: object, field: str = "name") -> str:
    """A person's name for a job or group, stripped; refused when empty, longer than
    :data:`MAX_NAME_CHARS`, or holding control or invisible formatting characters (bidirectional
    overrides such as U+202E make a listing show something other than what is stored)."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(field, "a job needs a name (any printable text)")
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        raise ValidationError(field, f"is {len(name)} characters long; give at most {MAX_NAME_CHARS}")
    for ch in name:
        category = unicodedata.category(ch)
        if category == "Cc":
            raise ValidationError(field, "holds control characters (a newline, a tab, ...); remove them")
        if category in ("Cf", "Cs", "Co", "Cn") or ch in "\u2028\u2029":
            raise ValidationError(
                field,
                f"holds the invisible character U+{ord(ch):04X} ({unicodedata.name(ch, 'unassigned')}), which "
                "makes the name display as something else; retype the name",
            )
    return name


@attrs.frozen(slots=True)
class IdMatch:
    """An id argument resolved against the known ids: ``id`` is the full id; ``exact`` says how."""

    id: str
    given: str
    exact: bool

    @property
    def note(self) -> str | None:
        """``"matched <id> from '<given>'"`` when a prefix was used, else None."""
        return None if self.exact else f"matched {self.id} from {self.given!r}"


def not_found(given: str, known: Sequence[str], what: str, hint: str) -> NotFoundError:
    """A :class:`NotFoundError` for ``given``, suggesting the closest known ids."""
    close = get_close_matches(given, list(known), n=3, cutoff=0.6)
    suggestion = f"; did you mean {' or '.join(close)}?" if close else ""
    return NotFoundError(f"no {what} {given!r}{suggestion} ({hint})")


def match_prefix(
    given: str, known: Sequence[str], *, what: str = "job", argument: str = "JOB_ID", hint: str = ""
) -> IdMatch:
    """Resolve ``given`` to one of ``known``: the exact id, or else its unique prefix (for reading only)."""
    check_id_argument(given, argument)
    if given in known:
        return IdMatch(given, given, exact=True)
    matches = [k for k in known if k.startswith(given)]
    if len(matches) == 1:
        return IdMatch(matches[0], given, exact=False)
    if len(matches) > 1:
        shown = ", ".join(sorted(matches)[:5]) + (", ..." if len(matches) > 5 else "")
        raise ValidationError(argument, f"{given!r} matches {len(matches)} {what}s ({shown}); give more of the id")
    raise not_found(given, known, what, hint or f"`namdrunner {what} list` shows them")


def select_for_change(
    given: str,
    known: Sequence[str],
    *,
    confirm: Callable[[str], bool] | None,
    what: str = "job",
    argument: str = "JOB_ID",
    hint: str = "",
) -> str:
    """The full id a changing or destroying command may act on.

    An exact id is taken as it is. Otherwise a unique prefix of at least :data:`MIN_CONFIRM_PREFIX`
    characters is offered to ``confirm`` (a person at a terminal, asked about the FULL id); with no
    ``confirm`` (``--yes``, a script, no terminal) only the exact id is accepted.
    """
    check_id_argument(given, argument)
    if given in known:
        return given
    matches = [k for k in known if k.startswith(given)]
    if not matches:
        raise not_found(given, known, what, hint or f"`namdrunner {what} list` shows them")
    full_hint = f"; the full id is {matches[0]}" if len(matches) == 1 else ""
    if confirm is None:
        raise ValidationError(
            argument,
            f"{given!r} is not a full {what} id; commands that change or delete need the exact id"
            f" when not confirmed at a terminal{full_hint}",
        )
    if len(given) < MIN_CONFIRM_PREFIX:
        raise ValidationError(
            argument,
            f"{given!r} is too short to select a {what} to change: give the full id or at least "
            f"{MIN_CONFIRM_PREFIX} characters of it{full_hint}",
        )
    if len(matches) > 1:
        shown = ", ".join(sorted(matches)[:5])
        raise ValidationError(argument, f"{given!r} matches {len(matches)} {what}s ({shown}); give the full id")
    if not confirm(matches[0]):
        raise ValidationError(argument, f"{matches[0]} was not confirmed; nothing was changed")
    return matches[0]


__all__ = [
    "ID_PATTERN",
    "MIN_CONFIRM_PREFIX",
    "IdMatch",
    "check_id_argument",
    "match_prefix",
    "not_found",
    "select_for_change",
]
