"""Rendering the CLI's answers: one module per command group (mirroring ``commands/``), shared
formatters in :mod:`namdrunner_cli.render.base`. Nothing is decided here: a printer gets a typed result
from the core and prints it as a table, or as JSON through :func:`~namdrunner_cli.render.base.print_json`."""
