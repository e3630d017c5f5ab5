"""``letterforge send``: the rendered e-mails over SMTP, each exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
    plural,
)
from ._common import out as show
from ._table import table

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("send")
@handle_errors
def send(
    year: Annotated[int | None, typer.Option(
        "--year", "-y", metavar="YEAR", help="Year of the batch to send (OUT/YEAR; default: "
        "the newest batch in the output folder).")] = None,
    out: BatchOutOpt = None,
    really: Annotated[bool, typer.Option("--send", help="Really send. Without it: a dry run "
                                         "that shows what would go to whom.")] = False,
    host: Annotated[str | None, typer.Option(
        "--host", envvar="LETTERFORGE_SMTP_HOST", metavar="HOST",
        help="SMTP server to send through (default: the campaign file's, else "
        "localhost).")] = None,
    port: Annotated[int | None, typer.Option("--port", envvar="LETTERFORGE_SMTP_PORT",
                                             metavar="PORT",
                                             help="Port of the SMTP server (default: 587, "
                                             "465 with tls, 25 with none).")] = None,
    security: Annotated[str | None, typer.Option(
        "--security", envvar="LETTERFORGE_SMTP_SECURITY", metavar="starttls|tls|none",
        help="How to encrypt the connection to the SMTP server (default: the campaign "
        "file's, else starttls).")] = None,
    user: Annotated[str | None, typer.Option("--user", envvar="LETTERFORGE_SMTP_USER",
                                             metavar="USER",
                                             help="Log in to the SMTP server as USER.")] = None,
    password_env: Annotated[str, typer.Option(
        "--password-env", metavar="VAR",
        help="Environment variable holding the SMTP password.")
    ] = "LETTERFORGE_SMTP_PASSWORD",
    password_command: Annotated[str | None, typer.Option(
        "--password-command", metavar="COMMAND",
        help="Command that prints the SMTP password (e.g. 'pass show smtp').")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N",
                                              help="Send at most N letters this run.")] = None,
    rate: Annotated[float, typer.Option("--rate", metavar="N", show_default="30",
                                        help="Send at most N letters a minute (0: no "
                                        "limit).")] = 30.0,
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="NAME", help="Send only this letter (candidate or file name; "
        "repeatable).")] = None,
    resend: Annotated[list[str] | None, typer.Option(
        "--resend", metavar="NAME", help="Send this letter although it was sent, changed, "
        "edited or its state is unknown; a partly refused letter goes to the refused "
        "recipients only (repeatable).")] = None,
    mark_sent: Annotated[list[str] | None, typer.Option(
        "--mark-sent", metavar="NAME",
        help="Record this letter as sent without sending it (repeatable).")
    ] = None,
    export_failed: Annotated[Path | None, typer.Option(
        "--export-failed", metavar="FILE",
        help="Write the letters that failed or need a look to this CSV.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", show_default="30",
                                           help="How long to wait for the SMTP server.")
                       ] = 30.0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Send the rendered e-mails of YEAR over SMTP, each exactly once.

    A dry run unless --send is given. The send ledger (send-ledger.jsonl in the batch)
    records every message; a rerun sends only what was not sent. The password comes
    only from the environment or --password-command: letterforge never prompts.
    Exits 1 when a letter failed or needs a look, in a dry run too.
    """
    from ..errors import Interrupted, UsageError
    from ..send.ledger import NEEDS_ATTENTION
    from ..send.report import export_problems
    from ..send.run import send_batch
    from ..send.smtp import settings

    if limit is not None and limit < 0:
        raise UsageError(f"--limit: {limit} is not a number of letters (0 or more)")
    if rate < 0:
        raise UsageError(f"--rate: {rate:g} is not a number of letters a minute (0 or more)")
    campaign = open_campaign()
    out = campaign.out_root(out)
    config = settings(campaign.smtp, host=host, port=port, security=security, user=user,
                      timeout=timeout, password_env=password_env,
                      password_command=password_command, really=really)
    year = batch_year(year, out)

    def event(state: str, m: Any, note: str) -> None:
        # whom it was handed to: a resend of a partly refused letter goes to some only
        line = f"{state:8} {m.candidate} -> {', '.join(m.envelope or m.to)}: {note}"
        if state in ("failed", *NEEDS_ATTENTION):
            typer.echo(line, err=True)  # an error: said even with --quiet
        else:
            err(line)

    batch = out / str(year)
    try:
        report = send_batch(batch, config, really=really, limit=limit, rate=rate,
                            only=only or (), resend=resend or (), mark_sent=mark_sent or (),
                            on_event=event)
    except KeyboardInterrupt:
        raise Interrupted("every message handed to the server so far is in the send "
                          "ledger; run the same command again to send the rest") from None
    shown = report.dry_run and not as_json and not quiet
    if shown:
        show(table(("Candidate", "Recipients", "State", "Note"),
                   [(m.candidate, ", ".join(m.recipients), m.state, m.note)
                    for m in report.messages]), nl=False)
    if export_failed is not None:
        n = export_problems(report, export_failed)
        err(f"{plural(n, 'letter')} to retry or check written to {export_failed}")
    _summary(report, shown, year, out)
    emit(report.as_json())
    if not report.ok:
        raise typer.Exit(1)


def _summary(report: Any, shown: bool, year: int, out: Path) -> None:
    """What the run did, on stderr; why it exits 1, even with --quiet."""
    summary = ", ".join(f"{n} {s}" for s, n in report.counts().items())
    if report.dry_run:
        err(f"Dry run, nothing sent: {summary}. Add --send to send the pending ones.")
    else:
        err(f"Sent {plural(len(report.sent), 'letter')} this run; now {summary}.")
    if report.stopped:
        typer.echo(f"stopped: {report.stopped}", err=True)
    attention = report.needs_attention()
    if attention:
        where = "see the Note column above"
        if not shown:
            again = f" --out {out}" if out != Path("out") else ""
            where = f"the dry run (letterforge send --year {year}{again}) says why"
        typer.echo(f"{plural(attention, 'letter')} need{'s' if attention == 1 else ''} a "
                   f"look: {where}", err=True)
