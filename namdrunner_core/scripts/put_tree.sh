# shellcheck shell=bash
# Receive a tar of many files on stdin into <root>/<stage>, check every file against the manifest the
# tar carries, then rename them into place a directory at a time. Args: <root> <stage dir name>.
set -u
root=$1; stage=$2
trap 'rm -rf -- "$root/$stage"' EXIT
mkdir -p -- "$root/$stage" || exit 30
tar -C "$root/$stage" -xf - || { echo "tar extract failed" >&2; exit 31; }
cd -- "$root/$stage" || exit 32
sha256sum -c --quiet .namdrunner-manifest.sha256 >&2 \
  || { echo "checksum mismatch after upload" >&2; exit 33; }
rm -f .namdrunner-manifest.sha256
# A directory at a time (a fork per file made 2,000 small files take seconds).
find . -type d -print0 | while IFS= read -r -d '' d; do
  mkdir -p -- "../$d" || exit 34
  find "$d" -maxdepth 1 -type f -print0 | xargs -0 -r mv -f -t "../$d" -- || exit 35
done
