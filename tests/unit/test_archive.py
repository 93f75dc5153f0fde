"""namdrunner_core/archive.py: a folder streamed as a zip - every file back byte for byte under its
folder name, text deflated and binaries stored, no link followed out of the folder, in pieces."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from namdrunner_core.archive import CHUNK, zip_stream


def test_a_folder_comes_back_whole_from_its_streamed_zip(tmp_path: Path) -> None:
    root = tmp_path / "job"
    (root / "outputs").mkdir(parents=True)
    (root / "input_files").mkdir()
    log = ("ENERGY: 0 1 2 3\n" * 50_000).encode()
    dcd = os.urandom(3 * CHUNK + 17)
    (root / "namd_output.log").write_bytes(log)
    (root / "outputs" / "run.dcd").write_bytes(dcd)
    (root / "input_files" / "tiny.psf").write_text("PSF\n")
    (root / "empty.err").write_bytes(b"")
    outside = tmp_path / "secret.txt"
    outside.write_text("not the job's")
    (root / "link.txt").symlink_to(outside)
    (root / "linked_dir").symlink_to(tmp_path)

    pieces = list(zip_stream(root, folder="prod_1"))
    assert len(pieces) > 3  # streamed, not one blob
    assert all(pieces)
    assert max(map(len, pieces)) < 2 * CHUNK + 4096
    zf = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))
    assert zf.testzip() is None
    names = sorted(zf.namelist())
    assert names == ["prod_1/empty.err", "prod_1/input_files/tiny.psf", "prod_1/namd_output.log",
                     "prod_1/outputs/run.dcd"]  # fmt: skip
    assert zf.read("prod_1/outputs/run.dcd") == dcd
    assert zf.read("prod_1/namd_output.log") == log
    assert zf.getinfo("prod_1/outputs/run.dcd").compress_type == zipfile.ZIP_STORED
    info = zf.getinfo("prod_1/namd_output.log")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    assert info.compress_size < len(log) / 20
