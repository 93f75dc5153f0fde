# shellcheck shell=bash
# Many small files in ONE stream: per file (by its index in the arguments) "@@F <i> <size> <sha256>\n"
# then exactly <size> bytes (zero-padded if the file shrank meanwhile: its sha256 then disagrees), or
# "@@M <i>\n" for a file that is gone. Args: <root> <relative path>...
set -u
root=$1; shift
cd -- "$root" || exit 1
nr_stream files . "$@"
rc=$?
[ "$rc" = 127 ] || exit "$rc"
i=0
for f in "$@"; do
  if [ -f "$f" ]; then
    size=$(stat -c %s -- "$f")
    printf '@@F %s %s %s\n' "$i" "$size" "$(hash_stdin < "$f")"
    { head -c "$size" -- "$f"; head -c "$size" /dev/zero; } | head -c "$size"
  else
    printf '@@M %s\n' "$i"
  fi
  i=$((i + 1))
done
