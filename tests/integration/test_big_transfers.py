"""Trajectory-sized data on the loopback cluster: big files resume after a dropped connection or a
Ctrl-C, a full local disk loses nothing, and a file changed on the cluster during a download is
fetched again. (Speed and memory figures are benchmarks/transfers.py's.)"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from namdrunner_cli.main import cli
from namdrunner_core.errors import ConnectionFailedError, TransferError
from namdrunner_core.transport.ssh import SSHTransport
from namdrunner_core.transport.transfer import BIG_FILE, get_tree, partial_name, put_file, put_files

pytestmark = pytest.mark.cluster
SIZE = 2 * BIG_FILE + 12345  # big enough to travel alone, resumably


@pytest.fixture
def big(tmp_path: Path) -> Path:
    src = tmp_path / "traj.dcd"
    with src.open("wb") as fh:
        for _ in range(SIZE // (1 << 20)):
            fh.write(os.urandom(1 << 20))
        fh.write(os.urandom(SIZE % (1 << 20)))
    return src


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _kill_session_at(ssh: SSHTransport, fraction: float) -> tuple[threading.Event, object]:
    """A progress callback that SIGKILLs the sshd serving ``ssh`` once ``fraction`` has moved."""
    pid = int(ssh.run(["bash", "-c", "echo $PPID"]).stdout.strip())
    killed = threading.Event()

    def progress(done: int, total: int) -> None:
        if total and done > total * fraction and not killed.is_set():
            killed.set()
            os.kill(pid, signal.SIGKILL)

    return killed, progress


def test_an_upload_killed_midway_resumes_from_its_partial(ssh: SSHTransport, big: Path, remote_dir: str) -> None:
    final = f"{remote_dir}/in/traj.dcd"
    killed, progress = _kill_session_at(ssh, 0.5)
    with pytest.raises(ConnectionFailedError):
        put_file(ssh, big, final, progress=progress)  # type: ignore[arg-type]
    assert killed.is_set()
    assert ssh.run(["test", "-e", final], check=False).exit_code == 1  # never a partial under the final name
    kept = int(ssh.run(["stat", "-c", "%s", partial_name(final)]).stdout)
    assert 0 < kept < SIZE
    sent = put_file(ssh, big, final)
    assert sent == SIZE - kept  # only the rest travelled
    assert ssh.run(["sha256sum", final]).stdout.split()[0] == _sha(big)
    assert ssh.run(["test", "-e", partial_name(final)], check=False).exit_code == 1


def test_a_dropped_connection_during_put_files_is_resumed_in_the_same_call(
    ssh: SSHTransport, big: Path, remote_dir: str
) -> None:
    killed, progress = _kill_session_at(ssh, 0.6)
    report = put_files(ssh, {"traj.dcd": big, "config.namd": b"run 10\n"}, remote_dir, progress=progress)  # type: ignore[arg-type]
    assert killed.is_set()
    assert set(report.files_sent) == {"traj.dcd", "config.namd"}
    assert ssh.run(["sha256sum", f"{remote_dir}/traj.dcd"]).stdout.split()[0] == _sha(big)
    assert put_files(ssh, {"traj.dcd": big}, remote_dir).payload_bytes == 0  # unchanged: nothing moves


def _remote_tree(ssh: SSHTransport, big: Path, remote_dir: str) -> None:
    put_file(ssh, big, f"{remote_dir}/outputs/traj.dcd")
    put_files(ssh, {f"outputs/small{i}.txt": f"{i}\n".encode() for i in range(5)}, remote_dir)


def test_a_download_stopped_by_ctrl_c_resumes_and_reports_it(
    ssh: SSHTransport, big: Path, remote_dir: str, tmp_path: Path
) -> None:
    _remote_tree(ssh, big, remote_dir)
    dest = tmp_path / "dl"

    def ctrl_c(done: int, total: int) -> None:
        if done > SIZE // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        get_tree(ssh, remote_dir, dest, progress=ctrl_c)
    assert not (dest / "outputs" / "traj.dcd").exists()
    kept = Path(partial_name(str(dest / "outputs" / "traj.dcd"))).stat().st_size
    assert SIZE // 2 <= kept < SIZE
    report = get_tree(ssh, remote_dir, dest)
    assert report.resumed_bytes == kept
    assert report.payload_bytes <= 0.55 * SIZE  # the rerun moves only what was missing
    assert _sha(dest / "outputs" / "traj.dcd") == _sha(big)
    assert sorted(report.files_unchanged) == [f"outputs/small{i}.txt" for i in range(5)]
    assert get_tree(ssh, remote_dir, dest).payload_bytes == 0


def test_include_reads_only_the_selected_files_on_the_cluster(
    ssh: SSHTransport, big: Path, remote_dir: str, tmp_path: Path
) -> None:
    _remote_tree(ssh, big, remote_dir)
    before = len(ssh.command_log.entries())
    report = get_tree(ssh, remote_dir, tmp_path / "sel", include=["small*.txt"])
    assert len(report.files_sent) == 5
    commands = [e.command for e in ssh.command_log.entries()[before:]]
    assert not any("traj.dcd" in c for c in commands)  # the big file was neither hashed nor read
    assert len(commands) == 2  # list sizes (no same-size local copies: nothing hashed), one stream
    assert not (tmp_path / "sel" / "outputs" / "traj.dcd").exists()


def test_a_file_changed_during_the_download_is_fetched_again(
    ssh: SSHTransport, big: Path, remote_dir: str, tmp_path: Path
) -> None:
    put_file(ssh, big, f"{remote_dir}/traj.dcd")
    on_cluster = Path(remote_dir) / "traj.dcd"  # the loopback cluster's disk is this machine's
    assert on_cluster.is_file()
    changed = threading.Event()

    def change_it(done: int, total: int) -> None:
        if done > total // 3 and not changed.is_set():
            changed.set()
            with on_cluster.open("r+b") as fh:  # NAMD appending a frame, as it were
                fh.seek(0, os.SEEK_END)
                fh.write(b"one more frame")

    report = get_tree(ssh, remote_dir, tmp_path / "dl", progress=change_it)
    assert changed.is_set()
    assert report.files_sent == ("traj.dcd",)
    assert _sha(tmp_path / "dl" / "traj.dcd") == _sha(on_cluster)  # the new content, whole


def test_a_full_local_disk_loses_nothing_and_the_next_run_resumes(
    ssh: SSHTransport, big: Path, remote_dir: str, tmp_path: Path
) -> None:
    put_file(ssh, big, f"{remote_dir}/traj.dcd")
    dest = tmp_path / "dl"
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (SIZE // 2, hard))  # writes past half fail, as on a full disk
    try:
        with pytest.raises(TransferError, match=r"writing (the download|\S+) failed"):
            get_tree(ssh, remote_dir, dest)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert not (dest / "traj.dcd").exists()  # no partial file in place
    kept = Path(partial_name(str(dest / "traj.dcd"))).stat().st_size
    assert 0 < kept <= SIZE // 2
    report = get_tree(ssh, remote_dir, dest)  # space again: the next run resumes
    assert report.resumed_bytes == kept
    assert _sha(dest / "traj.dcd") == _sha(big)


def test_job_download_json_reports_what_moved_and_what_was_resumed(
    env: dict[str, str], big: Path, tmp_path: Path
) -> None:
    from tests.integration.conftest import TINY

    def run(*args: str) -> dict[str, object]:
        result = CliRunner().invoke(cli, ["--json", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out: dict[str, object] = json.loads(result.stdout)
        return out

    files = [f"--file={p}" for p in TINY]
    job = run("job", "create", "--name", "big out", "--template", "vacuum_optimization_v1", "--set", "steps=240",
              *files, "--cores", "1", "--memory", "0.5", "--walltime", "00:10:00")  # fmt: skip
    job_id, project = str(job["id"]), Path(str(job["project_dir"]))
    (project / "outputs" / "traj.dcd").write_bytes(big.read_bytes())  # the loopback cluster's disk is ours
    dest = tmp_path / "results"
    partial = Path(partial_name(str(dest / job_id / "outputs" / "traj.dcd")))
    partial.parent.mkdir(parents=True)
    with big.open("rb") as fh:  # what an interrupted earlier run left
        partial.write_bytes(fh.read(SIZE // 2))
    got = run("job", "download", job_id, "--to", str(dest), "--include", "outputs/*.dcd")
    assert (got["files"], got["unchanged"]) == (["outputs/traj.dcd"], [])
    assert got["resumed_bytes"] == SIZE // 2
    assert got["bytes"] == SIZE - SIZE // 2
    assert _sha(dest / job_id / "outputs" / "traj.dcd") == _sha(big)
    again = run("job", "download", job_id, "--to", str(dest), "--include", "outputs/*.dcd")
    assert (again["files"], again["unchanged"], again["bytes"]) == ([], ["outputs/traj.dcd"], 0)
    assert run("job", "delete", job_id, "--yes")["deleted"] is True


def test_the_cluster_hashes_big_files_in_the_same_pass(ssh: SSHTransport, big: Path, remote_dir: str) -> None:
    """On a cluster with python3 (the test cluster, like Alpine's login nodes) the remote side reads
    each byte once: the receiver reports the sha256 it computed while writing, the sender while
    sending, and both equal the file's."""
    from namdrunner_core.scripts import GET_FILE, PUT_FILE

    part = f"{remote_dir}/one pass.nrpart"
    with big.open("rb") as fh:
        got = ssh.put_stream(PUT_FILE.argv([part, "0"]), iter(lambda: fh.read(1 << 20), b""))
    assert got.exit_code == 0, got.stderr
    assert got.stdout.split() == ["sha256", _sha(big)]
    sent = hashlib.sha256()
    out = ssh.get_stream(GET_FILE.argv([part, str(BIG_FILE)]), sent.update)  # resumed at an offset
    assert f"sha256 {_sha(big)}" in out.stderr  # of the WHOLE file, prefix included
    assert sent.digest() == hashlib.sha256(big.read_bytes()[BIG_FILE:]).digest()
