"""``letterforge diff``: what changed from one year to the next."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    InCandidatesOpt,
    InEncodingOpt,
    InSignatoriesOpt,
    InTemplateOpt,
    JsonOpt,
    QuietOpt,
    emit,
    err,
    handle_errors,
    open_campaign,
    out,
)

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("diff")
@handle_errors
def diff(
    old: Annotated[int, typer.Argument(metavar="OLD", show_default=False,
                                       help="The earlier year, e.g. 2013.")],
    new: Annotated[int, typer.Argument(metavar="NEW", show_default=False,
                                       help="The later year, e.g. 2014.")],
    html: Annotated[Path | None, typer.Option(
        "--html", metavar="FILE", help="Also write the changes as one self-contained HTML "
        "page, to send for sign-off.")] = None,
    candidates: InCandidatesOpt = None,
    signatories: InSignatoriesOpt = None,
    template: InTemplateOpt = None,
    encoding: InEncodingOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Show what changed from OLD to NEW: candidates added, removed and renamed,
    signatories added and removed, and the letter's words (merged for one candidate of
    each year, the candidate's name replaced by «candidate»).

    Colour in a terminal (not with NO_COLOR); --json for programs; --html FILE for
    people. Writes nothing but FILE.
    """
    from ..diff import diff_years, html_page, terminal_text
    from ..errors import display_path
    from ..files import write_atomic

    campaign = open_campaign()
    inputs = campaign.inputs(candidates, signatories, template, None, encoding)
    result = diff_years(inputs, old, new)
    if html is not None:
        write_atomic(html, html_page(result).encode("utf-8"))
    if as_json:
        emit({"ok": True, **result.as_json()})
    elif not quiet:
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        out(terminal_text(result, colour=colour), nl=False)
    if html is not None:
        err(f"Wrote {display_path(html)}")
