"""``letterforge preview``: one letter in the browser, following the template."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import (
    InCandidatesOpt,
    InDateOpt,
    InEmailTemplateOpt,
    InEncodingOpt,
    InSignatoriesOpt,
    InTemplateOpt,
    QuietOpt,
    handle_errors,
    open_campaign,
    year_of,
)

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("preview")
@handle_errors
def preview(
    year: Annotated[int | None, typer.Option(
        "--year", "-y", metavar="YEAR", help="Year of the letters to preview (default: the "
        "newest year in the candidates file).")] = None,
    candidate: Annotated[str | None, typer.Option(
        "--candidate", "-c", metavar="NAME", help="The letter to show first (short name, "
        "name or slug; default: the first candidate). The page has a picker.")] = None,
    port: Annotated[int | None, typer.Option(
        "--port", "-p", metavar="PORT", help="Port on 127.0.0.1 (default: a free one).")
    ] = None,
    no_open: Annotated[bool, typer.Option(
        "--no-open", help="Do not open the page in the browser; just print its address.")
    ] = False,
    candidates: InCandidatesOpt = None,
    signatories: InSignatoriesOpt = None,
    template: InTemplateOpt = None,
    encoding: InEncodingOpt = None,
    date: InDateOpt = None,
    email_template: InEmailTemplateOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Show one letter in the browser, as it is sent, while you edit the template.

    A local page (127.0.0.1 only) shows the letter's PDF pages, the DOCX as LibreOffice
    lays it out and the e-mail, with the letter's facts. Saving the template, the
    stylesheet, an included file or a CSV renders that letter again and the page
    follows; a mistake shows in the page, over the last good rendering. Writes nothing.
    Needs the preview extra: pip install 'letterforge[preview]'. Ctrl-C stops it.
    """
    from ..errors import UsageError

    if port is not None and not 0 <= port <= 65535:
        raise UsageError(f"--port: {port} is not a port number (0 to 65535)")
    campaign = open_campaign()
    inputs = campaign.inputs(candidates, signatories, template, email_template, encoding)
    year, _ = year_of(year, inputs)
    from ..errors import Interrupted
    from ..preview import require

    require("preview")
    from ..config import parse_date
    from ..preview.server import serve
    from ..preview.state import Preview
    from ..replies.status import proof_rows

    batch = campaign.out_root(None) / str(year)
    state = Preview(inputs, year, parse_date(date), candidate,
                    after_sending=lambda: proof_rows(batch))
    typer.echo(f"Rendering the letter for the preview of {year}...", err=True)
    state.refresh(strict=True)

    def ready(url: str) -> None:
        typer.echo(f"Preview of the {year} letters: {url}  (Ctrl-C stops it)", err=True)
        if state.problems:
            typer.echo("\n".join(f"error: {p}" for p in state.problems), err=True)
        if not no_open:
            import webbrowser

            webbrowser.open(url)

    try:
        serve(state, port, ready)
    except KeyboardInterrupt:
        raise Interrupted("the preview stopped; it wrote nothing") from None
