# shellcheck shell=bash
# Receive one file on stdin into its partial name (nothing else is in the stream: it is written at
# disk speed, no hashing on the way; finish_put.sh checks it). An upload cut short keeps its partial
# (the same name every time), so the next upload resumes it: with <offset> > 0 the partial must hold
# exactly <offset> bytes and the stream is the rest. Args: <partial path> <offset>.
set -u
part=$1; offset=$2
mkdir -p -- "$(dirname -- "$part")" || exit 10
if [ "$offset" -gt 0 ]; then
  have=$(stat -c %s -- "$part" 2>/dev/null || echo -1)
  [ "$have" = "$offset" ] || { echo "resume mismatch: the partial upload has $have bytes, not $offset" >&2; exit 16; }
  cat >> "$part" || exit 11
else
  cat > "$part" || exit 11
fi
