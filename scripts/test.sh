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
    if [ "$started_cluster" = 1 ] && [ "${NR_KEEP_CLUSTER:-0}" != 1 ]; then
        bash tests/cluster/cluster.sh down
    fi
}
trap cleanup EXIT
bash scripts/setup_env.sh
PY="$ROOT/.venv/bin/python"
echo "== ruff check";        "$PY" -m ruff check .
echo "== ruff format";       "$PY" -m ruff format --check .
echo "== mypy --strict";     "$PY" -m mypy --strict namdrunner_core namdrunner_cli
echo "== mkdocs build --strict"
NO_MKDOCS_2_WARNING=1 "$PY" -m mkdocs build --strict -q -d "$(mktemp -d)"
echo "== pytest"
# CI=true makes a missing cluster an error instead of a skip.
CI=true "$PY" -m pytest tests -q -p no:cacheprovider "$@"
