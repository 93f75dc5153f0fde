# shellcheck shell=bash
# Move on the campaigns whose chain namdrunner moves itself (a segment killed before it could decide, or
# compute nodes that may not submit), in ONE command: first each one's new campaign.json (stdin: records
# "<scratch dir>\t<size>\n" + <size> bytes, each written atomically, a temp name then a rename), then the
# next segments.
# Args: <python3> <scratch root> then triples <scratch dir> <memory for --mem, or "-"> <wall time, s>.
# Every dir must be below the scratch root. In each dir of a triple: one segment (its --time cut to end
# before a maintenance window, campaign_step.py cap) is queued unless a queued or running job of that
# campaign (its name) exists already, and campaign.json records it (campaign_step.py submitted).
# Prints "@@WROTE <dir>", "@@SUBMITTED <dir> <id>", "@@EXISTS <dir> <id>" or "@@FAILED <dir> <message>".
python=$1 root=$2
shift 2
inside() { case "$1" in "$root"/*) case "$1" in *..*) return 1 ;; esac; return 0 ;; *) return 1 ;; esac; }
buf=$(mktemp) || exit 1
while IFS=$'\t' read -r dir size; do
  [ -n "$dir" ] || continue
  head -c "$size" > "$buf"  # the record's bytes read whole first: the stream stays in step
  if inside "$dir" && [ -d "$dir" ] && cp -- "$buf" "$dir/.campaign.json.nrtmp.$$" \
      && mv -f -- "$dir/.campaign.json.nrtmp.$$" "$dir/campaign.json"; then
    echo "@@WROTE $dir"
  else
    rm -f -- "$dir/.campaign.json.nrtmp.$$" 2>/dev/null
    echo "@@FAILED $dir campaign.json could not be written"
  fi
done
rm -f -- "$buf"
while [ $# -ge 3 ]; do
  dir=$1 mem=$2 walltime=$3
  shift 3
  if ! inside "$dir" || ! cd -- "$dir" 2>/dev/null; then echo "@@FAILED $dir no such directory"; continue; fi
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
