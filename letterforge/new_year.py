"""new-year: next year's campaign from last year's.

Copies the previous year's signatory rows to the new year (appended to the signatories
file in its own delimiter, line ends and encoding; the rows already there stay byte for
byte), keeps the previous year's templates in ``templates/archive/<year>/``, and moves
the ``date:`` of the letter's front matter to the same day in the new year (the rest of
the file unchanged). Everything is checked before anything is written; each file is
replaced whole (:func:`letterforge.files.write_atomic`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ARCHIVE, Inputs
from .errors import InputError, Problem, UsageError, display_path
from .load import SPREADSHEETS, read_input, read_text_file

#: ``date: 2013-11-05`` in the front matter, quoted or not, with what follows kept
_DATE_LINE = re.compile(
    rb"^(?P<head>date[ \t]*:[ \t]*[\"']?)(?P<date>\d{4}-\d{2}-\d{2})(?P<tail>[\"']?)", re.M)


@dataclass
class NewYearReport:
    year: int
    previous: int
    signatories_added: int
    signatories_kept: int
    old_date: dt.date
    new_date: dt.date
    archive: Path | None
    candidates_previous: int
    todo: list[str] = field(default_factory=list)
    #: rows of a spreadsheet's signatories to copy by hand (letterforge does not write it)
    signatories_to_copy: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"year": self.year, "previous_year": self.previous,
                "signatories_added": self.signatories_added,
                "signatories_already_there": self.signatories_kept,
                "signatories_to_copy": self.signatories_to_copy,
                "old_date": self.old_date.isoformat(), "new_date": self.new_date.isoformat(),
                "archive": str(self.archive) if self.archive else None, "todo": self.todo}


def same_day(day: dt.date, year: int) -> dt.date:
    """The same day in ``year`` (29 February becomes 28 February)."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


@dataclass
class _Signatories:
    """Last year's signatories to copy, as the bytes the file will hold."""

    shown: str
    previous: int
    added: int
    kept: int  # rows the new year had already
    data: bytes | None  # the whole new file, or None when nothing is added
    spreadsheet: bool = False  # an .xlsx or .ods: the rows to copy are left to the person


@dataclass
class _Template:
    shown: str
    raw: bytes
    data: bytes
    old_date: dt.date
    new_date: dt.date


def new_year(inputs: Inputs, year: int, date: dt.date | None = None, *,
             force: bool = False) -> NewYearReport:
    """Prepare ``year``'s campaign: everything checked first, then written (archive,
    template, signatories), each file replaced whole."""
    from .files import write_atomic

    if not 1900 <= year <= 9999:
        raise UsageError(f"YEAR: {year} is not a campaign year (write it like 2014)")
    template = _redated(inputs.template, year, date)
    if template.old_date.year > year:
        raise UsageError(
            f"YEAR: the letter ({template.shown}) is dated {template.old_date.isoformat()}: "
            f"new-year {year} would move it back in time. new-year goes forward, from the "
            f"campaign of the letter's year to the next; last years' templates are in "
            f"{ARCHIVE}/ of the templates folder")
    signatories = _signatories(inputs, year, force)
    # the letter in other languages (letter.fr.md ...): the same move
    others = [_redated(path, year, date) for path in language_templates(inputs.template)]
    archive, copies = _archive(inputs.template.parent, signatories.previous,
                               template.old_date, year, force)
    for target, data in copies.items():
        write_atomic(target, data)
    for path, each in ((inputs.template, template),
                       *((path, t) for path, t in zip(language_templates(inputs.template),
                                                      others, strict=True))):
        if each.data != each.raw:
            write_atomic(path, each.data)
    if signatories.data is not None:
        write_atomic(inputs.signatories, signatories.data)
    candidates_previous, todo = _todo(inputs, year, signatories, template, others)
    by_hand = signatories.added if signatories.spreadsheet else 0
    return NewYearReport(year, signatories.previous, signatories.added - by_hand,
                         signatories.kept, template.old_date, template.new_date, archive,
                         candidates_previous, todo, by_hand)


def _signatories(inputs: Inputs, year: int, force: bool) -> _Signatories:
    """Last year's signatory rows, for ``year``: appended in the file's own delimiter,
    line ends and encoding; the rows already there stay byte for byte."""
    table = read_input(inputs, "signatories")
    shown = table.display
    if "year" not in table.headers or "name" not in table.headers:
        raise InputError(Problem(shown, None, None, "needs the columns year and name"))
    earlier = [y for y in table.years if y < year]
    if not earlier:
        present = ", ".join(str(y) for y in sorted(table.years)) or "none"
        raise InputError(Problem(shown, None, None,
                                 f"no signatories before {year} to copy (years in the "
                                 f"file: {present})"))
    previous = max(earlier)
    rows_of = {y: [r for r in table.rows if r.cells.get("year", "").strip() == str(y)]
               for y in (previous, year)}
    there = {" ".join(r.cells.get("name", "").casefold().split()) for r in rows_of[year]}
    if rows_of[year] and not force:
        raise InputError(Problem(
            shown, rows_of[year][0].line, None,
            f"{year} already has {len(rows_of[year])} signator"
            f"{'y' if len(rows_of[year]) == 1 else 'ies'}: new-year was run already? "
            f"Pass --force to add the {previous} signatories that are missing"))
    to_copy = [r for r in rows_of[previous]
               if " ".join(r.cells.get("name", "").casefold().split()) not in there]
    if inputs.signatories.suffix.lower() in SPREADSHEETS:
        # read, never written: the person copies the rows in Excel or LibreOffice (the
        # to-do says how many); a workbook rewritten by a library loses what it does
        # not know (formulas' formatting, validation, comments)
        return _Signatories(shown, previous, len(to_copy), len(rows_of[year]), None,
                            spreadsheet=True)
    decoded = read_text_file(inputs.signatories, inputs.encoding_of("signatories"))
    return _Signatories(shown, previous, len(to_copy), len(rows_of[year]),
                        _appended(decoded, table, to_copy, year))


def _appended(decoded: Any, table: Any, rows: list[Any], year: int) -> bytes | None:
    """The file's bytes with ``rows`` added for ``year`` in its own delimiter, line ends
    and encoding; None when there is nothing to add."""
    text = decoded.text
    newline = "\r\n" if "\r\n" in text else "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=table.delimiter, lineterminator=newline,
                        quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        cells = {**row.cells, "year": str(year)}
        writer.writerow([cells.get(h, "") if h else "" for h in table.headers])
    tail = buffer.getvalue()
    if not tail:
        return None
    if text and not text.endswith(("\n", "\r")):
        tail = newline + tail
    data: bytes = decoded.data + decoded.encode_more(tail)
    return data


def _redated(path: Path, year: int, date: dt.date | None) -> _Template:
    """The template with its front matter's ``date:`` moved to the same day in ``year``
    (or to ``date``); the rest of the file byte for byte."""
    shown = display_path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(shown, None, None, f"cannot be read: {exc.strerror}")
                         ) from exc
    front_end = _front_matter_end(raw)
    m = _DATE_LINE.search(raw, 0, front_end) if front_end else None
    if m is None:
        raise InputError(Problem(shown, None, "date",
                                 "the front matter has no 'date: YYYY-MM-DD' line to move to "
                                 f"{year}: add one"))
    line = raw[: m.start()].count(b"\n") + 1
    try:
        old_date = dt.date.fromisoformat(m.group("date").decode())
    except ValueError as exc:
        raise InputError(Problem(shown, line, "date", f"{m.group('date').decode()} is not a "
                                 "real date: write it as YYYY-MM-DD")) from exc
    new_date = date or (old_date if old_date.year == year else same_day(old_date, year))
    data = raw[: m.start("date")] + new_date.isoformat().encode() + raw[m.end("date"):]
    return _Template(shown, raw, data, old_date, new_date)


def _archive(folder: Path, previous: int, old_date: dt.date, year: int, force: bool
             ) -> tuple[Path | None, dict[Path, bytes]]:
    """Where last year's templates are kept (templates/archive/<previous>/) and the
    copies to write there; none when the letter is already ``year``'s."""
    if old_date.year >= year:
        return None, {}  # the letter is already YEAR's: last year's is not there to keep
    archive = folder / ARCHIVE / str(previous)
    if archive.exists() and not force:
        raise InputError(Problem(display_path(archive), None, None,
                                 f"already exists: {previous}'s templates were archived "
                                 "before; move it away or pass --force to replace it"))
    copies = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] != ARCHIVE and path.is_file():
            copies[archive / rel] = path.read_bytes()
    return archive, copies


def language_templates(main: Path) -> list[Path]:
    """The letter in other languages beside the main template: ``letter.<lang>.md``."""
    return sorted(p for p in main.parent.glob(f"{main.stem}.*{main.suffix}")
                  if p != main and p.is_file()
                  and re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*",
                                   p.name[len(main.stem) + 1:-len(main.suffix) or None]))


def _todo(inputs: Inputs, year: int, signatories: _Signatories, template: _Template,
          others: list[_Template]) -> tuple[int, list[str]]:
    """(last year's candidates, what is left to do)."""
    previous = signatories.previous
    candidates_previous = 0
    try:
        cands = read_input(inputs, "candidates")
        candidates_previous = sum(1 for r in cands.rows
                                  if r.cells.get("year", "").strip() == str(previous))
        has_new = any(r.cells.get("year", "").strip() == str(year) for r in cands.rows)
    except InputError:
        has_new = False
    todo = []
    if not has_new:
        todo.append(f"add the {year} candidates to {display_path(inputs.candidates)} "
                    f"({candidates_previous} rows for {previous} there now)")
    if signatories.spreadsheet and signatories.added:
        todo.append(f"copy the {signatories.added} signatory rows of {previous} in "
                    f"{signatories.shown} with {year} in their year column (letterforge reads "
                    "spreadsheets but does not change them)")
    todo.append(f"remove from {signatories.shown} the organisations that do not sign in "
                f"{year}")
    todo.append(f"review the letter, {template.shown} (dated "
                f"{template.new_date.isoformat()}): what it says of {previous} and the "
                "year in its text")
    for other in others:
        todo.append(f"review the letter in its other language, {other.shown} (dated "
                    f"{other.new_date.isoformat()}), the same way")
    todo.append(f"run 'letterforge diff {previous} {year} --html changes.html' and send "
                "changes.html for sign-off, then 'letterforge render'")
    return candidates_previous, todo


def _front_matter_end(raw: bytes) -> int | None:
    """Where the front matter ends (the offset of its closing '---'), or None."""
    text = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    offset = len(raw) - len(text)
    if not re.match(rb"---[ \t]*\r?\n", text):
        return None
    m = re.compile(rb"^(---|\.\.\.)[ \t]*\r?$", re.M).search(text, 4)
    return offset + m.start() if m else None
