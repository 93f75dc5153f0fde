# shellcheck shell=bash
# Copy files already on the cluster (inside the job roots only) into a job's input dir.
# Args: <dest> <root>... -- <source> <name> [<source> <name> ...].
dest=$1; shift
roots=()
while [ "$1" != "--" ]; do roots+=("$1"); shift; done
shift
while [ $# -ge 2 ]; do
  src=$1; name=$2; shift 2
  real=$(realpath -e -- "$src") || { echo "missing: $src" >&2; exit 51; }
  ok=0
  for r in "${roots[@]}"; do rr=$(realpath -e -- "$r" 2>/dev/null) && case "$real" in "$rr"/*) ok=1 ;; esac; done
  [ "$ok" = 1 ] || { echo "outside the job roots: $src" >&2; exit 52; }
  cp -- "$real" "$dest/$name" || exit 53
done
