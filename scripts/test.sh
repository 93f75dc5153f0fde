#!/usr/bin/env bash
# Every check and test, on a fresh Debian machine, as root:
#   lint, format, types, unit tests, and the integration tests against the real loopback cluster.
# The cluster is brought up if it is not running, and brought down again at the end in that case
# (set NR_KEEP_CLUSTER=1 to leave it up).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
started_cluster=0
if ! bash tests/cluster/cluster.sh status >/dev/null 2>&1; then
    bash tests/cluster/cluster.sh up
    started_cluster=1
fi
cleanup() {
    local rc=$?
    if [ "$started_cluster" = 1 ] && [ "${NR_KEEP_CLUSTER:-0}" != 1 ]; then
        # `down` must stop only the cluster's own processes: a stranger named like a job step survives it.
        local fake stranger
        fake="$(mktemp -d)/slurmstepd"
        cp /bin/sleep "$fake"
        bash -c "exec -a 'slurmstepd: [x]' '$fake' 120" &
        stranger=$!
        bash tests/cluster/cluster.sh down
        if kill -0 "$stranger" 2>/dev/null; then
            echo "== cluster down spared an unrelated 'slurmstepd: [x]' (pid $stranger)"
            kill "$stranger"
        else
            echo "== FAIL: cluster down killed an unrelated 'slurmstepd: [x]'"
            rc=1
        fi
        rm -rf "$(dirname "$fake")"
    fi
    exit "$rc"
}
trap cleanup EXIT
bash scripts/setup_env.sh
# The UI tests drive Debian's chromium through its chromedriver (never a browser a tool downloads).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "== installing chromium and chromium-driver (the UI tests' browser)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
PY="$ROOT/.venv/bin/python"
echo "== ruff check";        "$PY" -m ruff check .
echo "== ruff format";       "$PY" -m ruff format --check .
echo "== mypy --strict";     "$PY" -m mypy --strict namdrunner_core namdrunner_cli
echo "== lint-imports (layers point down)"; "$ROOT/.venv/bin/lint-imports" --no-cache
echo "== shellcheck (remote scripts)"; "$ROOT/.venv/bin/shellcheck" -s bash namdrunner_core/scripts/*.sh
echo "== mkdocs build --strict"
NO_MKDOCS_2_WARNING=1 "$PY" -m mkdocs build --strict -q -d "$(mktemp -d)"
echo "== pytest"
# CI=true makes a missing cluster an error instead of a skip.
CI=true "$PY" -m pytest tests -q -p no:cacheprovider "$@"
