# shellcheck shell=bash
# The new NAMD log lines of many jobs in ONE command. Args: triples <job_id> <log_path> <offset>.
while [ $# -ge 3 ]; do log_section "$1" "$2" "$3"; shift 3; done
