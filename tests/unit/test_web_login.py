"""The web login's hand-over: a question shown on the page, its answer handed to the login thread
once; and the relay that carries a shared session's questions from the broker process to the page."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from namdrunner_cli.web.state import LoginFlow
from namdrunner_core.broker import _relay_prompts
from namdrunner_core.errors import ValidationError
from namdrunner_core.transport.ssh import AuthPrompt

PROMPT = AuthPrompt("keyboard-interactive", "Passcode or option (1-3): ", False, "login.example", "ralph", "Duo menu")


def test_an_answer_reaches_the_waiting_login_once() -> None:
    flow = LoginFlow()
    got: list[str] = []
    thread = threading.Thread(target=lambda: got.append(flow.ask(PROMPT)))
    thread.start()
    deadline = time.monotonic() + 5
    while flow.question is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert flow.question == PROMPT
    assert flow.asked == 1
    flow.answer("push")
    thread.join(timeout=5)
    assert got == ["push"]
    assert flow.question is None  # the page no longer offers it
    with pytest.raises(ValidationError, match="no login question"):
        flow.answer("again")


CHILD = r"""
import json, sys
sys.stdout.write(json.dumps({"notice": "Duo push sent"}) + "\n"); sys.stdout.flush()
prompt = {"kind": "keyboard-interactive", "text": "Verification code: ", "echo": False, "host": "h", "user": "u",
          "instructions": "", "title": ""}
sys.stdout.write(json.dumps({"prompt": prompt}) + "\n"); sys.stdout.flush()
open(sys.argv[1], "w").write(sys.stdin.readline())
"""


def test_the_relay_carries_questions_up_and_answers_down(tmp_path: Path) -> None:
    out = tmp_path / "answer"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    asked: list[AuthPrompt] = []
    notices: list[str] = []
    _relay_prompts(proc, lambda p: asked.append(p) or "123456", notices.append)
    assert proc.wait(timeout=10) == 0
    assert notices == ["Duo push sent"]
    assert [p.text for p in asked] == ["Verification code: "]
    assert out.read_text() == "123456\n"
