"""Validate: tables, templates, the stylesheet and the reference DOCX -> typed rows and a
list of every problem found.

Pure: no reading, no writing. Each problem names the file, the line and the column and
says what to do, so ``letterforge check`` can report them all at once. The stylesheet is
read with tinycss2 (the CSS parser WeasyPrint itself uses), so a comment, a string or an
escape cannot hide a resource or a font from these checks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Problem, display_path
from .load import Row, Table
from .models import Candidate, Signatory, Source

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
    return ok


def candidates_for_year(table: Table, year: int) -> tuple[list[Candidate], list[Problem]]:
    problems = _missing_columns(table, CANDIDATE_COLUMNS)
    if problems:
        return [], problems
    result: list[Candidate] = []
    years: set[int] = set()
    seen_names: dict[str, int] = {}
    seen_slugs: dict[str, int] = {}
    for row in table.rows:
        row_year = _year_of(table, row, problems)
        if row_year is None:
            continue
        years.add(row_year)
        if row_year != year:
            continue
        before = len(problems)
        _check_cells(table, row, problems)
        for column in ("name", "short_name", "email"):
            if not row.cells.get(column):
                problems.append(Problem(table.display, row.line, column,
                                        f"empty cell: every candidate needs a {column}"))
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
    for row in table.rows:
        row_year = _year_of(table, row, problems)
        if row_year is None:
            continue
        years.add(row_year)
        if row_year != year:
            continue
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


# ----- the stylesheet -----------------------------------------------------------------


def _css_rules(css: str) -> list[Any]:
    import tinycss2

    return list(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))


def _tokens(tokens: Sequence[Any] | None) -> Iterator[Any]:
    """Every component value, nested blocks and function arguments included."""
    for t in tokens or ():
        yield t
        if t.type == "function":
            yield from _tokens(t.arguments)
        elif t.type in ("() block", "[] block", "{} block"):
            yield from _tokens(t.content)


def css_urls(css: str) -> list[tuple[str, int]]:
    """(reference, line) of every url() and @import of a stylesheet, escapes resolved."""
    out: list[tuple[str, int]] = []
    for rule in _css_rules(css):
        if rule.type not in ("at-rule", "qualified-rule"):
            continue
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            for t in rule.prelude:
                if t.type == "string":
                    out.append((t.value, t.source_line))
                    break
        for t in _tokens([*rule.prelude, *(rule.content or [])]):
            if t.type == "url":
                out.append((t.value, t.source_line))
            elif t.type == "function" and t.lower_name in ("url", "src"):
                for arg in t.arguments:
                    if arg.type == "string":
                        out.append((arg.value, arg.source_line))
                        break
    return out


def css_references(css: str, css_path: Path, root: Path
                   ) -> list[tuple[str, int, Path | None]]:
    """(reference, line, file) of every resource the stylesheet names; ``file`` is the
    file in the templates folder, or None for a reference that is not one (remote,
    outside the folder, missing). ``data:`` URLs carry their content: not listed."""
    from urllib.parse import unquote, urlparse

    out = []
    for ref, line in css_urls(css):
        ref = ref.strip()
        if not ref or ref.lower().startswith("data:"):
            continue
        parsed = urlparse(ref)
        target: Path | None = None
        if not parsed.scheme or parsed.scheme == "file":
            try:
                candidate = (css_path.parent / unquote(parsed.path)).resolve()
            except (OSError, ValueError):
                candidate = None
            if (candidate is not None and candidate.is_relative_to(root)
                    and candidate.is_file()):
                target = candidate
        out.append((ref, line, target))
    return out


_SVG_HREF = re.compile(r"""(?:xlink:)?href\s*=\s*["']?\s*([^"'\s>]+)""", re.I)


#: No size or number in a letter's stylesheet comes near this; 1e400pt is infinity, which
#: stopped the PDF writer with a traceback.
MAX_CSS_NUMBER = 100_000


def _huge_numbers(css: str, shown: str) -> list[Problem]:
    import math

    for rule in _css_rules(css):
        for t in _tokens([*getattr(rule, "prelude", ()), *(getattr(rule, "content", ()) or ())]):
            if t.type in ("number", "dimension", "percentage") \
                    and not (math.isfinite(t.value) and abs(t.value) <= MAX_CSS_NUMBER):
                return [Problem(shown, t.source_line, None,
                                f"{t.serialize()[:40]!r} is not a size a page can hold: write "
                                "a size such as 11pt or 25mm")]
    return []


def stylesheet_problems(css: str, css_path: Path, root: Path) -> list[Problem]:
    """Every resource the stylesheet names must be a file in the templates folder; an
    inline ``data:`` image may not name anything outside itself."""
    from urllib.parse import unquote, urlparse

    shown = display_path(css_path)
    root = root.resolve()
    problems = []
    try:
        refs = css_urls(css)
    except Exception as exc:  # tinycss2 is lenient; this is only a safety net
        return [Problem(shown, None, None, f"cannot be read as CSS: {exc}")]
    problems.extend(_huge_numbers(css, shown))
    for ref, line in refs:
        ref = ref.strip()
        if not ref:
            continue
        if ref.lower().startswith("data:"):
            body = unquote(ref.partition(",")[2])
            for href in _SVG_HREF.findall(body):
                if not href.startswith("#"):
                    problems.append(Problem(shown, line, None,
                                            f"an inline data: image names {href!r}: an inline "
                                            "image may only use what it contains; put the "
                                            "file in the templates folder instead"))
            continue
        parsed = urlparse(ref)
        if parsed.scheme and parsed.scheme != "file":
            problems.append(Problem(shown, line, None,
                                    f"{ref!r}: letterforge fetches nothing from the network; "
                                    "put the file in the templates folder and name it there"))
            continue
        try:
            target = (css_path.parent / unquote(parsed.path)).resolve()
        except (OSError, ValueError):
            target = None
        if target is None or not target.is_relative_to(root):
            problems.append(Problem(shown, line, None,
                                    f"{ref!r} is outside the templates folder "
                                    f"({display_path(root)}): only files in it can be used"))
        elif not target.is_file():
            problems.append(Problem(shown, line, None,
                                    f"{ref!r} not found in {display_path(root)}"))
    return problems


GENERIC_FAMILIES = {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui",
                    "emoji", "math", "fangsong", "ui-serif", "ui-sans-serif", "ui-monospace",
                    "ui-rounded", "inherit", "initial", "unset", "revert", "revert-layer"}


def _declarations(tokens: Sequence[Any] | None) -> Iterator[tuple[Any, bool]]:
    """(declaration, inside @font-face) of a block's content, nested rules included."""
    import tinycss2

    for item in tinycss2.parse_blocks_contents(tokens or [], skip_comments=True,
                                               skip_whitespace=True):
        if item.type == "declaration":
            yield item, False
        elif item.type in ("at-rule", "qualified-rule") and item.content is not None:
            face = item.type == "at-rule" and item.lower_at_keyword == "font-face"
            for decl, inner in _declarations(item.content):
                yield decl, face or inner


def _families(value: Sequence[Any]) -> list[str]:
    names: list[str] = []
    current: list[str] = []
    for t in [*value, None]:
        if t is None or (t.type == "literal" and t.value == ","):
            name = " ".join(current).strip()
            if name:
                names.append(name)
            current = []
        elif t.type == "string" or t.type == "ident":
            current.append(t.value)
    return names


def font_families(css: str) -> tuple[list[tuple[str, int]], set[str]]:
    """(family, line) of every font-family the stylesheet asks for, and the families its
    @font-face rules provide (lower-cased)."""
    asked: list[tuple[str, int]] = []
    provided: set[str] = set()
    for rule in _css_rules(css):
        if rule.type not in ("at-rule", "qualified-rule") or rule.content is None:
            continue
        face = rule.type == "at-rule" and rule.lower_at_keyword == "font-face"
        for decl, inner in _declarations(rule.content):
            if decl.lower_name != "font-family":
                continue
            for family in _families(decl.value):
                if face or inner:
                    provided.add(family.lower())
                else:
                    asked.append((family, decl.source_line))
    return asked, provided


def font_problems(css: str, css_path: Path, installed: frozenset[str] | None) -> list[Problem]:
    """Every font the stylesheet names must be installed or given by an @font-face rule:
    a missing font is an error, never a silent fallback to another one."""
    shown = display_path(css_path)
    if installed is None:
        return [Problem(shown, None, None, "cannot check the fonts the stylesheet names: "
                        "fontconfig's fc-list is not installed (Debian: fontconfig)")]
    asked, provided = font_families(css)
    problems: list[Problem] = []
    seen: set[str] = set()
    for name, line in asked:
        key = name.lower()
        if key in GENERIC_FAMILIES or key in provided or key in seen:
            continue
        seen.add(key)
        if key not in installed:
            problems.append(Problem(shown, line, None,
                                    f"the font {name!r} is not installed: install it "
                                    "(./setup.sh installs the sample's fonts) or name "
                                    "another; letterforge does not fall back to another "
                                    "font silently"))
    return problems


# ----- the reference DOCX -------------------------------------------------------------

REFERENCE_MAX_BYTES = 64 * 1024 * 1024  # what a reference document may expand to


def reference_docx_problems(data: bytes, shown: str) -> list[Problem]:
    """A reference document must be a Word package of a sane size: a few kB of styles,
    perhaps a logo; never a part that expands to gigabytes."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return [Problem(shown, None, None, f"is not a Word document python-docx can open "
                        f"({exc}); save it again from Word or LibreOffice as .docx")]
    total = sum(i.file_size for i in infos)
    if total > REFERENCE_MAX_BYTES:
        biggest = max(infos, key=lambda i: i.file_size)
        return [Problem(shown, None, None,
                        f"expands to {total // (1024 * 1024)} MB ({biggest.filename}: "
                        f"{biggest.file_size // (1024 * 1024)} MB); a reference document "
                        f"may expand to {REFERENCE_MAX_BYTES // (1024 * 1024)} MB at most: "
                        "keep only the styles, headers and footers in it")]
    try:
        import docx

        docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several kinds on a broken package
        return [Problem(shown, None, None, f"is not a Word document python-docx can open "
                        f"({exc}); save it again from Word or LibreOffice as .docx")]
    return []


# ----- the e-mail template ------------------------------------------------------------


def email_settings_problems(front_matter: Any, shown: str) -> list[Problem]:
    """What is wrong with the e-mail template's own settings (sender, reply-to, bcc)."""
    from email.utils import parseaddr

    out: list[Problem] = []
    sender = front_matter.get("from")
    if not sender or not isinstance(sender, str):
        out.append(Problem(shown, None, "from",
                           "no sender: add 'from: Name <address>' to the front matter"))
        return out
    _, addr = parseaddr(sender)
    reason = check_email(addr) if addr else "no address"
    if reason:
        out.append(Problem(shown, None, "from",
                           f"{sender!r} is not a valid sender address: {reason}"))
    for key in ("reply_to", "bcc"):
        value = front_matter.get(key)
        if value is None:
            continue
        for address in split_emails(str(value)):
            reason = check_email(parseaddr(address)[1] or address)
            if reason:
                out.append(Problem(shown, None, key,
                                   f"{address!r} is not a valid e-mail address: {reason}"))
    return out


# ----- the letterhead, the footer and the signature -------------------------------------

LETTERHEAD_KEYS = ("logo", "logo_alt", "name", "address", "contact")
FOOTER_KEYS = ("text", "pages")


_NOT_TEXT = ("write it as one line of text (in quotes if it is yes, no, true, false or a "
             "date): a list or keys would print as Python's brackets in the letter")


#: A letterhead or footer line this long cannot fit its margin (and WeasyPrint takes
#: half a minute to lay out a margin box of 3,000 characters before that is found).
MAX_FURNITURE_LINE = 200


def _too_long(problem: Any, section: str, key: str | None, value: Any) -> None:
    lines = value if isinstance(value, list) else [value]
    longest = max((len(line) for v in lines if _is_text(v)
                   for line in str(v).split("\n")), default=0)
    if longest > MAX_FURNITURE_LINE:
        problem(section, key, f"a line of {longest} characters is too long for the "
                f"{section}: {MAX_FURNITURE_LINE} at most (break it into lines, or shorten it)")


def _is_text(value: Any) -> bool:
    """A front-matter value that prints as the text written: a string or a number (not
    yes/no, which YAML reads as true/false, nor a date, a list or keys)."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def letterhead_problems(front: Any, images: Any, shown: str, formats: Sequence[str],
                        line_of: Any = None) -> list[Problem]:
    """What is wrong with the front matter's ``letterhead``, ``footer`` and the signer's
    ``signature``: unknown keys (a typo would drop a line silently), a logo or signature
    without its alt text (the PDF must stay PDF/UA-1), an SVG without the PNG the DOCX
    shows in its place. ``line_of(section, key)`` gives a key's line in the file."""
    out: list[Problem] = []

    def problem(section: str, key: str | None, message: str) -> None:
        line = line_of(section, key or section) if line_of is not None else None
        out.append(Problem(shown, line, f"{section}.{key}" if key else section, message))

    head = front.get("letterhead")
    if head is not None:
        if not isinstance(head, dict):
            problem("letterhead", None, "must be keys and values: logo, logo_alt, name, "
                    "address (lines), contact")
        else:
            for key in head:
                if key not in LETTERHEAD_KEYS:
                    problem("letterhead", str(key), f"unknown key {key!r}: the letterhead "
                            f"takes {', '.join(LETTERHEAD_KEYS)}")
            for key in ("address", "contact"):
                value = head.get(key)
                if value is not None and not (_is_text(value) or isinstance(value, list)
                                              and all(_is_text(v) for v in value)):
                    problem("letterhead", key, f"write the {key} as lines of text: a list "
                            "(- Rue de l'Exemple 1) or one line (in quotes if it is yes, "
                            "no, true, false or a date)")
            for key in ("logo", "logo_alt", "name"):
                if head.get(key) is not None and not _is_text(head[key]):
                    problem("letterhead", key, _NOT_TEXT)
            for key in ("name", "address", "contact"):
                _too_long(problem, "letterhead", key, head.get(key))
            if head.get("logo") and not str(head.get("logo_alt") or "").strip():
                problem("letterhead", "logo", "the logo has no alt text: add 'logo_alt: "
                        "<what the logo shows>' (the PDF must stay accessible, PDF/UA-1)")
    footer = front.get("footer")
    if isinstance(footer, str):
        _too_long(problem, "footer", None, footer)
    if footer is not None and not isinstance(footer, str):
        if not isinstance(footer, dict):
            problem("footer", None, "write the footer as one line (the organisation) or as "
                    "text: and pages: keys")
        else:
            for key in footer:
                if key not in FOOTER_KEYS:
                    problem("footer", str(key), f"unknown key {key!r}: the footer takes "
                            f"{', '.join(FOOTER_KEYS)}")
            if footer.get("text") is not None and not _is_text(footer["text"]):
                problem("footer", "text", _NOT_TEXT)
            for key in ("text", "pages"):
                _too_long(problem, "footer", key, footer.get(key))
            pages = footer.get("pages")
            if pages is not None and ("{page}" not in str(pages) or "{pages}" not in str(pages)):
                problem("footer", "pages", f"{pages!r} must hold {{page}} and {{pages}}, "
                        "e.g. 'page {page} of {pages}'")
    signer = front.get("signer")
    for key in ("signature", "signature_alt"):
        if isinstance(signer, dict) and signer.get(key) is not None \
                and not _is_text(signer[key]):
            problem("signer", key, _NOT_TEXT)
    if isinstance(signer, dict) and signer.get("signature") \
            and not str(signer.get("signature_alt") or "").strip():
        problem("signer", "signature", "the signature image has no alt text: add "
                "'signature_alt: Signature of <name>' (the PDF must stay accessible)")
    if "docx" in formats:
        for image in images.values():
            if image.kind == "svg" and image.fallback is None:
                png = image.name[: image.name.rfind(".")] + ".png"
                out.append(Problem(shown, None, None, (
                    f"the SVG image {image.name!r} needs a PNG copy beside it for the DOCX "
                    f"({png}): Word and LibreOffice show it where they cannot draw SVG; "
                    "export one from the drawing program, or use a PNG")))
    return out


# ----- fonts and the characters of a letter -------------------------------------------


def drawn(ch: str) -> bool:
    """Whether a character is drawn with a glyph of its own (not a space, a control, a
    format character or a variation selector)."""
    if ch.isspace():
        return False
    if unicodedata.category(ch) in ("Cc", "Cf"):
        return False
    cp = ord(ch)
    return not (0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF)


def uncovered(text: str, covered: frozenset[int]) -> list[str]:
    """The characters of ``text`` that ``covered`` does not have, each once, in order."""
    return [ch for ch in dict.fromkeys(text) if ord(ch) not in covered and drawn(ch)]


def describe_character(ch: str) -> str:
    return f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')})"
