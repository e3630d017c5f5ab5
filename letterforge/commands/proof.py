"""``letterforge proof``: a sign-off sheet of a rendered batch."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import (
    BatchOutOpt,
    InEncodingOpt,
    InSignatoriesOpt,
    JsonOpt,
    QuietOpt,
    batch_year,
    emit,
    err,
    handle_errors,
    open_campaign,
)

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("proof")
@handle_errors
def proof(
    year: Annotated[int | None, typer.Option(
        "--year", "-y", metavar="YEAR", help="Year of the batch to proofread (OUT/YEAR; "
        "default: the newest batch in the output folder).")] = None,
    out: BatchOutOpt = None,
    signatories: InSignatoriesOpt = None,
    encoding: InEncodingOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a proof sheet of a rendered batch for sign-off: proof.html and proof.pdf in
    OUT/YEAR.

    A summary of the batch (letters, formats, the inputs' hashes, signatories, date),
    then per letter a thumbnail of its first page, the candidate, the recipients, the
    number of pages and the words that differ from the other letters, highlighted.
    Reads the batch; renders no letter again. Needs pypdfium2 (the preview extra).
    """
    campaign = open_campaign()
    out = campaign.out_root(out)
    year = batch_year(year, out)
    inputs = campaign.inputs(None, signatories, None, None, encoding)
    from ..preview import require

    require("proof", ("pypdfium2",))
    from ..proof import write_proof
    from ..replies.status import proof_rows

    result = write_proof(out / str(year), inputs.signatories,
                         inputs.encoding_of("signatories"), inputs.sheet_of("signatories"),
                         after_sending=proof_rows)
    emit({"ok": True, "year": year, "letters": result.letters,
           "html": str(result.html), "pdf": str(result.pdf),
           "warnings": [p.as_json() for p in result.warnings]})
    for w in result.warnings:
        err(f"warning: {w}")
    err(f"Proof sheet of {result.letters} letters: {result.html} and {result.pdf}")
