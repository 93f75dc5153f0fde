# shellcheck shell=bash
# Copy every sweep point's project dir to scratch and write the array script (stdin) into <array dir>.
# Args: <array dir> <project dir> <scratch dir> [<project dir> <scratch dir> ...].
array_dir=$1; shift
while [ $# -ge 2 ]; do
  { mkdir -p -- "$(dirname -- "$2")" && rsync -a -- "$1/" "$2/"; } || exit 1
  shift 2
done
mkdir -p -- "$array_dir" && cat > "$array_dir/array.sbatch"
