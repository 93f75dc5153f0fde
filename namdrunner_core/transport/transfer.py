"""File and tree transfers over any :class:`~namdrunner_core.transport.base.Transport`.

- Atomic: data lands under a temporary name and is renamed only after it verified, so a failure
  never leaves a partial file at the final path.
- Verified: sizes and sha256 are compared end to end (the remote side hashes while it writes).
- Incremental: a tree's remote manifest (every file's size and sha256) comes from ONE command;
  unchanged files are not sent again.
- Batched: the files of a tree travel as one tar stream over one channel, not one round trip each.
- Resumable: an interrupted download keeps its partial file and continues from its size.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import secrets
import tarfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import attrs

from namdrunner_core.errors import TransferError
from namdrunner_core.scripts import GET_FILE, HASH_FILE, MANIFEST, PUT_FILE, PUT_TREE
from namdrunner_core.transport.base import ProgressCallback, Transport

CHUNK = 1024 * 1024
PARTIAL_SUFFIX = ".nrpart"


@attrs.frozen(slots=True)
class RemoteFileInfo:
    """Size and sha256 of one file, path relative to a tree's root."""

    path: str
    size: int
    sha256: str


@attrs.frozen(slots=True)
class TreeTransferReport:
    """What a tree transfer did."""

    files_sent: tuple[str, ...]
    files_unchanged: tuple[str, ...]
    payload_bytes: int


def sha256_file(path: Path) -> str:
    """Hex sha256 of a local file, streamed."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _read_ahead(path: Path, digest: Any, depth: int = 8) -> Iterator[bytes]:
    """The file's chunks, read and hashed on a thread ahead of the sender (both release the GIL),
    so that reading and hashing overlap with encrypting and sending."""
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def reader() -> None:
        try:
            with path.open("rb") as fh:
                while not stop.is_set():
                    block = fh.read(CHUNK)
                    if not block:
                        break
                    digest.update(block)
                    chunks.put(block)
            chunks.put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            chunks.put(exc)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise TransferError(f"reading {path} failed: {item}") from item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                chunks.get_nowait()
            thread.join(0.01)


class _WriteBehind:
    """Writes and hashes received chunks on a thread (both release the GIL), so that the thread
    receiving from the network never waits for the disk or the hash."""

    def __init__(self, fh: Any, digest: Any, depth: int = 16) -> None:
        self._fh, self._digest = fh, digest
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            block = self._queue.get()
            if block is None:
                return
            if self._error is None:
                try:
                    self._fh.write(block)
                    self._digest.update(block)
                except BaseException as exc:  # noqa: BLE001 - re-raised by the receiving thread
                    self._error = exc

    def put(self, block: bytes) -> None:
        if self._error is not None:
            raise TransferError(f"writing the download failed: {self._error}")
        self._queue.put(block)

    def __enter__(self) -> _WriteBehind:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise TransferError(f"writing the download failed: {self._error}")


def _tmp_name(remote: str) -> str:
    p = PurePosixPath(remote)
    return str(p.with_name(f".{p.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}"))


def put_file(
    transport: Transport,
    local: Path,
    remote: str,
    *,
    progress: ProgressCallback | None = None,
    mode: int = 0o644,
) -> int:
    """Upload ``local`` to ``remote`` atomically and verified. Returns payload bytes sent."""
    local = Path(local)
    if not local.is_file():
        raise TransferError(f"local file not found: {local}")
    size = local.stat().st_size

    def chunks() -> Iterator[bytes]:
        done = 0
        digest = hashlib.sha256()
        for block in _read_ahead(local, digest):
            done += len(block)
            if progress:
                progress(done, size)
            yield block
        if done != size:
            raise TransferError(f"{local} changed size during upload ({done} of {size} bytes)")
        yield (digest.hexdigest() + "\n").encode()

    result = transport.put_stream(
        PUT_FILE.argv([remote, _tmp_name(remote), str(size), f"{mode:o}"]),
        chunks(),
    )
    if result.exit_code != 0:
        raise TransferError(f"upload of {local} to {remote} failed: {result.stderr.strip() or result.exit_code}")
    if progress and size == 0:
        progress(0, 0)
    return size


def get_file(
    transport: Transport,
    remote: str,
    local: Path,
    *,
    progress: ProgressCallback | None = None,
    resume: bool = True,
) -> int:
    """Download ``remote`` to ``local`` atomically and verified; resumes a partial download.

    Returns the bytes received in this call.
    """
    local = Path(local)
    local.parent.mkdir(parents=True, exist_ok=True)
    partial = local.with_name(f".{local.name}{PARTIAL_SUFFIX}")
    offset = partial.stat().st_size if (resume and partial.exists()) else 0
    if not resume and partial.exists():
        partial.unlink()
    digest = hashlib.sha256()
    done = [offset]
    with partial.open("ab") as fh, _WriteBehind(fh, digest) as writer:

        def sink(data: bytes) -> None:
            writer.put(data)
            done[0] += len(data)
            if progress:
                progress(done[0], done[0])

        result = transport.get_stream(GET_FILE.argv([remote, str(offset)]), sink)
    info = dict(line.split(" ", 1) for line in result.stderr.splitlines() if line.startswith(("size ", "sha256 ")))
    if result.exit_code != 0 or "sha256" not in info:
        last_line = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else str(result.exit_code)
        raise TransferError(
            f"download of {remote} failed: {last_line}"
            + (" (the partial file is kept; run again to resume)" if partial.exists() else "")
        )
    remote_size = int(info["size"])
    if info["sha256"].strip() != digest.hexdigest():
        partial.unlink(missing_ok=True)
        raise TransferError(f"download of {remote} did not verify (checksum mismatch); run again")
    if partial.stat().st_size != remote_size:
        partial.unlink(missing_ok=True)
        raise TransferError(f"download of {remote} has the wrong size; the remote file changed, run again")
    if offset:
        # A resumed file: prove the whole, not just the tail we fetched now.
        whole = transport.run(HASH_FILE.argv([remote])).stdout.strip()
        if whole != sha256_file(partial):
            partial.unlink(missing_ok=True)
            raise TransferError(f"resumed download of {remote} did not verify; the partial was discarded, run again")
    os.replace(partial, local)
    if progress:
        progress(remote_size, remote_size)
    return done[0] - offset


def remote_manifest(transport: Transport, root: str) -> dict[str, RemoteFileInfo]:
    """Every file under ``root`` with size and sha256, from ONE remote command."""
    out = transport.run(MANIFEST.argv([root])).stdout
    sizes: dict[str, int] = {}
    sums: dict[str, str] = {}
    for line in out.splitlines():
        if not line:
            continue
        head, _, rest = line.partition(" ")
        if len(head) == 64 and rest.startswith((" ./", "*./")):  # sha256sum or `openssl dgst -r`
            sums[rest[3:]] = head
        elif head.isdigit() and rest.startswith("./"):
            sizes[rest[2:]] = int(head)
    return {p: RemoteFileInfo(p, sizes.get(p, -1), s) for p, s in sums.items()}


def _local_tree(root: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            full = Path(dirpath) / name
            if full.is_file() and PARTIAL_SUFFIX not in name:
                files[full.relative_to(root).as_posix()] = full
    return files


def put_tree(
    transport: Transport,
    local_root: Path,
    remote_root: str,
    *,
    progress: ProgressCallback | None = None,
) -> TreeTransferReport:
    """Mirror a local directory into ``remote_root``: changed files only, one tar stream, verified."""
    local_root = Path(local_root)
    if not local_root.is_dir():
        raise TransferError(f"local directory not found: {local_root}")
    return put_files(transport, dict(_local_tree(local_root)), remote_root, progress=progress)


def put_files(
    transport: Transport,
    files: Mapping[str, Path | bytes],
    remote_root: str,
    *,
    progress: ProgressCallback | None = None,
    incremental: bool = True,
) -> TreeTransferReport:
    """Upload files (local paths or in-memory bytes) to ``remote_root/<relative name>``.

    Files whose remote sha256 already matches are skipped (``incremental``); the rest travel as one
    tar stream, are verified against their sha256 on the remote and only then moved into place.
    """
    for rel in files:
        if rel.startswith("/") or ".." in PurePosixPath(rel).parts or not rel:
            raise TransferError(f"refusing to upload to {rel!r}: names must be relative, without '..'")
    sums = {
        rel: (sha256_file(src) if isinstance(src, Path) else hashlib.sha256(src).hexdigest())
        for rel, src in files.items()
    }
    sizes = {rel: (src.stat().st_size if isinstance(src, Path) else len(src)) for rel, src in files.items()}
    remote = remote_manifest(transport, remote_root) if incremental else {}
    changed = sorted(rel for rel, s in sums.items() if rel not in remote or remote[rel].sha256 != s)
    unchanged = sorted(set(files) - set(changed))
    if not changed:
        return TreeTransferReport((), tuple(unchanged), 0)
    total = sum(sizes[rel] for rel in changed)
    manifest = "".join(f"{sums[rel]}  {rel}\n" for rel in changed).encode()

    def chunks() -> Iterator[bytes]:
        buf = _ChunkBuffer()
        done = 0
        with tarfile.open(fileobj=buf, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(".namdrunner-manifest.sha256")
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
            for rel in changed:
                src = files[rel]
                if isinstance(src, Path):
                    tar.add(str(src), arcname=rel, recursive=False)
                else:
                    info = tarfile.TarInfo(rel)
                    info.size = len(src)
                    info.mode = 0o644
                    info.mtime = int(time.time())
                    tar.addfile(info, io.BytesIO(src))
                done += sizes[rel]
                if progress:
                    progress(done, total)
                yield from buf.drain()
        yield from buf.drain()

    stage = f".nrstage-{secrets.token_hex(4)}"
    result = transport.put_stream(PUT_TREE.argv([remote_root, stage]), chunks())
    if result.exit_code != 0:
        raise TransferError(f"upload to {remote_root} failed: {result.stderr.strip() or result.exit_code}")
    return TreeTransferReport(tuple(changed), tuple(unchanged), total)


def get_tree(
    transport: Transport,
    remote_root: str,
    local_root: Path,
    *,
    include: list[str] | None = None,
    progress: ProgressCallback | None = None,
) -> TreeTransferReport:
    """Mirror ``remote_root`` into a local directory: changed files only, one tar stream, verified.

    ``include`` holds glob patterns (``fnmatch`` on the relative path) selecting files to fetch.
    """
    import fnmatch

    local_root = Path(local_root)
    remote = remote_manifest(transport, remote_root)
    wanted = {
        rel: info
        for rel, info in remote.items()
        if not include
        or any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(PurePosixPath(rel).name, pat) for pat in include)
    }
    changed = sorted(
        rel
        for rel, info in wanted.items()
        if not (local_root / rel).is_file() or sha256_file(local_root / rel) != info.sha256
    )
    unchanged = sorted(set(wanted) - set(changed))
    if not changed:
        return TreeTransferReport((), tuple(unchanged), 0)
    total = sum(max(0, wanted[rel].size) for rel in changed)
    stage = local_root / f".nrstage-{secrets.token_hex(4)}"
    stage.mkdir(parents=True)
    try:
        reader = _StreamReader()
        received = [0]

        def sink(data: bytes) -> None:
            reader.feed(data)
            received[0] += len(data)
            if progress:
                progress(min(received[0], total), total)

        result = transport.get_stream(["tar", "-C", remote_root, "-cf", "-", "--", *changed], sink)
        if result.exit_code != 0:
            raise TransferError(f"download of {remote_root} failed: {result.stderr.strip() or result.exit_code}")
        with tarfile.open(fileobj=io.BytesIO(reader.getvalue()), mode="r:") as tar:
            tar.extractall(stage, filter="data")
        for rel in changed:
            got = stage / rel
            if not got.is_file() or sha256_file(got) != wanted[rel].sha256:
                raise TransferError(f"download of {remote_root}/{rel} did not verify; nothing was replaced")
        for rel in changed:
            dest = local_root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, dest)
    finally:
        import shutil

        shutil.rmtree(stage, ignore_errors=True)
    return TreeTransferReport(tuple(changed), tuple(unchanged), total)


class _ChunkBuffer(io.RawIOBase):
    """A write-only file object for tarfile's stream mode whose bytes are drained as chunks."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self._parts.append(bytes(b))
        return len(b)

    def drain(self) -> Iterator[bytes]:
        if self._parts:
            data = b"".join(self._parts)
            self._parts.clear()
            yield data


class _StreamReader:
    """Collects a downloaded tar stream."""

    def __init__(self) -> None:
        self._buf = io.BytesIO()

    def feed(self, data: bytes) -> None:
        self._buf.write(data)

    def getvalue(self) -> bytes:
        return self._buf.getvalue()
