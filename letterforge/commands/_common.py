"""What every command shares: how it prints (stdout for results, stderr for people),
how errors end it (one line and their exit code; a bug: the traceback, exit 70), the
options several commands take, and the campaign, year and formats they start from.

The only place besides the command modules that prints or exits.
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

from ..errors import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    INTERRUPTED,
    LetterforgeError,
    say_interrupted,
)

if TYPE_CHECKING:  # the commands import what they use: --help imports none of it
    from ..config import Campaign, Inputs

F = TypeVar("F", bound=Callable[..., Any])


# --json: one JSON document on stdout and nothing else there; --quiet: no messages but
# errors on stderr. Set per command by handle_errors.
OUT = {"json": False, "quiet": False}


def err(message: str) -> None:
    """A message for people: stderr, unless --quiet."""
    if not OUT["quiet"]:
        typer.echo(message, err=True)


class _StdoutFailed(Exception):
    """Standard output could not be written (a full disk, /dev/full, a failing device):
    said in one line by handle_errors, not taken for a bug."""


def out(text: str, *, nl: bool = True) -> None:
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


def emit(doc: dict[str, Any]) -> None:
    """The machine-readable result: stdout, with --json only."""
    if OUT["json"]:
        out(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def progress_allowed() -> bool:
    return (sys.stderr.isatty() and not OUT["quiet"] and not OUT["json"]
            and "NO_COLOR" not in os.environ)


def warn(plan: Any) -> None:
    """The plan's warnings (a fallback to another language ...): said, not fatal."""
    for problem in getattr(plan, "warnings", ()):
        err(f"warning: {problem}")


def handle_errors(func: F) -> F:
    """Expected errors: one message, their exit code. Bugs: traceback, exit 70."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        OUT["json"] = bool(kwargs.get("as_json"))
        OUT["quiet"] = bool(kwargs.get("quiet"))
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
        if exc.exit_code == EXIT_INTERRUPTED:
            line = f"interrupted: {exc}"
            say_interrupted(lambda: typer.echo(line, err=True))
        else:
            typer.echo(f"error: {exc}", err=True)
        emit({"ok": False, "exit_code": exc.exit_code, "error": str(exc),
               "problems": [p.as_json() for p in exc.problems]})
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        say_interrupted(lambda: typer.echo(INTERRUPTED, err=True))
        emit({"ok": False, "exit_code": EXIT_INTERRUPTED, "error": INTERRUPTED,
               "problems": []})
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:  # `letterforge list ... | head`: the reader left, stop quietly
        _silence_stdout()
        raise typer.Exit(0) from None
    except (typer.Exit, typer.Abort, _StdoutFailed):
        raise
    except Exception:
        import traceback

        from .. import __version__

        traceback.print_exc()
        err(
            f"letterforge {__version__} hit an internal error: this is a bug, not your "
            "input. Please report it with the command you ran and the traceback above."
        )
        raise typer.Exit(EXIT_INTERNAL) from None


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
BatchOutOpt = Annotated[Path | None, typer.Option(
    "--out", "-o", metavar="DIR", help="Folder the batch was rendered into (default: the "
    "campaign file's, else out).")]
InDateOpt = Annotated[str | None, typer.Option(
    "--date", metavar="YYYY-MM-DD", help="Date the letters this day instead of the "
    "template's date.")]
JobsOpt = Annotated[int | None, typer.Option(
    "--jobs", "-j", metavar="N", envvar="LETTERFORGE_JOBS", show_envvar=False,
    help="Processes to render with, 1 or more (default: LETTERFORGE_JOBS, else the number "
    "of CPUs).")]


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 letter', '2 letters'."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def jobs_option(jobs: int | None) -> int | None:
    from ..errors import UsageError

    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs: {jobs} is not a number of processes: give 1 or more")
    return jobs


def open_campaign() -> Campaign:
    from ..config import load_campaign

    campaign = load_campaign()
    if campaign.path is not None:
        from ..errors import display_path

        err(f"Campaign file: {display_path(campaign.path)}")
    return campaign


def year_of(year: int | None, inputs: Inputs) -> tuple[int, str]:
    """The year asked for, or the newest in the candidates file, with the words that say
    where it came from."""
    if year is not None:
        return year, f"{year}"
    from ..errors import UsageError, display_path
    from ..load import read_input

    table = read_input(inputs, "candidates")
    years = table.years
    if not years:
        raise UsageError(f"--year: {display_path(inputs.candidates)} has no row with a year: "
                         "add the candidates, or give --year")
    newest = max(years)
    return newest, f"year {newest} (the newest in {inputs.candidates.name})"


def formats_of(value: str | None) -> tuple[str, ...]:
    from ..config import parse_formats
    from ..writers import NEEDS

    return parse_formats(value, NEEDS)


def newest_batch(out_root: Path) -> int | None:
    """The newest YEAR of OUT/YEAR/manifest.json, or None."""
    try:
        years = [int(p.name) for p in out_root.iterdir()
                 if p.name.isdigit() and (p / "manifest.json").is_file()]
    except OSError:
        return None
    return max(years) if years else None


def batch_year(year: int | None, out_root: Path) -> int:
    """The year asked for, or the newest rendered batch in ``out_root`` (said)."""
    if year is not None:
        return year
    from ..errors import UsageError

    newest = newest_batch(out_root)
    if newest is None:
        raise UsageError(f"--year: there is no rendered batch in {out_root}/: render one "
                         "first, or give --year and --out")
    err(f"Batch: {out_root}/{newest} (the newest in {out_root}/)")
    return newest
