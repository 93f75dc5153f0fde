# shellcheck shell=bash
# Every job_info.json under the jobs root (symlinked job dirs skipped), base64 after "@@INFO <dir>";
# a campaign's campaign.json after "@@CAMPAIGN <dir>" (the scratch copy, the current one, when there is
# one; else the project copy). Args: <jobs root> [<scratch root>].
root=$1 scratch=${2:-}
[ -d "$root" ] || exit 0
for f in "$root"/*/job_info.json; do
  [ -f "$f" ] || continue
  dir=$(dirname -- "$f")
  [ -L "$dir" ] && continue
  name=$(basename -- "$dir")
  echo "@@INFO $name"
  head -c 1048576 -- "$f" | base64 -w 0
  echo
  c="$dir/campaign.json"
  if [ -n "$scratch" ] && [ -f "$scratch/$name/campaign.json" ] && [ ! -L "$scratch/$name" ]; then
    c="$scratch/$name/campaign.json"
  fi
  if [ -f "$c" ]; then
    echo "@@CAMPAIGN $name"
    head -c 4194304 -- "$c" | base64 -w 0
    echo
  fi
done
