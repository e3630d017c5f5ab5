"""Command line. Thin commands: parse options, call one function, translate errors.

The only place that prints or exits. Exit codes live in :mod:`letterforge.errors`.
Heavy modules (WeasyPrint, python-docx) are imported only by the commands that need them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from .errors import (
    EXIT_CODES_HELP,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    INTERRUPTED,
    LetterforgeError,
)

if TYPE_CHECKING:  # the commands import what they use: --help imports none of it
    from .config import Campaign, Inputs

F = TypeVar("F", bound=Callable[..., Any])


app = typer.Typer(
    name="letterforge",
    help="Open letters for every candidate: one master template, one DOCX, PDF and "
    "e-mail per recipient.\n\n" + EXIT_CODES_HELP,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


# --json: one JSON document on stdout and nothing else there; --quiet: no messages but
# errors on stderr. Set per command by handle_errors.
_OUT = {"json": False, "quiet": False}


def _err(message: str) -> None:
    """A message for people: stderr, unless --quiet."""
    if not _OUT["quiet"]:
        typer.echo(message, err=True)


class _StdoutFailed(Exception):
    """Standard output could not be written (a full disk, /dev/full, a failing device):
    said in one line by handle_errors, not taken for a bug."""


def _out(text: str, *, nl: bool = True) -> None:
    """The command's output on stdout, written out now: a failure to write it is raised
    here, as :class:`_StdoutFailed`, not at exit. A reader that left (``| head``) is
    handle_errors' BrokenPipeError."""
    try:
        typer.echo(text, nl=nl)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _StdoutFailed(exc) from exc


def _emit(doc: dict[str, Any]) -> None:
    """The machine-readable result: stdout, with --json only."""
    if _OUT["json"]:
        _out(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def _progress_allowed() -> bool:
    return (sys.stderr.isatty() and not _OUT["quiet"] and not _OUT["json"]
            and "NO_COLOR" not in os.environ)


def _warn(plan: Any) -> None:
    """The plan's warnings (a fallback to another language ...): said, not fatal."""
    for problem in getattr(plan, "warnings", ()):
        _err(f"warning: {problem}")


def handle_errors(func: F) -> F:
    """Expected errors: one message, their exit code. Bugs: traceback, exit 70."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _OUT["json"] = bool(kwargs.get("as_json"))
        _OUT["quiet"] = bool(kwargs.get("quiet"))
        try:
            return _run(func, args, kwargs)
        except _StdoutFailed as exc:
            _silence_stdout()  # nothing more goes there, and the exit's flush cannot fail
            cause = exc.__cause__
            why = getattr(cause, "strerror", None) or str(cause)
            typer.echo(f"error: standard output cannot be written to ({why}): the "
                       "command's result was not printed; what it did is done", err=True)
            raise typer.Exit(EXIT_INPUT) from None

    return wrapper  # type: ignore[return-value]


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _run(func: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """The command, its expected errors said in one line with their exit code; a bug:
    the traceback, exit 70."""
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
        _silence_stdout()
        raise typer.Exit(0) from None
    except (typer.Exit, typer.Abort, _StdoutFailed):
        raise
    except Exception:
        import traceback

        from . import __version__

        traceback.print_exc()
        _err(
            f"letterforge {__version__} hit an internal error: this is a bug, not your "
            "input. Please report it with the command you ran and the traceback above."
        )
        raise typer.Exit(EXIT_INTERNAL) from None


def _version(value: bool) -> None:
    if value:
        from . import __version__
        from .writers.pdf import engine

        status = engine.status()
        versions = ", ".join(f"{name} {version or 'missing'}"
                             for name, version in status["versions"].items())
        pdf = "ready" if status["ready"] else "cannot write PDFs (run ./setup.sh)"
        off = ", ".join(status["speed_off"]) or "none"
        typer.echo(f"letterforge {__version__}\nPDF engine: {pdf} ({versions}); "
                   f"speed overrides off: {off}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    """Open letters for every candidate."""


JsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print one JSON document with the result on stdout (messages go to "
    "stderr).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No messages but errors.")]


RenderYearOpt = Annotated[int | None, typer.Option(
    "--year", "-y", metavar="YEAR",
    help="Year of the letters to render (default: the newest year in the candidates file).")]
CheckYearOpt = Annotated[int | None, typer.Option(
    "--year", "-y", metavar="YEAR",
    help="Year of the letters to check (default: the newest year in the candidates file).")]
ListYearOpt = Annotated[int | None, typer.Option(
    "--year", "-y", metavar="YEAR",
    help="Year of the candidates to list (default: the newest year in the candidates file).")]
VerifyYearOpt = Annotated[int | None, typer.Option(
    "--year", "-y", metavar="YEAR",
    help="Year of the batch to verify (default: the newest year in the candidates file).")]

InCandidatesOpt = Annotated[Path | None, typer.Option(
    "--candidates", metavar="FILE",
    help="Candidates CSV (year, name, short_name, email...) [default: from letterforge.toml, "
    "else candidates.csv].")]
InSignatoriesOpt = Annotated[Path | None, typer.Option(
    "--signatories", metavar="FILE",
    help="Signatories CSV (year, name) [default: from letterforge.toml, else "
    "signatories.csv].")]
InTemplateOpt = Annotated[Path | None, typer.Option(
    "--template", metavar="FILE",
    help="Master letter (Markdown + Jinja2, front matter) [default: from letterforge.toml, "
    "else templates/letter.md].")]
InEncodingOpt = Annotated[str | None, typer.Option(
    "--encoding", metavar="ENCODING",
    help="Encoding of a CSV file that is not UTF-8 (e.g. cp1252); files in UTF-8 are "
    "read as UTF-8.")]
InEmailTemplateOpt = Annotated[Path | None, typer.Option(
    "--email-template", metavar="FILE",
    help="E-mail template (default: email.md beside the letter template).")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", "-o", metavar="FOLDER",
    help="Output root; the batch is FOLDER/YEAR [default: from letterforge.toml, else out].")]
InDateOpt = Annotated[str | None, typer.Option(
    "--date", metavar="YYYY-MM-DD", help="Date the letters this day instead of the "
    "template's date.")]
JobsOpt = Annotated[int | None, typer.Option(
    "--jobs", "-j", metavar="N", envvar="LETTERFORGE_JOBS", show_envvar=False,
    help="Processes to render with, 1 or more (default: LETTERFORGE_JOBS, else the number "
    "of CPUs).")]


def _plural(n: int, one: str, many: str | None = None) -> str:
    """'1 letter', '2 letters'."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def _jobs(jobs: int | None) -> int | None:
    from .errors import UsageError

    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs: {jobs} is not a number of processes: give 1 or more")
    return jobs


def _campaign() -> Campaign:
    from .config import load_campaign

    campaign = load_campaign()
    if campaign.path is not None:
        from .errors import display_path

        _err(f"Campaign file: {display_path(campaign.path)}")
    return campaign


def _year(year: int | None, inputs: Inputs) -> tuple[int, str]:
    """The year asked for, or the newest in the candidates file, with the words that say
    where it came from."""
    if year is not None:
        return year, f"{year}"
    from .errors import UsageError, display_path
    from .load import read_table

    table = read_table(inputs.candidates, encoding=inputs.encoding_of("candidates"))
    years = table.years
    if not years:
        raise UsageError(f"--year: {display_path(inputs.candidates)} has no row with a year: "
                         "add the candidates, or give --year")
    newest = max(years)
    return newest, f"year {newest} (the newest in {inputs.candidates.name})"


def _formats(value: str | None) -> tuple[str, ...]:
    from .config import parse_formats
    from .writers import NEEDS

    return parse_formats(value, NEEDS)


@app.command()
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
    from .config import Options, parse_date, parse_shard
    from .parallel import cpu_count, start_pdf_helper

    fmts = _formats(formats)
    # --only: usually one letter; a process imports WeasyPrint for its PDF meanwhile
    helper = start_pdf_helper(fmts, _jobs(jobs)) if only else None
    try:
        from .pipeline import prepare, render_batch

        campaign = _campaign()
        inputs = campaign.inputs(candidates, signatories, template, email_template, encoding)
        year, said = _year(year, inputs)
        options = Options(year, parse_date(date), fmts, tuple(only or ()), parse_shard(shard))
        plan = prepare(inputs, options, check_letters=False)
        _warn(plan)
        if jobs is not None and jobs > cpu_count():
            _err(f"--jobs {jobs}: this machine has {cpu_count()} CPUs, so letterforge uses "
                 f"{cpu_count()} processes (more would only use more memory)")
        out_root = campaign.out_root(out)
        if _progress_allowed():
            with typer.progressbar(length=len(plan.candidates), label="Rendering",
                                   file=sys.stderr) as bar:
                result = render_batch(plan, out_root, force=force, jobs=_jobs(jobs),
                                      on_letter=lambda c: bar.update(1), pdf_helper=helper)
        else:
            result = render_batch(plan, out_root, force=force, jobs=_jobs(jobs),
                                  pdf_helper=helper)
    finally:
        if helper is not None:  # stopped, not waited for: unused, it may still be importing
            helper.close(failed=True)
    for_year = f" for {said}" if said != str(year) else ""  # said when --year was not given
    _emit({"ok": True, "year": year, "out_dir": str(result.out_dir), "formats": list(fmts),
           "letters": result.letters, "rendered": result.rendered, "up_to_date": result.reused,
           "changed": result.changed, "files": result.files,
           "manifest": str(result.out_dir / "manifest.json")})
    if not result.changed:
        _err(f"Nothing to do{for_year}: the {_plural(result.letters, 'letter')} in "
             f"{result.out_dir}/ are up to date (--force renders them again)")
        return
    stale = sum(1 for e in result.manifest.letters if e.stale)
    fresh = result.reused - stale
    up_to_date = f", {fresh} up to date" if fresh else ""
    _err(
        f"Rendered {_plural(result.rendered, 'letter')}{up_to_date} "
        f"({', '.join(fmts)}){for_year}: {_plural(result.letters, 'letter')}, "
        f"{_plural(result.files, 'file')} in {result.out_dir}/ (manifest.json)"
    )
    if stale:
        _err(f"warning: {_plural(stale, 'letter')} kept from before but stale: their inputs "
             "changed since they were rendered, and send refuses them; render the batch "
             "without --only")


@app.command()
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

    from .config import Options, parse_date
    from .pipeline import prepare

    def progress(done: int, total: int) -> None:
        if _progress_allowed() and total >= 1000:
            sys.stderr.write(f"\rChecking the letters: {done}/{total}")
            if done >= total:
                sys.stderr.write("\n")

    campaign = _campaign()
    inputs = campaign.inputs(candidates, signatories, template, email_template, encoding)
    year, said = _year(year, inputs)
    plan = prepare(inputs, Options(year, parse_date(date)), progress=progress)
    _warn(plan)
    when = format_date(plan.merger.date, format="long", locale=plan.merger.locale)
    n, m = len(plan.candidates), len(plan.signatories)
    _emit({"ok": True, "year": year, "candidates": n, "signatories": m,
           "template": str(plan.template.path), "lang": plan.merger.lang,
           "date": plan.merger.date.isoformat(), "problems": [],
           "warnings": [p.as_json() for p in plan.warnings]})
    _err(
        f"OK: {_plural(n, 'candidate')} and {_plural(m, 'signatory', 'signatories')} "
        f"for {said}; template {plan.template.path} ({plan.merger.lang}, dated {when}). "
        "Nothing was written."
    )


@app.command()
@handle_errors
def send(
    year: Annotated[int | None, typer.Option(
        "--year", "-y", metavar="YEAR", help="Year of the batch to send (OUT/YEAR; default: "
        "the newest batch in the output folder).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="DIR", help="Folder the batch was rendered into (default: "
        "the campaign file's, else out).")] = None,
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
    import shutil

    from .errors import Interrupted, SendError, UsageError
    from .send import (
        NEEDS_ATTENTION,
        SmtpConfig,
        export_problems,
        fit_table,
        password_from,
        send_batch,
    )

    campaign = _campaign()
    smtp = campaign.smtp
    host = host or smtp.host or "localhost"
    security = security or smtp.security or "starttls"
    port = port if port is not None else smtp.port
    user = user if user is not None else smtp.user
    out = campaign.out_root(out)
    if year is None:
        year = _newest_batch(out)
        if year is None:
            raise UsageError(f"--year: there is no rendered batch in {out}/: render one "
                             "first, or give --year and --out")
        _err(f"Batch: {out}/{year} (the newest in {out}/)")
    if security not in ("starttls", "tls", "none"):
        raise UsageError(f"--security: {security!r} is not starttls, tls or none")
    if limit is not None and limit < 0:
        raise UsageError(f"--limit: {limit} is not a number of letters (0 or more)")
    if rate < 0:
        raise UsageError(f"--rate: {rate:g} is not a number of letters a minute (0 or more)")
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
        line = f"{state:8} {m.candidate} -> {', '.join(m.to)}: {note}"
        if state in ("failed", *NEEDS_ATTENTION):
            typer.echo(line, err=True)  # an error: said even with --quiet
        else:
            _err(line)

    def letters(n: int) -> str:
        return f"{n} letter{'s' if n != 1 else ''}"

    batch = out / str(year)
    try:
        report = send_batch(batch, config, really=really, limit=limit, rate=rate,
                            only=only or (), resend=resend or (), mark_sent=mark_sent or (),
                            on_event=event)
    except KeyboardInterrupt:
        raise Interrupted("every message handed to the server so far is in the send "
                          "ledger; run the same command again to send the rest") from None
    if report.dry_run and not as_json and not quiet:
        rows = [(m.candidate, ", ".join(m.recipients), m.state, m.note)
                for m in report.messages]
        width = shutil.get_terminal_size((80, 24)).columns
        for line in fit_table(("Candidate", "Recipients", "State", "Note"), rows, width,
                              wrap=(1, 0, 3)):
            _out(line)
    if export_failed is not None:
        n = export_problems(report, export_failed)
        _err(f"{letters(n)} to retry or check written to {export_failed}")
    counts = report.counts()
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    attention = report.needs_attention()
    if report.dry_run:
        _err(f"Dry run, nothing sent: {summary}. Add --send to send the pending ones.")
    else:
        _err(f"Sent {letters(len(report.sent))} this run; now {summary}.")
    if report.stopped:
        typer.echo(f"stopped: {report.stopped}", err=True)
    if attention:  # the reason for exit 1: said even with --quiet
        where = ("see the Note column above" if report.dry_run and not quiet and not as_json
                 else f"the dry run (letterforge send --year {year}"
                 + (f" --out {out}" if out != Path("out") else "") + ") says why")
        typer.echo(f"{letters(attention)} need{'s' if attention == 1 else ''} a look: "
                   f"{where}", err=True)
    _emit({"ok": not (report.stopped or attention),
           "dry_run": report.dry_run, "batch": str(batch), "sent_this_run": len(report.sent),
           "counts": counts, "stopped": report.stopped,
           "messages": [{"candidate": m.candidate, "slug": m.slug, "file": m.path,
                         "recipients": m.recipients, "state": m.state, "note": m.note,
                         **({"refused": m.refused} if m.refused else {})}
                        for m in report.messages]})
    if report.stopped or attention:
        raise typer.Exit(1)


@app.command()
@handle_errors
def combine(
    parts: Annotated[list[Path], typer.Argument(
        metavar="PART", show_default=False,
        help="The batch folders of the parts (each OUT/YEAR of a --shard render).")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="FOLDER",
        help="Output root; the combined batch goes to FOLDER/YEAR [default: from "
        "letterforge.toml, else out].")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace letters of the combined batch that were edited by hand.")
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Combine the parts of a sharded render into one batch and one manifest.

    Refuses a missing part, a part given twice and parts of different renders. The
    combined manifest keeps the inputs and options the parts were rendered with.
    """
    from .combine import combine as run

    target, manifest = run(parts, _campaign().out_root(out), force=force)
    _emit({"ok": True, "batch": str(target), "parts": len(parts),
           "letters": len(manifest.letters)})
    _err(f"Combined {_plural(len(parts), 'part')}: {_plural(len(manifest.letters), 'letter')} "
         f"in {target}/")


@app.command()
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
    from .config import Options, batch_inputs, parse_date
    from .manifest import Manifest
    from .verify import verify_batch, verify_files

    campaign = _campaign()
    out_root = campaign.out_root(out)
    inputs = campaign.inputs(candidates, signatories, template, email_template, encoding)
    if files and manifest is not None:
        year_n, said = 0, ""
    elif year is None and (newest := _newest_batch(out_root)) is not None:
        from .errors import display_path

        year_n, said = newest, f"year {newest} (the newest batch in {display_path(out_root)}/)"
    else:
        year_n, said = _year(year, inputs)
    if files:
        report = verify_files(files, manifest or out_root / str(year_n) / "manifest.json")
        for shown, rel, who in report.matched:
            _err(f"ok: {shown} is {rel}" + (f" ({who})" if who else ""))
    else:
        recorded = Manifest.read(out_root / str(year_n))
        inputs, when = batch_inputs(campaign, recorded.options if recorded else {},
                                    candidates=candidates, signatories=signatories,
                                    template=template, email_template=email_template,
                                    encoding=encoding, date=parse_date(date))
        report = verify_batch(inputs, Options(year_n, when), out_root, _jobs(jobs))
    _emit({"ok": report.identical, **report.as_json()})
    for difference in report.differences:
        typer.echo(f"differs: {difference}", err=True)
    if report.identical:
        _err(f"Verified: {_plural(report.checked, 'file')} and the manifest identical to "
             f"what the inputs produce, for {said}" if not files else
             f"Verified: {_plural(report.checked, 'file')} match the manifest")
        return
    typer.echo(f"{len(report.differences)} of {_plural(report.checked, 'file')} differ",
               err=True)
    raise typer.Exit(1)


def _newest_batch(out_root: Path) -> int | None:
    """The newest YEAR of OUT/YEAR/manifest.json, or None."""
    try:
        years = [int(p.name) for p in out_root.iterdir()
                 if p.name.isdigit() and (p / "manifest.json").is_file()]
    except OSError:
        return None
    return max(years) if years else None


def _console_width() -> int:
    """COLUMNS when set, else the terminal's width, else 80."""
    import shutil

    value = os.environ.get("COLUMNS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    return 80


@app.command("list")
@handle_errors
def list_(
    year: ListYearOpt = None,
    candidates: InCandidatesOpt = None,
    encoding: InEncodingOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """List the candidates of YEAR that `render` would write, as a table in the order of
    the candidates file, as wide as the terminal (COLUMNS)."""
    from .errors import ValidationFailed
    from .load import read_table
    from .validate import candidates_for_year

    campaign = _campaign()
    inputs = campaign.inputs(candidates, None, None, None, encoding)
    year, said = _year(year, inputs)
    table = read_table(inputs.candidates, encoding=inputs.encoding_of("candidates"))
    rows, problems = candidates_for_year(table, year)
    if problems:
        raise ValidationFailed(problems)
    if as_json:
        _emit({"ok": True, "year": year, "candidates": [
            {"short_name": c.short_name, "name": c.name, "emails": list(c.emails),
             "slug": c.slug, "source": f"{c.source.path}:{c.source.line}"} for c in rows]})
    else:
        _out(format_table(
            ("#", "Candidate", "In a sentence", "E-mail", "File"),
            [(str(i), c.short_name, c.name, ", ".join(c.emails), c.slug)
             for i, c in enumerate(rows, 1)], _console_width()), nl=False)
    _err(f"{_plural(len(rows), 'candidate')} for {said}")


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]], width: int) -> str:
    """A plain table (rich) no wider than ``width``: long cells wrap within their column."""
    import io

    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for name in header:
        table.add_column(name, overflow="fold", no_wrap=False)
    for row in rows:
        table.add_row(*row)
    buffer = io.StringIO()
    console = Console(file=buffer, width=max(width, 20), color_system=None,
                      force_terminal=False, highlight=False, markup=False, emoji=False,
                      soft_wrap=False)
    console.print(table, crop=True)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


@app.command("new-year")
@handle_errors
def new_year(
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
    from .campaign import new_year as run
    from .config import parse_date
    from .errors import display_path

    campaign = _campaign()
    inputs = campaign.inputs(None, signatories, template, None, encoding)
    report = run(inputs, year, parse_date(date), force=force)
    _emit({"ok": True, **report.as_json()})
    _err(f"Copied {_plural(report.signatories_added, 'signatory', 'signatories')} of "
         f"{report.previous} to {year} in {display_path(inputs.signatories)}"
         + (f" ({report.signatories_kept} were there already)"
            if report.signatories_kept else ""))
    if report.archive is not None:
        _err(f"Kept {report.previous}'s templates in {display_path(report.archive)}/")
    if report.old_date != report.new_date:
        _err(f"Dated the letter {report.new_date.isoformat()} (was "
             f"{report.old_date.isoformat()}) in {display_path(inputs.template)}")
    _err("Left to do:")
    for step in report.todo:
        _err(f"  - {step}")


@app.command()
@handle_errors
def diff(
    old: Annotated[int, typer.Argument(metavar="OLD", show_default=False,
                                       help="The earlier year, e.g. 2013.")],
    new: Annotated[int, typer.Argument(metavar="NEW", show_default=False,
                                       help="The later year, e.g. 2014.")],
    html: Annotated[Path | None, typer.Option(
        "--html", metavar="FILE", help="Also write the changes as one self-contained HTML "
        "page, to send for sign-off.")] = None,
    candidates: InCandidatesOpt = None,
    signatories: InSignatoriesOpt = None,
    template: InTemplateOpt = None,
    encoding: InEncodingOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Show what changed from OLD to NEW: candidates added, removed and renamed,
    signatories added and removed, and the letter's words (merged for one candidate of
    each year, the candidate's name replaced by «candidate»).

    Colour in a terminal (not with NO_COLOR); --json for programs; --html FILE for
    people. Writes nothing but FILE.
    """
    from .diff import diff_years, html_page, terminal_text
    from .errors import display_path
    from .output import write_atomic

    campaign = _campaign()
    inputs = campaign.inputs(candidates, signatories, template, None, encoding)
    result = diff_years(inputs, old, new)
    if html is not None:
        write_atomic(html, html_page(result).encode("utf-8"))
    if as_json:
        _emit({"ok": True, **result.as_json()})
    elif not quiet:
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        _out(terminal_text(result, colour=colour), nl=False)
    if html is not None:
        _err(f"Wrote {display_path(html)}")


@app.command()
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
    from .errors import UsageError

    if port is not None and not 0 <= port <= 65535:
        raise UsageError(f"--port: {port} is not a port number (0 to 65535)")
    campaign = _campaign()
    inputs = campaign.inputs(candidates, signatories, template, email_template, encoding)
    year, _ = _year(year, inputs)
    from .errors import Interrupted
    from .preview import require

    require("preview")
    from .config import parse_date
    from .preview.server import serve
    from .preview.state import Preview

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
    year: Annotated[int | None, typer.Option(
        "--year", "-y", metavar="YEAR", help="Year of the batch to proofread (OUT/YEAR; "
        "default: the newest batch in the output folder).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="DIR", help="Folder the batch was rendered into (default: "
        "the campaign file's, else out).")] = None,
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
    from .errors import UsageError

    campaign = _campaign()
    out = campaign.out_root(out)
    if year is None:
        year = _newest_batch(out)
        if year is None:
            raise UsageError(f"--year: there is no rendered batch in {out}/: render one "
                             "first, or give --year and --out")
    signatories = campaign.inputs(None, signatories, None, None, encoding).signatories
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


def _app_for(args: list[str]) -> typer.Typer:
    """The app with only the command the command line names (``letterforge render
    ...``): typer reads the signature of every command it is given before it runs one
    (50 ms for all of them). The whole app when the first word is not a command name
    (``--help``, ``--version``, a typo: the list of commands is shown)."""
    import copy

    from typer.main import get_command_name

    if not args:
        return app
    named = [c for c in app.registered_commands
             if (c.name or get_command_name(c.callback.__name__ if c.callback else "")) == args[0]]
    if len(named) != 1:
        return app
    one = copy.copy(app)
    one.registered_commands = named
    return one


def main() -> None:
    import signal

    from .errors import stop_on_signal

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    try:
        _app_for(sys.argv[1:])(prog_name="letterforge")
    except KeyboardInterrupt:  # Ctrl-C while typer builds the command, before it runs
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    main()
