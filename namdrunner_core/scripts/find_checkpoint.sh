# shellcheck shell=bash
# Every restart point in <dir>/outputs: "<step>\t<prefix>\t<yes|no: velocities>\t<suffix>" per .xsc
# with a .coor beside it. A job killed while NAMD rewrote its restart files (it first renames the old
# set to *.old) has only the *.old set complete: those count too, with the suffix ".old".
dir=$1
for xsc in "$dir"/outputs/*.xsc "$dir"/outputs/*.xsc.old; do
  [ -f "$xsc" ] || continue
  suffix=
  case "$xsc" in *.old) suffix=.old ;; esac
  prefix=${xsc%.xsc"$suffix"}
  [ -f "$prefix.coor$suffix" ] || continue
  step=$(grep -v '^#' -- "$xsc" | awk 'NF {print $1; exit}')
  vel=no; [ -f "$prefix.vel$suffix" ] && vel=yes
  printf '%s\t%s\t%s\t%s\n' "$step" "${prefix##*/}" "$vel" "$suffix"
done
