# shellcheck shell=bash
# `namdrunner usage`: accounting of many jobs, pending start estimates, storage use and scratch ages,
# in ONE command.
# Args: <Slurm job ids, comma-separated, may be empty> <sacct fields> <site quota command or ""> <jobs root>
#       <scratch root>. Stdin: "<job id>|<scratch dir>" lines, the jobs whose scratch age is wanted.
ids=$1; fields=$2; quota_cmd=$3; jobs_root=$4; scratch_root=$5
echo "@@NOW $(date +%s)"
if [ -n "$ids" ]; then
  echo "@@SACCT"; timeout 30 sacct -D -P -n -j "$ids" -o "$fields" 2>&1; echo "@@SACCT_RC $?"
fi
echo "@@START"; squeue --start -h -u "$(whoami)" -o '%i|%S|%r' 2>&1; echo "@@START_RC $?"
existing() { # the path, or its nearest existing parent (df needs one that exists)
  local p=$1
  while [ ! -e "$p" ] && [ "$p" != "/" ]; do p=$(dirname -- "$p"); done
  printf '%s\n' "$p"
}
if [ -n "$quota_cmd" ]; then
  # the profile's own command (e.g. curc-quota), run as the user would type it
  echo "@@QUOTA"; bash -lc "$quota_cmd" 2>&1 | head -n 200; echo "@@QUOTA_RC ${PIPESTATUS[0]}"
fi
echo "@@DF"; df -P -B1 -- "$(existing "$jobs_root")" "$(existing "$scratch_root")" 2>&1; echo "@@DF_RC $?"
while IFS='|' read -r job dir; do
  [ -n "$job" ] && [ -d "$dir" ] || continue
  # the oldest file decides: the site purges files by age, one by one
  oldest=$(find "$dir" -type f -printf '%T@\n' 2>/dev/null | sort -n | head -n 1)
  count=$(find "$dir" -type f 2>/dev/null | wc -l)
  echo "@@AGE $job|${oldest%.*}|$count"
done
