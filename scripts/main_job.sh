#!/usr/bin/env bash
# The main job, on a fresh Debian machine, as root: bring up the loopback test cluster, install
# namdrunner, and run a bundled example simulation end to end THROUGH THE CLI: check the cluster,
# create and submit a job, watch it to completion, show it, and fetch its results.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tests/cluster/cluster.sh up
bash scripts/setup_env.sh
NR="$ROOT/.venv/bin/namdrunner"
# A demo store and config of its own, so the user's real ones are never touched.
export NAMDRUNNER_DB="$ROOT/.demo/namdrunner.db" NAMDRUNNER_CONFIG_DIR="$ROOT/.demo/config"
export NAMDRUNNER_PROFILE=loopback
mkdir -p "$ROOT/.demo"
EX="$ROOT/examples/toy_system"

echo "== namdrunner cluster check loopback"
"$NR" cluster check loopback

echo "== namdrunner job create ... --submit"
job_id=$("$NR" --json job create --name "toy NPT demo" --template explicit_solvent_npt_v1 \
    --set execution_command=run --set steps=24000 --set temperature=310 \
    --set dcd_freq=1200 --set energy_freq=240 --set restart_freq=6000 \
    --file "$EX/tiny.psf" --file "$EX/tiny.pdb" --file "$EX/par_tiny.prm" --file "$EX/tiny.exb" \
    --cores 4 --memory 2 --walltime 00:30:00 --submit \
    | "$ROOT/.venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
echo "created and submitted $job_id"

echo "== namdrunner watch"
"$NR" watch --max-interval 4

echo "== namdrunner job show $job_id"
"$NR" job show "$job_id"

echo "== namdrunner job download $job_id"
"$NR" job download "$job_id" --to "$ROOT/results"   # into results/<id>/
status=$("$NR" --json job show "$job_id" | "$ROOT/.venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["status"])')
echo "results in results/$job_id:"
ls -la "$ROOT/results/$job_id/outputs"
tail -n 3 "$ROOT/results/$job_id/namd_output.log"
[ "$status" = "Completed" ] || { echo "the demo job ended $status" >&2; exit 1; }
echo "main job: $job_id Completed; results fetched and verified"
