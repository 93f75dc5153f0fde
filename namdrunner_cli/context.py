"""What every command shares: :class:`AppContext` (options, the store, one session per profile) and
how an error is said (:func:`error_lines`).

Commands import this module, never :mod:`namdrunner_cli.main` (which registers them): the CLI's
imports point one way, kept by an import-linter contract.

The test seam: a :class:`Connector` handed to the command line as click's ``obj``
(``CliRunner().invoke(cli, args, obj=Connector(fake.session))``) opens every session instead of
:meth:`Cluster.connect`, so each command's whole path runs on :class:`~namdrunner_core.testing.FakeSlurm`
in seconds.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import attrs
import click

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.models import GroupRecord, JobRecord
    from namdrunner_core.store import JobStore
    from namdrunner_core.transport.ssh import AuthPrompt


@attrs.frozen
class Connector:
    """Opens the session of a profile name in place of a login (tests, notebooks driving the CLI)."""

    connect: Callable[[str], Session]


_T = TypeVar("_T")


class AppContext:
    """What every command shares: options, the store and sessions (opened on first use)."""

    def __init__(
        self,
        profile: str | None,
        json_output: bool,
        verbose: int,
        password_stdin: bool,
        connector: Connector | None = None,
    ) -> None:
        self.profile_option = profile
        self.connector = connector
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
        from namdrunner_core.paths import default_db_path

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
        if name not in self._sessions and self.connector is not None:
            self._sessions[name] = self.connector.connect(name)
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
