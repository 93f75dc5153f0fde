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
import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from namdrunner_cli import complete
from namdrunner_cli.context import AppContext, Connector, error_lines
from namdrunner_core._version import __version__

if TYPE_CHECKING:
    pass


#: the top-level commands: name -> (module, attribute). A command's module is imported when the command
#: is looked up (to run it, or for ``--help``'s listing), never by importing this module.
COMMANDS = {
    "cluster": ("namdrunner_cli.commands.cluster", "cluster"),
    "template": ("namdrunner_cli.commands.template", "template"),
    "job": ("namdrunner_cli.commands.job", "job"),
    "sync": ("namdrunner_cli.commands.sync", "sync"),
    "discover": ("namdrunner_cli.commands.sync", "discover"),
    "watch": ("namdrunner_cli.commands.sync", "watch"),
    "workflow": ("namdrunner_cli.commands.workflow", "workflow"),
    "sweep": ("namdrunner_cli.commands.workflow", "sweep"),
    "session": ("namdrunner_cli.commands.session", "session"),
    "usage": ("namdrunner_cli.commands.usage", "usage"),
    "ui": ("namdrunner_cli.commands.ui", "ui"),
    "db": ("namdrunner_cli.commands.db", "db"),
}


class NamdRunnerGroup(click.Group):
    """A click group that loads its commands lazily (:data:`COMMANDS`) and turns namdrunner errors
    into one line and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attr)
            _whole_first_sentences(command)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

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
    connector = ctx.obj if isinstance(ctx.obj, Connector) else None  # the test seam (context.py)
    app = AppContext(profile, json_output, verbose, password_stdin, connector)
    ctx.obj = app
    ctx.call_on_close(app.close)


def first_sentence(text: str) -> str:
    """The first sentence of a help text, whole: it ends at a full stop followed by a space and a
    capital letter (or the end of the paragraph), never inside "e.g." or "(such as ...)"."""
    paragraph = " ".join(text.strip().split("\n\n", 1)[0].split())
    for i, ch in enumerate(paragraph):
        ends = i + 1 == len(paragraph) or (paragraph[i + 1] == " " and paragraph[i + 2 : i + 3].isupper())
        if ch == "." and ends and not paragraph[max(0, i - 3) : i + 1].endswith(("e.g.", "i.e.")):
            return paragraph[: i + 1]
    return paragraph


def _whole_first_sentences(command: click.Command) -> None:
    """A command's short help (the one line in its group's listing) is its first sentence whole, and
    so are its subcommands'; click's default cuts it at 45 characters, often mid-sentence."""
    if command.help and not command.short_help:
        command.short_help = first_sentence(command.help)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _whole_first_sentences(sub)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="namdrunner")
