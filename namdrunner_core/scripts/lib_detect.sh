# shellcheck shell=bash
# What the cluster offers, as sections for namdrunner_core.slurm.inventory to parse: partitions
# (sinfo, scontrol), QOS and the user's associations (sacctmgr), the NAMD builds (Lmod spider), and
# the Pythons (with numpy? MDAnalysis?) an analysis job could run.
nr_section() { # <name> <command...>: the command's output between @@NAME and @@NAME_RC <exit code>
  local name=$1; shift
  echo "@@$name"; "$@" 2>&1; echo "@@${name}_RC $?"
}

nr_spider_needs() { # <module>: the first set of modules Lmod says must be loaded before it, or nothing
  module spider "$1" 2>&1 | awk '
    /You will need to load all module\(s\) on any one of the lines below/ { want = 1; next }
    want && NF { sub(/^[ \t]+/, ""); print; exit }'
}

nr_detect_namd() {
  local names name needs bins
  if ! type module >/dev/null 2>&1; then echo "@@NOMODULE"; return; fi
  # Hierarchical Lmod hides a module until its compiler/MPI is loaded: `spider` sees the whole tree;
  # environment modules (Tcl) have no spider, so `avail` there.
  names=$(module -t spider namd 2>&1 | grep -iE '^namd[0-9]*/' || module -t avail 2>&1 | grep -iE '^namd[0-9]*/')
  for name in $names; do
    needs=$(nr_spider_needs "$name")
    # shellcheck disable=SC2086 # the module lists are split into words on purpose
    bins=$( (module purge >/dev/null 2>&1; module load $needs "$name" >/dev/null 2>&1 && command -v namd3 namd2) 2>/dev/null | tr '\n' ' ')
    echo "@@NAMD $name|$needs|$bins"
  done
}

nr_detect_python() { # the Pythons an analysis job could use: the plain python3, and a few modules
  local name
  for name in - $( (type module >/dev/null 2>&1 && module -t avail 2>&1) \
      | grep -iE '^(python|anaconda|miniconda|miniforge|mambaforge|conda)[0-9]*/[^/]+$' | head -n 6); do
    # shellcheck disable=SC2016 # the Python program is single-quoted on purpose
    (if [ "$name" != - ]; then module purge >/dev/null 2>&1; module load "$name" >/dev/null 2>&1 || exit 0; fi
     timeout 60 python3 -c '
import importlib.util as u, sys
def v(m):
    if u.find_spec(m) is None: return "-"
    try: return __import__(m).__version__
    except Exception: return "-"
print("@@PYTHON %s|%s|%s|%s" % (sys.argv[1], sys.executable, v("numpy"), v("MDAnalysis")))' "$name" 2>/dev/null)
  done
}

nr_detect() {
  echo "@@USER $(whoami)"
  nr_section SINFO sinfo -h -a -o '%P|%c|%m|%l|%G|%a|%D'
  nr_section PARTS scontrol show partition -o
  nr_section QOS sacctmgr -n -P show qos format=Name,MaxWall,MaxTRESPU,MaxJobsPU,MaxSubmitPU
  nr_section ASSOC sacctmgr -n -P show assoc where user="$(whoami)" format=Account,Partition,QOS,DefaultQOS
  echo "@@ARRAY $(scontrol show config 2>/dev/null | awk '$1 == "MaxArraySize" {print $3}')"
  nr_detect_namd
  nr_detect_python
}
