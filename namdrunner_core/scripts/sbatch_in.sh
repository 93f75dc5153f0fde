# shellcheck shell=bash
# Run a command (sbatch ...) inside a directory. Args: <dir> <command> [args...].
cd -- "$1" || exit 1
shift
exec "$@"
