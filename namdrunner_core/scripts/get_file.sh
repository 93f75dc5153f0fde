# shellcheck shell=bash
# Send one file from byte <offset> on stdout. On stderr: "size S" first, then "sha256 H" (of what was
# sent) and "stat BEFORE | AFTER" (size and modification time around the send: a file changed while
# it was read is detected). Args: <path> <offset>.
set -u
f=$1; offset=$2
[ -f "$f" ] || { echo "no such file: $f" >&2; exit 20; }
before=$(stat -c '%s %y' -- "$f")
echo "size ${before%% *}" >&2
tail -c +"$((offset + 1))" -- "$f" | tee >(hash_stdin | sed 's/^/sha256 /' >&2)
echo "stat $before | $(stat -c '%s %y' -- "$f" 2>/dev/null)" >&2
