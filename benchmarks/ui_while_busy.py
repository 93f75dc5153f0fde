"""`namdrunner ui` while a remote action runs (issue 34: "the whole server freezes during the cluster
upload"): how long a page, a static file, a fragment and /health take while a POST runs its remote
commands (`cluster check`, about a second of them on the loopback cluster), beside the same requests to
the same idle server in the same run (the baseline). Peak RSS of this process beside it.

    tests/cluster/cluster.sh up && .venv/bin/python -m benchmarks.ui_while_busy [--rounds 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.ui_jobs_page import key_cookie, serve

PATHS = ("/health", "/static/app.css", "/fragments/jobs", "/")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    from namdrunner_cli.web.state import UiState
    from namdrunner_core import JobStore

    with tempfile.TemporaryDirectory() as d:
        state = UiState("loopback", JobStore(Path(d) / "busy.db"))
        server, port = serve(state)
        cookie = key_cookie(port, state.token)
        form = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}

        def ask(method: str, path: str, body: str | None = None) -> float:
            t0 = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request(method, path, body=body, headers=form if body is not None else {"Cookie": cookie})
            conn.getresponse().read()
            return time.monotonic() - t0

        check = f"csrf={state.csrf}"
        ask("POST", "/cluster/check", check)  # the session opened (a login is not what is measured)
        idle: list[float] = []
        busy: list[float] = []
        actions: list[float] = []
        for _ in range(args.rounds):
            idle += [ask("GET", p) for p in PATHS]
            took: list[float] = []
            worker = threading.Thread(target=lambda: took.append(ask("POST", "/cluster/check", check)))
            worker.start()
            time.sleep(0.3)  # the check is running its remote commands
            busy += [ask("GET", p) for p in PATHS]
            worker.join()
            actions += took
        server.should_exit = True  # type: ignore[attr-defined]
        state.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def ms(xs: list[float]) -> dict[str, float]:
        return {"median_ms": round(1000 * statistics.median(xs), 1), "max_ms": round(1000 * max(xs), 1)}

    print(json.dumps({"rounds": args.rounds, "action_s": round(statistics.median(actions), 2), "idle": ms(idle),
                      "during_action": ms(busy), "peak_rss_mib": round(rss)}))  # fmt: skip
    b, i = ms(busy), ms(idle)
    print(f"while a `cluster check` ran ({statistics.median(actions):.2f} s), pages answered in {b['median_ms']} ms "
          f"median, {b['max_ms']} ms worst | the same idle server: {i['median_ms']} ms median, {i['max_ms']} ms "
          f"worst | peak RSS {rss:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
