# shellcheck shell=bash
# Write many small files (job_info.json) in ONE command, each atomically (temp name, then rename).
# stdin: records "<path>\t<size>\n" followed by <size> bytes; every path must be below a root argument.
roots=("$@")
while IFS=$'\t' read -r path size; do
  [ -n "$path" ] || continue
  ok=0
  for r in "${roots[@]}"; do case "$path" in "$r"/*) ok=1 ;; esac; done
  case "$path" in *..*) ok=0 ;; esac
  tmp="$path.nrtmp.$$"
  if [ "$ok" = 1 ] && [ -d "$(dirname -- "$path")" ]; then
    head -c "$size" > "$tmp" && mv -f -- "$tmp" "$path" && echo "@@WROTE $path"
  else
    head -c "$size" > /dev/null; echo "@@SKIPPED $path"
  fi
done
