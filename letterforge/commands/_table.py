"""The one table renderer and the one progress style of every command.

Tables (rich): each column sized to its content and narrowed only as far as the width
needs, cells wrapped at spaces; an address or a slug is never broken while the longest
words fit side by side.

Progress: a bar on stderr, only where a person watches (a terminal, not --quiet, not
--json, not NO_COLOR): the same for render, check and verify.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ._common import progress_allowed

#: The width of a table written into a pipe or a file: as wide as its content (a
#: spreadsheet or grep reads it; nothing wraps).
UNLIMITED = 10_000


def console_width() -> int:
    """COLUMNS when set, else the terminal's width; in a pipe or a file, no limit."""
    value = os.environ.get("COLUMNS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    return UNLIMITED


def column_widths(header: Sequence[str], rows: Sequence[Sequence[str]], room: int
                  ) -> list[int]:
    """Each column's width: its content's, narrowed only as far as ``room`` needs, the
    widest column first, down to its longest word: cells wrap at spaces (between the
    words of a note, the addresses of a list), and no word (an address, a slug) is
    broken while the longest words fit side by side; only past that are words folded."""
    cells = [list(header), *[list(r) for r in rows]]
    columns = range(len(header))
    widths = [max(len(r[i]) for r in cells) for i in columns]
    words = [max((len(w) for r in cells for w in r[i].split()), default=1) for i in columns]
    tiers = ([(i, words[i]) for i in columns], [(i, 1) for i in columns])
    for tier in tiers:
        while sum(widths) > room:
            narrower = [i for i, floor in tier if widths[i] > floor]
            if not narrower:
                break
            widths[max(narrower, key=lambda i: widths[i])] -= 1
    return widths


def table(header: Sequence[str], rows: Sequence[Sequence[str]], width: int | None = None
          ) -> str:
    """The table's lines, no wider than ``width`` (default: :func:`console_width`) when
    it can be: columns as :func:`column_widths` sizes them, cells wrapped at spaces."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    width = max(width or console_width(), 20)
    gap = 2
    widths = column_widths(header, rows, width - gap * (len(header) - 1))
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False,
                 padding=(0, gap - 1, 0, 0))
    for name, w in zip(header, widths, strict=True):
        grid.add_column(name, overflow="fold", no_wrap=False, width=w)
    for row in rows:
        grid.add_row(*row)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False,
                      highlight=False, markup=False, emoji=False, soft_wrap=False)
    console.print(grid, crop=True)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


class Progress:
    """A bar on stderr, started at the first step where a person watches (and the total is
    at least ``at_least``); steps elsewhere do nothing."""

    def __init__(self, label: str, total: int | None, at_least: int) -> None:
        self.label, self.total, self.at_least = label, total, at_least
        self.done = 0
        self._bar: Any = None
        self._context: Any = None

    def advance(self, n: int = 1) -> None:
        self.to(self.done + n, self.total)

    def to(self, done: int, total: int | None) -> None:
        """``done`` of ``total`` steps."""
        self.total = total
        if self._bar is None and total is not None and total >= max(self.at_least, 1) \
                and progress_allowed():
            import typer

            self._context = typer.progressbar(length=total, label=self.label,
                                              file=sys.stderr)
            self._bar = self._context.__enter__()
        if self._bar is not None and done > self.done:
            self._bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = self._bar = None


@contextmanager
def progress(label: str, total: int | None = None, at_least: int = 1
             ) -> Iterator[Progress]:
    """The one progress style: ``with progress("Rendering", n) as bar: bar.advance()``."""
    bar = Progress(label, total, at_least)
    try:
        yield bar
    finally:
        bar.close()
