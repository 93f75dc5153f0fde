# shellcheck shell=bash
# `namdrunner cluster detect`: partitions, QOS, associations and NAMD builds, in ONE command.
nr_detect
