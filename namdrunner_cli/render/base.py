"""The shared formatters: the console, JSON, tables that fit the terminal, ages, durations and sizes
(the web page uses the same)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console


STATUS_STYLE = {
    "Created": "cyan",
    "Pending": "yellow",
    "Running": "bold blue",
    "Completed": "bold green",
    "Failed": "bold red",
    "Cancelled": "magenta",
    "Unknown": "dim",
}


#: The width of output that goes to a pipe or a file: wide enough that no line is ever wrapped
#: (a path a user copies from ``job show | grep`` must be whole); tables take their natural width.
PIPE_WIDTH = 100_000


def console(*, err: bool = False) -> Console:
    """A rich console on stdout (or stderr). On a terminal it fits the terminal's width; into a pipe
    or a file nothing wraps (rich would otherwise assume 80 columns and cut paths mid-word)."""
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    width = None if tty or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(stderr=err, highlight=False, soft_wrap=False, width=width)


def print_json(answer: Any) -> None:
    """A command's answer as stable, machine-readable JSON on stdout: a typed result from the core
    (or a list or dict of them), made plain by namdrunner's one converter
    (:func:`namdrunner_core.serde.to_data`)."""
    from namdrunner_core.serde import to_data

    sys.stdout.write(json.dumps(to_data(answer), indent=2, ensure_ascii=False, default=str) + "\n")


def humanize_age(when: dt.datetime | str | None, now: dt.datetime | None = None) -> str:
    """``3 min ago``, ``2 h ago``, ``5 d ago``."""
    if when is None:
        return "-"
    if isinstance(when, str):
        try:
            parsed = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            return when
        when = parsed
    now = now or dt.datetime.now(dt.UTC)
    seconds = max(0.0, (now - when).total_seconds())
    if seconds < 60:
        return f"{int(seconds)} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h ago"
    return f"{int(seconds // 86400)} d ago"


def humanize_duration(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``3.2 h``, ``2.1 d``."""
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def humanize_bytes(n: int) -> str:
    """``1.2 MiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def status_markup(status: str) -> str:
    """A status word coloured for rich."""
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


@contextmanager
def transfer_progress(description: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar fed by a (done, total) callback; silent when not ``enabled``."""
    if not enabled:
        yield lambda done, total: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console(err=True),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


@dataclasses.dataclass(frozen=True)
class Column:
    """One table column: ``key`` columns (id, name, status: what a person reads and types) are never
    cut; others drop out, lowest ``priority`` first, when the terminal is too narrow."""

    title: str
    key: bool = False
    priority: int = 0
    wrap: bool = False
    #: ids: shortened to their shortest unique prefix (at least 12 characters) when nothing else fits
    shorten: bool = False


def plain_cell(cell: str) -> str:
    from rich.text import Text

    return Text.from_markup(cell).plain if "[" in cell else cell


def build_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], *, title: str | None, width: int) -> Any:
    """A rich Table for ``width`` columns: key columns whole; others dropped lowest-priority first
    until the rest fits; wrapping only in a column marked ``wrap``."""
    from rich.table import Table

    plain = [[plain_cell(c) for c in row] for row in rows]
    natural = [max([len(col.title), *(len(r[i]) for r in plain)]) for i, col in enumerate(columns)]
    keep = list(range(len(columns)))

    def needed(idx: list[int]) -> int:
        # a wrapping column may fold down to 12 characters; every column costs 3 for borders and padding
        return sum(min(natural[i], 12) if columns[i].wrap else natural[i] for i in idx) + 3 * len(idx) + 1

    for i in sorted((i for i, c in enumerate(columns) if not c.key), key=lambda i: columns[i].priority):
        if needed(keep) <= width:
            break
        keep.remove(i)
    cells: list[list[str]] = [list(r) for r in rows]
    for i in keep:
        if columns[i].shorten and needed(keep) > width:
            short = shortest_unique_prefixes([r[i] for r in plain], minimum=12)
            for r, p in zip(cells, plain, strict=True):
                r[i] = p[i] = short[p[i]]
            natural[i] = max([len(columns[i].title), *(len(p[i]) for p in plain)])
    if needed(keep) > width:
        return stacked(columns, cells, plain, title=title, width=width)
    table = Table(title=title, header_style="bold", show_lines=False)
    for i in keep:
        col = columns[i]
        if col.key and not col.wrap:
            table.add_column(col.title, no_wrap=True, min_width=natural[i])
        elif col.key:  # a name: wraps in its own column, never narrower than 16 characters
            table.add_column(col.title, overflow="fold", min_width=min(natural[i], 16))
        else:
            table.add_column(col.title, overflow="fold" if col.wrap else "ellipsis", no_wrap=not col.wrap)
    for row in cells:
        table.add_row(*(row[i] for i in keep))
    return table


def print_table(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], *, title: str | None = None, empty: str = "nothing"
) -> None:
    """Rows as a table that fits the terminal, or - when stdout is not a terminal - as plain
    tab-separated lines with a header (``namdrunner job list | grep ...`` works); ``empty`` is said in
    a sentence when there are no rows."""
    if not rows:
        click.echo(empty)
        return
    if not sys.stdout.isatty() and os.environ.get("NAMDRUNNER_FORCE_TABLE") != "1":
        lines = ["\t".join(c.title.upper() for c in columns)]
        lines += ["\t".join(plain_cell(cell).replace("\t", " ").replace("\n", " ") for cell in row) for row in rows]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    c = console()
    c.print(build_table(columns, rows, title=title, width=c.width))


def plural(n: int, word: str) -> str:
    """``1 job``, ``2 jobs``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def shortest_unique_prefixes(ids: Sequence[str], *, minimum: int = 12) -> dict[str, str]:
    """Each id's shortest prefix (of at least ``minimum`` characters) that no other id starts with."""
    out: dict[str, str] = {}
    for a in ids:
        n = min(len(a), minimum)
        while n < len(a) and any(b != a and b.startswith(a[:n]) for b in ids):
            n += 1
        out[a] = a[:n]
    return out


def stacked(
    columns: Sequence[Column],
    cells: Sequence[Sequence[str]],
    plain: Sequence[Sequence[str]],
    *,
    title: str | None,
    width: int,
) -> Any:
    """Too narrow for even the key columns side by side: each row as lines, nothing cut. The first
    line holds the short key columns (id, status), the wrapping ones (name) follow, indented."""
    import textwrap

    from rich.console import Group
    from rich.text import Text

    keys = [i for i, c in enumerate(columns) if c.key]
    inline = [i for i in keys if not columns[i].wrap]
    wrapped = [i for i in keys if columns[i].wrap]
    lines: list[Any] = [Text(title, style="bold")] if title else []
    for row, flat in zip(cells, plain, strict=True):
        head = Text()
        for n, i in enumerate(inline):
            head.append_text(Text.from_markup(row[i]) if "[" in row[i] else Text(row[i]))
            if n < len(inline) - 1:
                head.append("  ")
        lines.append(head)
        for i in wrapped:
            for part in textwrap.wrap(flat[i], width=max(10, width - 4)) or [""]:
                lines.append(Text("    " + part))
    return Group(*lines)
