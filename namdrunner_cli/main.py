"""The ``namdrunner`` command group."""

from __future__ import annotations

import click

from namdrunner_core._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="namdrunner")
def cli() -> None:
    """Run NAMD simulations on SLURM clusters over SSH."""


def main() -> None:
    """Console-script entry point."""
    cli()
