"""The ``namdrunner`` command: parse, call :mod:`namdrunner_core`, render. Nothing else.

Errors from the core become one line on stderr and an exit code, in ONE place
(:meth:`NamdRunnerGroup.invoke`): 0 ok, 1 invalid input, 2 usage, 3 connection/authentication/remote
failure, 4 not found, 70 internal error (any other exception: one line, the traceback only with -v),
130 interrupted. Heavy modules (fabric, paramiko, SQLAlchemy) are imported only by commands
that need them, so ``--help`` starts fast.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from namdrunner_cli import complete
from namdrunner_core._version import __version__

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.models import GroupRecord, JobRecord
    from namdrunner_core.store import JobStore
    from namdrunner_core.transport.ssh import AuthPrompt


_T = TypeVar("_T")


class AppContext:
    """What every command shares: options, the store and sessions (opened on first use)."""

    def __init__(self, profile: str | None, json_output: bool, verbose: int, password_stdin: bool) -> None:
        self.profile_option = profile
        self.json = json_output
        self.verbose = verbose
        self.password_stdin = password_stdin
        self._password: str | None = None
        self._store: JobStore | None = None
        self._sessions: dict[str, Session] = {}

    @property
    def store(self) -> JobStore:
        """The job store (``$NAMDRUNNER_DB`` or the user data dir)."""
        if self._store is None:
            from namdrunner_core.store import JobStore

            self._store = JobStore.default()
        return self._store

    @property
    def existing_store(self) -> JobStore | None:
        """The job store if its file exists, else None (dry runs read user templates, create nothing)."""
        from namdrunner_core.store_read import default_db_path

        if self._store is None and not default_db_path().is_file():
            return None
        return self.store

    @property
    def profile(self) -> str:
        """``--profile``, else ``$NAMDRUNNER_PROFILE``, else the stored default, else ``alpine``."""
        if self.profile_option:
            return self.profile_option
        env = os.environ.get("NAMDRUNNER_PROFILE")
        if env:
            return env
        existing = self.existing_store  # asking for the profile must not create a database
        stored = existing.get_setting("default_profile") if existing is not None else None
        return str(stored) if stored else "alpine"

    def _auth(self, prompt: AuthPrompt) -> str:
        # The password lives only in this process's memory for the one login; never logged or stored.
        wants_password = prompt.kind == "password" or "password" in prompt.text.lower()
        if wants_password and self.password_stdin:
            if self._password is None:
                self._password = sys.stdin.readline().rstrip("\n")
            return self._password
        if not sys.stdin.isatty():
            from namdrunner_core.errors import AuthenticationError

            raise AuthenticationError(
                f"{prompt.user}@{prompt.host} asks {prompt.text.strip()!r} but there is no terminal to answer it; "
                "use --password-stdin for the password, or an SSH key"
            )
        for part in (prompt.title, prompt.instructions):  # the server's prompt, whole (Duo's menu is here)
            if part.strip():
                click.echo(part.rstrip(), err=True)
        text = prompt.text.strip().rstrip(":").strip() or "Response"
        answer: str = click.prompt(text, hide_input=not prompt.echo, err=True, show_default=False)
        return answer

    def session(self, profile: str | None = None) -> Session:
        """One authenticated session per profile for this command (password and 2FA asked once)."""
        from namdrunner_core.cluster import Cluster

        name = profile or self.profile
        if name not in self._sessions:
            cluster = Cluster.from_profile(name)
            if cluster.profile.session == "auto":  # the profile asks for one shared login per day
                from namdrunner_core.broker import start_session

                start_session(name, password_stdin=self.password_stdin)
            self._sessions[name] = cluster.connect(auth=self._auth, notify=self.note)
        return self._sessions[name]

    @staticmethod
    def person_answers(*, yes: bool = False) -> bool:
        """True when a person at a terminal can be asked (not with ``--yes``, not in a script or pipe)."""
        return not yes and sys.stdin.isatty()

    def confirm_full_id(self, what: str) -> Callable[[str], bool] | None:
        """How a changing command may confirm an id prefix: a person at a terminal, asked about the
        FULL id; None (exact ids only) without a terminal."""
        if not self.person_answers():
            return None

        def ask(full_id: str) -> bool:
            return click.confirm(f"Use {what} {full_id}?", err=True)

        return ask

    def select_job_to_delete(self, job_id: str, *, yes: bool) -> JobRecord:
        """The job ``job delete`` may delete: with ``--yes`` the exact id; at a terminal a person
        confirms ONE prompt naming the job and both directories (a long prefix included); without a
        terminal and without ``--yes``: refused. Declined: exit 1, nothing deleted."""

        def question(full_id: str) -> str:
            r = self.store.get_job(full_id)
            return f"Delete job {r.job_id} ({r.job_name}): its local record, {r.project_dir} and {r.scratch_dir}?"

        return self._select_to_delete(job_id, yes, self.store.select_job_for_change, question, lambda r: r.job_id)

    def select_group_to_delete(self, workflow_id: str, *, yes: bool) -> GroupRecord:
        """The workflow or sweep ``workflow delete`` may delete (as :meth:`select_job_to_delete`)."""

        def question(full_id: str) -> str:
            g = self.store.get_workflow(full_id)
            jobs = f"{len(g.stages)} job" + ("" if len(g.stages) == 1 else "s")
            return f"Delete {g.kind} {g.id} ({g.name}) and its {jobs}, remote directories included?"

        return self._select_to_delete(workflow_id, yes, self.store.select_workflow_for_change, question, lambda g: g.id)

    def _select_to_delete(
        self,
        given: str,
        yes: bool,
        select: Callable[..., _T],
        question: Callable[[str], str],
        id_of: Callable[[_T], str],
    ) -> _T:
        """The one confirmation rule of every delete: ``--yes``, or ONE prompt at a terminal (a long
        prefix's confirmation is that same prompt), else refused; declined: exit 1."""
        from namdrunner_core.errors import ValidationError

        asked: list[str] = []

        def ask(full_id: str) -> bool:
            asked.append(full_id)
            return click.confirm(question(full_id), err=True)

        interactive = self.person_answers(yes=yes)
        chosen = select(given, confirm=ask if interactive else None)
        if not yes and not asked:
            if not interactive:
                raise ValidationError("--yes", "deleting needs confirmation: pass --yes when not at a terminal")
            if not ask(id_of(chosen)):
                click.echo("nothing deleted", err=True)
                raise click.exceptions.Exit(1)
        return chosen

    def warn_not_checked(self, notes: list[str]) -> None:
        """Preflight notes (what could not be checked) as warnings on stderr."""
        for note in notes:
            click.echo(f"warning: not checked: {note}", err=True)

    def note(self, text: str | None) -> None:
        """A remark on stderr (which id a prefix matched, a login notice); never mixed into --json output."""
        if text:
            click.echo(text, err=True)

    def command_log_lines(self) -> list[str]:
        """Every remote command of this run (redacted), for ``-v``."""
        return [e.format() for s in self._sessions.values() for e in s.command_log.entries()]

    def close(self) -> None:
        """Close the sessions."""
        for s in self._sessions.values():
            s.close()
        self._sessions.clear()


#: The core's field names for what the command line takes as options: an error names the option the
#: person typed (``--memory: 1e-07 GB is below ...``), not the attribute it fills (``memory_gb``).
OPTION_OF_FIELD = {
    "memory_gb": "--memory",
    "memory": "--memory",
    "cores": "--cores",
    "walltime": "--walltime",
    "partition": "--partition",
    "qos": "--qos",
    "gpus": "--gpus",
    "gpu_type": "--gpu-type",
    "account": "--account",
    "constraint": "--constraint",
    "name": "--name",
}


def error_lines(exc: Exception) -> list[str]:
    """The lines an error is shown as: one per problem of a :class:`ValidationErrors`, each field named
    as the person typed it (:data:`OPTION_OF_FIELD`); any other error is its one-line message."""
    from namdrunner_core.errors import NamdRunnerError, ValidationError, ValidationErrors

    if isinstance(exc, ValidationErrors):
        problems = exc.problems
    elif isinstance(exc, ValidationError):
        problems = [(exc.field, exc.reason)]
    else:
        return [exc.message if isinstance(exc, NamdRunnerError) else str(exc)]
    return [f"{OPTION_OF_FIELD.get(field, field)}: {message}" for field, message in problems]


class NamdRunnerGroup(click.Group):
    """A click group that turns namdrunner errors into one line and an exit code."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `namdrunner job list --json` as well as `namdrunner --json job list` (gh style): the global
        # flag is lifted to the front wherever it stands (never after a `--`).
        if ctx.parent is None and "--json" in args:
            stop = args.index("--") if "--" in args else len(args)
            if "--json" in args[1:stop]:
                args = ["--json", *[a for i, a in enumerate(args) if not (a == "--json" and i < stop)]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from namdrunner_core.errors import NamdRunnerError

        try:
            return super().invoke(ctx)
        except NamdRunnerError as exc:
            app = ctx.obj if isinstance(ctx.obj, AppContext) else None
            if app is not None and app.verbose:
                for line in app.command_log_lines():
                    click.echo(line, err=True)
            for line in error_lines(exc):
                click.echo(f"error: {line}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(130) from None
        except BrokenPipeError:
            # `namdrunner sync | head -1`: the reader had enough - a normal end, not an error. Python
            # would complain again when it flushes stdout at exit: point stdout at devnull first.
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            raise click.exceptions.Exit(0) from None
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
                raise self._internal(ctx, exc) from None
            where = exc.filename or "a local folder"
            folder = os.path.dirname(os.fspath(where)) if exc.filename else where
            click.echo(
                f"error: no space left on the disk of {folder} (while writing {where}): free some space "
                "there (or give another folder, e.g. --to) and run the command again; nothing half-written "
                "was kept",
                err=True,
            )
            from namdrunner_core.errors import EXIT_DISK_FULL

            raise click.exceptions.Exit(EXIT_DISK_FULL) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must still reach the user as one line
            raise self._internal(ctx, exc) from None

    @staticmethod
    def _internal(ctx: click.Context, exc: BaseException) -> click.exceptions.Exit:
        """A bug, said in one line (the traceback with -v); the exit to raise."""
        from namdrunner_core.errors import EXIT_INTERNAL

        app = ctx.obj if isinstance(ctx.obj, AppContext) else None
        if app is not None and app.verbose:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        text = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        click.echo(f"error: internal error: {text}; rerun with -v and report it", err=True)
        return click.exceptions.Exit(EXIT_INTERNAL)


@click.group(cls=NamdRunnerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="namdrunner")
@click.option(
    "--profile",
    "-p",
    metavar="NAME",
    shell_complete=complete.profiles,
    help="Cluster profile (default: $NAMDRUNNER_PROFILE or alpine).",
)
@click.option("--json", "json_output", is_flag=True, help="Print machine-readable JSON instead of tables.")
@click.option("-v", "--verbose", count=True, help="On errors, show the remote command log.")
@click.option("--password-stdin", is_flag=True, help="Read the login password from standard input (for scripts).")
@click.pass_context
def cli(ctx: click.Context, profile: str | None, json_output: bool, verbose: int, password_stdin: bool) -> None:
    """Run NAMD simulations on SLURM clusters over SSH.

    Start with `namdrunner cluster list`, then `namdrunner --profile NAME job create ...`.
    """
    # paramiko logs connection trouble (with tracebacks) on its own logger; the CLI says it in one
    # line instead, and -v shows the command log
    import logging

    paramiko_log = logging.getLogger("paramiko")
    paramiko_log.addHandler(logging.NullHandler())
    paramiko_log.propagate = False
    if profile is not None:
        from namdrunner_core.profile import check_profile_name

        check_profile_name(profile)
    app = AppContext(profile, json_output, verbose, password_stdin)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register() -> None:
    from namdrunner_cli.commands import cluster, job, session, sync, template, ui, usage, workflow

    cli.add_command(cluster.cluster)
    cli.add_command(template.template)
    cli.add_command(job.job)
    cli.add_command(sync.sync)
    cli.add_command(sync.discover)
    cli.add_command(sync.watch)
    cli.add_command(workflow.workflow)
    cli.add_command(workflow.sweep)
    cli.add_command(session.session)
    cli.add_command(usage.usage)
    cli.add_command(ui.ui)
    _whole_first_sentences(cli)


def first_sentence(text: str) -> str:
    """The first sentence of a help text, whole: it ends at a full stop followed by a space and a
    capital letter (or the end of the paragraph), never inside "e.g." or "(such as ...)"."""
    paragraph = " ".join(text.strip().split("\n\n", 1)[0].split())
    for i, ch in enumerate(paragraph):
        ends = i + 1 == len(paragraph) or (paragraph[i + 1] == " " and paragraph[i + 2 : i + 3].isupper())
        if ch == "." and ends and not paragraph[max(0, i - 3) : i + 1].endswith(("e.g.", "i.e.")):
            return paragraph[: i + 1]
    return paragraph


def _whole_first_sentences(group: click.Group) -> None:
    """Every command's short help (the one line in its group's listing) is its first sentence whole;
    click's default cuts it at 45 characters, often mid-sentence."""
    for command in group.commands.values():
        if command.help and not command.short_help:
            command.short_help = first_sentence(command.help)
        if isinstance(command, click.Group):
            _whole_first_sentences(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="namdrunner")
