"""The rows of the candidates and signatories files: required columns, years, e-mail
addresses, language tags, characters that cannot print, duplicate names and slugs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..errors import Problem
from ..models import Candidate, Row, Signatory, Source, Table

CANDIDATE_COLUMNS = ("year", "name", "short_name", "email")


SIGNATORY_COLUMNS = ("year", "name")


# Columns whose values end up in e-mail headers or file names: one line, no controls.
HEADER_COLUMNS = ("name", "short_name", "email", "cc", "bcc")


_EMAIL_SPLIT = re.compile(r"[;,\n]")


_WINDOWS_RESERVED = {
    "con", "prn", "aux", "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}


SLUG_MAX = 60


def slug_for(text: str) -> str:
    """A stable, ASCII, file-name-safe slug: 'Côte d'Ivoire' -> 'cote-d-ivoire'."""
    from slugify import slugify

    slug = slugify(text, max_length=SLUG_MAX, word_boundary=True, save_order=True)
    if not slug:
        return ""
    if slug in _WINDOWS_RESERVED:
        slug = f"{slug}-letter"
    return slug


def bad_character(text: str, *, allow_newline: bool) -> str | None:
    """The first character that must not be in a value, described; None when clean."""
    if text.isprintable():  # no control, format, separator or unassigned character
        return None
    for ch in text:
        if ch == "\n" and allow_newline:
            continue
        if ch == "\t":
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Co", "Cn") or ch in "\u2028\u2029":
            if ch in "\n\r":
                return "a line break"
            return f"the control character U+{ord(ch):04X}"
        if ch in BIDI_CONTROLS:
            return (f"the direction control U+{ord(ch):04X}, which shows the text around it "
                    "in another order than it is written")
    return None


#: Explicit embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they make a
#: value display in another order than its characters ("Trojan Source"), so a country
#: name could read differently in the letter than in the spreadsheet. Right-to-left text
#: needs none of them; the marks U+200E and U+200F and the joiners stay allowed.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def language_problem(tag: str) -> str | None:
    """None when ``tag`` is a language Babel knows (BCP 47: fr, es-419, zh-Hans, en-GB)."""
    from babel import Locale, UnknownLocaleError

    if not re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", tag):
        return f"{tag!r} is not a language tag: write it as fr, es, ar, zh, ru or en-GB"
    try:
        Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return (f"{tag!r} is not a language letterforge knows: write it as fr, es, ar, zh, "
                "ru or en-GB")
    return None


def split_emails(cell: str) -> list[str]:
    return [part.strip() for part in _EMAIL_SPLIT.split(cell) if part.strip()]


# Addresses of the plainest form (ASCII letters, digits and . _ % + - before the @, lower
# case domain labels): valid for email-validator too, so they need no call to it. Any
# other address gets email-validator's verdict and message.
_PLAIN_EMAIL = re.compile(
    r"(?=.{3,254}$)(?=[^@]{1,64}@)[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63})")


_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def check_email(address: str) -> str | None:
    """None when the address is valid, else the reason (from email-validator)."""
    m = _PLAIN_EMAIL.fullmatch(address)
    if m and m.group(1) not in _SPECIAL_USE:
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return str(exc)
    if not address.isascii() and result.ascii_email:
        return f"write it in its ASCII form, {result.ascii_email}, which every server accepts"
    return None


@dataclass(frozen=True)
class Rows:
    candidates: list[Candidate]
    signatories: list[Signatory]
    problems: list[Problem]


def _missing_columns(table: Table, required: Sequence[str]) -> list[Problem]:
    missing = [c for c in required if c not in table.headers]
    if not missing:
        return []
    found = ", ".join(h for h in table.raw_headers if h) or "none"
    names = ", ".join(missing)
    return [
        Problem(table.display, 1, None,
                f"missing column{'s' if len(missing) > 1 else ''} {names} "
                f"(columns found: {found}); add {'them' if len(missing) > 1 else 'it'} "
                "to the header row")
    ]


def _year_of(table: Table, row: Row, problems: list[Problem]) -> int | None:
    raw = row.cells.get("year", "")
    if not raw:
        problems.append(Problem(table.display, row.line, "year", "empty cell: give the year"))
        return None
    try:
        return int(raw.split(".")[0] if re.fullmatch(r"\d{4}\.0+", raw) else raw)
    except ValueError:
        problems.append(Problem(table.display, row.line, "year",
                                f"{raw!r} is not a year: write it as four digits, e.g. 2013"))
        return None


#: The longest run of characters without a space a cell may hold: an e-mail address's
#: longest (RFC 5321). A line of a letter holds about 90 characters; a longer word is
#: broken anywhere, and WeasyPrint took minutes to lay out one of 130,000.
MAX_WORD = 254
_LONG_WORD = re.compile(rf"\S{{{MAX_WORD + 1},}}")


def _check_cells(table: Table, row: Row, problems: list[Problem]) -> bool:
    ok = True
    for column, value in row.cells.items():
        bad = bad_character(value, allow_newline=column not in HEADER_COLUMNS)
        if bad:
            problems.append(Problem(table.display, row.line, column,
                                    f"contains {bad}: remove it"
                                    + (" (this value goes into e-mail headers and file names)"
                                       if column in HEADER_COLUMNS else "")))
            ok = False
            continue
        long_word = _LONG_WORD.search(value)
        if long_word:
            problems.append(Problem(table.display, row.line, column,
                                    f"holds {len(long_word.group()):,} characters without a "
                                    f"space ({long_word.group()[:20]}...): a word may have "
                                    f"{MAX_WORD} at most; put spaces in it, or shorten it"))
            ok = False
    return ok


def _rows_of_year(table: Table, year: int, problems: list[Problem], years: set[int]
                  ) -> Iterator[Row]:
    """The rows of ``year``, as they come; a row whose year cannot be read is a problem,
    and every year the file has goes into ``years`` (said when ``year`` has no rows)."""
    for row in table.rows:
        row_year = _year_of(table, row, problems)
        if row_year is None:
            continue
        years.add(row_year)
        if row_year == year:
            yield row


# Complexity over 20, kept: one check per column of a candidate's row, each with its own message.
def candidates_for_year(table: Table, year: int) -> tuple[list[Candidate], list[Problem]]:
    problems = _missing_columns(table, CANDIDATE_COLUMNS)
    if problems:
        return [], problems
    result: list[Candidate] = []
    years: set[int] = set()
    seen_names: dict[str, int] = {}
    seen_slugs: dict[str, int] = {}
    for row in _rows_of_year(table, year, problems, years):
        before = len(problems)
        _check_cells(table, row, problems)
        for column, what in (("name", "a name"), ("short_name", "a short name"),
                             ("email", "an e-mail address")):
            if not row.cells.get(column):
                problems.append(Problem(table.display, row.line, column,
                                        f"empty cell: every candidate needs {what}"))
        emails = split_emails(row.cells.get("email", ""))
        for address in emails:
            reason = check_email(address)
            if reason:
                problems.append(Problem(table.display, row.line, "email",
                                        f"{address!r} is not a valid e-mail address: {reason}"))
        for column in ("cc", "bcc"):
            for address in split_emails(row.cells.get(column, "")):
                reason = check_email(address)
                if reason:
                    problems.append(Problem(table.display, row.line, column,
                                            f"{address!r} is not a valid e-mail address: "
                                            f"{reason}"))
        if len(problems) > before:
            continue
        name, short = row.cells["name"], row.cells["short_name"]
        key = short.casefold()
        dup = seen_names.get(key) or seen_names.get(" ".join(name.casefold().split()))
        if dup:
            problems.append(Problem(table.display, row.line, "short_name",
                                    f"{short!r} is already a candidate for {year} on line "
                                    f"{dup}: remove the duplicate row"))
            continue
        slug = slug_for(short)
        if not slug:
            problems.append(Problem(table.display, row.line, "short_name",
                                    f"{short!r} gives no file name: write the short name "
                                    "with at least one letter or digit"))
            continue
        if slug in seen_slugs:
            problems.append(Problem(table.display, row.line, "short_name",
                                    f"{short!r} gives the same file name ({slug}) as the "
                                    f"candidate on line {seen_slugs[slug]}: make the short "
                                    "names differ"))
            continue
        seen_names[key] = row.line
        seen_names[" ".join(name.casefold().split())] = row.line
        seen_slugs[slug] = row.line
        lang = row.cells.get("lang", "").strip()
        if lang:
            reason = language_problem(lang)
            if reason:
                problems.append(Problem(table.display, row.line, "lang", reason))
                continue
        result.append(Candidate(
            year=year, name=name, short_name=short, emails=tuple(emails), slug=slug,
            fields=dict(row.cells), source=Source(table.display, row.line), lang=lang,
        ))
    if not result and not problems:
        present = ", ".join(str(y) for y in sorted(years)) or "none"
        problems.append(Problem(table.display, None, None,
                                f"no candidates for {year} (years in the file: {present}); "
                                "add rows for that year or pick another --year"))
    return result, problems


def signatories_for_year(table: Table, year: int) -> tuple[list[Signatory], list[Problem]]:
    problems = _missing_columns(table, SIGNATORY_COLUMNS)
    if problems:
        return [], problems
    result: list[Signatory] = []
    years: set[int] = set()
    seen: dict[str, int] = {}
    for row in _rows_of_year(table, year, problems, years):
        if not _check_cells(table, row, problems):
            continue
        name = row.cells.get("name", "")
        if not name:
            problems.append(Problem(table.display, row.line, "name",
                                    "empty cell: give the organisation's name or delete the row"))
            continue
        key = " ".join(name.casefold().split())
        if key in seen:
            problems.append(Problem(table.display, row.line, "name",
                                    f"{name!r} already signs for {year} on line {seen[key]}: "
                                    "remove the duplicate row"))
            continue
        seen[key] = row.line
        result.append(Signatory(year=year, name=name, fields=dict(row.cells),
                                source=Source(table.display, row.line)))
    if not result and not problems:
        present = ", ".join(str(y) for y in sorted(years)) or "none"
        problems.append(Problem(table.display, None, None,
                                f"no signatories for {year} (years in the file: {present}); "
                                "a letter needs at least one: add rows for that year"))
    return result, problems
