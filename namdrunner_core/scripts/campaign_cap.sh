# shellcheck shell=bash
# The --time for a campaign's next segment when a maintenance window would cut it (empty: its own wall
# time). Args: <scratch dir> <python3> <wall time, seconds>. Decided by campaign_step.py cap.
cd -- "$1" || exit 1
timeout 30 scontrol show reservation -o 2>/dev/null | timeout 60 "$2" campaign_step.py cap --walltime-s "$3"
