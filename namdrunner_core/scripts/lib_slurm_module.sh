# shellcheck shell=bash
# Prefix of every script that calls Slurm: $1 is the site's Slurm module (empty: none; @hostq: the host
# runner of a profile with scheduler = "none"), shifted away.
# Alpine's Slurm commands exist only after `module load slurm/alpine`. Exit 97 (nothing of the script
# ran) when the module does not load.
nr_slurm_module=$1
shift
if [ "$nr_slurm_module" = @hostq ]; then  # no Slurm: namdrunner's host runner answers for it
  export PATH="$HOME/.namdrunner/hostq/bin:$PATH"
elif [ -n "$nr_slurm_module" ]; then
  module load "$nr_slurm_module" >/dev/null 2>&1 \
    || { echo "namdrunner: module load $nr_slurm_module failed" >&2; exit 97; }
fi
