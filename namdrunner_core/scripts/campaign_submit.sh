# shellcheck shell=bash
# Queue the next segment of campaigns whose chain namdrunner moves on itself (a segment killed before it
# could decide, or compute nodes that may not submit), in ONE command.
# Args: <python3> then triples <scratch dir> <memory for --mem, or "-"> <wall time, seconds>. In each dir:
# one segment (its --time cut to end before a maintenance window, campaign_step.py cap) is
# queued unless a queued or running job of that campaign (its name) exists already, and campaign.json
# records it (campaign_step.py submitted). Prints "@@SUBMITTED <dir> <id>", "@@EXISTS <dir> <id>" or
# "@@FAILED <dir> <message>".
python=$1
shift
while [ $# -ge 3 ]; do
  dir=$1 mem=$2 walltime=$3
  shift 3
  if ! cd -- "$dir" 2>/dev/null; then echo "@@FAILED $dir no such directory"; continue; fi
  name=$(basename -- "$dir")
  queued=$(timeout 30 squeue -h -u "$USER" -n "$name" -o %i 2>/dev/null | head -n 1)
  if [ -n "$queued" ]; then echo "@@EXISTS $dir $queued"; continue; fi
  args=(--parsable)
  if [ "$mem" != "-" ]; then args+=("--mem=$mem"); fi
  cap=$(timeout 30 scontrol show reservation -o 2>/dev/null | "$python" campaign_step.py cap --walltime-s "$walltime")
  if [ -n "$cap" ]; then args+=("--time=$cap"); fi
  if out=$(timeout -k 10 300 sbatch "${args[@]}" job.sbatch 2>&1); then
    id=${out%%;*}
    "$python" campaign_step.py submitted --slurm-id "$id" && echo "@@SUBMITTED $dir $id"
  else
    echo "@@FAILED $dir $(printf '%s' "$out" | tr '\n' ' ' | head -c 300)"
  fi
done
