"""Answering login prompts interactively (notebooks, scripts); the CLI has its own terminal prompt."""

from __future__ import annotations

import getpass

from namdrunner_core.transport.ssh import AuthPrompt


def interactive_prompt(prompt: AuthPrompt) -> str:
    """Ask the user, showing the server's own prompt text (hidden input unless the server echoes).

    Works in a terminal and in Jupyter (``getpass`` shows a password box there). Pass it as
    ``Cluster.connect(auth=interactive_prompt)``; answers are used once and never stored.
    """
    for part in (prompt.title, prompt.instructions):  # shown whole: Duo's menu is in the instructions
        if part.strip():
            print(part.rstrip())  # noqa: T201 - this function's job is talking to a person
    text = prompt.text if prompt.text.strip() else "Response: "
    return input(text) if prompt.echo else getpass.getpass(text)


def print_notice(text: str) -> None:
    """Show a login notice ("Duo push sent - approve it on your phone"): ``Cluster.connect(notify=print_notice)``."""
    print(text)  # noqa: T201 - this function's job is talking to a person
