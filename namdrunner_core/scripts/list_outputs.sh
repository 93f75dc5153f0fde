# shellcheck shell=bash
# The files of job dirs (inputs and namdrunner's own files left out): "@@DIR <dir>" then
# "<path>\t<size>\t<mtime>" lines. Args: <dir>...
for d in "$@"; do
  echo "@@DIR $d"
  if [ -d "$d" ]; then
    (cd -- "$d" && find . -path ./input_files -prune -o -type f ! -name '.nr*' ! -name '.namdrunner*' \
       -printf '%P\t%s\t%TY-%Tm-%TdT%TH:%TM:%.2TSZ\n')
  fi
done
