"""A folder as a zip archive, streamed: the bytes come out as they are written, so a download of many
gigabytes needs neither a second copy on disk nor the archive in memory.

Text files (logs, configs, structures) are deflated; binary trajectories and restart files, which
barely compress, are stored as they are (a DCD of gigabytes is not held up by the compressor). Archives
over 4 GiB or 65,535 files use ZIP64, which every current unzip reads.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

#: what deflates well: NAMD's logs and configs, structures, parameters, Slurm's output, job records
TEXT_SUFFIXES = frozenset(
    [
        ".log",
        ".out",
        ".err",
        ".namd",
        ".conf",
        ".inp",
        ".psf",
        ".pdb",
        ".prm",
        ".rtf",
        ".str",
        ".par",
        ".top",
        ".xsc",
        ".xst",
        ".json",
        ".toml",
        ".txt",
        ".sh",
        ".sbatch",
        ".csv",
        ".tcl",
        ".colvars",
        ".traj",
    ]
)
CHUNK = 1 << 20


class _Pipe:
    """The write end zipfile sees (no seek: zipfile then writes data descriptors); what was written is
    taken away in pieces by :func:`zip_stream`."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.written = 0
        self.buffered = 0

    def write(self, data: bytes, /) -> int:
        self.parts.append(bytes(data))
        self.written += len(data)
        self.buffered += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        self.buffered = 0
        return out


def archive_members(root: Path) -> list[Path]:
    """The regular files under ``root`` that go into its archive, in a stable order (symbolic links
    and anything that is not a plain file left out: nothing outside the folder is ever read)."""
    root = Path(root)
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and not _linked(p, root))


def _linked(path: Path, root: Path) -> bool:
    return any(parent.is_symlink() for parent in path.relative_to(root).parents if parent != Path("."))


def zip_stream(root: Path, *, folder: str) -> Iterator[bytes]:
    """The files under ``root`` as one zip archive, each named ``<folder>/<its path under root>``, in
    pieces of about a megabyte as they are written."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", allowZip64=True) as zf:
        for path in archive_members(root):
            rel = path.relative_to(root).as_posix()
            text = path.suffix.lower() in TEXT_SUFFIXES
            info = zipfile.ZipInfo.from_file(path, f"{folder}/{rel}")
            info.compress_type = zipfile.ZIP_DEFLATED if text else zipfile.ZIP_STORED
            with path.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                while block := src.read(CHUNK):
                    dst.write(block)
                    if pipe.buffered >= CHUNK:
                        yield pipe.take()
            if pipe.buffered:
                yield pipe.take()
    if pipe.buffered:
        yield pipe.take()
