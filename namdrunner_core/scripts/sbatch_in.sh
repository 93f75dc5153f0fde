# shellcheck shell=bash
# Run sbatch inside a directory, for at most 5 minutes: an sbatch still waiting for the controller
# after that is ended, so that "was it queued?" has an answer in bounded time.
# Args: <dir> <command> [args...].
cd -- "$1" || exit 1
shift
exec timeout -k 10 300 "$@"
