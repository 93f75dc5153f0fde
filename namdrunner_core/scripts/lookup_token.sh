# shellcheck shell=bash
# Find a submission by job name in squeue and in sacct (a short job may have left the queue already):
# "@@SQ|<id>|<comment>|<name>" and "@@AC|<id>|<comment>|<name>" lines, then whether each client
# answered ("@@LOOKUP_SQ_RC n", "@@LOOKUP_AC_RC n"): an absence proves nothing when one did not.
# Args: <job name>.
name=$1
timeout 30 squeue -h -u "$USER" -n "$name" -o '@@SQ|%i|%k|%j' 2>&1
echo "@@LOOKUP_SQ_RC $?"
timeout 12 sacct -X -n -P -u "$USER" -S now-7days --name="$name" -o JobID,Comment,JobName 2>&1 | sed 's/^/@@AC|/'
echo "@@LOOKUP_AC_RC ${PIPESTATUS[0]}"
