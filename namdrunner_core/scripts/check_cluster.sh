# shellcheck shell=bash
# `namdrunner cluster check`: who we are, what the cluster offers (lib_detect), the profile's NAMD
# modules, writable roots, in ONE command.
# Args: <module list, each shell-quoted, space-separated> <jobs root> <scratch root> [<NAMD program>: a
# host without modules (scheduler = "none") - is it there?].
modules=$1; jobs_root=$2; scratch_root=$3; program=${4:-}
echo "@@WHOAMI $(whoami)@$(hostname)"
nr_detect
echo "@@MODULE"
if [ -n "$program" ]; then
  if [ -f "$program" ]; then echo "$program"; echo "@@MODULE_RC 0"
  elif command -v -- "$program"; then echo "@@MODULE_RC 0"
  else echo "$program: not found on this host"; echo "@@MODULE_RC 1"; fi
elif type module >/dev/null 2>&1; then
  # shellcheck disable=SC2086 # the module list is split into words on purpose
  ( module purge >/dev/null 2>&1; module load $modules 2>&1 && command -v namd3 namd2 2>&1 ); echo "@@MODULE_RC $?"
else
  echo "module command not found"; echo "@@MODULE_RC 127"
fi
for r in "$jobs_root" "$scratch_root"; do
  if mkdir -p -- "$r" 2>/dev/null && t=$(mktemp -p "$r" .nrcheck.XXXXXX 2>/dev/null); then
    rm -f -- "$t"; echo "@@ROOT ok $r"
  else
    echo "@@ROOT fail $r"
  fi
done
