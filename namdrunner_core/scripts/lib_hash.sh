# shellcheck shell=bash
# Library: hash_stdin prints the sha256 of stdin; hash_list the "sha256 name" lines of the
# NUL-separated file names on stdin (failing when one cannot be read). OpenSSL's (SHA-NI, ~1.4 GB/s
# here) when installed, else coreutils' (~0.3 GB/s).
if command -v openssl >/dev/null 2>&1; then
  hash_stdin() { openssl dgst -sha256 -r | cut -d' ' -f1; }
  hash_list() { xargs -0 -r openssl dgst -sha256 -r; }  # names come as ./...: never an option
else
  hash_stdin() { sha256sum | cut -d' ' -f1; }
  hash_list() { xargs -0 -r sha256sum --; }
fi
