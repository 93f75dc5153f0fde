# shellcheck shell=bash
# The last lines of many jobs' NAMD logs in ONE command: "@@TAIL <id> ok|missing", then the lines
# base64-encoded on one line. Args: <lines> then pairs <job_id> <log_path>.
lines=$1
shift
while [ $# -ge 2 ]; do
  if [ -f "$2" ]; then
    echo "@@TAIL $1 ok"
    tail -n "$lines" -- "$2" | base64 -w 0
    echo
  else
    echo "@@TAIL $1 missing"
  fi
  shift 2
done
