# shellcheck shell=bash
# Receive one file on stdin into a temporary name; rename it into place only when size and sha256 match.
# Args: <final path> <temporary path> <size> <octal mode>. stdin: <size> bytes, then one line: the sha256.
set -u
final=$1; tmp=$2; size=$3; mode=$4
trap 'rm -f -- "$tmp"' EXIT
mkdir -p -- "$(dirname -- "$final")" || exit 10
# hash while writing
sum=$(head -c "$size" | tee -- "$tmp" | hash_stdin) || exit 11
IFS= read -r expected || { echo "upload stream ended early" >&2; exit 12; }
got=$(stat -c %s -- "$tmp") || exit 13
[ "$got" = "$size" ] || { echo "short upload: $got of $size bytes" >&2; exit 13; }
[ "$sum" = "$expected" ] || { echo "checksum mismatch after upload" >&2; exit 14; }
{ chmod "$mode" -- "$tmp" && mv -f -- "$tmp" "$final"; } || exit 15
trap - EXIT
