"""What the browser tests share: a `namdrunner ui` server process, and helpers that picture a page at
every width and theme and wait for what the page shows (the fixtures are in conftest.py)."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
import urllib.parse

from tests.conftest import DATA, ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = ROOT / "test-output" / "screenshots"
TINY = {n: DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm", "tiny.exb")}


class Server:
    """A `namdrunner ui --no-browser` process and what it printed."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "namdrunner_cli", "ui", "--no-browser"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:(\d+)/)$", line.strip())
        assert m, line
        key = re.fullmatch(r"key: (\S+)", self.proc.stdout.readline().strip())
        assert key, "the key is printed on its own line, apart from the address"
        self.url, self.port, self.token = m.group(1), int(m.group(2)), key.group(1)
        self.base = f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                body: str | bytes | None = None, host: str | None = None) -> http.client.HTTPResponse:  # fmt: skip
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host or f"127.0.0.1:{self.port}")
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        data = body.encode() if isinstance(body, str) else body or b""
        if body is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data if body is not None else None)
        return conn.getresponse()

    def cookie(self) -> str:
        response = self.request("POST", "/key", headers={"Content-Type": "application/x-www-form-urlencoded"},
                                body=urllib.parse.urlencode({"key": self.token}))  # fmt: skip
        assert response.status == 200
        set_cookie = response.getheader("Set-Cookie") or ""
        return set_cookie.split(";", 1)[0]

    def open(self, driver: object, path: str = "/") -> None:
        """Open ``path`` in the browser, giving the key on the key page when the browser has no session."""
        from selenium.webdriver.common.by import By

        driver.get(self.base + path)  # type: ignore[attr-defined]
        if driver.find_elements(By.ID, "key"):  # type: ignore[attr-defined]
            driver.find_element(By.ID, "key").send_keys(self.token)  # type: ignore[attr-defined]
            driver.find_element(By.ID, "key-submit").click()  # type: ignore[attr-defined]
            # the key page, then the "Key accepted" page that moves on by itself, then the page asked for
            wait_for(lambda: not driver.find_elements(By.CSS_SELECTOR, "#key, #enter") and driver.find_elements(By.TAG_NAME, "main"),  # type: ignore[attr-defined]  # noqa: E501
                     what="the key page to let the browser in")  # fmt: skip

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def find_all(driver: object, element_id: str) -> list[object]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.ID, element_id)  # type: ignore[attr-defined,no-any-return]


#: the widths every page is pictured at: a phone, a small laptop, a desktop
WIDTHS = (390, 1024, 1280)


#: the page's visible controls that have no accessible name: no label, aria-label(ledby), title or text
NAMELESS = """return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]')]
  .filter(e => e.offsetParent !== null || e.getClientRects().length)
  .filter(e => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')
                 || e.title || (e.textContent || '').trim() || e.getAttribute('alt')
                 || (e.querySelector && e.querySelector('img[alt]'))))
  .map(e => `${e.tagName.toLowerCase()}#${e.id}[name=${e.name || ''}]`).slice(0, 10)"""


def shoot(driver: object, name: str, focus: str | None = None) -> None:
    """Screenshots of the page in light and dark (the theme button) at 1280 px, and light at 390 and
    1024 px, under test-output/; at every width nothing of the page is cut off sideways (a wide table
    scrolls inside its own box). ``focus``: a CSS selector kept in view at every width (what the person
    looks at)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    keep = f"const f = document.querySelector({focus!r}); if (f) f.scrollIntoView({{block: 'center'}});"
    for width in WIDTHS[:-1]:
        driver.set_window_size(width, 844)  # type: ignore[attr-defined]
        if focus:
            driver.execute_script(keep)  # type: ignore[attr-defined]
        driver.save_screenshot(str(SHOTS / f"{name}-{width}-light.png"))  # type: ignore[attr-defined]
        overflow = driver.execute_script(  # type: ignore[attr-defined]
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 1:  # name the element that sticks out furthest, for the one who fixes it
            culprit = driver.execute_script(  # type: ignore[attr-defined]
                "let w = null, r = 0; for (const e of document.querySelectorAll('main *')) {"
                " const x = e.getBoundingClientRect().right; if (x > r) { r = x; w = e; } }"
                "return w ? `${w.tagName.toLowerCase()}#${w.id}.${w.className} right=${Math.round(r)}` : ''"
            )
            raise AssertionError(f"{name} at {width} px: the page scrolls {overflow} px sideways ({culprit})")
    driver.set_window_size(1280, 800)  # type: ignore[attr-defined]
    nameless = driver.execute_script(NAMELESS)  # type: ignore[attr-defined]
    assert not nameless, f"{name}: controls without an accessible name (a screen reader says nothing): {nameless}"
    for theme in ("light", "dark"):
        driver.execute_script(f"document.documentElement.dataset.theme = '{theme}'")  # type: ignore[attr-defined]
        redrawn = driver.execute_script(  # type: ignore[attr-defined]
            "const p = document.getElementById('energy-plot'); if (!p || !p.src) return false;"
            f"p.src = p.dataset.src + '?theme={theme}&t=' + Date.now(); return true;"
        )
        if redrawn:  # the server draws the plot for one theme: wait for the new picture
            wait_for(lambda: driver.execute_script(  # type: ignore[attr-defined]
                "const p = document.getElementById('energy-plot'); return p.complete && p.naturalWidth > 0"),
                what="the redrawn plot")  # fmt: skip
        driver.execute_script(  # type: ignore[attr-defined]
            f"document.querySelectorAll('img.themed').forEach(i => i.src = i.dataset.src + '?theme={theme}')"
        )
        wait_for(lambda: driver.execute_script(  # type: ignore[attr-defined]
            "return [...document.querySelectorAll('img.themed')].every(i => i.complete && i.naturalWidth > 0)"),
            what="the analysis charts in the theme")  # fmt: skip
        if focus:
            driver.execute_script(keep)  # type: ignore[attr-defined]
        driver.save_screenshot(str(SHOTS / f"{name}-{theme}.png"))  # type: ignore[attr-defined]
    driver.execute_script("document.documentElement.dataset.theme = 'light'")  # type: ignore[attr-defined]


def wait_for(predicate: object, timeout: float = 60, what: str = "condition") -> object:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = predicate()  # type: ignore[operator]
        except Exception:  # noqa: BLE001 - the page may be reloading
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def multipart(fields: dict[str, tuple[str, bytes] | str]) -> tuple[str, bytes]:
    """A multipart/form-data body: text fields, and files as (file name, bytes)."""
    boundary = "nrboundary7d1a"
    out = b""
    for name, value in fields.items():
        out += f"--{boundary}\r\n".encode()
        if isinstance(value, tuple):
            out += f'Content-Disposition: form-data; name="{name}"; filename="{value[0]}"\r\n'.encode()
            out += b"Content-Type: application/octet-stream\r\n\r\n" + value[1] + b"\r\n"
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", out
