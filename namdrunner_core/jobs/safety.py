"""The ONE function through which namdrunner deletes anything remote.

The target must be exactly ``<root>/<job_id>`` for a configured root (the session's jobs root or
scratch root), with an id matching the safe pattern, never empty and never the root itself; on the
remote, the root is resolved with ``realpath``, the target must not be a symlink and must resolve
to a directory directly inside that resolved root. Only then is it removed. Every check failing
raises :class:`UnsafePathError` and deletes nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from namdrunner_core.errors import UnsafePathError, ValidationError
from namdrunner_core.models import SAFE_JOB_ID
from namdrunner_core.scripts import COPY_INPUTS, REMOVE_JOB_DIR

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session


def check_job_target(root: str, job_id: str) -> str:
    """Local checks of a delete target; returns ``<root>/<job_id>`` or raises."""
    if not isinstance(job_id, str) or not job_id or not SAFE_JOB_ID.fullmatch(job_id) or job_id in (".", ".."):
        raise UnsafePathError(f"refusing to delete: job id {job_id!r} is not a safe job id")
    norm_root = posixpath.normpath(root) if root else ""
    if not root.startswith("/") or norm_root in ("/", ".", "") or norm_root != root.rstrip("/"):
        raise UnsafePathError(f"refusing to delete: root {root!r} is not a normalised absolute directory below /")
    target = posixpath.join(norm_root, job_id)
    if posixpath.dirname(target) != norm_root or target == norm_root:
        raise UnsafePathError(f"refusing to delete {target!r}: not directly inside {norm_root!r}")
    return target


def remove_job_dir(session: Session, which: Literal["project", "scratch"], job_id: str) -> bool:
    """Delete ``<root>/<job_id>`` for the session's project or scratch root after every check.

    Returns True when a directory was removed, False when there was nothing to remove.
    """
    root = session.jobs_root if which == "project" else session.scratch_root
    check_job_target(root, job_id)
    result = session.run_remote(REMOVE_JOB_DIR, [root.rstrip("/"), job_id], check=False)
    if result.exit_code != 0:
        raise UnsafePathError(
            f"refusing to delete {root}/{job_id}: {result.stderr.strip() or f'check {result.exit_code} failed'}; "
            "nothing was deleted"
        )
    return result.stdout.strip() == "removed"


def copy_remote_inputs(session: Session, inputs: Mapping[str, str], dest: str) -> None:
    """Copy files already on the cluster (inside the job roots) into a job's input dir, on the cluster."""
    args = [dest, session.jobs_root, session.scratch_root, "--"]
    for name, src in sorted(inputs.items()):
        args += [src, name]
    result = session.run_remote(COPY_INPUTS, args, check=False)
    if result.exit_code != 0:
        raise ValidationError("files", f"cannot copy inputs on the cluster: {result.stderr.strip()}")
