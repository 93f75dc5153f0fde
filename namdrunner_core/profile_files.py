"""A user's profile file as text: read for an editor, and saved only when it loads.

Bundled profiles ship with namdrunner and are never changed; a user profile of the same name (in the
config folder's ``profiles/``) takes their place, and ``extends = "<bundled name>"`` keeps everything it
does not say. Saving writes the file atomically, then loads the profile as every command would; a text
that does not load is refused with the loader's message (file, key path and fix) and the file that
was there before is put back.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from namdrunner_core.errors import ProfileError, ValidationError
from namdrunner_core.files import write_text_atomic
from namdrunner_core.paths import config_dir
from namdrunner_core.profile import bundled_profile_names, check_profile_name, load_profile, user_profile_names


@attrs.frozen(slots=True)
class ProfileText:
    """A profile as an editor shows it: the user file's text, or a starting text that extends the
    bundled profile of that name (``user_file`` False: nothing is written until it is saved)."""

    name: str
    path: Path
    text: str
    user_file: bool
    bundled: bool


#: what a profile's name may be: it is a file's name in the config folder's ``profiles/``
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def profile_path(name: str) -> Path:
    """Where the user profile ``name`` is (or would be) written; a name that is not a plain file name
    (``../x``, ``a/b``, empty) is refused (:class:`ValidationError`): nothing lands outside ``profiles/``."""
    if not PROFILE_NAME.fullmatch(name):
        raise ValidationError("name", f"{name[:64]!r}: a profile name is letters, digits, '_', '-' or '.'")
    return config_dir() / "profiles" / f"{name}.toml"


def profile_text(name: str) -> ProfileText:
    """The profile ``name`` as text to edit (an unknown name is refused, naming the close ones)."""
    check_profile_name(name)
    path = profile_path(name)
    bundled = name in bundled_profile_names()
    if name in user_profile_names():
        return ProfileText(name, path, path.read_text(encoding="utf-8"), True, bundled)
    starter = (
        f"# Your profile {name!r}: it extends the bundled one, so only what differs for you goes here.\n"
        f'extends = "{name}"\n'
        '# user = "jdoe"             # the login name, when it is not this computer\'s\n'
        '# account = "ucb-general"   # the Slurm account to charge\n'
        "# use_detected_limits = true # partitions and QOS as `cluster detect` last found them\n"
    )
    return ProfileText(name, path, starter, False, bundled)


def save_profile_text(name: str, text: str) -> Path:
    """Write user profile ``name`` (an existing profile) from ``text`` - only if it then loads
    (:class:`ProfileError` with the loader's message otherwise, the earlier file put back)."""
    check_profile_name(name)
    return write_profile_file(name, text)


def write_profile_file(name: str, text: str) -> Path:
    """Write user profile ``name`` (new or not) from ``text``, kept only if it then loads: else the
    earlier file is put back (or none left) and the loader's :class:`ProfileError` raised."""
    path = profile_path(name)
    before = path.read_text(encoding="utf-8") if path.is_file() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text if text.endswith("\n") else text + "\n")
    try:
        load_profile(name)
    except ProfileError:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            write_text_atomic(path, before)
        raise
    return path
