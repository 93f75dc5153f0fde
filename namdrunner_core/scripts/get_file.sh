# shellcheck shell=bash
# Send one file from byte <offset> on stdout; its size and the sha256 of what was sent go to stderr.
# Args: <path> <offset>.
set -u
f=$1; offset=$2
[ -f "$f" ] || { echo "no such file: $f" >&2; exit 20; }
size=$(stat -c %s -- "$f")
echo "size $size" >&2
tail -c +"$((offset + 1))" -- "$f" | tee >(hash_stdin | sed 's/^/sha256 /' >&2)
