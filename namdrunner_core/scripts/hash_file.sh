# shellcheck shell=bash
# The sha256 of one file. Args: <path>.
hash_stdin < "$1"
