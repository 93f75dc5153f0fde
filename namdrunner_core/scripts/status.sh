# shellcheck shell=bash
# squeue and sacct for many Slurm ids, and the new NAMD log lines of those jobs, in ONE command.
# Args: <comma-separated ids> <squeue -o format> <sacct -o fields> (the parser owns both formats),
# then triples <job_id> <log_path> <offset> (log_section of lib_log.sh).
ids=$1; squeue_format=$2; sacct_fields=$3
shift 3
echo "@@SQUEUE"
squeue -h -o "$squeue_format" -j "$ids" 2>&1
echo "@@SQUEUE_RC $?"
echo "@@SACCT"
sacct -P -n -j "$ids" -o "$sacct_fields" 2>&1
echo "@@SACCT_RC $?"
while [ $# -ge 3 ]; do log_section "$1" "$2" "$3"; shift 3; done
