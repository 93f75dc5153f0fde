"""Where namdrunner keeps its files on this machine - one place, each overridable by an environment
variable (tests and scripts point them at temporary directories):

============================  ==============================  ==========================================
what                          variable                        default (platformdirs)
============================  ==============================  ==========================================
profiles, workflow files      ``$NAMDRUNNER_CONFIG_DIR``      the user config dir for namdrunner
caches (scaled copies, ...)   ``$NAMDRUNNER_CACHE_DIR``       the user cache dir for namdrunner
the job store (SQLite)        ``$NAMDRUNNER_DB``              ``namdrunner.db`` in the user data dir
shared-login sockets          ``$NAMDRUNNER_RUNTIME_DIR``     ``$XDG_RUNTIME_DIR`` or platformdirs' one
============================  ==============================  ==========================================

Nothing here creates a directory: the code that writes does, with the mode it needs.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path


def _env(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """``$NAMDRUNNER_CONFIG_DIR`` or the platform's user config dir for namdrunner."""
    import platformdirs  # the CLI's --help never needs it

    return _env("NAMDRUNNER_CONFIG_DIR") or Path(platformdirs.user_config_dir("namdrunner"))


def cache_dir() -> Path:
    """``$NAMDRUNNER_CACHE_DIR`` or the platform's user cache dir for namdrunner (files namdrunner can
    make again, e.g. the stages' scaled restraint copies)."""
    import platformdirs

    return _env("NAMDRUNNER_CACHE_DIR") or Path(platformdirs.user_cache_dir("namdrunner"))


def default_db_path() -> Path:
    """``$NAMDRUNNER_DB``, or ``namdrunner.db`` in the platform's user data dir."""
    import platformdirs

    return _env("NAMDRUNNER_DB") or Path(platformdirs.user_data_dir("namdrunner")) / "namdrunner.db"


def runtime_dir() -> Path:
    """``$NAMDRUNNER_RUNTIME_DIR``, else the user's runtime dir (``$XDG_RUNTIME_DIR``, gone at logout and
    reboot), else platformdirs' per-user fallback (without its warning on every command)."""
    given = _env("NAMDRUNNER_RUNTIME_DIR")
    if given is not None:
        return given
    import platformdirs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir("namdrunner"))


def download_dir(job_id: str, to: Path | None, *, flat: bool = False) -> Path:
    """Where ``job download`` puts a job's files: ``./<id>``, ``<to>/<id>`` (so a second job's files
    never mix in), or ``<to>`` itself with ``flat``."""
    if to is None:
        return Path(job_id)
    return to if flat else to / job_id
