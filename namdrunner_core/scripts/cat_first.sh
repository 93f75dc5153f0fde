# shellcheck shell=bash
# The first of the given files that exists: its index (0-based) on the first line, then its text.
# Exit 44 when none does. Args: <path>...
i=0
for p in "$@"; do
  if [ -f "$p" ]; then printf '%s\n' "$i"; exec cat -- "$p"; fi
  i=$((i + 1))
done
exit 44
