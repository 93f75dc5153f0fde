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
echo "== node --check (the page's scripts: one syntax error stops every script of a page)"
jsdir=$(mktemp -d)
for js in namdrunner_cli/web/static/*.js; do
    if grep -q '^import ' "$js"; then  # an ES module: checked as one
        cp "$js" "$jsdir/$(basename "$js" .js).mjs" && node --check "$jsdir/$(basename "$js" .js).mjs"
    else
        node --check "$js"
    fi
done
rm -rf "$jsdir"
echo "== mkdocs build --strict"
NO_MKDOCS_2_WARNING=1 "$PY" -m mkdocs build --strict -q -d "$(mktemp -d)"
# CI=true makes a missing cluster an error instead of a skip.
if [ "$#" -gt 0 ]; then  # a selection given: that, in one run
    echo "== pytest $*"
    CI=true "$PY" -m pytest -q -p no:cacheprovider "$@"
    exit
fi
# Most integration tests wait on Slurm, not on the CPU: three lanes run side by side - the unit tests,
# the tests that log in with passwords and Duo (they switch the Duo stand-in's answers; the host
# runner's tests, which use no Slurm, balance this lane), and the jobs tests - then, alone, the tests
# that fault the cluster itself (a node down, the controller paused or reset, accounting off, a
# reservation, a preemption taking the node, sbatch made to hang) and the one that proves a refused command changed nothing
# on the whole cluster: nothing else may run then.
# A new integration file goes to the jobs lane unless it is listed here.
FAULTS=(tests/integration/test_slurm_faults.py tests/integration/test_campaigns.py tests/integration/test_id_safety.py
        tests/integration/test_start_estimate.py tests/integration/test_real_site.py)
LOGINS=(tests/integration/test_duo.py tests/integration/test_session.py
        tests/integration/test_cli.py tests/integration/test_ui.py tests/integration/test_foundation.py
        tests/integration/test_transport_ssh.py tests/integration/test_host_runner.py)
JOBS=()
for f in tests/integration/test_*.py; do
    case " ${FAULTS[*]} ${LOGINS[*]} " in *" $f "*) ;; *) JOBS+=("$f") ;; esac
done
logs=$(mktemp -d)
lane() {  # name, then what pytest runs; its exit code kept (a failing lane must not end the script early:
    # its log would go unprinted)
    local name=$1 code=0
    shift
    CI=true "$PY" -m pytest -q -p no:cacheprovider "$@" >"$logs/$name.log" 2>&1 || code=$?
    echo "$code" >"$logs/$name.rc"
}
echo "== pytest: unit, logins and jobs side by side"
lane unit tests/unit &
lane logins "${LOGINS[@]}" &
lane jobs "${JOBS[@]}" &
wait
rc=0
for name in unit logins jobs; do
    echo "== pytest: $name"
    cat "$logs/$name.log"
    [ "$(cat "$logs/$name.rc")" = 0 ] || rc=1
done
echo "== pytest: faults and whole-cluster checks (alone)"
lane faults "${FAULTS[@]}"
cat "$logs/faults.log"
[ "$(cat "$logs/faults.rc")" = 0 ] || rc=1
rm -rf "$logs"
exit "$rc"
