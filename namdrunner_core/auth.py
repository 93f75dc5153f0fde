"""Answering login prompts interactively (notebooks, scripts); the CLI has its own terminal prompt."""

from __future__ import annotations

import getpass

from namdrunner_core.transport.ssh import AuthPrompt


def interactive_prompt(prompt: AuthPrompt) -> str:
    """Ask the user, showing the server's own prompt text (hidden input unless the server echoes).

    Works in a terminal and in Jupyter (``getpass`` shows a password box there). Pass it as
    ``Cluster.connect(auth=interactive_prompt)``; answers are used once and never stored.
    """
    if prompt.instructions.strip():
        print(prompt.instructions.strip())  # noqa: T201 - this function's job is talking to a person
    text = prompt.text if prompt.text.strip() else "Response: "
    return input(text) if prompt.echo else getpass.getpass(text)
