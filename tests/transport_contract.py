"""One set of behaviours every Transport must show; run against Local (unit) and SSH (integration)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from namdrunner_core.errors import CommandTimeoutError, RemoteCommandError, TransferError
from namdrunner_core.transport.base import BaseTransport
from namdrunner_core.transport.transfer import get_file, get_tree, put_file, put_tree, remote_manifest


def check_run(t: BaseTransport, remote_dir: str) -> None:
    r = t.run(["printf", "%s|", "a b", "$(whoami)", "`id`", "'q'"])
    assert r.stdout == "a b|$(whoami)|`id`|'q'|"
    assert r.exit_code == 0
    with pytest.raises(RemoteCommandError) as err:
        t.run(["bash", "-c", "echo oops >&2; exit 7"])
    assert err.value.remote_exit_code == 7
    assert "oops" in str(err.value)
    assert t.run(["false"], check=False).exit_code == 1
    assert t.run(["cat"], stdin=b"x" * 300_000).stdout == "x" * 300_000
    big_err = t.run(["bash", "-c", "head -c 400000 /dev/zero | tr '\\0' e >&2; echo done"])
    assert big_err.stdout.strip() == "done"
    assert len(big_err.stderr) == 400_000
    with pytest.raises(CommandTimeoutError):
        t.run(["sleep", "5"], timeout=0.5)
    assert t.run_script('printf "%s" "$1$2"', ["a b", "$HOME"]).stdout == "a b$HOME"


def check_transfers(t: BaseTransport, tmp: Path, remote_dir: str) -> None:
    tmp.mkdir(parents=True, exist_ok=True)
    src = tmp / "big.bin"
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    seen: list[tuple[int, int]] = []
    remote = f"{remote_dir}/sub dir/big file.bin"
    assert put_file(t, src, remote, progress=lambda d, n: seen.append((d, n))) == src.stat().st_size
    assert seen[-1] == (src.stat().st_size, src.stat().st_size)
    assert t.run(["sha256sum", remote]).stdout.split()[0] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert not [n for n in t.run(["ls", "-a", f"{remote_dir}/sub dir"]).stdout.split() if "nrpart" in n]
    back = tmp / "back" / "big.bin"
    get_file(t, remote, back)
    assert back.read_bytes() == src.read_bytes()
    # A resumed download: a partial local file is continued, and the whole is verified.
    partial = back.with_name(f".{back.name}.nrpart")
    partial.write_bytes(src.read_bytes()[:1_000_000])
    back.unlink()
    assert get_file(t, remote, back) == src.stat().st_size - 1_000_000
    assert back.read_bytes() == src.read_bytes()
    # A corrupt partial is detected, discarded, and nothing lands at the final path.
    partial.write_bytes(b"garbage" * 1000)
    back.unlink()
    with pytest.raises(TransferError, match="did not verify"):
        get_file(t, remote, back)
    assert not back.exists()
    assert not partial.exists()
    with pytest.raises(TransferError):
        get_file(t, f"{remote_dir}/missing", tmp / "missing")
    assert not (tmp / "missing").exists()


def check_trees(t: BaseTransport, tmp: Path, remote_dir: str) -> None:
    tree = tmp / "tree"
    for i in range(60):
        sub = tree / f"d{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f {i}.txt").write_text(f"file {i}\n" * (i + 1))
    report = put_tree(t, tree, f"{remote_dir}/tree")
    assert len(report.files_sent) == 60
    manifest = remote_manifest(t, f"{remote_dir}/tree")
    assert manifest["d1/f 1.txt"].size == len("file 1\n" * 2)
    again = put_tree(t, tree, f"{remote_dir}/tree")
    assert again.payload_bytes == 0
    assert len(again.files_unchanged) == 60
    (tree / "d0" / "f 0.txt").write_text("changed\n")
    third = put_tree(t, tree, f"{remote_dir}/tree")
    assert third.files_sent == ("d0/f 0.txt",)
    down = tmp / "down"
    got = get_tree(t, f"{remote_dir}/tree", down)
    assert len(got.files_sent) == 60
    assert (down / "d0" / "f 0.txt").read_text() == "changed\n"
    assert get_tree(t, f"{remote_dir}/tree", down).payload_bytes == 0
    only = get_tree(t, f"{remote_dir}/tree", tmp / "only", include=["d2/*"])
    assert all(p.startswith("d2/") for p in only.files_sent)
    assert len(only.files_sent) == 15


def check_queue_depth(t: BaseTransport, threads: int) -> list[Exception]:
    """With a 1-token burst and ``max_pending`` waiters, the extra callers fail at once and are logged."""
    import threading

    from namdrunner_core.errors import RateLimitError

    t.run(["true"])  # uses the burst token
    errors: list[Exception] = []

    def worker() -> None:
        try:
            t.run(["true"])
        except RateLimitError as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert errors
    assert "too many pending requests" in str(errors[0])
    assert sum(1 for e in t.command_log.entries() if "too many pending" in e.note) == len(errors)
    return errors
