"""`namdrunner session ...`: the shared login."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import click

from namdrunner_cli.render.base import (
    humanize_age,
    humanize_duration,
    plural,
    print_json,
)

if TYPE_CHECKING:
    pass


def print_session(as_json: bool, profile: str, info: Any) -> None:
    """``session start|status``: the broker's state, or that none runs."""
    if as_json:
        from namdrunner_core.answers import SessionState

        print_json(SessionState(profile, info))
        return
    if info is None:
        click.echo(f"no session runs for {profile} (`namdrunner session start {profile}`)")
        return
    import time

    left = humanize_duration(max(0.0, info.expires_at - time.time()))
    since = humanize_age(dt.datetime.fromtimestamp(info.started_at, dt.UTC))
    click.echo(
        f"session for {profile}: {info.user}@{info.host}, since {since}, "
        f"{left} left; {plural(info.commands, 'command')} served, {plural(info.authentications, 'authentication')}; "
        f"rate limit {info.rate_limit_per_s:g}/s (pid {info.pid})"
    )
