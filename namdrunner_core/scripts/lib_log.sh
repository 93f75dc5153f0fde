# shellcheck shell=bash
# Library: log_section, included before scripts that read NAMD logs (log_tail.sh, finalize.sh).
# Sends back only the NAMD log lines worth reading for progress (ENERGY: only the newest one),
# base64-encoded between "@@LOG <id> ok <consumed> <offset>" and a newline. A partial last line is
# left for the next read.
NR_LOG_PATTERN='^(ETITLE:|TIMING:|PERFORMANCE:|TCL: (Running|Minimizing) for|Info: (NAMD |TIMESTEP|FIRST TIMESTEP|NUMBER OF STEPS|[0-9]+ ATOMS|Benchmark time|Initial time)|WRITING |FINISHED WRITING RESTART COORD|WallClock:|\[Partition [0-9]+\]\[Node [0-9]+\] End of program|Program finished|Warning:|ERROR:)|FATAL ERROR'

log_section() {  # job_id log_path offset
  local id=$1 log=$2 off=$3 size chunk consumed last partial
  if [ ! -f "$log" ]; then echo "@@LOG $id missing 0"; return; fi
  size=$(stat -c %s -- "$log")
  [ "$off" -le "$size" ] 2>/dev/null || off=0
  chunk=$(mktemp)
  tail -c +"$((off + 1))" -- "$log" | head -c "$((size - off))" > "$chunk"
  consumed=$((size - off))
  if [ "$consumed" -gt 0 ]; then
    last=$(tail -c 1 -- "$chunk" | od -An -tx1 | tr -d ' \n')
    if [ "$last" != "0a" ]; then
      partial=$(tail -n 1 -- "$chunk" | wc -c)
      consumed=$((consumed - partial))
    fi
  fi
  echo "@@LOG $id ok $consumed $off"
  { head -c "$consumed" -- "$chunk" | grep -a -E -e "$NR_LOG_PATTERN";
    head -c "$consumed" -- "$chunk" | grep -a '^ENERGY:' | tail -n 1; } | base64 -w 0
  echo
  rm -f -- "$chunk"
}
