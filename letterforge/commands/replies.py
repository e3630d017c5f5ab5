"""``letterforge replies``: the campaign's mailbox read (read only), each reply, bounce
and auto-reply matched to its letter and kept under the batch."""

from __future__ import annotations

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
)

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("replies")
@handle_errors
def replies(
    year: Annotated[int | None, typer.Option(
        "--year", "-y", metavar="YEAR", help="Year of the batch whose replies to read "
        "(default: the newest batch in the output folder).")] = None,
    out: BatchOutOpt = None,
    host: Annotated[str | None, typer.Option(
        "--host", envvar="LETTERFORGE_IMAP_HOST", metavar="HOST",
        help="IMAP server of the campaign's mailbox (default: the campaign file's).")
    ] = None,
    port: Annotated[int | None, typer.Option(
        "--port", envvar="LETTERFORGE_IMAP_PORT", metavar="PORT",
        help="Port of the IMAP server (default: 993, 143 with starttls or none).")] = None,
    security: Annotated[str | None, typer.Option(
        "--security", envvar="LETTERFORGE_IMAP_SECURITY", metavar="tls|starttls|none",
        help="How to encrypt the connection (default: the campaign file's, else tls).")
    ] = None,
    user: Annotated[str | None, typer.Option(
        "--user", envvar="LETTERFORGE_IMAP_USER", metavar="USER",
        help="Log in to the IMAP server as USER.")] = None,
    folder: Annotated[list[str] | None, typer.Option(
        "--folder", metavar="NAME", help="Folder to read (repeatable; default: the "
        "campaign file's, else INBOX).")] = None,
    password_env: Annotated[str, typer.Option(
        "--password-env", metavar="VAR",
        help="Environment variable holding the IMAP password.")
    ] = "LETTERFORGE_IMAP_PASSWORD",
    password_command: Annotated[str | None, typer.Option(
        "--password-command", metavar="COMMAND",
        help="Command that prints the IMAP password (e.g. 'pass show imap').")] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", show_default="30",
                                           help="How long to wait for the IMAP server.")
                       ] = 30.0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Read the replies to YEAR's letters from the campaign's mailbox.

    Read only: nothing is marked read, moved or deleted. Each reply, bounce and
    auto-reply is matched to its letter (by the letter's Message-ID, else by the
    sender's address or domain, said as a weaker match) and saved once under
    OUT/YEAR/replies/; a message that matches no letter is listed and saved under
    replies/unmatched/. A rerun reads only what is new. The password comes from the
    environment, --password-command, or a prompt. See letterforge status.
    """
    from ..replies.mailbox import check_options, settings
    from ..replies.run import ledger_records, read_replies

    check_options(port, timeout)
    campaign = open_campaign()
    out = campaign.out_root(out)
    year = batch_year(year, out)
    ledger_records(out / str(year))  # a batch to read for, before any password is asked
    config = settings(campaign.imap, host=host, port=port, security=security, user=user,
                      folders=folder, password_env=password_env,
                      password_command=password_command, timeout=timeout)

    def said(record: dict[str, Any]) -> None:
        what = record["kind"] if record["slug"] else f"unmatched {record['kind']}"
        how = f" (matched by {record['match']})" if record["match"] not in (None, "thread") \
            else ""
        err(f"{what:17} {record['slug'] or '-'}: {record['sender']}: "
            f"{record['subject'][:60]}{how}")

    report = read_replies(out / str(year), config, said)
    plural = {"reply": "replies", "auto-reply": "auto-replies", "bounce": "bounces"}
    counts = ", ".join(f"{n} {kind if n == 1 else plural.get(kind, kind + 's')}"
                       for kind, n in sorted(report.counts().items()))
    err(f"Read {report.read} new message{'s' if report.read != 1 else ''} from "
        f"{', '.join(report.folders)}: {counts or 'nothing for a letter'}"
        f"{f', {len(report.unmatched)} unmatched' if report.unmatched else ''}. "
        f"See: letterforge status --year {year}")
    for record in report.unmatched:
        typer.echo(f"unmatched: {record['file']} from {record['sender']}: "
                   f"{record['subject'][:60]}", err=True)
    emit(report.as_json())
