# shellcheck shell=bash
# Sizes and sha256 of every file below <root> (partial uploads and staging dirs left out).
set -u
root=$1
[ -d "$root" ] || exit 0
cd -- "$root" || exit 1
find . -type f ! -name '*.nrpart*' ! -path './.nrstage-*' -print0 \
  | xargs -0 -r stat -c '%s %n' | while IFS= read -r line; do printf '%s\n' "$line"; done
find . -type f ! -name '*.nrpart*' ! -path './.nrstage-*' -print0 | hash_list
