"""A big upload through the create wizard of a real ``namdrunner ui`` process (issue 34: "the whole
server freezes during the upload"): a --size-mib parameters file (default 1024) posted to the review
as a browser does, streamed; meanwhile another request (/health) every 50 ms. Printed: the upload's
time and speed beside ``cp`` of the same file on the same disk, /health's latency during the upload
beside the idle server's, and the server process's peak RSS (VmHWM) beside its RSS before.

    .venv/bin/python -m benchmarks.ui_upload [--size-mib 1024]

No cluster is needed: the review plans the job, nothing is sent to a cluster.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import DATA
from tests.integration.browser import Server

MiB = 1 << 20
BOUNDARY = "nrbenchboundary"


def vm(pid: int, key: str) -> float:
    """``VmRSS`` or ``VmHWM`` of a process, in MiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M).group(1)) / 1024  # type: ignore[union-attr]


def text_file(path: Path, size_mib: int) -> Path:
    """A parameters file of ``size_mib`` MiB of text (comment lines: NAMD reads them as nothing)."""
    block = ("! a parameter file line, as long as many are in a real force field file ......\n" * 13108)[:MiB]
    with path.open("w") as fh:
        for _ in range(size_mib):
            fh.write(block)
    return path


def multipart(fields: dict[str, str], files: dict[str, Path]) -> tuple[list[bytes], int, list[Path]]:
    """The parts of a multipart body around the files (streamed from disk), and its length."""
    head = b""
    for name, value in fields.items():
        head += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    parts, paths = [head], []
    for name, path in files.items():
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{path.name}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode())  # fmt: skip
        paths.append(path)
        parts.append(b"\r\n")
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    size = sum(len(p) for p in parts) + sum(p.stat().st_size for p in paths)
    return parts, size, paths


def body(parts: list[bytes], paths: list[Path]) -> Iterator[bytes]:
    files = iter(paths)
    for i, part in enumerate(parts):
        yield part
        if 0 < i < len(parts) - 1 and part != b"\r\n":  # after a file's header: the file itself
            with next(files).open("rb") as fh:
                while chunk := fh.read(MiB):
                    yield chunk


def health(port: int, cookie: str) -> float:
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/health", headers={"Cookie": cookie})
    conn.getresponse().read()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nrupload-", dir="/var/tmp"))
    env = {"NAMDRUNNER_DB": str(tmp / "db.sqlite"), "NAMDRUNNER_CONFIG_DIR": str(tmp / "cfg"),
           "NAMDRUNNER_CACHE_DIR": str(tmp / "cache"), "NAMDRUNNER_PROFILE": "loopback",
           "TMPDIR": str(tmp)}  # fmt: skip
    big = text_file(tmp / "par_big.prm", args.size_mib)
    os.sync()
    t0 = time.perf_counter()
    shutil.copyfile(big, tmp / "copy.prm")
    os.sync()
    cp_s = time.perf_counter() - t0
    (tmp / "copy.prm").unlink()
    server = Server({**os.environ, **env})
    try:
        cookie = server.cookie()
        form = server.request("GET", "/create?template=vacuum_optimization_v1", headers={"Cookie": cookie})
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', form.read().decode()).group(1)  # type: ignore[union-attr]
        idle = [health(server.port, cookie) for _ in range(20)]
        rss_before = vm(server.proc.pid, "VmRSS")
        fields = {"csrf": csrf, "template": "vacuum_optimization_v1", "name": "big upload", "steps": "240",
                  "execution_command": "minimize", "cores": "1", "memory_gb": "1", "walltime": "00:10:00"}  # fmt: skip
        files = {"structure": DATA / "tiny" / "tiny.psf", "coordinates": DATA / "tiny" / "tiny.pdb", "parameters": big}
        parts, size, paths = multipart(fields, files)
        busy: list[float] = []
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                busy.append(health(server.port, cookie))
                time.sleep(0.05)

        poller = threading.Thread(target=poll)
        poller.start()
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        conn.putrequest("POST", f"/create/review?csrf={csrf}")
        for k, v in {"Cookie": cookie, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                     "Content-Length": str(size)}.items():  # fmt: skip
            conn.putheader(k, v)
        conn.endheaders()
        for chunk in body(parts, paths):
            conn.send(chunk)
        answer = conn.getresponse()
        answer.read()
        upload_s = time.perf_counter() - t0
        done.set()
        poller.join()
        where = answer.getheader("Location") or ""
        peak = vm(server.proc.pid, "VmHWM")
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    assert answer.status == 303, answer.status
    assert "/create/review/" in where, where  # planned: the review, not the form with a mistake
    print(f"upload of {args.size_mib} MiB through the wizard: {upload_s:6.2f} s = {size / MiB / upload_s:6.0f} MiB/s "
          f"| cp of the same file (synced) {cp_s:5.2f} s = {args.size_mib / cp_s:5.0f} MiB/s")  # fmt: skip
    print(f"/health during it: median {statistics.median(busy) * 1000:5.1f} ms, worst {max(busy) * 1000:6.1f} ms "
          f"({len(busy)} requests) | idle: median {statistics.median(idle) * 1000:4.1f} ms, "
          f"worst {max(idle) * 1000:5.1f} ms")  # fmt: skip
    print(f"server peak RSS {peak:5.0f} MiB (before the upload {rss_before:4.0f} MiB)")


if __name__ == "__main__":
    main()
