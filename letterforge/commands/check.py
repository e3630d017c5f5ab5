"""``letterforge check``: every problem of the inputs at once; writes nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import (
    CheckYearOpt,
    InCandidatesOpt,
    InEmailTemplateOpt,
    InEncodingOpt,
    InSignatoriesOpt,
    InTemplateOpt,
    JsonOpt,
    QuietOpt,
    emit,
    err,
    handle_errors,
    open_campaign,
    plural,
    warn,
    year_of,
)
from ._table import progress

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("check")
@handle_errors
def check(
    year: CheckYearOpt = None,
    candidates: InCandidatesOpt = None,
    signatories: InSignatoriesOpt = None,
    template: InTemplateOpt = None,
    encoding: InEncodingOpt = None,
    date: Annotated[str | None, typer.Option(
        "--date", metavar="YYYY-MM-DD", help="Check the letters dated this day instead of "
        "the template's date.")] = None,
    email_template: InEmailTemplateOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check the data files and the template for YEAR; write nothing.

    Reports every problem at once, one per line as FILE:LINE: COLUMN: WHAT IS WRONG,
    and exits 1; exits 0 with a summary when all is well.
    """
    from babel.dates import format_date

    from ..config import Options, parse_date
    from ..errors import display_path
    from ..plan import prepare

    campaign = open_campaign()
    inputs = campaign.inputs(candidates, signatories, template, email_template, encoding)
    year, said = year_of(year, inputs)
    with progress("Checking the letters", at_least=1000) as bar:  # fast: big batches only
        plan = prepare(inputs, Options(year, parse_date(date)), progress=bar.to)
    warn(plan)
    when = format_date(plan.merger.date, format="long", locale=plan.merger.locale)
    n, m = len(plan.candidates), len(plan.signatories)
    emit({"ok": True, "year": year, "candidates": n, "signatories": m,
           "template": str(plan.template.path), "lang": plan.merger.lang,
           "date": plan.merger.date.isoformat(), "problems": [],
           "warnings": [p.as_json() for p in plan.warnings]})
    err(
        f"OK: {plural(n, 'candidate')} and {plural(m, 'signatory', 'signatories')} "
        f"for {said}; template {display_path(plan.template.path)} ({plan.merger.lang}, "
        f"dated {when}). "
        "Nothing was written."
    )
