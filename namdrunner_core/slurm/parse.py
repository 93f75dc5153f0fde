"""Parsers for what Slurm prints: pure functions from text to typed rows. No I/O."""

from __future__ import annotations

import re

import attrs

from namdrunner_core.errors import SchedulerError
from namdrunner_core.slurm.states import JobStatus, normalize_state, status_from_slurm

#: The squeue format namdrunner asks for: the name last, so a '|' inside it cannot shift fields; the
#: submit time (%V) and the name tell a job of ours from another that got the same id later.
SQUEUE_FORMAT = "%i|%T|%r|%M|%l|%V|%j"
SQUEUE_FIELDS = 7
#: The sacct fields namdrunner asks for (``sacct -P -n -o ...``), JobName last for the same reason.
SACCT_FIELDS = ("JobID", "State", "ExitCode", "Elapsed", "Start", "End", "Reason", "Submit", "JobName")


@attrs.frozen(slots=True)
class SubmitResult:
    """What ``sbatch --parsable`` answered."""

    job_id: str
    cluster: str | None = None


_JOB_ID = re.compile(r"^\d+(?:_\d+|_\[[\d\-,%]+\])?$")


def parse_sbatch(stdout: str, stderr: str = "", exit_code: int = 0) -> SubmitResult:
    """Parse ``sbatch --parsable`` output (``123`` or ``123;cluster``).

    A refusal (non-zero exit, or no id) raises :class:`SchedulerError` carrying Slurm's message.
    """
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    candidate = lines[-1] if lines else ""
    job_id, _, cluster = candidate.partition(";")
    if exit_code != 0 or not job_id.isdigit():
        message = _slurm_message(stderr) or _slurm_message(stdout) or f"sbatch exited {exit_code} without a job id"
        raise SchedulerError(f"Slurm refused the job: {message}", scheduler_message=message)
    return SubmitResult(job_id=job_id, cluster=cluster or None)


def _slurm_message(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "error" in ln.lower():
            return re.sub(r"^sbatch:\s*error:\s*", "", ln, flags=re.IGNORECASE)
    return lines[-1] if lines else ""


@attrs.frozen(slots=True)
class SqueueRow:
    """One job as squeue shows it."""

    job_id: str
    state: str
    reason: str
    elapsed: str
    time_limit: str
    name: str
    #: when Slurm accepted it (``%V``, the controller's local time), "" when not asked
    submit: str = ""

    @property
    def status(self) -> JobStatus:
        """The mapped status."""
        return status_from_slurm(self.state)


def parse_squeue(text: str) -> list[SqueueRow]:
    """Parse ``squeue -h -o SQUEUE_FORMAT`` (``%i|%T|%r|%M|%l|%V|%j``); malformed lines are skipped,
    never fatal."""
    rows = []
    for line in text.split("\n"):
        parts = line.strip().split("|", SQUEUE_FIELDS - 1)
        if len(parts) != SQUEUE_FIELDS or not parts[0]:
            continue
        job_id, state, reason, elapsed, limit, submit, name = parts
        rows.append(SqueueRow(job_id, state, reason, elapsed, limit, name, submit))
    return rows


@attrs.frozen(slots=True)
class SacctRow:
    """One job as sacct shows it, its steps (``.batch``, ``.0``, ``.extern``) folded in."""

    job_id: str
    state: str
    exit_code: str
    elapsed: str
    start: str
    end: str
    reason: str
    name: str
    steps: tuple[str, ...] = ()
    #: when Slurm accepted it (the controller's local time), "" when not asked
    submit: str = ""

    @property
    def status(self) -> JobStatus:
        """The mapped status (``CANCELLED by 1001`` -> CANCELLED, unknown -> UNKNOWN)."""
        return status_from_slurm(self.state)

    @property
    def state_name(self) -> str:
        """The state word without decoration, e.g. ``TIMEOUT``, ``CANCELLED``."""
        return normalize_state(self.state)

    @property
    def array_parent(self) -> str | None:
        """``123`` for array tasks ``123_4`` / ``123_[5-9]``; None otherwise."""
        return self.job_id.split("_", 1)[0] if "_" in self.job_id else None


def parse_sacct(text: str) -> dict[str, SacctRow]:
    """Parse ``sacct -P -n -o SACCT_FIELDS``: one row per job id, the last record of each (see
    :func:`parse_sacct_all` for every record of an id)."""
    return {job_id: rows[-1] for job_id, rows in parse_sacct_all(text).items()}


def parse_sacct_all(text: str) -> dict[str, list[SacctRow]]:
    """Parse ``sacct -D -P -n -o SACCT_FIELDS``: every record of each job id, in sacct's order.

    With ``-D`` (duplicates) sacct lists every job that ever had an id: a run Slurm requeued (its
    earlier runs, NODE_FAIL or REQUEUED), and - after a controller lost its state and ids were handed
    out again - another job altogether. Array tasks keep their ``123_4`` id. Step lines are folded
    into the record before them; a step whose job line is missing stands in for it. Never raises.
    """
    n = len(SACCT_FIELDS)
    jobs: dict[str, list[SacctRow]] = {}
    orphan_steps: dict[str, list[tuple[str, list[str]]]] = {}
    for line in text.split("\n"):
        if not line.strip():
            continue
        parts = line.rstrip("\n").split("|", n - 1)
        if len(parts) < n:
            parts += [""] * (n - len(parts))
        jid = parts[0].strip()
        if not jid:
            continue
        base, dot, step = jid.partition(".")
        if not _JOB_ID.match(base):
            continue
        if dot:
            if base in jobs:
                row = jobs[base][-1]
                jobs[base][-1] = attrs.evolve(row, steps=(*row.steps, step))
            else:
                orphan_steps.setdefault(base, []).append((step, parts))
            continue
        row = _row(base, parts)
        earlier = orphan_steps.pop(base, [])
        if earlier:
            row = attrs.evolve(row, steps=tuple(s for s, _ in earlier) + row.steps)
        jobs.setdefault(base, []).append(row)
    for base, steps in orphan_steps.items():
        jobs[base] = [attrs.evolve(_row(base, steps[0][1]), steps=tuple(s for s, _ in steps))]
    return jobs


def _row(job_id: str, parts: list[str]) -> SacctRow:
    state, exit_code, elapsed, start, end, reason, submit, name = parts[1:9]
    return SacctRow(
        job_id,
        state.strip(),
        exit_code.strip(),
        elapsed.strip(),
        start.strip(),
        end.strip(),
        reason.strip(),
        name.rstrip("\r"),
        submit=submit.strip(),
    )


def sacct_command(job_ids: list[str]) -> list[str]:
    """The one sacct call that answers for many jobs."""
    return ["sacct", "-P", "-n", "-j", ",".join(job_ids), "-o", ",".join(SACCT_FIELDS)]


def squeue_command(job_ids: list[str] | None = None, user: str | None = None) -> list[str]:
    """The one squeue call for many jobs (by id list, or all of a user's)."""
    args = ["squeue", "-h", "-o", SQUEUE_FORMAT]
    if job_ids:
        args += ["-j", ",".join(job_ids)]
    if user:
        args += ["-u", user]
    return args
