"""Command line. Thin commands: parse options, call one function, translate errors.

The only place that prints or exits. Exit codes live in :mod:`letterforge.errors`.
Heavy modules (WeasyPrint, python-docx) are imported only by the commands that need them.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from . import __version__
from .config import Inputs, Options, parse_date, parse_formats, parse_shard
from .errors import (
    EXIT_CODES_HELP,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    LetterforgeError,
)

app = typer.Typer(
    name="letterforge",
    help="Open letters for every candidate: one master template, one DOCX, PDF and "
    "e-mail per recipient.\n\n" + EXIT_CODES_HELP,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])


# --json: one JSON document on stdout and nothing else there; --quiet: no messages but
# errors on stderr. Set per command by handle_errors.
_OUT = {"json": False, "quiet": False}


def _err(message: str) -> None:
    """A message for people: stderr, unless --quiet."""
    if not _OUT["quiet"]:
        typer.echo(message, err=True)


def _emit(doc: dict[str, Any]) -> None:
    """The machine-readable result: stdout, with --json only."""
    if _OUT["json"]:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def _progress_allowed() -> bool:
    return (sys.stderr.isatty() and not _OUT["quiet"] and not _OUT["json"]
            and "NO_COLOR" not in os.environ)


INTERRUPTED = "interrupted: nothing was changed"


def handle_errors(func: F) -> F:
    """Expected errors: one message, their exit code. Bugs: traceback, exit 70."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _OUT["json"] = bool(kwargs.get("as_json"))
        _OUT["quiet"] = bool(kwargs.get("quiet"))
        try:
            return func(*args, **kwargs)
        except LetterforgeError as exc:
            prefix = "interrupted" if exc.exit_code == EXIT_INTERRUPTED else "error"
            typer.echo(f"{prefix}: {exc}", err=True)
            _emit({"ok": False, "exit_code": exc.exit_code, "error": str(exc),
                   "problems": [p.as_json() for p in exc.problems]})
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo(INTERRUPTED, err=True)
            _emit({"ok": False, "exit_code": EXIT_INTERRUPTED, "error": INTERRUPTED,
                   "problems": []})
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:  # `letterforge list ... | head`: the reader left, stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception:
            traceback.print_exc()
            _err(
                f"letterforge {__version__} hit an internal error: this is a bug, not your "
                "input. Please report it with the command you ran and the traceback above."
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"letterforge {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    """Open letters for every candidate."""


YearOpt = Annotated[int, typer.Option("--year", "-y", help="Election year to render.")]
CandidatesOpt = Annotated[
    Path, typer.Option("--candidates", help="Candidates CSV (year, name, short_name, email...).")
]
SignatoriesOpt = Annotated[
    Path, typer.Option("--signatories", help="Signatories CSV (year, name).")
]
TemplateOpt = Annotated[
    Path, typer.Option("--template", help="Master letter (Markdown + Jinja2, front matter).")
]
EncodingOpt = Annotated[
    str | None,
    typer.Option("--encoding", help="Encoding of the CSV files if not UTF-8 (e.g. cp1252)."),
]
EmailTemplateOpt = Annotated[
    Path | None,
    typer.Option("--email-template", help="E-mail template (default: email.md beside the "
                 "letter template)."),
]
JsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print one JSON document with the result on stdout (messages go to "
    "stderr).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No messages but errors.")]
DateOpt = Annotated[
    str | None,
    typer.Option("--date", help="Date the letters YYYY-MM-DD instead of the template's date."),
]


def _formats(value: str | None) -> tuple[str, ...]:
    from .writers import NEEDS

    return parse_formats(value, NEEDS)


@app.command()
@handle_errors
def render(
    year: YearOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output root; the batch goes to OUT/YEAR.")] = Path("out"),  # noqa: E501
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Render only this candidate (short name, name or slug). "
                     "Repeatable. The other letters of the batch are kept."),
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", "-f", help="Comma-separated formats: docx, pdf, eml "
                          "(the e-mail carries the PDF, so eml implies pdf).")
    ] = "docx,pdf,eml",
    candidates: CandidatesOpt = Path("candidates.csv"),
    signatories: SignatoriesOpt = Path("signatories.csv"),
    template: TemplateOpt = Path("templates/letter.md"),
    encoding: EncodingOpt = None,
    date: DateOpt = None,
    email_template: EmailTemplateOpt = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="Processes to render with (default: the number of CPUs).")
    ] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Render every letter again, even those whose inputs have not changed.")
    ] = False,
    shard: Annotated[str | None, typer.Option(
        "--shard", help="Render only part K of N of the batch (e.g. 2/4), for N CI jobs; "
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
    from .pipeline import prepare, render_batch

    options = Options(year, parse_date(date), _formats(formats), tuple(only or ()),
                      parse_shard(shard))
    inputs = Inputs(candidates, signatories, template, encoding, email_template)
    plan = prepare(inputs, options, check_letters=False)
    if _progress_allowed():
        with typer.progressbar(length=len(plan.candidates), label="Rendering",
                               file=sys.stderr) as bar:
            result = render_batch(plan, out, force=force, jobs=jobs,
                                  on_letter=lambda c: bar.update(1))
    else:
        result = render_batch(plan, out, force=force, jobs=jobs)
    fmts = options.formats
    _emit({"ok": True, "year": year, "out_dir": str(result.out_dir), "formats": list(fmts),
           "letters": result.letters, "rendered": result.rendered, "up_to_date": result.reused,
           "changed": result.changed, "files": result.files,
           "manifest": str(result.out_dir / "manifest.json")})
    if not result.changed:
        _err(f"Nothing to do: the {result.letters} letters in {result.out_dir}/ are up to date "
             "(--force renders them again)")
        return
    up_to_date = f", {result.reused} up to date" if result.reused else ""
    _err(
        f"Rendered {result.rendered} letter{'s' if result.rendered != 1 else ''}{up_to_date} "
        f"({', '.join(fmts)}): {result.letters} letters, {result.files} files in "
        f"{result.out_dir}/ (manifest.json)"
    )


@app.command()
@handle_errors
def check(
    year: YearOpt,
    candidates: CandidatesOpt = Path("candidates.csv"),
    signatories: SignatoriesOpt = Path("signatories.csv"),
    template: TemplateOpt = Path("templates/letter.md"),
    encoding: EncodingOpt = None,
    date: DateOpt = None,
    email_template: EmailTemplateOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check the data files and the template for YEAR; write nothing.

    Reports every problem at once, one per line as FILE:LINE: COLUMN: WHAT IS WRONG,
    and exits 1; exits 0 with a summary when all is well.
    """
    from babel.dates import format_date

    from .pipeline import prepare

    plan = prepare(Inputs(candidates, signatories, template, encoding, email_template),
                   Options(year, parse_date(date)))
    when = format_date(plan.merger.date, format="long", locale=plan.merger.locale)
    n, m = len(plan.candidates), len(plan.signatories)
    _emit({"ok": True, "year": year, "candidates": n, "signatories": m,
           "template": str(plan.template.path), "lang": plan.merger.lang,
           "date": plan.merger.date.isoformat(), "problems": []})
    _err(
        f"OK: {n} candidate{'s' if n != 1 else ''} and {m} signator{'ies' if m != 1 else 'y'} "
        f"for {year}; template {plan.template.path} ({plan.merger.lang}, dated {when}). "
        "Nothing was written."
    )


@app.command()
@handle_errors
def send(
    year: YearOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output root of the batch.")] = Path("out"),  # noqa: E501
    really: Annotated[bool, typer.Option("--send", help="Really send. Without it: a dry run "
                                         "that shows what would go to whom.")] = False,
    host: Annotated[str, typer.Option("--host", envvar="LETTERFORGE_SMTP_HOST",
                                      help="SMTP server.")] = "localhost",
    port: Annotated[int | None, typer.Option("--port", envvar="LETTERFORGE_SMTP_PORT",
                                             help="Port (default: 587, 465 with tls, 25 with "
                                             "none).")] = None,
    security: Annotated[str, typer.Option("--security", envvar="LETTERFORGE_SMTP_SECURITY",
                                          help="starttls, tls or none.")] = "starttls",
    user: Annotated[str | None, typer.Option("--user", envvar="LETTERFORGE_SMTP_USER",
                                             help="Log in as this user.")] = None,
    password_env: Annotated[str, typer.Option(
        "--password-env", help="Environment variable holding the password.")
    ] = "LETTERFORGE_SMTP_PASSWORD",
    password_command: Annotated[str | None, typer.Option(
        "--password-command", help="Command that prints the password (e.g. 'pass show smtp').")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=0,
                                              help="Send at most N messages.")] = None,
    rate: Annotated[float, typer.Option("--rate", min=0, help="At most N messages per minute "
                                        "(0: no limit).")] = 30.0,
    only: Annotated[list[str] | None, typer.Option("--only", help="Only this letter (repeatable).")] = None,  # noqa: E501
    resend: Annotated[list[str] | None, typer.Option(
        "--resend", help="Send this letter again although it was sent, changed or its "
        "state is unknown (repeatable).")] = None,
    mark_sent: Annotated[list[str] | None, typer.Option(
        "--mark-sent", help="Record this letter as sent without sending it (repeatable).")
    ] = None,
    export_failed: Annotated[Path | None, typer.Option(
        "--export-failed", help="Write the letters that failed or need a look to this CSV.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the "
                                           "server.")] = 30.0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Send the rendered e-mails of YEAR over SMTP, each exactly once.

    A dry run unless --send is given. The send ledger (send-ledger.jsonl in the batch)
    records every message; a rerun sends only what was not sent. The password comes
    only from the environment or --password-command: letterforge never prompts.
    """
    from .errors import Interrupted, SendError, UsageError
    from .send import SmtpConfig, export_problems, password_from, send_batch

    if security not in ("starttls", "tls", "none"):
        raise UsageError(f"--security: {security!r} is not starttls, tls or none")
    if port is None:
        port = {"starttls": 587, "tls": 465, "none": 25}[security]
    config = None
    if really:
        password = password_from(password_env, password_command) if user else None
        if user and password is None:
            raise SendError(f"no password for {user}: set {password_env} or give "
                            "--password-command")
        config = SmtpConfig(host, port, security, user, password, timeout)

    def event(state: str, m: Any, note: str) -> None:
        _err(f"{state:8} {m.candidate} -> {', '.join(m.to)}: {note}")

    batch = out / str(year)
    try:
        report = send_batch(batch, config, really=really, limit=limit, rate=rate,
                            only=only or (), resend=resend or (), mark_sent=mark_sent or (),
                            on_event=event)
    except KeyboardInterrupt:
        raise Interrupted("every message handed to the server so far is in the send "
                          "ledger; run the same command again to send the rest") from None
    if report.dry_run and not as_json:
        rows = [(m.candidate, ", ".join(m.recipients), m.state, m.note)
                for m in report.messages]
        header = ("Candidate", "Recipients", "State", "Note")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
        for r in [header, *rows]:
            typer.echo("  ".join(v.ljust(w) for v, w in zip(r[:3], widths, strict=True))
                       + "  " + r[3])
    if export_failed is not None:
        n = export_problems(report, export_failed)
        _err(f"{n} letter{'s' if n != 1 else ''} to retry or check written to {export_failed}")
    counts = {s: report.count(s) for s in ("pending", "sent", "failed", "unknown", "changed",
                                            "modified", "stale", "skipped")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if report.dry_run:
        _err(f"Dry run, nothing sent: {summary}. Add --send to send the pending ones.")
    else:
        _err(f"Sent {len(report.sent)} this run; now {summary}.")
    if report.stopped:
        _err(f"stopped: {report.stopped}")
    attention = sum(counts[s] for s in ("failed", "unknown", "changed", "modified", "stale"))
    _emit({"ok": not (report.stopped or (not report.dry_run and attention)),
           "dry_run": report.dry_run, "batch": str(batch), "sent_this_run": len(report.sent),
           "counts": {s: n for s, n in counts.items() if n}, "stopped": report.stopped,
           "messages": [{"candidate": m.candidate, "slug": m.slug, "file": m.path,
                         "recipients": m.recipients, "state": m.state, "note": m.note}
                        for m in report.messages]})
    if report.stopped or (not report.dry_run and attention):
        raise typer.Exit(1)


@app.command()
@handle_errors
def combine(
    parts: Annotated[list[Path], typer.Argument(help="The batch folders of the parts "
                                                "(each OUT/YEAR of a --shard render).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output root; the combined batch "
                                      "goes to OUT/YEAR.")] = Path("out"),
    force: Annotated[bool, typer.Option(
        "--force", help="Replace letters of OUT/YEAR that were edited by hand.")] = False,
) -> None:
    """Combine the parts of a sharded render into one batch and one manifest.

    Refuses a missing part, a part given twice and parts of different renders.
    """
    from .combine import combine as run

    target, manifest = run(parts, out, force=force)
    _err(f"Combined {len(parts)} parts: {len(manifest.letters)} letters in {target}/")


@app.command()
@handle_errors
def verify(
    year: YearOpt,
    files: Annotated[list[Path] | None, typer.Argument(
        help="Published files to check against the batch's manifest (by content); "
        "without them, the whole batch is rendered again and compared.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output root of the batch.")] = Path("out"),  # noqa: E501
    manifest: Annotated[Path | None, typer.Option(
        "--manifest", help="Check FILES against this manifest.json instead of "
        "OUT/YEAR/manifest.json.")] = None,
    candidates: CandidatesOpt = Path("candidates.csv"),
    signatories: SignatoriesOpt = Path("signatories.csv"),
    template: TemplateOpt = Path("templates/letter.md"),
    encoding: EncodingOpt = None,
    date: DateOpt = None,
    email_template: EmailTemplateOpt = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1,
                                             help="Processes to render with.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Prove a batch is what the data and templates produce.

    Renders OUT/YEAR again in a temporary folder and compares every file byte for byte
    with the batch and its manifest: exits 0 when identical, 1 with the files that
    differ (and the candidate of each letter). With FILES, checks those files (say,
    a published PDF) against the manifest instead.
    """
    from .verify import verify_batch, verify_files

    if files:
        report = verify_files(files, manifest or out / str(year) / "manifest.json")
        for shown, rel, who in report.matched:
            _err(f"ok: {shown} is {rel}" + (f" ({who})" if who else ""))
    else:
        inputs = Inputs(candidates, signatories, template, encoding, email_template)
        report = verify_batch(inputs, Options(year, parse_date(date)), out, jobs)
    _emit({"ok": report.identical, **report.as_json()})
    for difference in report.differences:
        typer.echo(f"differs: {difference}", err=True)
    if report.identical:
        _err(f"Verified: {report.checked} files identical to what the inputs produce"
             if not files else f"Verified: {report.checked} files match the manifest")
        return
    typer.echo(f"{len(report.differences)} of {report.checked} files differ", err=True)
    raise typer.Exit(1)


@app.command("list")
@handle_errors
def list_(
    year: YearOpt,
    candidates: CandidatesOpt = Path("candidates.csv"),
    signatories: SignatoriesOpt = Path("signatories.csv"),
    encoding: EncodingOpt = None,
) -> None:
    """List the candidates of YEAR that `render` would write, as a table."""
    from .errors import ValidationFailed
    from .load import read_table
    from .validate import candidates_for_year

    table = read_table(candidates, encoding=encoding)
    rows, problems = candidates_for_year(table, year)
    if problems:
        raise ValidationFailed(problems)
    header = ("#", "Candidate", "In a sentence", "E-mail", "File")
    data = [
        (str(i), c.short_name, c.name, ", ".join(c.emails), c.slug)
        for i, c in enumerate(rows, 1)
    ]
    widths = [max(len(r[i]) for r in [header, *data]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
    typer.echo(line)
    typer.echo("  ".join("-" * w for w in widths))
    for r in data:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    _err(f"{len(rows)} candidate{'s' if len(rows) != 1 else ''} for {year}")


@app.command()
@handle_errors
def preview(
    year: YearOpt,
    candidate: Annotated[str | None, typer.Option(
        "--candidate", "-c", help="The letter to show first (short name, name or slug; "
        "default: the first candidate). The page has a picker.")] = None,
    port: Annotated[int | None, typer.Option(
        "--port", "-p", min=0, max=65535, help="Port on 127.0.0.1 (default: a free one).")
    ] = None,
    no_open: Annotated[bool, typer.Option(
        "--no-open", help="Do not open the page in the browser; just print its address.")
    ] = False,
    candidates: CandidatesOpt = Path("candidates.csv"),
    signatories: SignatoriesOpt = Path("signatories.csv"),
    template: TemplateOpt = Path("templates/letter.md"),
    encoding: EncodingOpt = None,
    date: DateOpt = None,
    email_template: EmailTemplateOpt = None,
) -> None:
    """Show one letter of YEAR in the browser, as it is sent, while you edit the template.

    A local page (127.0.0.1 only) shows the letter's PDF pages, the DOCX as LibreOffice
    lays it out and the e-mail, with the letter's facts. Saving the template, the
    stylesheet, an included file or a CSV renders that letter again and the page
    follows; a mistake shows in the page, over the last good rendering. Writes nothing.
    Needs the preview extra: pip install 'letterforge[preview]'. Ctrl-C stops it.
    """
    from .errors import Interrupted
    from .preview import require

    require("preview")
    from .preview.server import serve
    from .preview.state import Preview

    inputs = Inputs(candidates, signatories, template, encoding, email_template)
    state = Preview(inputs, year, parse_date(date), candidate)
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


@app.command()
@handle_errors
def proof(
    year: YearOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output root of the batch.")] = Path("out"),  # noqa: E501
    signatories: SignatoriesOpt = Path("signatories.csv"),
    encoding: EncodingOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a proof sheet of the rendered batch of YEAR for sign-off: proof.html and
    proof.pdf in OUT/YEAR.

    A summary of the batch (letters, formats, the inputs' hashes, signatories, date),
    then per letter a thumbnail of its first page, the candidate, the recipients, the
    number of pages and the words that differ from the other letters, highlighted.
    Reads the batch; renders no letter again. Needs pypdfium2 (the preview extra).
    """
    from .preview import require

    require("proof", ("pypdfium2",))
    from .proof import write_proof

    result = write_proof(out / str(year), signatories, encoding)
    _emit({"ok": True, "year": year, "letters": result.letters,
           "html": str(result.html), "pdf": str(result.pdf),
           "warnings": [p.as_json() for p in result.warnings]})
    for w in result.warnings:
        _err(f"warning: {w}")
    _err(f"Proof sheet of {result.letters} letters: {result.html} and {result.pdf}")


def main() -> None:
    app(prog_name="letterforge")


if __name__ == "__main__":  # pragma: no cover
    main()
