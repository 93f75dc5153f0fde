# shellcheck shell=bash
# What an interrupted upload left: "<size> <sha256>" of the partial file, or "0 -" when there is none.
# Args: <partial path>.
p=$1
if [ -f "$p" ]; then
  printf '%s %s\n' "$(stat -c %s -- "$p")" "$(hash_stdin < "$p")"
else
  echo "0 -"
fi
