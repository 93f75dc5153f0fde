"""What the new screens of issue 34 cost: the template editor's live check (a POST after each pause in
typing) with the biggest builtin template (38 variables), beside /health on the same server in the same
run; and Slurm's start estimate on the review (`sbatch --test-only`, one remote command) beside a bare
remote `true` over the same session. Peak RSS of this process beside it.

    tests/cluster/cluster.sh up && .venv/bin/python -m benchmarks.ui_editor [--rounds 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import statistics
import tempfile
import time
import urllib.parse
from pathlib import Path

from benchmarks.ui_jobs_page import key_cookie, serve


def _form_fields(template_id: str) -> dict[str, str]:
    from namdrunner_core.namd.template_files import builtin_templates
    from namdrunner_core.template_form import form_of

    form = form_of(builtin_templates()[template_id])
    fields = {"id": "bench_copy", "name": form.name, "description": form.description, "text": form.text, "was": ""}
    for i, row in enumerate(form.variables):
        for attr in ("key", "label", "type", "help", "default", "min", "max", "extensions", "choices"):
            fields[f"var.{i}.{attr}"] = getattr(row, attr)
        if row.required:
            fields[f"var.{i}.required"] = "on"
    return fields


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()

    from namdrunner_cli.web.state import UiState
    from namdrunner_core import JobStore
    from namdrunner_core.cluster import Cluster
    from namdrunner_core.start_estimate import estimate_start

    with tempfile.TemporaryDirectory() as d:
        state = UiState("loopback", JobStore(Path(d) / "bench.db"))
        server, port = serve(state)
        cookie = key_cookie(port, state.token)
        body = urllib.parse.urlencode({**_form_fields("vacuum_optimization_v1"), "csrf": state.csrf})

        def ask(method: str, path: str, data: str | None = None) -> float:
            headers = {"Cookie": cookie, "X-CSRF-Token": state.csrf, "Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            t0 = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            assert response.status == 200, answer[:300]
            return time.monotonic() - t0

        ask("POST", "/templates/check", body)  # warm: imports, Jinja's first compile
        health = [ask("GET", "/health") for _ in range(args.rounds)]
        checks = [ask("POST", "/templates/check", body) for _ in range(args.rounds)]
        server.should_exit = True  # type: ignore[attr-defined]
        state.close()

    script = "#!/bin/bash\n#SBATCH --partition=amilan\n#SBATCH --ntasks=1\n#SBATCH --time=00:10:00\nsrun hostname\n"
    with Cluster.from_profile("loopback").connect() as session:
        session.transport.run(["true"])
        bare, estimates = [], []
        for _ in range(max(3, args.rounds // 4)):
            t0 = time.monotonic()
            session.transport.run(["true"])
            bare.append(time.monotonic() - t0)
            t0 = time.monotonic()
            estimate_start(session, script)
            estimates.append(time.monotonic() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def ms(xs: list[float]) -> float:
        return round(1000 * statistics.median(xs), 1)

    result = {"rounds": args.rounds, "health_ms": ms(health), "template_check_ms": ms(checks),
              "remote_true_ms": ms(bare), "start_estimate_ms": ms(estimates), "peak_rss_mib": round(rss)}  # fmt: skip
    print(json.dumps(result))
    print(
        f"the editor's live check of a 38-variable template: {result['template_check_ms']} ms "
        f"(/health {result['health_ms']} ms); Slurm's start estimate {result['start_estimate_ms']} ms "
        f"(a bare remote `true` {result['remote_true_ms']} ms); peak RSS {result['peak_rss_mib']} MiB"
    )


if __name__ == "__main__":
    main()
