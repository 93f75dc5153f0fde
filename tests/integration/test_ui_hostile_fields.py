"""Issue 34's bad-input check, for every field of every form the pages show: each field in turn given
an out-of-range, non-numeric or hostile value (the rest as the page filled them) against the real
server and the real loopback cluster. Never a 500 or a traceback; a refusal names the field it is
about; an answer that was accepted shows the value escaped; nothing the values name is run or touched.

The forms are found the way a person finds them - on the pages - so a form added later is covered
without a line here. Leave, Disconnect and the login are left out; Delete, Reset and the bulk actions are
tried only with confirmations that never match, so they must refuse every one."""

from __future__ import annotations

import html.parser
import re
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from namdrunner_core import JobStore, Resources, Session
from namdrunner_core.jobs.sync import sync_jobs
from tests.integration.browser import Server, multipart
from tests.integration.conftest import vacuum_job

pytestmark = pytest.mark.cluster

MARKER = Path(f"/tmp/nr-hostile-{uuid.uuid4().hex[:8]}")
VALUES = ("-1", "abc", "1e999", "nan", "9" * 400, "<script>alert(1)</script>", f"$(touch {MARKER})",
          f"x; touch {MARKER}", "../../../etc/passwd", "a\x00b", "é" * 300)  # fmt: skip
#: forms never sent with the page's own values: each is tried with values it must refuse, or not at all
NEVER = ("/logout", "/disconnect", "/login/")
#: fields a refusal is allowed to name by another key (the control they belong to)
ALIASES = {"memory_gb": ("memory", "resources"), "cores": ("resources",), "gpus": ("resources", "gpu_type")}


class Forms(html.parser.HTMLParser):
    """Every POST form of a page: its action, encoding, fields (name, kind, value) and named buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self._form: dict[str, object] | None = None
        self._select: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                          "multipart": "multipart" in a.get("enctype", ""), "fields": [], "buttons": []}  # fmt: skip
            self.forms.append(self._form)
            return
        if self._form is None or not a.get("name"):
            return
        fields: list[list[str]] = self._form["fields"]  # type: ignore[assignment]
        kind = a.get("type", "text").lower() if tag == "input" else tag
        if tag == "button" or kind == "submit":
            self._form["buttons"].append((a["name"], a.get("value", "")))  # type: ignore[attr-defined]
        elif kind in ("checkbox", "radio"):
            if "checked" in a:
                fields.append([a["name"], kind, a.get("value", "on")])
        elif tag == "select":
            self._select = [a["name"], "select", ""]
            fields.append(self._select)
        elif tag in ("input", "textarea"):
            fields.append([a["name"], kind, a.get("value", "")])

    def handle_data(self, data: str) -> None:  # a textarea's text is its value
        if self._form is not None and self.lasttag == "textarea":
            fields: list[list[str]] = self._form["fields"]  # type: ignore[assignment]
            if fields and fields[-1][1] == "textarea" and not fields[-1][2]:
                fields[-1][2] = data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def _options(page: str, forms: list[dict[str, object]]) -> None:
    """A select's value: its selected option, else its first (html.parser gives no option state)."""
    for form in forms:
        for field in form["fields"]:  # type: ignore[attr-defined]
            if field[1] != "select":
                continue
            block = re.search(rf'<select name="{re.escape(field[0])}"[^>]*>(.*?)</select>', page, re.S)
            if block:
                chosen = re.search(r'<option value="([^"]*)"\s*selected', block.group(1)) or re.search(
                    r'<option value="([^"]*)"', block.group(1)
                )
                field[2] = chosen.group(1) if chosen else ""


def _send(server: Server, cookie: str, csrf: str, form: dict[str, object], values: dict[str, str],
          files: dict[str, tuple[str, bytes]]) -> tuple[int, str, str]:  # fmt: skip
    """One POST of ``form`` with ``values`` (and ``files``): status, body, where it sent the browser."""
    action = str(form["action"])
    path = action if "csrf=" in action else action + ("&" if "?" in action else "?") + f"csrf={csrf}"
    headers = {"Cookie": cookie}
    if form["multipart"] or files:
        ctype, data = multipart({**values, **files})
        headers["Content-Type"] = ctype
    else:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = urllib.parse.urlencode(values).encode()
    r = server.request("POST", path, headers=headers, body=data)
    return r.status, r.read().decode("utf-8", "replace"), r.getheader("Location") or ""


def _named(field: str, body: str) -> bool:
    """Whether a refusal names ``field``: at the field (``data-field``), or in the words of the message."""
    keys = (field, *ALIASES.get(field, ()))
    if any(f'data-field="{k}"' in body for k in keys):
        return True
    if field.startswith("var.") and re.search(rf'data-field="variables\.\d+\.{re.escape(field.split(".")[-1])}"', body):
        return True
    message = " ".join(re.findall(r'class="error[^"]*"[^>]*>([^<]*)<', body))
    return any(k.replace("_", " ") in message.lower() or k in message for k in keys)


def _finished(session: Session, store: JobStore, wait_until: Callable[..., object]) -> tuple[str, str]:
    """A job that ran (its page offers Restart, Run again, Analyze) and one only created (Submit)."""
    res = Resources(cores=1, memory_gb=0.5, walltime="00:10:00")
    ran = vacuum_job(session, store, "hostile ran", res, steps=240).submit()
    created = vacuum_job(session, store, "hostile created", res)

    def done() -> bool:
        sync_jobs(store, session)
        r = store.get_job(ran.id)
        return r.status.is_terminal and bool(r.copy_back)

    wait_until(done, 120, 2, what="the job to finish")
    return ran.id, created.id


def _crawl(server: Server, cookie: str, pages: list[str]) -> tuple[dict[str, dict[str, object]], str]:
    """Every POST form on ``pages`` by its address (forms that end something left out), and a CSRF token."""
    forms: dict[str, dict[str, object]] = {}
    csrf = ""
    for page in pages:
        body = server.request("GET", page, headers={"Cookie": cookie}).read().decode()
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', body).group(1)  # type: ignore[union-attr]
        parser = Forms()
        parser.feed(body)
        _options(body, parser.forms)
        for form in parser.forms:
            action = urllib.parse.urlsplit(str(form["action"])).path
            if form["method"] == "post" and not action.startswith(NEVER):
                forms.setdefault(action, form)
    return forms, csrf


def _judge(server: Server, cookie: str, what: str, field: str | None, answer: tuple[int, str, str]) -> tuple[str, bool]:
    """What is wrong with one answer ('' if nothing: a 500 or traceback, a refusal that does not name the
    ``field`` - one a person fills in -, a value shown unescaped), and whether it was refused: a 400 page,
    or the form again with its mistakes (where the wizards send the browser)."""
    status, body, where = answer
    if status >= 500 or "Traceback" in body or "Something went wrong" in body:
        return f"{what}: {status}", True
    if status not in (200, 303, 400):
        return f"{what}: {status}", True
    shown = server.request("GET", where, headers={"Cookie": cookie}).read().decode() if where else body
    if "<script>alert(1)</script>" in shown:
        return f"{what}: the value is on the page unescaped", False
    if field is None:  # not typed by a person: refused or not, nothing to name
        return "", status == 400 or 'class="error field-error"' in shown
    # refused at the field, or taken by it (other fields' mistakes, e.g. files not given, may be shown)
    return "", _named(field, shown)


def _try_form(server: Server, cookie: str, csrf: str, form: dict[str, object]) -> tuple[int, set[str], list[str]]:
    """Every field of ``form`` (each named button's way) given every hostile value in turn: how many
    were sent, the fields that took one of them, what was wrong."""
    base = {str(n): str(v) for n, kind, v in form["fields"] if kind != "file"}  # type: ignore[attr-defined]
    files = [str(n) for n, kind, _ in form["fields"] if kind == "file"]  # type: ignore[attr-defined]
    typed = [n for n in base if n not in ("csrf", "draft", "was") and not n.endswith(".was")]
    # what a person types or picks must be refused AT its field; a box ticked or a value the page put
    # there (hidden) only must never break the server
    kinds = {str(n): str(kind) for n, kind, _ in form["fields"]}  # type: ignore[attr-defined]
    chosen = {n for n, kind in kinds.items() if kind not in ("checkbox", "radio", "hidden")}
    tried = 0
    took: set[str] = set()
    problems: list[str] = []
    for button in list(form["buttons"]) or [None]:  # type: ignore[call-overload]
        for field in typed + files:
            for value in VALUES:
                values = {**base, **({button[0]: button[1]} if button else {})}
                sent: dict[str, tuple[str, bytes]] = {}
                if field in files:  # a file whose name and content are the value
                    sent[field] = (value[:200] + ".psf", b"not a psf " + value.encode("utf-8", "replace"))
                else:
                    values[field] = value
                answer = _send(server, cookie, csrf, form, values, sent)
                tried += 1
                what = f"{form['action']} {button} {field}={value[:30]!r}"
                wrong, refused = _judge(server, cookie, what, field if field in chosen else None, answer)
                problems += [wrong] if wrong else []
                if not refused:
                    took.add(f"{field} <- {what}")
    return tried, took, problems


def test_every_field_of_every_form_refuses_hostile_values_at_the_field(
    server: Server, session: Session, env: dict[str, str], wait_until: Callable[..., object]
) -> None:
    store = JobStore(env["NAMDRUNNER_DB"])
    ran, created = _finished(session, store, wait_until)
    cookie = server.cookie()
    pages = ["/", "/create?template=vacuum_optimization_v1", "/workflows", "/templates", "/templates/new",
             "/templates/vacuum_optimization_v1", "/cluster", "/cluster/profile/edit", f"/jobs/{ran}",
             f"/jobs/{created}"]  # fmt: skip
    forms, csrf = _crawl(server, cookie, pages)
    # the forms a person fills in are all here (a page that lost one would make this test pass vacuously)
    wanted = {"/create/review", "/workflows/review", "/templates/save", "/cluster/profile/save", "/settings/reset",
              f"/jobs/{ran}/restart", f"/jobs/{ran}/analyze", "/jobs/bulk"}  # fmt: skip
    assert wanted <= set(forms), sorted(forms)
    jobs_before = set(store.job_ids())
    tried = 0
    took: set[str] = set()
    problems: list[str] = []
    for _, form in sorted(forms.items()):
        n, fields, wrong = _try_form(server, cookie, csrf, form)
        tried, took, problems = tried + n, took | fields, problems + wrong
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} of {tried})"
    assert tried > 1000
    # no number, time or selection of the site took any of the values (free text, like a name, may)
    exact = {"cores", "memory_gb", "gpus", "walltime", "steps", "partition", "qos", "cell_x", "temperature",
             "timestep", "profile", "backup", "confirm", "structure"}  # fmt: skip
    taken = sorted(t for t in took if t.split(" <- ")[0] in exact)
    assert not taken, "\n".join(taken)
    assert not MARKER.exists()  # nothing a value named was run, here or on the (loopback) cluster
    assert set(store.job_ids()) == jobs_before  # no job made, none removed
