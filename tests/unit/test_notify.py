"""Telling the person (namdrunner_core.jobs.events, namdrunner_core.notify): which changes are worth a
notification, and a notification really sent through apprise to a local HTTP receiver; a bad URL or a
missing apprise is one line that never shows the URL (it may hold a token)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import attrs
import pytest

from namdrunner_core import notify
from namdrunner_core.jobs.events import Event, events
from namdrunner_core.models import JobRecord
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import JobStatus

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def _job(job_id: str, status: JobStatus, campaign: dict[str, Any] | None = None) -> JobRecord:
    res = Resources(cores=1, memory_gb=1, walltime="01:00:00")
    return JobRecord(job_id=job_id, job_name=job_id.split("_")[0], profile="p", remote_user="u", status=status,
                     template_id="t", template_values={}, resources=res,
                     project_dir="/p", scratch_dir="/s", created_at=NOW, updated_at=NOW, campaign=campaign)  # fmt: skip


def test_only_what_a_person_must_hear_is_told() -> None:
    running = {"state": "running", "reason": ""}
    jobs = [_job("prod_1", JobStatus.RUNNING, running), _job("paused_2", JobStatus.RUNNING, running),
            _job("single_3", JobStatus.RUNNING), _job("quiet_4", JobStatus.RUNNING, running)]  # fmt: skip
    before = {j.job_id: j for j in jobs}
    after = [
        _job("prod_1", JobStatus.COMPLETED, {"state": "done", "reason": "the target step is reached"}),
        _job("paused_2", JobStatus.FAILED, {"state": "pause", "reason": "out of memory twice"}),
        attrs.evolve(before["single_3"], status=JobStatus.FAILED, error_info="NAMD: FATAL ERROR: x"),
        _job("quiet_4", JobStatus.PENDING, running),  # between two segments: nothing to tell
        _job("new_5", JobStatus.COMPLETED),  # not seen before: nothing to tell
    ]
    told = events(before, after)
    assert [(e.job_id, e.kind) for e in told] == [
        ("prod_1", "finished"), ("paused_2", "needs you"), ("single_3", "needs you")]  # fmt: skip
    assert "out of memory twice" in told[1].text
    assert told[0].title == "namdrunner: prod finished"


class _Receiver(BaseHTTPRequestHandler):
    got: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.got.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.got = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_a_notification_reaches_its_url(receiver: int) -> None:
    e = Event("prod_1", "prod", "finished", "campaign prod_1 reached its target")
    assert notify.tell([e], [f"json://127.0.0.1:{receiver}/hook"], show_desktop=False) == []
    assert len(_Receiver.got) == 1
    assert _Receiver.got[0]["title"] == "namdrunner: prod finished"
    assert _Receiver.got[0]["message"] == "campaign prod_1 reached its target"


def test_a_bad_url_is_one_line_without_the_url() -> None:
    e = Event("prod_1", "prod", "finished", "x")
    problems = notify.send([e], ["not a url with secret-token-123"])
    assert problems
    assert problems[0] == "notify_urls[0] is not a URL apprise knows"
    assert all("secret-token-123" not in p for p in problems)
