"""``letterforge new-year``: next year's campaign from this one's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    InEncodingOpt,
    JsonOpt,
    QuietOpt,
    emit,
    err,
    handle_errors,
    open_campaign,
    plural,
)

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("new-year")
@handle_errors
def newyear_of(
    year: Annotated[int, typer.Argument(metavar="YEAR", show_default=False,
                                        help="The new campaign year, e.g. 2014.")],
    date: Annotated[str | None, typer.Option(
        "--date", metavar="YYYY-MM-DD", help="Date the new letter this day (default: the "
        "same day as last year's letter, in YEAR).")] = None,
    signatories: Annotated[Path | None, typer.Option(
        "--signatories", metavar="FILE", help="Signatories CSV to add YEAR's rows to "
        "[default: from letterforge.toml, else signatories.csv].")] = None,
    template: Annotated[Path | None, typer.Option(
        "--template", metavar="FILE", help="Master letter to date in YEAR [default: from "
        "letterforge.toml, else templates/letter.md].")] = None,
    encoding: InEncodingOpt = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Go on although YEAR already has signatories (only the missing ones "
        "are added) or an archive of last year's templates exists.")] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Prepare YEAR's campaign from last year's.

    Copies last year's signatories to YEAR (organisations usually stay: remove those that
    do not), keeps last year's templates in templates/archive/LAST-YEAR/, moves the
    letter's date to the same day in YEAR, and says what is left to do.
    """
    from ..config import parse_date
    from ..errors import display_path
    from ..new_year import new_year as run

    campaign = open_campaign()
    inputs = campaign.inputs(None, signatories, template, None, encoding)
    report = run(inputs, year, parse_date(date), force=force)
    emit({"ok": True, **report.as_json()})
    if report.signatories_to_copy:
        err(f"Left {plural(report.signatories_to_copy, 'signatory', 'signatories')} of "
            f"{report.previous} to copy to {year} in the spreadsheet "
            f"{display_path(inputs.signatories)} (see below)")
    else:
        err(f"Copied {plural(report.signatories_added, 'signatory', 'signatories')} of "
            f"{report.previous} to {year} in {display_path(inputs.signatories)}"
            + (f" ({report.signatories_kept} were there already)"
               if report.signatories_kept else ""))
    if report.archive is not None:
        err(f"Kept {report.previous}'s templates in {display_path(report.archive)}/")
    if report.old_date != report.new_date:
        err(f"Dated the letter {report.new_date.isoformat()} (was "
             f"{report.old_date.isoformat()}) in {display_path(inputs.template)}")
    err("Left to do:")
    for step in report.todo:
        err(f"  - {step}")
