"""One error hierarchy for namdrunner, rooted in :class:`NamdRunnerError`.

Every error carries a one-line, user-facing message and an ``exit_code`` that the CLI uses
(0 ok, 1 invalid input, 2 usage, 3 connection/authentication/remote failure, 4 not found; the CLI
adds 70 for an internal error and 130 for an interrupt).
Library code raises these; it never prints or exits.
"""

from __future__ import annotations

EXIT_INVALID_INPUT = 1
EXIT_USAGE = 2
EXIT_REMOTE = 3
EXIT_NOT_FOUND = 4
#: A bug in namdrunner (an exception that is not one of these): the CLI says so in one line.
EXIT_INTERNAL = 70
#: The local disk is full (sysexits' EX_CANTCREAT): the CLI names the folder.
EXIT_DISK_FULL = 73


class NamdRunnerError(Exception):
    """Root of every error namdrunner raises on purpose."""

    exit_code: int = EXIT_INVALID_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(NamdRunnerError):
    """Bad input: names the field, the value and the fix. Nothing was changed anywhere."""

    exit_code = EXIT_INVALID_INPUT

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        #: the message without the field (for an error re-raised under a longer field)
        self.reason = message


class ValidationErrors(ValidationError):
    """Several problems of one request at once, each ``(field, message)``; ``field`` is the first's."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        first_field, first_message = problems[0]
        super().__init__(first_field, first_message)
        self.problems = list(problems)
        if len(problems) > 1:
            self.message = "; ".join(f"{f}: {m}" for f, m in problems)
            self.args = (self.message,)


def validation_error(problems: list[tuple[str, str]]) -> ValidationError:
    """The error for one or more ``(field, message)`` problems: :class:`ValidationError` for one,
    :class:`ValidationErrors` for several (``problems`` must not be empty)."""
    return ValidationErrors(problems) if len(problems) > 1 else ValidationError(*problems[0])


def problems_of(exc: ValidationError) -> list[tuple[str, str]]:
    """Every ``(field, message)`` of a validation error: its one, or all of :class:`ValidationErrors`."""
    return list(exc.problems) if isinstance(exc, ValidationErrors) else [(exc.field, exc.reason)]


def with_more(first: ValidationError, more: list[tuple[str, str]]) -> ValidationError:
    """``first`` and the problems of other fields found by independent checks, as one error (a form
    shows every mistake at once, not one per round trip)."""
    problems = problems_of(first)
    seen = {f for f, _ in problems}
    problems += [(f, m) for f, m in more if f not in seen and not seen.add(f)]  # type: ignore[func-returns-value]
    return first if len(problems) == 1 else ValidationErrors(problems)


def under(prefix: str, exc: ValidationError) -> ValidationError:
    """``exc`` with every field put under ``prefix`` (``stage heat: steps``), every problem kept."""
    if isinstance(exc, ValidationErrors):
        return ValidationErrors([(f"{prefix}: {f}", m) for f, m in exc.problems])
    return ValidationError(f"{prefix}: {exc.field}", exc.reason)


class ProfileError(NamdRunnerError):
    """A cluster profile is missing or malformed (names the file and the key path)."""

    exit_code = EXIT_INVALID_INPUT


class NotFoundError(NamdRunnerError):
    """A job, template, profile or file that was asked for does not exist."""

    exit_code = EXIT_NOT_FOUND


class RemoteError(NamdRunnerError):
    """Something failed on or on the way to the cluster."""

    exit_code = EXIT_REMOTE


class ConnectionFailedError(RemoteError):
    """The SSH connection could not be opened, or was lost and could not be re-opened."""


class AuthenticationError(RemoteError):
    """The cluster refused the login. Never retried automatically: accounts lock."""


class SessionLostError(AuthenticationError):
    """The shared session (``namdrunner session start``) lost its connection and will not log in
    again by itself (its login needed a person); start it again."""


def command_label(command: str) -> str:
    """How a message names a command: ``remote sbatch``, or ``a remote script`` for ``bash -c ...``
    (a whole script never goes into a one-line message; ``-v`` shows the command log)."""
    program = command.split(" ", 1)[0] if command else "command"
    if "/" in program:
        program = program.rsplit("/", 1)[-1]
    return "a remote script" if program in ("bash", "sh", "env") else f"remote {program[:40]}"


class CommandTimeoutError(RemoteError):
    """A remote command did not finish within its time limit."""

    def __init__(self, message: str, command: str = "") -> None:
        super().__init__(message)
        #: the command itself (kept out of the message)
        self.command = command


class RateLimitError(RemoteError):
    """Too many remote requests were pending; the command was not sent."""


class RemoteCommandError(RemoteError):
    """A remote command exited non-zero. Carries the command, exit code and the tail of stderr."""

    def __init__(self, command: str, exit_code: int, stderr: str, stdout: str = "") -> None:
        tail = " | ".join(line for line in stderr.strip().splitlines()[-3:] if line.strip())
        # the command itself (often a whole script) stays out of the message: `-v` shows it in the
        # command log, and `.command` carries it
        super().__init__(f"{command_label(command)} failed (exit {exit_code})" + (f": {tail}" if tail else ""))
        self.command = command
        self.remote_exit_code = exit_code
        self.stderr = stderr
        self.stdout = stdout


class TransferError(RemoteError):
    """A file transfer failed or did not verify; nothing partial was left at the final path."""


class RemoteFileChangedError(TransferError):
    """A file changed on the cluster while it was being downloaded; nothing of it was kept."""


class SubmissionUncertainError(RemoteError):
    """sbatch gave no clear answer and Slurm could not (yet) be asked whether the job was queued: the
    job may be queued or not. Every sync looks for it by its token until it knows; until then the job
    is neither submitted again nor deleted (unless forced)."""


class SchedulerError(RemoteError):
    """Slurm refused a request (e.g. sbatch rejected a QOS or partition); carries Slurm's message."""

    def __init__(self, message: str, scheduler_message: str = "") -> None:
        super().__init__(message)
        self.scheduler_message = scheduler_message


class UnsafePathError(NamdRunnerError):
    """A remote path failed the safety check; nothing was deleted."""

    exit_code = EXIT_INVALID_INPUT


__all__ = [
    "EXIT_DISK_FULL",
    "EXIT_INTERNAL",
    "EXIT_INVALID_INPUT",
    "EXIT_NOT_FOUND",
    "EXIT_REMOTE",
    "EXIT_USAGE",
    "AuthenticationError",
    "CommandTimeoutError",
    "ConnectionFailedError",
    "NamdRunnerError",
    "NotFoundError",
    "ProfileError",
    "RateLimitError",
    "RemoteCommandError",
    "RemoteError",
    "SchedulerError",
    "SubmissionUncertainError",
    "TransferError",
    "UnsafePathError",
    "ValidationError",
    "ValidationErrors",
    "command_label",
    "under",
]
