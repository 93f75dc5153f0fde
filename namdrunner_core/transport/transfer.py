"""File and tree transfers over any :class:`~namdrunner_core.transport.protocol.Transport`.

- Atomic: data lands under a temporary name and is renamed only after it verified, so a failure
  never leaves a partial file at the final path.
- Verified: sizes and sha256 are compared end to end (the remote side hashes while it writes).
- Incremental: a tree's remote manifest (every file's size and sha256) comes from ONE command;
  unchanged files are not sent again.
- Batched: the small files of a tree travel as one stream over one channel, not one round trip each.
- Bounded: nothing is held whole in memory; reading, hashing and sending (receiving, hashing and
  writing) overlap on threads, whatever the size.
- Resumable: an interrupted download (or upload of a big file) keeps its partial file under one
  fixed name and continues from what is verifiably there.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import queue
import secrets
import tarfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import attrs

from namdrunner_core.errors import ConnectionFailedError, RemoteFileChangedError, TransferError
from namdrunner_core.scripts import (
    FINISH_PUT,
    GET_FILE,
    GET_FILES,
    HASH_FILES,
    LIST_FILES,
    MANIFEST,
    PARTIAL_INFO,
    PUT_FILE,
    PUT_TREE,
)
from namdrunner_core.transport.protocol import ProgressCallback, Transport

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
    """What a tree transfer did: files moved and skipped, the bytes moved in this run, and the bytes
    a resumed file already had from an interrupted run."""

    files_sent: tuple[str, ...]
    files_unchanged: tuple[str, ...]
    payload_bytes: int
    resumed_bytes: int = 0


def sha256_file(path: Path) -> str:
    """Hex sha256 of a local file, streamed."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _read_ahead(path: Path, digest: Any, depth: int = 8, start: int = 0) -> Iterator[bytes]:
    """The file's chunks, read and hashed on a thread ahead of the sender (both release the GIL),
    so that reading and hashing overlap with encrypting and sending."""
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def reader() -> None:
        try:
            with path.open("rb") as fh:
                fh.seek(start)
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


#: Files at least this big travel alone (:func:`put_file` / :func:`get_file`): resumable, verified;
#: smaller ones share one stream per tree (one round trip for thousands of small files).
BIG_FILE = 32 * 1024 * 1024
#: Attempts of one big file across dropped connections (each resumes where the last one stopped).
ATTEMPTS = 3


def partial_name(path: str) -> str:
    """The partial name of an upload or download in progress: ``.<name>.nrpart`` beside it (the same
    name every time, so an interrupted transfer is resumed, never left as a second copy)."""
    p = PurePosixPath(path)
    return str(p.with_name(f".{p.name}{PARTIAL_SUFFIX}"))


def _hash_prefix(path: Path, size: int) -> Any:
    """A sha256 object fed with the first ``size`` bytes of ``path`` (to be continued)."""
    digest = hashlib.sha256()
    left = size
    with path.open("rb") as fh:
        while left > 0:
            block = fh.read(min(CHUNK, left))
            if not block:
                break
            digest.update(block)
            left -= len(block)
    return digest


def put_file(
    transport: Transport,
    local: Path,
    remote: str,
    *,
    progress: ProgressCallback | None = None,
    mode: int = 0o644,
    resume: bool = True,
) -> int:
    """Upload ``local`` to ``remote`` atomically and verified; returns the payload bytes sent now.

    Reading, hashing and sending overlap with bounded memory (a few MiB whatever the size). The bytes
    land in :func:`partial_name` (``put_file.sh``), hashed on the cluster in the same pass as they
    are written where it has python3 (else hashed again afterwards); a second command
    (``finish_put.sh``) renames the partial into place only when its size and sha256 are the ones
    computed here while reading. An upload cut short keeps its remote partial; with ``resume`` the
    next call checks the partial's sha256 against the same prefix of ``local`` and sends only the rest.
    """
    local = Path(local)
    if not local.is_file():
        raise TransferError(f"local file not found: {local}")
    size = local.stat().st_size
    part = partial_name(remote)
    offset = 0
    digest = hashlib.sha256()
    if resume and size >= BIG_FILE:
        have, _, their_sum = transport.run(PARTIAL_INFO.argv([part])).stdout.strip().partition(" ")
        if have.isdigit() and 0 < int(have) <= size:
            prefix = _hash_prefix(local, int(have))
            if prefix.hexdigest() == their_sum:
                offset, digest = int(have), prefix

    def chunks() -> Iterator[bytes]:
        done = offset
        for block in _read_ahead(local, digest, start=offset):
            done += len(block)
            if progress:
                progress(done, size)
            yield block
        if done != size:
            raise TransferError(f"{local} changed size during upload ({done} of {size} bytes)")

    result = transport.put_stream(PUT_FILE.argv([part, str(offset)]), chunks())
    if result.exit_code != 0:
        raise TransferError(f"upload of {local} to {remote} failed: {result.stderr.strip() or result.exit_code}")
    # what the cluster hashed while writing the partial (python3 there), else "-": finish_put hashes it
    received = next((ln[7:].strip() for ln in result.stdout.splitlines() if ln.startswith("sha256 ")), "-")
    done = transport.run(
        FINISH_PUT.argv([part, remote, str(size), digest.hexdigest(), f"{mode:o}", received]), check=False
    )
    if done.exit_code != 0:
        raise TransferError(f"upload of {local} to {remote} failed: {done.stderr.strip() or done.exit_code}")
    if progress and size == 0:
        progress(0, 0)
    return size - offset


def get_file(
    transport: Transport,
    remote: str,
    local: Path,
    *,
    progress: ProgressCallback | None = None,
    resume: bool = True,
) -> int:
    """Download ``remote`` to ``local`` atomically and verified; resumes a partial download.

    Receiving, hashing and writing overlap with bounded memory. The data lands in
    ``.<name>.nrpart`` and is renamed only after the sha256 of the whole file (the part already there
    included) matched the cluster's. A file changed on the cluster while it was read is detected (its
    size and modification time around the send) and not kept. Returns the bytes received in this call.
    """
    local = Path(local)
    local.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(partial_name(str(local)))
    offset = partial.stat().st_size if (resume and partial.exists()) else 0
    if not resume and partial.exists():
        partial.unlink()
    digest = _hash_prefix(partial, offset) if offset else hashlib.sha256()
    done = [offset]
    try:
        with partial.open("ab") as fh, _WriteBehind(fh, digest) as writer:

            def sink(data: bytes) -> None:
                writer.put(data)
                done[0] += len(data)
                if progress:
                    progress(done[0], done[0])

            result = transport.get_stream(GET_FILE.argv([remote, str(offset)]), sink)
    except OSError as exc:  # the local disk (full, read-only): the partial stays for the next run
        raise TransferError(f"writing {local} failed: {exc.strerror or exc}; the partial file is kept") from exc
    lines = result.stderr.splitlines()
    info = dict(line.split(" ", 1) for line in lines if line.startswith(("size ", "sha256 ", "stat ")))
    if result.exit_code != 0 or "sha256" not in info:
        last_line = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else str(result.exit_code)
        raise TransferError(
            f"download of {remote} failed: {last_line}"
            + (" (the partial file is kept; run again to resume)" if partial.exists() else "")
        )
    before, _, after = info.get("stat", "").partition(" | ")
    if before.strip() != after.strip():
        partial.unlink(missing_ok=True)
        raise RemoteFileChangedError(f"{remote} changed on the cluster while it was downloaded; nothing was kept")
    remote_size = int(info["size"])
    if partial.stat().st_size != remote_size:
        partial.unlink(missing_ok=True)
        raise TransferError(f"download of {remote} has the wrong size; the remote file changed, run again")
    if info["sha256"].strip() != digest.hexdigest():
        partial.unlink(missing_ok=True)
        what = "resumed download" if offset else "download"
        raise TransferError(
            f"{what} of {remote} did not verify (checksum mismatch); the partial was discarded, run again"
        )
    os.replace(partial, local)
    if progress:
        progress(remote_size, remote_size)
    return done[0] - offset


def _attempts(what: str, operation: Callable[[], int]) -> int:
    """Run a transfer again after a dropped connection (a big file resumes where it stopped) or after
    a file changed on the cluster while it was read (fetched again, whole)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return operation()
        except (ConnectionFailedError, RemoteFileChangedError):
            if attempt == ATTEMPTS:
                raise
    raise TransferError(f"{what}: no attempt left")  # pragma: no cover - the loop returns or raises


def remote_manifest(transport: Transport, root: str) -> dict[str, RemoteFileInfo]:
    """Every file under ``root`` with size and sha256, from ONE remote command (hashes every file)."""
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


def remote_sizes(transport: Transport, root: str) -> dict[str, int]:
    """Every file under ``root`` with its size, from ONE command that reads no file."""
    out = transport.run(LIST_FILES.argv([root])).stdout
    sizes = {}
    for item in out.split("\0"):
        size, _, rel = item.partition(" ")
        if size.isdigit() and rel:
            sizes[rel] = int(size)
    return sizes


def remote_sums(transport: Transport, root: str, names: Sequence[str]) -> dict[str, str]:
    """The sha256 of the named files below ``root`` (ONE command; none when ``names`` is empty)."""
    if not names:
        return {}
    lines = transport.run(HASH_FILES.argv([root, *names])).stdout.splitlines()
    return {n: s.strip() for n, s in zip(names, lines, strict=False) if len(s.strip()) == 64}


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
    """Mirror a local directory into ``remote_root``: changed files only, verified."""
    local_root = Path(local_root)
    if not local_root.is_dir():
        raise TransferError(f"local directory not found: {local_root}")
    return put_files(transport, dict(_local_tree(local_root)), remote_root, progress=progress)


class _Progress:
    """One (done, total) callback over many files."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total, self.base, self.callback = total, 0, callback

    def part(self, size: int) -> ProgressCallback:
        base = self.base
        self.base += size

        def update(done: int, _total: int) -> None:
            if self.callback:
                self.callback(min(base + done, self.total), self.total)

        return update


def _tar_header(rel: str, size: int) -> bytes:
    info = tarfile.TarInfo(rel)
    info.size, info.mode, info.mtime = size, 0o644, int(time.time())
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


def _tar_padding(size: int) -> bytes:
    return b"\0" * ((tarfile.BLOCKSIZE - size % tarfile.BLOCKSIZE) % tarfile.BLOCKSIZE)


def put_files(
    transport: Transport,
    files: Mapping[str, Path | bytes],
    remote_root: str,
    *,
    progress: ProgressCallback | None = None,
    incremental: bool = True,
) -> TreeTransferReport:
    """Upload files (local paths or in-memory bytes) to ``remote_root/<relative name>``.

    Memory stays bounded whatever the sizes. With ``incremental`` the remote sizes are listed (ONE
    command, no file read); only files of equal size are hashed on both sides to skip unchanged ones.
    Small files travel as ONE tar stream built as it is sent (each file read and hashed once, its
    sha256 checked on the remote before anything is moved into place); big ones
    (:data:`BIG_FILE`) go alone through :func:`put_file`, resumed after a dropped connection.
    """
    for rel in files:
        if rel.startswith("/") or ".." in PurePosixPath(rel).parts or not rel:
            raise TransferError(f"refusing to upload to {rel!r}: names must be relative, without '..'")
    sizes = {rel: (src.stat().st_size if isinstance(src, Path) else len(src)) for rel, src in files.items()}
    changed = sorted(files)
    if incremental:
        there = remote_sizes(transport, remote_root)
        same_size = [rel for rel in changed if there.get(rel) == sizes[rel]]
        theirs = remote_sums(transport, remote_root, same_size)
        ours = {rel: _sha256_of(files[rel]) for rel in same_size if rel in theirs}
        changed = [rel for rel in changed if rel not in ours or ours[rel] != theirs[rel]]
    unchanged = sorted(set(files) - set(changed))
    if not changed:
        return TreeTransferReport((), tuple(unchanged), 0)
    big = [rel for rel in changed if isinstance(files[rel], Path) and sizes[rel] >= BIG_FILE]
    small = [rel for rel in changed if rel not in big]
    meter = _Progress(sum(sizes[rel] for rel in changed), progress)
    sent = 0
    if small:
        sent += _put_small(transport, {rel: files[rel] for rel in small}, sizes, remote_root, meter)
    for rel in big:
        src = files[rel]
        assert isinstance(src, Path)
        update = meter.part(sizes[rel])
        target = f"{remote_root.rstrip('/')}/{rel}"
        sent += _attempts(target, functools.partial(put_file, transport, src, target, progress=update))
    return TreeTransferReport(tuple(changed), tuple(unchanged), sent)


def _sha256_of(src: Path | bytes) -> str:
    return sha256_file(src) if isinstance(src, Path) else hashlib.sha256(src).hexdigest()


def _put_small(
    transport: Transport,
    files: Mapping[str, Path | bytes],
    sizes: Mapping[str, int],
    remote_root: str,
    meter: _Progress,
) -> int:
    """The small files as ONE tar stream, written as it is sent; the manifest of their sha256 last."""
    total = sum(sizes[rel] for rel in files)
    update = meter.part(total)
    sums: dict[str, str] = {}

    def pieces() -> Iterator[bytes]:
        done = 0
        for rel, src in files.items():
            yield _tar_header(rel, sizes[rel])
            digest = hashlib.sha256()
            if isinstance(src, Path) and sizes[rel] > CHUNK:
                got = 0
                for block in _read_ahead(src, digest):
                    got += len(block)
                    yield block
            else:  # a small file in one read: no reader thread for each of thousands of files
                data = src.read_bytes() if isinstance(src, Path) else src
                got = len(data)
                digest.update(data)
                yield data
            if got != sizes[rel]:
                where = src if isinstance(src, Path) else rel
                raise TransferError(f"{where} changed size during upload ({got} of {sizes[rel]} bytes)")
            sums[rel] = digest.hexdigest()
            yield _tar_padding(sizes[rel])
            done += sizes[rel]
            update(done, total)
        manifest = "".join(f"{sums[rel]}  {rel}\n" for rel in files).encode()
        yield _tar_header(".namdrunner-manifest.sha256", len(manifest)) + manifest + _tar_padding(len(manifest))
        yield b"\0" * (2 * tarfile.BLOCKSIZE)

    def chunks() -> Iterator[bytes]:
        """The pieces gathered into blocks of about 1 MiB (a header, 4 KiB and padding sent one by
        one made thousands of channel writes, each waiting its turn)."""
        batch = bytearray()
        for piece in pieces():
            if len(piece) >= CHUNK:
                if batch:
                    yield bytes(batch)
                    batch.clear()
                yield piece
                continue
            batch += piece
            if len(batch) >= CHUNK:
                yield bytes(batch)
                batch.clear()
        if batch:
            yield bytes(batch)

    stage = f".nrstage-{secrets.token_hex(4)}"
    result = transport.put_stream(PUT_TREE.argv([remote_root, stage]), chunks())
    if result.exit_code != 0:
        raise TransferError(f"upload to {remote_root} failed: {result.stderr.strip() or result.exit_code}")
    return total


def get_tree(
    transport: Transport,
    remote_root: str,
    local_root: Path,
    *,
    include: list[str] | None = None,
    progress: ProgressCallback | None = None,
) -> TreeTransferReport:
    """Mirror ``remote_root`` into a local directory: changed files only, verified, resumable.

    ``include`` holds glob patterns (``fnmatch`` on the relative path or the file name) selecting the
    files; only those are ever read on the cluster, and of those only the ones whose local copy has
    the same size are hashed (to skip them when unchanged). Small files travel in ONE stream; big
    ones (:data:`BIG_FILE`) alone through :func:`get_file`, each continuing a partial download left by
    an interrupted run (``resumed_bytes`` counts what was already there) and retried after a dropped
    connection. Nothing partial is ever left under a final name.
    """
    import fnmatch

    local_root = Path(local_root)
    there = remote_sizes(transport, remote_root)
    wanted = {
        rel: size
        for rel, size in there.items()
        if not include
        or any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(PurePosixPath(rel).name, pat) for pat in include)
    }
    for rel in wanted:
        if rel.startswith("/") or ".." in PurePosixPath(rel).parts:
            raise TransferError(f"refusing to download {rel!r}: it would land outside {local_root}")
    same_size = sorted(rel for rel, size in wanted.items() if _local_size(local_root / rel) == size)
    theirs = remote_sums(transport, remote_root, same_size)
    unchanged = sorted(rel for rel in same_size if rel in theirs and sha256_file(local_root / rel) == theirs[rel])
    changed = sorted(set(wanted) - set(unchanged))
    if not changed:
        return TreeTransferReport((), tuple(unchanged), 0)
    big = [rel for rel in changed if wanted[rel] >= BIG_FILE]
    small = [rel for rel in changed if rel not in big]
    meter = _Progress(sum(wanted[rel] for rel in changed), progress)
    moved = resumed = 0
    if small:
        update = meter.part(sum(wanted[rel] for rel in small))
        batch = functools.partial(_get_small, transport, remote_root, local_root, small, wanted, update)
        moved += _attempts(remote_root, batch)
    for rel in big:
        dest = local_root / rel
        partial = Path(partial_name(str(dest)))
        already = partial.stat().st_size if partial.exists() else 0
        update = meter.part(wanted[rel])
        target = f"{remote_root.rstrip('/')}/{rel}"
        _attempts(target, functools.partial(get_file, transport, target, dest, progress=update))
        moved += wanted[rel] - already  # a resumed file was verified whole: what it had counts as resumed
        resumed += already
    return TreeTransferReport(tuple(changed), tuple(unchanged), moved, resumed)


def _local_size(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None


def _get_small(
    transport: Transport,
    remote_root: str,
    local_root: Path,
    names: Sequence[str],
    sizes: Mapping[str, int],
    update: ProgressCallback,
) -> int:
    """The small files in ONE stream, each written to its partial name, checked, then renamed."""
    total = sum(sizes[rel] for rel in names)
    reader = _FrameReader(local_root, names)
    received = [0]

    def sink(data: bytes) -> None:
        reader.feed(data)
        received[0] += len(data)
        update(min(received[0], total), total)

    try:
        result = transport.get_stream(GET_FILES.argv([remote_root, *names]), sink)
    except BaseException:
        reader.discard()
        raise
    if result.exit_code != 0:
        reader.discard()
        raise TransferError(f"download of {remote_root} failed: {result.stderr.strip() or result.exit_code}")
    reader.finish()
    return total


class _FrameReader:
    """Parses ``get_files.sh``'s stream: each file written to its partial name as it arrives
    (bounded memory), checked against its sha256, and renamed into place at the end only if all are."""

    def __init__(self, root: Path, names: Sequence[str]) -> None:
        self.root, self.names = root, list(names)
        self._head = b""
        self._left = 0
        self._fh: Any = None
        self._digest: Any = None
        self._current: tuple[str, str] | None = None  # (name, expected sha256)
        self._done: list[tuple[str, Path]] = []
        self._bad: list[str] = []
        self.changed = False

    def _partial(self, rel: str) -> Path:
        dest = self.root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        return Path(partial_name(str(dest)))

    def feed(self, data: bytes) -> None:
        """One chunk of the stream: headers found by index and file bytes written as views, so a
        chunk holding hundreds of small files is walked once (it was copied again per file)."""
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            if self._left:
                take = view[pos : pos + self._left]
                self._fh.write(take)
                self._digest.update(take)
                self._left -= len(take)
                pos += len(take)
                if not self._left:
                    self._close_file()
                continue
            nl = data.find(b"\n", pos)
            if nl < 0:  # a header cut by the chunk's end: its rest comes with the next chunk
                self._head += data[pos:]
                return
            line = self._head + data[pos:nl]
            self._head = b""
            pos = nl + 1
            self._start(line.decode("ascii", "replace"))

    def _start(self, header: str) -> None:
        parts = header.split()
        if len(parts) == 2 and parts[0] == "@@M":
            self._bad.append(f"{self.names[int(parts[1])]} vanished on the cluster")
            return
        if len(parts) != 4 or parts[0] != "@@F":
            raise TransferError(f"download stream out of step: unexpected {header[:80]!r}")
        rel, size = self.names[int(parts[1])], int(parts[2])
        path = self._partial(rel)
        try:
            self._fh = path.open("wb")
        except OSError as exc:
            raise TransferError(f"writing {self.root / rel} failed: {exc.strerror or exc}") from exc
        self._digest = hashlib.sha256()
        self._current = (rel, parts[3])
        self._left = size
        if size == 0:
            self._close_file()

    def _close_file(self) -> None:
        assert self._current is not None
        rel, expected = self._current
        try:
            self._fh.close()
        except OSError as exc:
            raise TransferError(f"writing {self.root / rel} failed: {exc.strerror or exc}") from exc
        path = self._partial(rel)
        if self._digest.hexdigest() != expected:
            self._bad.append(f"{rel} did not verify (it changed on the cluster while it was read)")
            self.changed = True
            path.unlink(missing_ok=True)
        else:
            self._done.append((rel, path))
        self._fh = self._current = None

    def discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
        for rel in self.names:
            Path(partial_name(str(self.root / rel))).unlink(missing_ok=True)

    def finish(self) -> None:
        if self._left or self._current is not None:
            self.discard()
            raise TransferError("download stream ended early; nothing was replaced, run again")
        if self._bad:
            self.discard()
            error = RemoteFileChangedError if self.changed else TransferError
            raise error("download not verified: " + "; ".join(self._bad[:3]) + "; nothing was replaced, run again")
        for rel, path in self._done:
            os.replace(path, self.root / rel)
