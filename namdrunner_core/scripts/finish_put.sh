# shellcheck shell=bash
# Put an uploaded partial into place only when its size and sha256 are the ones the sender computed;
# a wrong one is removed (a short one is kept: the next upload resumes it). <received sha256> is what
# put_file.sh hashed while writing the partial ("-": nothing, hash it now).
# Args: <partial path> <final path> <size> <sha256> <octal mode> [<received sha256>].
set -u
part=$1; final=$2; size=$3; expected=$4; mode=$5; received=${6:--}
got=$(stat -c %s -- "$part" 2>/dev/null || echo 0)
[ "$got" = "$size" ] || { echo "short upload: $got of $size bytes (the partial is kept: upload again to resume)" >&2; exit 13; }
if [ "$received" = - ]; then
  sum=$(hash_stdin < "$part") || exit 11
else
  sum=$received
fi
[ "$sum" = "$expected" ] || { rm -f -- "$part"; echo "checksum mismatch after upload" >&2; exit 14; }
{ chmod "$mode" -- "$part" && mv -f -- "$part" "$final"; } || exit 15
