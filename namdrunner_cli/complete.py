"""Shell completion of the values a person types: job ids, workflow ids, template ids, profiles.

Each completer reads what the core lists (the fast job listing needs no SQLAlchemy) and never fails
the shell: an unreadable store completes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import click
from click.shell_completion import CompletionItem


def _items(values: Iterable[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(v) for v in sorted(set(values)) if v.startswith(incomplete)]


def _safe(read: Callable[[], Iterable[str]]) -> Iterable[str]:
    from namdrunner_core.errors import NamdRunnerError

    try:
        return list(read())
    except (NamdRunnerError, OSError):
        return []


def job_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Job ids in the local store."""
    from namdrunner_core.store.listing import job_rows

    return _items(_safe(lambda: (r["job_id"] for r in job_rows())), incomplete)


def workflow_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Workflow and sweep ids in the local store."""
    from namdrunner_core.paths import default_db_path
    from namdrunner_core.store import JobStore

    if not default_db_path().is_file():
        return []
    return _items(_safe(lambda: JobStore.default().workflow_ids()), incomplete)


def template_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Builtin and user template ids."""
    from namdrunner_core.paths import default_db_path
    from namdrunner_core.store import JobStore
    from namdrunner_core.template_library import template_ids as ids

    return _items(_safe(lambda: ids(JobStore.default() if default_db_path().is_file() else None)), incomplete)


def profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Bundled and user profile names."""
    from namdrunner_core.profile import profile_names

    return _items(_safe(profile_names), incomplete)
