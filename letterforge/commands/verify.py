"""``letterforge verify``: a batch proved to be what its inputs produce."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    InEncodingOpt,
    JsonOpt,
    QuietOpt,
    VerifyYearOpt,
    emit,
    err,
    handle_errors,
    jobs_option,
    newest_batch,
    open_campaign,
    plural,
    year_of,
)

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("verify")
@handle_errors
def verify(
    year: VerifyYearOpt = None,
    files: Annotated[list[Path] | None, typer.Argument(
        metavar="FILE", show_default=False,
        help="Published files to check against the batch's manifest (by content); "
        "without them, the whole batch is rendered again and compared.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="FOLDER", help="Output root of the batch to verify "
        "[default: from letterforge.toml, else out].")] = None,
    manifest: Annotated[Path | None, typer.Option(
        "--manifest", metavar="FILE", help="Check FILES against this manifest.json instead "
        "of the batch's.")] = None,
    candidates: Annotated[Path | None, typer.Option(
        "--candidates", metavar="FILE", help="Candidates CSV to verify against [default: "
        "the one the batch was rendered from].")] = None,
    signatories: Annotated[Path | None, typer.Option(
        "--signatories", metavar="FILE", help="Signatories CSV to verify against [default: "
        "the one the batch was rendered from].")] = None,
    template: Annotated[Path | None, typer.Option(
        "--template", metavar="FILE", help="Master letter to verify against [default: the "
        "one the batch was rendered from].")] = None,
    encoding: InEncodingOpt = None,
    date: Annotated[str | None, typer.Option(
        "--date", metavar="YYYY-MM-DD", help="Date the letters were given with --date "
        "[default: the one the batch was rendered with].")] = None,
    email_template: Annotated[Path | None, typer.Option(
        "--email-template", metavar="FILE", help="E-mail template to verify against "
        "[default: the one the batch was rendered from].")] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", metavar="N", envvar="LETTERFORGE_JOBS", show_envvar=False,
        help="Processes to render the batch again with, 1 or more (default: "
        "LETTERFORGE_JOBS, else the number of CPUs).")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Prove a batch is what the data and templates produce.

    Renders OUT/YEAR again in a temporary folder, from the inputs and options its
    manifest records, and compares every file byte for byte with the batch and its
    manifest: exits 0 when identical, 1 with the files that differ (and the candidate
    of each letter). With FILES, checks those files (say, a published PDF) against the
    manifest instead.
    """
    from ..config import parse_date
    from ..verify import verify_files, verify_recorded_batch

    campaign = open_campaign()
    out_root = campaign.out_root(out)
    inputs = campaign.inputs(candidates, signatories, template, email_template, encoding)
    if files and manifest is not None:
        year_n, said = 0, ""
    elif year is None and (newest := newest_batch(out_root)) is not None:
        from ..errors import display_path

        year_n, said = newest, f"year {newest} (the newest batch in {display_path(out_root)}/)"
    else:
        year_n, said = year_of(year, inputs)
    if files:
        report = verify_files(files, manifest or out_root / str(year_n) / "manifest.json")
        for shown, rel, who in report.matched:
            err(f"ok: {shown} is {rel}" + (f" ({who})" if who else ""))
    else:
        report = verify_recorded_batch(
            campaign, out_root, year_n, candidates=candidates, signatories=signatories,
            template=template, email_template=email_template, encoding=encoding,
            date=parse_date(date), jobs=jobs_option(jobs))
    emit({"ok": report.identical, **report.as_json()})
    for difference in report.differences:
        typer.echo(f"differs: {difference}", err=True)
    if report.identical:
        err(f"Verified: {plural(report.checked, 'file')} and the manifest identical to "
             f"what the inputs produce, for {said}" if not files else
             f"Verified: {plural(report.checked, 'file')} "
             f"{'matches' if report.checked == 1 else 'match'} the manifest")
        return
    # the manifest is compared apart from the files: "N of M files", as render counts
    changed = [d for d in report.differences if d.path != "manifest.json"]
    verb = "differs" if len(changed) == 1 else "differ"
    summary = f"{len(changed)} of {plural(report.checked, 'file')} {verb}"
    if len(changed) < len(report.differences):
        summary += ", and the manifest" if changed else "; the manifest differs"
    typer.echo(summary, err=True)
    raise typer.Exit(1)
