# shellcheck shell=bash
# Install (or update) namdrunner's host runner for a profile with scheduler = "none": stdin is hostq.py,
# written whole to ~/.namdrunner/hostq/bin (a temporary name, then renamed) with the Slurm commands
# namdrunner uses linked to it, and the host's slots in config.json. Changes nothing when all is in place.
# Args: <GPUs> <cores, or "-" for all the host has> <the profile's partitions, comma-separated, default
# first>. Prints "@@READY <python3>" or "@@FAILED <why>".
gpus=$1 cores=$2 partitions=$3
home="$HOME/.namdrunner/hostq"
mkdir -p -- "$home" 2>/dev/null
owner=$(stat -c %u -- "$home" 2>/dev/null) || { echo "@@FAILED cannot make $home"; exit 1; }
if [ "$owner" != "$(id -u)" ]; then
  echo "@@FAILED $home belongs to user id $owner, not to you ($(id -u)): the runner's folder must be yours"
  exit 1
fi
if ! mkdir -p -- "$home/bin" || ! chmod 700 "$home"; then echo "@@FAILED cannot make $home"; exit 1; fi
python=$(command -v python3) || { echo "@@FAILED no python3 on this host (the runner needs 3.9 or newer)"; exit 1; }
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
  || { echo "@@FAILED $python is older than 3.9"; exit 1; }
tmp="$home/bin/.hostq.py.$$"
cat > "$tmp" || { rm -f -- "$tmp"; echo "@@FAILED cannot write $tmp"; exit 1; }
if cmp -s -- "$tmp" "$home/bin/hostq.py"; then
  rm -f -- "$tmp"
else
  chmod 755 "$tmp"
  mv -f -- "$tmp" "$home/bin/hostq.py"
fi
for c in sbatch squeue sacct scancel scontrol sinfo sacctmgr; do
  [ "$(readlink -- "$home/bin/$c")" = hostq.py ] || ln -sfn hostq.py "$home/bin/$c"
done
if [ "$cores" = - ]; then cores=$(nproc); fi
config="{\"gpus\": $gpus, \"cores\": $cores, \"partitions\": \"$partitions\"}"
if [ "$(cat -- "$home/config.json" 2>/dev/null)" != "$config" ]; then
  printf '%s' "$config" > "$home/.config.json.$$" && mv -f -- "$home/.config.json.$$" "$home/config.json"
fi
echo "@@READY $python"
