"""``letterforge status``: one row per candidate: sent, bounced, auto-replies, replied."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    BatchOutOpt,
    JsonOpt,
    QuietOpt,
    batch_year,
    emit,
    err,
    handle_errors,
    open_campaign,
)
from ._common import out as show
from ._table import table

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("status")
@handle_errors
def status(
    year: Annotated[int | None, typer.Option(
        "--year", "-y", metavar="YEAR", help="Year of the batch (default: the newest batch "
        "in the output folder).")] = None,
    out: BatchOutOpt = None,
    export: Annotated[Path | None, typer.Option(
        "--export", metavar="FILE", help="Also write the rows to this CSV file.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Show what became of each letter of YEAR: sent, bounced, auto-replies, replied.

    From the send ledger and the replies read by letterforge replies; nothing is
    fetched. A reply matched only by the sender's address or domain says so.
    """
    from ..errors import UsageError
    from ..files import write_atomic
    from ..replies.status import HEADERS, export_csv, status_rows

    if export is not None and not export.absolute().parent.is_dir():
        raise UsageError(f"--export: the folder {export.absolute().parent} does not exist: "
                         "create it, or choose another file")
    campaign = open_campaign()
    out = campaign.out_root(out)
    year = batch_year(year, out)
    rows, unmatched = status_rows(out / str(year))
    if not as_json and not quiet:
        show(table(HEADERS, [row.cells() for row in rows]), nl=False)
    if export is not None:
        write_atomic(export, export_csv(rows))
        err(f"{len(rows)} candidates written to {export}")
    states: dict[str, int] = {}
    for row in rows:
        states[row.state] = states.get(row.state, 0) + 1
    err(", ".join(f"{n} {s}" for s, n in states.items())
        + (f"; {len(unmatched)} unmatched message{'s' if len(unmatched) != 1 else ''} "
           f"in {out / str(year) / 'replies' / 'unmatched'}" if unmatched else ""))
    emit({"ok": True, "year": year, "candidates": [row.as_json() for row in rows],
          "unmatched": unmatched})
