#!/usr/bin/env bash
# Create .venv and install namdrunner with its dev tools (idempotent). Sourced by the other scripts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
if [ ! -x "$ROOT/.venv/bin/python" ]; then
    "$PY" -m venv "$ROOT/.venv"
fi
"$ROOT/.venv/bin/python" -m pip install -q --disable-pip-version-check -U pip >/dev/null
"$ROOT/.venv/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[dev]" 2>&1 \
    | grep -v "^WARNING: Location" || true
"$ROOT/.venv/bin/python" -c "import namdrunner_core" \
    || { echo "namdrunner did not install" >&2; exit 1; }
