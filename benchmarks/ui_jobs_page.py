"""The Jobs page of `namdrunner ui` on a 10,000-job store: server time per page (paged and sorted
in SQL), beside the same server answering `/health` in the same run, with peak RSS.

Target (issue 17): the Jobs page with 10,000 jobs renders in < 1 s (server time, paged); a job's
page is measured beside it.

    .venv/bin/python -m benchmarks.ui_jobs_page
"""

from __future__ import annotations

import http.client
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks._fixtures import make_store


def key_cookie(port: int, key: str) -> str:
    """The session cookie a browser gets for the key (POST /key, as the key page sends it)."""
    import urllib.parse

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = urllib.parse.urlencode({"key": key})
    conn.request("POST", "/key", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    return (conn.getresponse().getheader("Set-Cookie") or "").split(";", 1)[0]


def serve(state: object) -> tuple[object, int]:
    """``namdrunner ui``'s app for ``state`` on a free loopback port, in a thread: (server, port); set
    ``server.should_exit`` to stop it."""
    import uvicorn

    from namdrunner_cli.web.app import build_app
    from namdrunner_cli.web.server import bind

    sock = bind(0)
    server = uvicorn.Server(uvicorn.Config(build_app(state), log_level="warning", lifespan="off"))  # type: ignore[arg-type]
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, sock.getsockname()[1]


def main() -> None:
    import uvicorn

    from namdrunner_cli.web.app import build_app
    from namdrunner_cli.web.server import bind
    from namdrunner_cli.web.state import UiState

    with tempfile.TemporaryDirectory() as d:
        store = make_store(Path(d) / "10k.db", 10_000)
        sock = bind(0)
        port = sock.getsockname()[1]
        state = UiState("loopback", store)
        server = uvicorn.Server(uvicorn.Config(build_app(state), log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)

        def get(path: str, cookie: str = "") -> tuple[float, int, bytes]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            r = conn.getresponse()
            body = r.read()
            return time.perf_counter() - t0, r.status, body

        cookie = key_cookie(port, state.token)
        rows = {}
        some_job = store.job_ids()[5000]
        pages = (("health", "/health"), ("jobs page 1", "/"), ("page 100, by name", "/?sort=name&dir=asc&page=100"),
                 ("fragment", "/fragments/jobs?sort=status"), ("a job's page", f"/jobs/{some_job}"))  # fmt: skip
        for label, path in pages:
            times = []
            for _ in range(7):
                t, status, body = get(path, cookie)
                assert status == 200, (path, status, body[:200])
                times.append(t)
            rows[label] = statistics.median(times)
        server.should_exit = True
        thread.join(timeout=10)
        store.engine.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    base = rows["health"]
    print(f"store: 10,000 jobs; medians of 7 requests; peak RSS {rss:.0f} MiB")
    for label, t in rows.items():
        ratio = "" if label == "health" else f"  ({t / base:.1f}x /health)"
        target = "" if label == "health" else ("  [target < 1 s: met]" if t < 1 else "  [target < 1 s: MISSED]")
        print(f"  {label:24s} {t * 1000:8.1f} ms{ratio}{target}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
