# shellcheck shell=bash
# Library: one pass over a big file's bytes. nr_receive writes stdin to a file and nr_send a file
# from an offset to stdout, each hashing (sha256, the WHOLE file: a resumed part's prefix is read
# from disk first) in the same process as it copies, in 1 MiB blocks: one read of every byte instead
# of a copy and a second reader (measured here: 1 GiB received in 4.2 s instead of 5.2 s, sent in
# 2.8 s instead of 3.2-3.8 s). They need the cluster's python3 (3.6 or later: RHEL 8's); without it
# (or with NR_PYTHON set empty) they return 127 and the callers take their shell path.
NR_PY=${NR_PYTHON-python3}
# shellcheck disable=SC2016
NR_STREAM_PY='
import hashlib, sys
op, path, offset = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = hashlib.sha256()
buf = bytearray(1 << 20)
view = memoryview(buf)

def prefix(f, left):
    while left > 0:
        n = f.readinto(view[:min(left, len(buf))])
        if not n:
            break
        h.update(view[:n])
        left -= n

if op == "receive":
    src = open(0, "rb", buffering=0, closefd=False)
    if offset:
        with open(path, "rb", buffering=0) as f:
            prefix(f, offset)
    with open(path, "ab" if offset else "wb", buffering=0) as out:
        while True:
            n = src.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            m = 0
            while m < n:
                m += out.write(view[m:n])
    sys.stdout.write("sha256 " + h.hexdigest() + "\n")
else:
    out = open(1, "wb", buffering=0, closefd=False)
    with open(path, "rb", buffering=0) as f:
        prefix(f, offset)
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            m = 0
            while m < n:
                m += out.write(view[m:n])
    sys.stderr.write("sha256 " + h.hexdigest() + "\n")
'
nr_stream() {
  # a python3 that is missing, or cannot even hash (a broken site install), is as good as none
  [ -n "$NR_PY" ] && "$NR_PY" -c 'import hashlib' >/dev/null 2>&1 || return 127
  "$NR_PY" -c "$NR_STREAM_PY" "$@"
}
