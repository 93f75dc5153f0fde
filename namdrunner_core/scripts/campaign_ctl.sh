# shellcheck shell=bash
# Change a campaign's state on the cluster, in place (campaign.json is rewritten atomically there, with
# whatever the segments recorded meanwhile). Args: <scratch dir> <python3> cancel|resume.
cd -- "$1" || exit 1
exec timeout 60 "$2" campaign_step.py "$3"
