# shellcheck shell=bash
# Copy a job's project dir to its scratch dir, on the cluster. Args: <project dir> <scratch dir>.
mkdir -p -- "$(dirname -- "$2")" && rsync -a -- "$1/" "$2/"
