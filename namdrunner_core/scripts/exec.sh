# shellcheck shell=bash
# Run one command given as arguments (a Slurm command after the module prefix).
exec "$@"
