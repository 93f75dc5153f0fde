# shellcheck shell=bash
# Find a submission by job name in squeue and in sacct (a short job may have left the queue already):
# "@@SQ|<id>|<comment>" and "@@AC|<id>|<comment>" lines. Args: <job name>.
name=$1
squeue -h -u "$USER" -n "$name" -o '@@SQ|%i|%k' 2>/dev/null
sacct -X -n -P -u "$USER" -S now-2days --name="$name" -o JobID,Comment 2>/dev/null | sed 's/^/@@AC|/'
exit 0
