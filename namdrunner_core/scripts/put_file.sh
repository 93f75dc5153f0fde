# shellcheck shell=bash
# Receive one file on stdin into its partial name; rename it into place only when size and sha256 match.
# Args: <final path> <partial path> <size> <octal mode> <offset>. stdin: the bytes from <offset> to
# <size>, then one line: the sha256 of the WHOLE file. An upload cut short keeps its partial (same
# name every time), so the next upload resumes it from <offset> = its size (see partial_info.sh).
set -u
final=$1; part=$2; size=$3; mode=$4; offset=$5
mkdir -p -- "$(dirname -- "$final")" || exit 10
if [ "$offset" -gt 0 ]; then
  have=$(stat -c %s -- "$part" 2>/dev/null || echo -1)
  [ "$have" = "$offset" ] || { echo "resume mismatch: the partial upload has $have bytes, not $offset" >&2; exit 16; }
  head -c "$((size - offset))" >> "$part" || exit 11
  IFS= read -r expected || { echo "upload stream ended early (the partial is kept: upload again to resume)" >&2; exit 12; }
  sum=$(hash_stdin < "$part")
else
  # hash while writing
  sum=$(head -c "$size" | tee -- "$part" | hash_stdin) || exit 11
  IFS= read -r expected || { echo "upload stream ended early (the partial is kept: upload again to resume)" >&2; exit 12; }
fi
got=$(stat -c %s -- "$part") || exit 13
[ "$got" = "$size" ] || { echo "short upload: $got of $size bytes (the partial is kept: upload again to resume)" >&2; exit 13; }
[ "$sum" = "$expected" ] || { rm -f -- "$part"; echo "checksum mismatch after upload" >&2; exit 14; }
{ chmod "$mode" -- "$part" && mv -f -- "$part" "$final"; } || exit 15
