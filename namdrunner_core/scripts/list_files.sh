# shellcheck shell=bash
# Every file below <root> as "<size> <relative path>" NUL-terminated (partial uploads and staging
# dirs left out). Nothing is read or hashed: choosing what to fetch costs no I/O on the cluster.
set -u
root=$1
[ -d "$root" ] || exit 0
cd -- "$root" || exit 1
find . -type f ! -name '*.nrpart' ! -path './.nrstage-*' -printf '%s %P\0'
