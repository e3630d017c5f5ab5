"""``letterforge render``: the letters of a year, into OUT/YEAR."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from ._common import (
    InCandidatesOpt,
    InDateOpt,
    InEmailTemplateOpt,
    InEncodingOpt,
    InSignatoriesOpt,
    InTemplateOpt,
    JobsOpt,
    JsonOpt,
    OutOpt,
    QuietOpt,
    RenderYearOpt,
    emit,
    err,
    formats_of,
    handle_errors,
    jobs_option,
    open_campaign,
    plural,
    warn,
    year_of,
)
from ._table import progress

if TYPE_CHECKING:
    from ..models import Candidate
    from ..render import BatchResult

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("render")
@handle_errors
def render(
    year: RenderYearOpt = None,
    out: OutOpt = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", metavar="NAME",
                     help="Render only this candidate (short name, name or slug). "
                     "Repeatable. The other letters of the batch are kept."),
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMATS",
                          help="Comma-separated formats to render: docx, pdf, eml (the "
                          "e-mail carries the PDF, so eml implies pdf).")
    ] = "docx,pdf,eml",
    candidates: InCandidatesOpt = None,
    signatories: InSignatoriesOpt = None,
    template: InTemplateOpt = None,
    encoding: InEncodingOpt = None,
    date: InDateOpt = None,
    email_template: InEmailTemplateOpt = None,
    jobs: JobsOpt = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Render every letter again, even those whose inputs have not changed.")
    ] = False,
    shard: Annotated[str | None, typer.Option(
        "--shard", metavar="K/N",
        help="Render only part K of N of the batch (e.g. 2/4), for N CI jobs; "
        "'letterforge combine' joins the parts.")
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render the letters of YEAR: DOCX, PDF and e-mail (.eml) per candidate, batch.mbox,
    outbox.csv and a manifest, in OUT/YEAR.

    Letters whose inputs (their row, the signatories, the templates, the stylesheet,
    letterforge's version) have not changed since the last render are kept as they are.
    """
    from ..config import Options, parse_date, parse_shard
    from ..parallel import cpu_count, start_pdf_helper

    fmts = formats_of(formats)
    # --only: usually one letter; a process imports WeasyPrint for its PDF meanwhile
    helper = start_pdf_helper(fmts, jobs_option(jobs)) if only else None
    try:
        from ..plan import prepare
        from ..render import render_batch

        campaign = open_campaign()
        inputs = campaign.inputs(candidates, signatories, template, email_template, encoding)
        year, said = year_of(year, inputs)
        options = Options(year, parse_date(date), fmts, tuple(only or ()), parse_shard(shard))
        plan = prepare(inputs, options, check_letters=False)
        warn(plan)
        if jobs is not None and jobs > cpu_count():
            err(f"--jobs {jobs}: this machine has {cpu_count()} CPUs, so letterforge uses "
                f"{cpu_count()} processes (more would only use more memory)")
        with progress("Rendering", len(plan.candidates)) as bar:
            result = render_batch(plan, campaign.out_root(out), force=force,
                                  jobs=jobs_option(jobs), on_letter=lambda c: bar.advance(),
                                  pdf_helper=helper)
    finally:
        if helper is not None:  # stopped, not waited for: unused, it may still be importing
            helper.abandon()
    emit({"ok": True, "year": year, "out_dir": str(result.out_dir), "formats": list(fmts),
          "letters": result.letters, "rendered": result.rendered, "up_to_date": result.reused,
          "changed": result.changed, "files": result.files,
          "manifest": str(result.out_dir / "manifest.json")})
    for_year = f" for {said}" if said != str(year) else ""  # said when --year was not given
    if not result.changed:
        err(f"Nothing to do{for_year}: {_up_to_date(plan.candidates if only else None, result)}")
        return
    stale = sum(1 for e in result.manifest.letters if e.stale)
    fresh = result.reused - stale
    up_to_date = f", {fresh} up to date" if fresh else ""
    err(f"Rendered {plural(result.rendered, 'letter')}{up_to_date} ({', '.join(fmts)})"
        f"{for_year}: {plural(result.letters, 'letter')}, {plural(result.files, 'file')} in "
        f"{result.out_dir}/ (manifest.json)")
    if stale:
        err(f"warning: {plural(stale, 'letter')} kept from before but stale: their inputs "
            "changed since they were rendered, and send refuses them; render the batch "
            "without --only")

    from ..proof import outdated_proofs

    proofs = outdated_proofs(result.out_dir)
    if proofs:
        err(f"warning: {' and '.join(proofs)} in {result.out_dir}/ "
            f"describe{'s' if len(proofs) == 1 else ''} the batch before this render: make "
            f"the proof again before sign-off (letterforge proof --year {year})")


def _up_to_date(selected: Sequence[Candidate] | None, result: BatchResult) -> str:
    """What a render with nothing to do found up to date: the letters ``--only`` chose,
    by name, else the batch."""
    where = f"in {result.out_dir}/"
    if selected is None or len(selected) > 3:
        n = len(selected) if selected is not None else result.letters
        return (f"the {plural(n, 'letter')} {where} {'is' if n == 1 else 'are'} up to date "
                f"(--force renders {'it' if n == 1 else 'them'} again)")
    names = [c.short_name for c in selected]
    named = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    letters = "letter" if len(names) == 1 else "letters"
    verb = "is" if len(names) == 1 else "are"
    return (f"the {letters} to {named} {where} {verb} up to date "
            f"(--force renders {'it' if len(names) == 1 else 'them'} again)")
