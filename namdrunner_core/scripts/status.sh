# shellcheck shell=bash
# squeue and sacct for many Slurm ids, submissions whose outcome is unknown looked up by job name, and
# the new NAMD log lines of those jobs, in ONE command.
# Args: <comma-separated ids or ""> <squeue -o format> <sacct -o fields> (the parser owns both
# formats) <comma-separated job names to look up or "">, then triples <job_id> <log_path> <offset>
# (log_section of lib_log.sh); a triple "@@FILE <job_id> <path>" sends that small file whole instead
# (a campaign's campaign.json), base64-encoded after "@@FILE <job_id> ok|missing".
# The cluster's clock comes first (epoch and local time: Slurm prints local times without a zone).
# sacct -D lists every record of an id: a requeued job's earlier runs, or another job that was given
# the same id after the controller lost its state. Each Slurm client is bounded by `timeout`: a
# controller or an accounting service that does not answer costs seconds, not a minute.
ids=$1; squeue_format=$2; sacct_fields=$3; names=$4
shift 4
echo "@@NOW $(date +%s) $(date +%Y-%m-%dT%H:%M:%S)"
if [ -n "$ids" ]; then
  echo "@@SQUEUE"
  timeout 30 squeue -h -o "$squeue_format" -j "$ids" 2>&1
  echo "@@SQUEUE_RC $?"
  echo "@@SACCT"
  timeout 12 sacct -D -P -n -j "$ids" -o "$sacct_fields" 2>&1
  echo "@@SACCT_RC $?"
fi
if [ -n "$names" ]; then
  echo "@@LOOKUP"
  timeout 30 squeue -h -u "$USER" -n "$names" -o '@@SQ|%i|%k|%j' 2>&1
  echo "@@LOOKUP_SQ_RC $?"
  timeout 12 sacct -X -n -P -u "$USER" -S now-7days --name="$names" -o JobID,Comment,JobName 2>&1 | sed 's/^/@@AC|/'
  echo "@@LOOKUP_AC_RC ${PIPESTATUS[0]}"
fi
while [ $# -ge 3 ]; do
  if [ "$1" = "@@FILE" ]; then
    if [ -f "$3" ] && [ "$(stat -c %s -- "$3")" -le 4194304 ]; then
      echo "@@FILE $2 ok"; base64 -w 0 -- "$3"; echo
    else
      echo "@@FILE $2 missing"
    fi
  else
    log_section "$1" "$2" "$3"
  fi
  shift 3
done
