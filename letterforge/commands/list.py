"""``letterforge list``: the candidates of a year, as ``render`` would write them."""

from __future__ import annotations

import typer

from ._common import (
    InCandidatesOpt,
    InEncodingOpt,
    JsonOpt,
    ListYearOpt,
    QuietOpt,
    emit,
    err,
    handle_errors,
    open_campaign,
    out,
    plural,
    year_of,
)
from ._table import table

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("list")
@handle_errors
def list_(
    year: ListYearOpt = None,
    candidates: InCandidatesOpt = None,
    encoding: InEncodingOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """List the candidates of YEAR that `render` would write, as a table in the order of
    the candidates file, as wide as the terminal (COLUMNS)."""
    from ..plan import candidates_of

    inputs = open_campaign().inputs(candidates, None, None, None, encoding)
    year, said = year_of(year, inputs)
    rows = candidates_of(inputs, year)
    if as_json:
        emit({"ok": True, "year": year, "candidates": [
            {"short_name": c.short_name, "name": c.name, "emails": list(c.emails),
             "slug": c.slug, "source": f"{c.source.path}:{c.source.line}"} for c in rows]})
    else:
        out(table(("#", "Candidate", "In a sentence", "E-mail", "File"),
                  [(str(i), c.short_name, c.name, ", ".join(c.emails), c.slug)
                   for i, c in enumerate(rows, 1)]), nl=False)
    err(f"{plural(len(rows), 'candidate')} for {said}")
