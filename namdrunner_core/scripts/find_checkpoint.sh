# shellcheck shell=bash
# Every restart point in <dir>/outputs: "<step>\t<prefix>\t<yes|no: velocities>" per .xsc with a .coor.
dir=$1
for xsc in "$dir"/outputs/*.xsc; do
  [ -f "$xsc" ] || continue
  prefix=${xsc%.xsc}
  [ -f "$prefix.coor" ] || continue
  step=$(grep -v '^#' -- "$xsc" | awk 'NF {print $1; exit}')
  vel=no; [ -f "$prefix.vel" ] && vel=yes
  printf '%s\t%s\t%s\n' "$step" "${prefix##*/}" "$vel"
done
