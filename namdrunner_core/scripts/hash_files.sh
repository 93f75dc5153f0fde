# shellcheck shell=bash
# The sha256 of each named file below <root>, one line each in argument order ("-" for a missing one).
# Args: <root> <relative path>...
set -u
root=$1; shift
cd -- "$root" || exit 1
nr_stream hashes . "$@"
rc=$?
[ "$rc" = 127 ] || exit "$rc"
for f in "$@"; do
  if [ -f "$f" ]; then hash_stdin < "$f"; else echo "-"; fi
done
