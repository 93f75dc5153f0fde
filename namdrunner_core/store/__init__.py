"""The local store of jobs and groups (SQLite), in three modules, one concept each:

- :mod:`.jobstore`: :class:`JobStore` - every write, the schema and its migrations (SQLAlchemy 2);
- :mod:`.read`: the read-only door (plain ``sqlite3``): what ``job list`` needs without SQLAlchemy;
- :mod:`.listing`: jobs as the job table shows them (rows, pages, ``job show``'s details).

``JobStore`` is imported on first use, so ``job list`` never loads SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from namdrunner_core.store.jobstore import JobStore


def __getattr__(name: str) -> Any:
    if name == "JobStore":
        return importlib.import_module("namdrunner_core.store.jobstore").JobStore
    raise AttributeError(f"module 'namdrunner_core.store' has no attribute {name!r}")


__all__ = ["JobStore"]
