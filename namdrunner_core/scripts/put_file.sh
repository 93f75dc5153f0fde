# shellcheck shell=bash
# Receive one file on stdin into its partial name. With python3 (lib_stream) the bytes are hashed as
# they are written, in the same pass, and "sha256 H" (of the whole partial) is printed on stdout for
# finish_put.sh; without it they are written at disk speed and finish_put.sh hashes the partial. An
# upload cut short keeps its partial (the same name every time), so the next upload resumes it: with
# <offset> > 0 the partial must hold exactly <offset> bytes and the stream is the rest.
# Args: <partial path> <offset>.
set -u
part=$1; offset=$2
mkdir -p -- "$(dirname -- "$part")" || exit 10
if [ "$offset" -gt 0 ]; then
  have=$(stat -c %s -- "$part" 2>/dev/null || echo -1)
  [ "$have" = "$offset" ] || { echo "resume mismatch: the partial upload has $have bytes, not $offset" >&2; exit 16; }
fi
nr_stream receive "$part" "$offset"
rc=$?
[ "$rc" = 127 ] || exit $(( rc == 0 ? 0 : 11 ))
if [ "$offset" -gt 0 ]; then
  cat >> "$part" || exit 11
else
  cat > "$part" || exit 11
fi
