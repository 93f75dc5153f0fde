# shellcheck shell=bash
# `namdrunner cluster analysis-env`: a Python environment for analysis jobs in namdrunner's own folder
# of the user's project space, made once (a second call finds it ready and changes nothing); analysis jobs
# run its python with -m only (a moved venv's own scripts name the old path).
# Args: <dir> <python3 to make it with> <package>...
# Prints "@@READY <python>" or "@@FAILED <why>".
dir=$1 python=$2
shift 2
case "$dir" in */.analysis-env) ;; *) echo "@@FAILED refusing $dir: not an .analysis-env folder"; exit 1 ;; esac
imports=$(printf '%s\n' "$@" | sed 's/[<>=!~].*//; s/-/_/g' | tr '\n' ',' | sed 's/,$//')
if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "import $imports" 2>/dev/null; then
  echo "@@READY $dir/bin/python"
  exit 0
fi
# made beside it, then put in its place: a failed attempt leaves a working environment as it was
new="$dir.new.$$"
rm -rf -- "$new"
if ! out=$("$python" -m venv -- "$new" 2>&1); then
  rm -rf -- "$new"
  echo "@@FAILED $python -m venv: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
  exit 1
fi
if ! out=$(timeout 1800 "$new/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1); then
  rm -rf -- "$new"
  echo "@@FAILED pip install $*: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
  exit 1
fi
rm -rf -- "$dir"
if ! mv -- "$new" "$dir"; then echo "@@FAILED could not put $new in place"; exit 1; fi
echo "@@READY $dir/bin/python"
