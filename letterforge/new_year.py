"""new-year: next year's campaign from last year's.

Copies the previous year's signatory rows to the new year (appended to the signatories
file in its own delimiter, line ends and encoding; the rows already there stay byte for
byte), keeps the previous year's templates in ``templates/archive/<year>/``, and moves
the ``date:`` of the letter's front matter to the same day in the new year (the rest of
the file unchanged). Everything is checked before anything is written; each file is
replaced whole (:func:`letterforge.output.write_atomic`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Inputs
from .errors import InputError, Problem, UsageError, display_path
from .load import read_table, read_text_file

ARCHIVE = "archive"

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

    def as_json(self) -> dict[str, Any]:
        return {"year": self.year, "previous_year": self.previous,
                "signatories_added": self.signatories_added,
                "signatories_already_there": self.signatories_kept,
                "old_date": self.old_date.isoformat(), "new_date": self.new_date.isoformat(),
                "archive": str(self.archive) if self.archive else None, "todo": self.todo}


def same_day(day: dt.date, year: int) -> dt.date:
    """The same day in ``year`` (29 February becomes 28 February)."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def new_year(inputs: Inputs, year: int, date: dt.date | None = None, *,
             force: bool = False) -> NewYearReport:
    from .files import write_atomic

    if not 1900 <= year <= 9999:
        raise UsageError(f"YEAR: {year} is not a campaign year (write it like 2014)")
    # --- the signatories ----------------------------------------------------------
    decoded = read_text_file(inputs.signatories, inputs.encoding_of("signatories"))
    table = read_table(inputs.signatories, encoding=inputs.encoding_of("signatories"))
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
    text = decoded.text
    newline = "\r\n" if "\r\n" in text else "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=table.delimiter, lineterminator=newline,
                        quoting=csv.QUOTE_MINIMAL)
    for row in to_copy:
        cells = {**row.cells, "year": str(year)}
        writer.writerow([cells.get(h, "") if h else "" for h in table.headers])
    tail = buffer.getvalue()
    if tail and text and not text.endswith(("\n", "\r")):
        tail = newline + tail
    new_signatories = decoded.data + decoded.encode_more(tail) if tail else None

    # --- the template -------------------------------------------------------------
    template_path = inputs.template
    tshown = display_path(template_path)
    try:
        raw = template_path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(tshown, None, None, f"cannot be read: {exc.strerror}")
                         ) from exc
    front_end = _front_matter_end(raw)
    m = _DATE_LINE.search(raw, 0, front_end) if front_end else None
    if m is None:
        raise InputError(Problem(tshown, None, "date",
                                 "the front matter has no 'date: YYYY-MM-DD' line to move to "
                                 f"{year}: add one"))
    line = raw[: m.start()].count(b"\n") + 1
    try:
        old_date = dt.date.fromisoformat(m.group("date").decode())
    except ValueError as exc:
        raise InputError(Problem(tshown, line, "date", f"{m.group('date').decode()} is not a "
                                 "real date: write it as YYYY-MM-DD")) from exc
    new_date = date or (old_date if old_date.year == year else same_day(old_date, year))
    new_template = raw[: m.start("date")] + new_date.isoformat().encode() + raw[m.end("date"):]

    # --- the archive --------------------------------------------------------------
    folder = template_path.parent
    archive: Path | None = folder / ARCHIVE / str(previous)
    copies: dict[Path, bytes] = {}
    if old_date.year < year and archive is not None:
        if archive.exists() and not force:
            raise InputError(Problem(display_path(archive), None, None,
                                     f"already exists: {previous}'s templates were archived "
                                     "before; move it away or pass --force to replace it"))
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if rel.parts[0] == ARCHIVE or not path.is_file():
                continue
            copies[archive / rel] = path.read_bytes()
    else:
        archive = None  # the letter is already YEAR's: last year's is not there to keep

    # --- write: archive first, then the template, then the signatories --------------
    for target, data in copies.items():
        write_atomic(target, data)
    if new_template != raw:
        write_atomic(template_path, new_template)
    if new_signatories is not None:
        write_atomic(inputs.signatories, new_signatories)

    candidates_previous = 0
    try:
        cands = read_table(inputs.candidates, encoding=inputs.encoding_of("candidates"))
        candidates_previous = sum(1 for r in cands.rows
                                  if r.cells.get("year", "").strip() == str(previous))
        has_new = any(r.cells.get("year", "").strip() == str(year) for r in cands.rows)
    except InputError:
        has_new = False
    todo = []
    if not has_new:
        todo.append(f"add the {year} candidates to {display_path(inputs.candidates)} "
                    f"({candidates_previous} rows for {previous} there now)")
    todo.append(f"remove from {shown} the organisations that do not sign in {year}")
    todo.append(f"review the letter, {tshown} (dated {new_date.isoformat()}): what it "
                f"says of {previous} and the year in its text")
    todo.append(f"run 'letterforge diff {previous} {year} --html changes.html' and send "
                "changes.html for sign-off, then 'letterforge render'")
    return NewYearReport(year, previous, len(to_copy), len(rows_of[year]), old_date,
                         new_date, archive, candidates_previous, todo)


def _front_matter_end(raw: bytes) -> int | None:
    """Where the front matter ends (the offset of its closing '---'), or None."""
    text = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    offset = len(raw) - len(text)
    if not re.match(rb"---[ \t]*\r?\n", text):
        return None
    m = re.compile(rb"^(---|\.\.\.)[ \t]*\r?$", re.M).search(text, 4)
    return offset + m.start() if m else None
