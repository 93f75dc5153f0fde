# shellcheck shell=bash
# Every job_info.json under the jobs root (symlinked job dirs skipped), base64 after "@@INFO <dir>".
root=$1
[ -d "$root" ] || exit 0
for f in "$root"/*/job_info.json; do
  [ -f "$f" ] || continue
  [ -L "$(dirname -- "$f")" ] && continue
  echo "@@INFO $(basename -- "$(dirname -- "$f")")"
  head -c 1048576 -- "$f" | base64 -w 0
  echo
done
