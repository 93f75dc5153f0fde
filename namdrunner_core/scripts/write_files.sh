# shellcheck shell=bash
# Write many small files (job_info.json) in ONE command, each atomically (temp name, then rename).
# stdin: records "<path>\t<size>\n" followed by <size> bytes; every path must be below a root argument.
# A file whose directory does not exist is skipped, never created: a job deleted meanwhile (by another
# process, while this sync ran) stays deleted. Any other failure is reported and makes the exit 1.
roots=("$@")
failed=0
buf=$(mktemp) || exit 1
while IFS=$'\t' read -r path size; do
  [ -n "$path" ] || continue
  ok=0
  for r in "${roots[@]}"; do case "$path" in "$r"/*) ok=1 ;; esac; done
  case "$path" in *..*) ok=0 ;; esac
  dir=$(dirname -- "$path")
  tmp="$path.nrtmp.$$"
  # the record's bytes are read whole first (into a private file): the stream stays in step
  # whatever happens to the destination
  head -c "$size" > "$buf"
  if [ "$ok" = 1 ] && [ -d "$dir" ]; then
    if cp -- "$buf" "$tmp" 2>/dev/null && mv -f -- "$tmp" "$path" 2>/dev/null; then
      echo "@@WROTE $path"
    else
      rm -f -- "$tmp" 2>/dev/null
      if [ -d "$dir" ]; then echo "@@FAILED $path"; failed=1; else echo "@@SKIPPED $path"; fi
    fi
  else
    echo "@@SKIPPED $path"
  fi
done
rm -f -- "$buf"
exit "$failed"
