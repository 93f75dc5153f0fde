"""Telling the person: a desktop notification where the machine has one (``notify-send``, macOS's
``osascript``) and the profile's ``notify_urls`` (Slack, ntfy, e-mail, ... through apprise, the optional
``namdrunner[notify]`` extra). Sent from the laptop side only, never from compute nodes; a URL is never
printed or logged (it may hold a token)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence

from namdrunner_core.jobs.events import Event


def desktop(events: Sequence[Event]) -> None:
    """A desktop notification per event, where the machine can show one; silently nothing otherwise."""
    for e in events:
        if sys.platform == "darwin" and shutil.which("osascript"):
            script = f"display notification {_applescript(e.text)} with title {_applescript(e.title)}"
            cmd = ["osascript", "-e", script]
        elif shutil.which("notify-send"):
            cmd = ["notify-send", "--app-name=namdrunner", e.title, e.text]
        else:
            return
        try:
            subprocess.run(cmd, check=False, capture_output=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return


def _applescript(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def send(events: Sequence[Event], urls: Sequence[str]) -> list[str]:
    """Send each event to every URL of ``urls`` (apprise's URL forms: ``ntfy://topic``,
    ``slack://...``, ``mailto://...``); the problems, as lines to show (never the URLs)."""
    if not events or not urls:
        return []
    try:
        import apprise  # the optional namdrunner[notify] extra
    except ImportError:
        return ["notify_urls are set but apprise is not installed: pip install 'namdrunner[notify]'"]
    sender = apprise.Apprise()
    added = [sender.add(url) for url in urls]
    problems = [f"notify_urls[{i}] is not a URL apprise knows" for i, ok in enumerate(added) if not ok]
    for e in events:
        if not sender.notify(title=e.title, body=e.text):
            problems.append(f"a notification about {e.job_id} could not be sent")
    return problems


def tell(events: Sequence[Event], urls: Sequence[str], *, show_desktop: bool = True) -> list[str]:
    """Everything above for ``events``: the desktop notification (unless ``show_desktop`` is false) and the
    URLs; the problems, as lines to show."""
    if show_desktop:
        desktop(events)
    return send(events, urls)
