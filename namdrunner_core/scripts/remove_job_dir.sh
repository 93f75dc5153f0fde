# shellcheck shell=bash
# Delete <root>/<id> only when it is a real directory directly inside the real root (no symlink, no
# escape, one file system). Prints "removed", "missing" or "missing-root". Args: <root> <job id>.
root=$1; id=$2
real_root=$(realpath -e -- "$root" 2>/dev/null) || { echo "missing-root"; exit 0; }
{ [ -n "$real_root" ] && [ "$real_root" != "/" ]; } || { echo "bad-root" >&2; exit 41; }
target="$root/$id"
if [ -L "$target" ]; then echo "symlink: $target" >&2; exit 42; fi
[ -e "$target" ] || { echo "missing"; exit 0; }
[ -d "$target" ] || { echo "not a directory: $target" >&2; exit 43; }
real_target=$(realpath -e -- "$target") || exit 44
[ "$real_target" = "$real_root/$id" ] || { echo "escapes root: $real_target" >&2; exit 45; }
[ "$(dirname -- "$real_target")" = "$real_root" ] || { echo "not directly in root" >&2; exit 46; }
rm -rf --one-file-system -- "$real_target" || exit 47
echo "removed"
