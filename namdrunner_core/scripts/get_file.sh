# shellcheck shell=bash
# Send one file from byte <offset> on stdout. On stderr: "size S" first, then "sha256 H" of the WHOLE
# file and "stat BEFORE | AFTER" (size and modification time around it all: a file changed while it
# was read is detected). With python3 (lib_stream) the file is read once, hashed as it is sent;
# without it a second reader hashes it beside the sender. Args: <path> <offset>.
set -u
f=$1; offset=$2
[ -f "$f" ] || { echo "no such file: $f" >&2; exit 20; }
before=$(stat -c '%s %y' -- "$f")
echo "size ${before%% *}" >&2
nr_stream send "$f" "$offset"
rc=$?
if [ "$rc" = 127 ]; then
  { echo "sha256 $(hash_stdin < "$f")" >&2; } &
  tail -c +"$((offset + 1))" -- "$f"
  rc=$?
  wait
fi
echo "stat $before | $(stat -c '%s %y' -- "$f" 2>/dev/null)" >&2
exit "$rc"
