# shellcheck shell=bash
# Put an uploaded partial into place only when its size and sha256 are the ones the sender computed;
# a wrong one is removed (a short one is kept: the next upload resumes it).
# Args: <partial path> <final path> <size> <sha256> <octal mode>.
set -u
part=$1; final=$2; size=$3; expected=$4; mode=$5
got=$(stat -c %s -- "$part" 2>/dev/null || echo 0)
[ "$got" = "$size" ] || { echo "short upload: $got of $size bytes (the partial is kept: upload again to resume)" >&2; exit 13; }
sum=$(hash_stdin < "$part") || exit 11
[ "$sum" = "$expected" ] || { rm -f -- "$part"; echo "checksum mismatch after upload" >&2; exit 14; }
{ chmod "$mode" -- "$part" && mv -f -- "$part" "$final"; } || exit 15
