"""The only stage that reads: CSV tables, templates and the files they include, the
stylesheet and what it names, the reference DOCX, the installed fonts, the environment.

CSV is read as spreadsheets write it: UTF-8 with or without a byte-order mark (whatever
``--encoding`` says: it names the encoding of the files that are not UTF-8), comma,
semicolon or tab delimited, CRLF or LF line ends, quoted cells with delimiters and line
breaks, blank lines, headers with stray spaces or another case. Anything that is not
valid in the expected encoding is rejected with the file and line, never guessed.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .config import Inputs
from .errors import InputError, Problem, display_path
from .models import Assets, Row, Table, Template

DELIMITERS = ",;\t"


HEADER_ALIASES = {"e_mail": "email", "email_address": "email", "e_mail_address": "email"}


def normalise_header(name: str) -> str:
    """'  Short Name ' -> 'short_name'; headers are matched case- and space-insensitively."""
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return HEADER_ALIASES.get(key, key)


@dataclass(frozen=True)
class Decoded:
    """A text file's bytes, its text and the codec that read it (``utf-8-sig`` for UTF-8
    with or without a byte-order mark)."""

    data: bytes
    text: str
    codec: str

    @property
    def bom(self) -> bytes:
        for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            if self.data.startswith(bom):
                return bom
        return b""

    def encode_more(self, text: str) -> bytes:
        """``text`` in the file's own encoding, to append to it (no second BOM)."""
        if self.codec == "utf-16":
            return text.encode("utf-16-le" if self.bom == codecs.BOM_UTF16_LE
                               else "utf-16-be")
        return text.encode("utf-8" if self.codec == "utf-8-sig" else self.codec)


def decode(data: bytes, path: Path, encoding: str | None) -> Decoded:
    """A CSV file's text. Valid UTF-8 (with or without a BOM) is read as UTF-8 whatever
    ``encoding`` says, so one ``--encoding`` can name the encoding of the files that are
    not UTF-8 without garbling those that are; a file that is neither is an error naming
    the line of its first bad byte."""
    shown = display_path(path)
    if encoding:
        try:
            text_encoding = codecs.lookup(encoding)._is_text_encoding
        except LookupError as exc:
            raise InputError(
                Problem(shown, None, None, f"unknown encoding {encoding!r} given with --encoding")
            ) from exc
        if not text_encoding:  # rot13, base64, zlib...: codecs, not character encodings
            raise InputError(Problem(
                shown, None, None, f"{encoding!r} given with --encoding is not a character "
                "encoding: name the one the file was saved in, such as cp1252 or latin-1"))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc = "utf-16"  # Excel's "Unicode Text" export
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if not encoding or codecs.lookup(encoding).name == "utf-8":
                line = data[: exc.start].count(b"\n") + 1
                hint = ("it is not UTF-8. Save it as 'CSV UTF-8' from your spreadsheet, "
                        "or name its encoding with --encoding (for example --encoding cp1252)")
                if encoding:
                    hint = "it is not valid UTF-8; check the encoding the file was saved in"
                raise InputError(Problem(
                    shown, line, None, f"byte 0x{data[exc.start]:02x} cannot be read: {hint}"
                )) from exc
            enc = encoding
        else:
            if "\x00" not in text or not encoding:  # NULs: maybe UTF-16 without a BOM
                return Decoded(data, text, "utf-8-sig")
            enc = encoding
    try:
        return Decoded(data, data.decode(enc), enc)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(Problem(
            shown, line, None, f"byte 0x{data[exc.start]:02x} cannot be read: the file is "
            f"neither UTF-8 nor {enc}; check the encoding it was saved in"
        )) from exc


def read_text_file(path: Path, encoding: str | None = None) -> Decoded:
    """A CSV file's bytes and text (see :func:`decode`)."""
    shown = display_path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(Problem(shown, None, None, "file not found")) from exc
    except IsADirectoryError as exc:
        raise InputError(Problem(shown, None, None, "is a folder, not a CSV file")) from exc
    except OSError as exc:
        raise InputError(Problem(shown, None, None, f"cannot be read: {exc.strerror}")) from exc
    return decode(data, path, encoding)


_SEP_LINE = re.compile(r"^sep=(.)\s*$", re.I)


def _sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: the candidate that splits it into most fields."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    m = _SEP_LINE.match(first)
    if m:  # Excel's "sep=;" hint line
        return m.group(1)
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


#: Spreadsheets read directly (python-calamine): Excel's and LibreOffice's own formats.
SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods")
#: A spreadsheet's size and its sheet's cells at most (a sign-on form of thousands of
#: rows is far inside; a zip bomb or a sheet of a million rows is not).
MAX_SPREADSHEET_BYTES = 64 * 2**20
MAX_CELLS = 2_000_000


def read_table(path: Path, *, encoding: str | None = None, sheet: str | None = None,
               role: str = "") -> Table:
    """Read a CSV file or a spreadsheet (``.xlsx``, ``.ods``: ``sheet``, or the one sheet
    named ``role`` or the only one) into normalised rows; raise :class:`InputError` on
    what cannot be read."""
    if path.suffix.lower() in SPREADSHEETS:
        return read_spreadsheet(path, sheet, role)
    return _read_csv(path, encoding)


def read_input(inputs: Inputs, role: str) -> Table:
    """The candidates or the signatories (``role``) as ``inputs`` name them: the file,
    its encoding (a CSV) or its sheet (a spreadsheet)."""
    path = inputs.candidates if role == "candidates" else inputs.signatories
    return read_table(path, encoding=inputs.encoding_of(role), sheet=inputs.sheet_of(role),
                      role=role)


def _record_line(text: str, index: int, delimiter: str) -> int:
    """The line where the row holding ``text[index]`` begins (a quoted cell may run over
    several lines), as every other problem of a row names it; the character's own line
    when the file cannot be read as CSV that far."""
    physical = text[:index].count("\n") + 1
    reader = csv.reader(re.split(r"(?<=\n)", text), delimiter=delimiter, strict=True)
    start = 1
    try:
        for _row in reader:
            if reader.line_num >= physical:
                return start
            start = reader.line_num + 1
    except csv.Error:
        pass
    return physical


# Complexity over 20, kept: one check per way a spreadsheet export goes wrong, each with its line.
def _read_csv(path: Path, encoding: str | None) -> Table:
    shown = display_path(path)
    decoded = read_text_file(path, encoding)
    data, text = decoded.data, decoded.text
    delimiter = _sniff_delimiter(text)
    if "\x00" in text:
        raise InputError(
            Problem(shown, _record_line(text, text.index("\x00"), delimiter), None,
                    "contains NUL bytes: this is not a text CSV file (save it from your "
                    "spreadsheet as CSV UTF-8)")
        )
    # Lines are counted as editors and grep count them, at "\n": a lone CR inside a cell
    # (an old Mac line break) does not shift the line numbers of the rows after it.
    lines = re.split(r"(?<=\n)", text)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    raw_headers: list[str] | None = None
    headers: list[str] = []
    rows: list[Row] = []
    start = 1
    try:
        for record in reader:
            line = start
            start = reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if raw_headers is None and len(record) <= 2 and _SEP_LINE.match(
                delimiter.join(record)
            ):
                continue
            if raw_headers is None:
                raw_headers = record
                headers = [normalise_header(h) for h in record]
                _check_headers(shown, line, raw_headers, headers)
                continue
            if len(record) > len(headers) and any(c.strip() for c in record[len(headers):]):
                raise InputError(
                    Problem(shown, line, None,
                            f"this row has {len(record)} cells but the header has "
                            f"{len(headers)} columns: a cell may contain an unquoted "
                            f"'{delimiter}'; put quotes around that cell")
                )
            cells = {
                h: _clean(record[i]) if i < len(record) else ""
                for i, h in enumerate(headers)
                if h
            }
            rows.append(Row(line, cells))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise InputError(
                Problem(shown, start, None,
                        f"a cell starting on this line is longer than {csv.field_size_limit()} "
                        "characters: a quote is probably missing, so the rest of the file "
                        "ran into one cell; check the quotes on this line")
            ) from exc
        if "end of data" in str(exc):
            raise InputError(
                Problem(shown, start, None,
                        "a quoted cell on this line is never closed: add the missing "
                        "closing quote (\")")
            ) from exc
        raise InputError(
            Problem(shown, reader.line_num, None,
                    f"not valid CSV ({exc}); check the quotes on this line")
        ) from exc
    if raw_headers is None:
        raise InputError(Problem(shown, None, None, "is empty: it needs a header row"))
    return Table(
        path=path,
        display=shown,
        headers=tuple(headers),
        raw_headers=tuple(h.strip() for h in raw_headers),
        rows=tuple(rows),
        delimiter=delimiter,
        sha256=hashlib.sha256(data).hexdigest(),
        codec=decoded.codec,
    )


def read_spreadsheet(path: Path, sheet: str | None, role: str) -> Table:
    """A sheet of a workbook as a table, its rows numbered as the spreadsheet numbers
    them and named ``file:sheet:row``; numbers and dates as the user typed them (``2013``,
    not ``2013.0``; ``2013-11-05``)."""
    import io

    from python_calamine import CalamineWorkbook

    shown = display_path(path)
    data = _spreadsheet_bytes(path, shown)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        name = _chosen_sheet(shown, book, sheet, role)
        found = book.get_sheet_by_name(name)
        if found.height * max(found.width, 1) > MAX_CELLS:
            raise InputError(Problem(f"{shown}:{name}", None, None, f"has more than "
                                     f"{MAX_CELLS:,} cells: a campaign's list is far smaller; "
                                     "delete the unused rows and columns"))
        grid = found.to_python(skip_empty_area=False)
    except InputError:
        raise
    except Exception as exc:  # calamine's own errors: a damaged or encrypted file
        raise InputError(Problem(shown, None, None, "is not a spreadsheet letterforge can "
                                 f"read ({exc}): save it again from Excel or LibreOffice, "
                                 "or as CSV UTF-8")) from None
    where = f"{shown}:{name}"
    raw_headers, rows = _sheet_rows(where, grid)
    return Table(path=path, display=where, headers=tuple(normalise_header(h)
                                                         for h in raw_headers),
                 raw_headers=tuple(h.strip() for h in raw_headers), rows=tuple(rows),
                 delimiter=",", sha256=hashlib.sha256(data).hexdigest(),
                 codec=path.suffix.lower().lstrip("."))


def _spreadsheet_bytes(path: Path, shown: str) -> bytes:
    try:
        if path.stat().st_size > MAX_SPREADSHEET_BYTES:
            raise InputError(Problem(shown, None, None, f"is larger than "
                                     f"{MAX_SPREADSHEET_BYTES // 2**20} MB: a campaign's list "
                                     "is far smaller; save the sheet alone, or as CSV"))
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(Problem(shown, None, None, "file not found")) from None
    except IsADirectoryError:
        raise InputError(Problem(shown, None, None, "is a folder, not a spreadsheet")) from None
    except OSError as exc:
        raise InputError(Problem(shown, None, None, f"cannot be read: {exc.strerror}")) from None


def _sheet_rows(where: str, grid: list[list[Any]]) -> tuple[list[str], list[Row]]:
    """(the header as written, the rows under it) of a sheet's cells."""
    raw_headers: list[str] | None = None
    headers: list[str] = []
    rows: list[Row] = []
    for i, values in enumerate(grid):
        record = [_cell_text(v) for v in values]
        if not any(c.strip() for c in record):
            continue
        if raw_headers is None:
            raw_headers = record
            while raw_headers and not raw_headers[-1].strip():
                raw_headers.pop()
            headers = [normalise_header(h) for h in raw_headers]
            _check_headers(where, i + 1, raw_headers, headers)
            continue
        if any(c.strip() for c in record[len(headers):]):
            raise InputError(Problem(where, i + 1, None,
                                     f"this row has cells past the header's {len(headers)} "
                                     "columns: give those columns a header, or empty them"))
        rows.append(Row(i + 1, {h: _clean(record[j]) if j < len(record) else ""
                                for j, h in enumerate(headers) if h}))
    if raw_headers is None:
        raise InputError(Problem(where, None, None, "is empty: it needs a header row"))
    return raw_headers, rows


def _chosen_sheet(shown: str, book: Any, sheet: str | None, role: str) -> str:
    """The sheet asked for; else the one named like the data ("Candidates"); else the
    only one with cells."""
    names = list(book.sheet_names)
    setting = f"{role}_sheet" if role else "the sheet setting"
    if sheet is not None:
        if sheet in names:
            return sheet
        raise InputError(Problem(shown, None, None, f"has no sheet {sheet!r} (its sheets: "
                                 f"{', '.join(names)}): correct {setting} in "
                                 "letterforge.toml"))
    named = [n for n in names if role and n.strip().lower() == role]
    if named:
        return named[0]
    used = [n for n in names if book.get_sheet_by_name(n).height > 0]
    if len(used) == 1:
        return used[0]
    if not used:
        raise InputError(Problem(shown, None, None, "is empty: it needs a header row"))
    raise InputError(Problem(shown, None, None, f"has {len(used)} sheets with cells "
                             f"({', '.join(used)}): name the one to read "
                             f"{role.capitalize() or 'after its data'}, or choose it with "
                             f"{setting} = \"...\" under [inputs] in letterforge.toml"))


def _cell_text(value: Any) -> str:
    """A cell as the user typed it: whole numbers without ".0", dates as YYYY-MM-DD,
    times and date-times in ISO form, booleans as TRUE/FALSE (as the spreadsheet shows)."""
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _clean(cell: str) -> str:
    return cell.replace("\r\n", "\n").replace("\r", "\n").strip()


def _check_headers(shown: str, line: int, raw: list[str], headers: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        if not h:
            if any(headers[i + 1:]):
                raise InputError(
                    Problem(shown, line, None,
                            f"column {i + 1} of the header is empty: give every column a name")
                )
            continue
        if h in seen:
            raise InputError(
                Problem(shown, line, None,
                        f"column {raw[i].strip()!r} appears twice in the header "
                        f"(columns {seen[h] + 1} and {i + 1})")
            )
        seen[h] = i


FRONT_MATTER_FENCE = re.compile(r"^(---|\.\.\.)\s*$")
MAX_TEMPLATE_BYTES = 2 * 1024 * 1024  # a letter template is a few kB; refuse what is not one


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML without aliases: ``*name`` can expand a few lines into gigabytes (an "alias
    bomb"); a letter's front matter never needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in front matter: write the "
                "value out", event.start_mark)
        return super().compose_node(parent, index)


def _read_text(path: Path, what: str) -> tuple[bytes, str]:
    shown = display_path(path)
    try:
        if path.stat().st_size > MAX_TEMPLATE_BYTES:
            raise InputError(Problem(shown, None, None,
                                     f"is larger than {MAX_TEMPLATE_BYTES // 1024 // 1024} MB: "
                                     f"not a {what}"))
        raw = path.read_bytes()
        return raw, raw.decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(Problem(shown, None, None, f"{what} not found")) from exc
    except IsADirectoryError as exc:
        raise InputError(Problem(shown, None, None, f"is a folder, not a {what}")) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            Problem(shown, None, None, f"is not UTF-8 text: save the {what} as UTF-8")
        ) from exc
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(Problem(shown, None, None, f"cannot be read: {reason}")) from exc


def _front_matter_line(lines: list[str], key: str) -> int | None:
    for i, line in enumerate(lines):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return i + 1
    return None


def read_template(path: Path, what: str = "template") -> Template:
    """Read a template, split its YAML front matter from the body, and read the files
    its ``{% include %}`` / ``{% import %}`` tags name (from its folder only)."""
    shown = display_path(path)
    raw, text = _read_text(path, what)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    front: dict[str, Any] = {}
    body_first = 1
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if FRONT_MATTER_FENCE.match(lines[i])), None)
        if end is None:
            raise InputError(
                Problem(shown, 1, None, "front matter starts with '---' but never ends: "
                        "add a line '---' after it")
            )
        yaml_text = "\n".join(lines[1:end])
        try:
            loaded = yaml.load(yaml_text, Loader=_FrontMatterLoader) if yaml_text.strip() else {}
        except RecursionError:
            raise InputError(Problem(shown, 2, None, "the front matter is nested too deeply "
                                     "to read (lists or keys inside each other hundreds of "
                                     "times): write it as 'key: value' lines")) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 1
            reason = getattr(exc, "problem", None) or str(exc)
            raise InputError(
                Problem(shown, line, None, f"front matter is not valid YAML: {reason}")
            ) from exc
        except ValueError as exc:  # a date YAML cannot build: 2013-02-30, hour 25
            m = re.search(r"^(\w+)\s*:\s*(\d{4}-\d\d-\d\d[^\s#]*)", yaml_text, re.M)
            key = m.group(1) if m else None
            line = _front_matter_line(lines[1:end], key) if key else None
            raise InputError(Problem(
                shown, line + 1 if line else None, key,
                f"{m.group(2) if m else 'a date'} is not a real date ({exc}): write it as "
                "YYYY-MM-DD")) from exc
        if not isinstance(loaded, dict):
            raise InputError(
                Problem(shown, 2, None, "front matter must be 'key: value' lines")
            )
        front = {str(k): v for k, v in loaded.items()}
        body_first = end + 2
        # Keep the line count so Jinja's line numbers are the file's.
        lines = [""] * (end + 1) + lines[end + 1:]
    body = "\n".join(lines)
    return Template(
        path=path, front_matter=front, body=body, body_first_line=body_first,
        sha256=hashlib.sha256(raw).hexdigest(), includes=_read_includes(body, path),
    )


def _read_includes(body: str, path: Path) -> dict[str, tuple[str, str]]:
    """name -> (path, text) of every template the body includes or imports, recursively.
    A name that is not written in quotes, a file outside the templates folder or a
    missing file is left out: the merge stage reports it with its line."""
    import jinja2
    import jinja2.meta

    root = path.parent.resolve()
    found: dict[str, tuple[str, str]] = {}
    todo = [body]
    while todo:
        source = todo.pop()
        try:
            ast = jinja2.Environment().parse(source)
        except (jinja2.TemplateSyntaxError, RecursionError):
            continue  # the merge stage reports it (with its line when it has one)
        for name in jinja2.meta.find_referenced_templates(ast):
            if name is None or name in found:
                continue
            target = (root / name).resolve()
            if not target.is_relative_to(root) or not target.is_file():
                continue
            try:
                _, text = _read_text(target, "template")
            except InputError:
                continue
            found[name] = (str(target), text)
            todo.append(text)
    return found


def _stylesheet_image_problems(rel: str, data: bytes, css_path: Path, line: int
                               ) -> list[Problem]:
    """An image the stylesheet names is checked as one the template names (its size, an
    SVG's references and what it draws)."""
    from .images import ImageProblem, inspect, kind_of_name

    if kind_of_name(rel) is None:
        return []  # a font, say: WeasyPrint reads it, and the fonts check names it
    try:
        inspect(rel, data)
    except ImageProblem as exc:
        return [Problem(display_path(css_path), line, None, str(exc))]
    return []


def read_assets(template: Template) -> tuple[Assets, list[Problem]]:
    """The stylesheet the template names, the files the stylesheet names (images,
    fonts), and the reference DOCX: all from the templates folder, nothing else."""
    from .css import css_references

    problems: list[Problem] = []
    shown = display_path(template.path)
    root = template.directory.resolve()
    name = str(template.front_matter.get("stylesheet") or "letter.css")
    css = ""
    files: dict[str, bytes] = {}
    css_path = _inside(root, name)
    if "\x00" in name or any(ord(c) < 32 for c in name):
        problems.append(Problem(shown, None, "stylesheet",
                                f"{name!r} is not a file name (it has a control character): "
                                "write the stylesheet's file name, e.g. letter.css"))
        css_path = None
    elif css_path is None:
        problems.append(Problem(shown, None, "stylesheet",
                                f"{name!r} is outside the templates folder: keep the "
                                "stylesheet beside the template"))
    else:
        try:
            css = css_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            problems.append(Problem(shown, None, "stylesheet",
                                    f"stylesheet {display_path(css_path)} not found"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(display_path(css_path), None, None,
                                    f"cannot be read as UTF-8 text: {exc}"))
        for ref, line, target in css_references(css, css_path, root):
            if target is None:
                continue
            rel = target.relative_to(root).as_posix()
            try:
                files[rel] = target.read_bytes()
            except OSError as exc:
                problems.append(Problem(display_path(css_path), line, None,
                                        f"{ref!r} cannot be read: {exc.strerror}"))
                continue
            problems.extend(_stylesheet_image_problems(rel, files[rel], css_path, line))
    reference: bytes | None = None
    ref_name = template.front_matter.get("reference_docx")
    ref_path = _inside(root, str(ref_name or "reference.docx"))
    if ref_path is None:
        problems.append(Problem(shown, None, "reference_docx",
                                f"{ref_name!r} is outside the templates folder: keep the "
                                "reference document beside the template"))
    elif ref_path.is_file():
        try:
            reference = ref_path.read_bytes()
        except OSError as exc:
            problems.append(Problem(display_path(ref_path), None, None,
                                    f"cannot be read: {exc.strerror}"))
    elif ref_name:
        problems.append(Problem(shown, None, "reference_docx",
                                f"{display_path(ref_path)} not found"))
    images, found = read_images(template)
    problems.extend(found)
    return Assets(template.directory, name, css, reference, files, images), problems


#: ``![alt](target`` in a template's Markdown: the file name of an image it shows (the alt
#: text may hold brackets, one level deep: ``![the [1] chart](chart.png)``).
_MD_IMAGE = re.compile(r"!\[(?:[^\[\]\\]|\\.|\[(?:[^\[\]\\]|\\.)*\])*\]\(\s*(<[^>\n]*>|[^)\s]*)")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def image_references(text: str) -> list[tuple[str, int]]:
    """(file name, line) of every Markdown image ``text`` names literally; a name built
    with ``{{ }}`` is left out (the letter check reports it, with its line)."""
    from urllib.parse import unquote

    out: list[tuple[str, int]] = []
    for m in _MD_IMAGE.finditer(text):
        target = m.group(1).strip("<>")
        if "{{" in target or "{%" in target or not target:
            continue
        out.append((unquote(target), text.count("\n", 0, m.start()) + 1))
    return out


def front_matter_line(template: Template, section: str, key: str) -> int | None:
    """The line of ``section:`` / ``  key:`` in the front matter (1-based, in the file)."""
    lines = template.path.read_text(encoding="utf-8-sig").split("\n") \
        if template.path.is_file() else []
    start = _front_matter_line(lines, section)
    if start is None or key == section:
        return start
    for i in range(start, len(lines)):
        if re.match(rf"^\s+{re.escape(key)}\s*:", lines[i]):
            return i + 1
        if lines[i] and not lines[i][0].isspace() and not lines[i].startswith("#"):
            break
    return start


def read_images(template: Template) -> tuple[dict[str, Any], list[Problem]]:
    """The images the template names, from its folder only: the body's (and its
    includes') Markdown images, the letterhead's logo, the signer's signature. An SVG's
    PNG beside it (same name, .png) is read too: the DOCX shows it where Word cannot
    draw SVG. Each is checked (:func:`letterforge.images.inspect`)."""
    from .images import front_matter_images

    shown = display_path(template.path)
    wanted: list[tuple[str, str, int | None, str | None]] = []  # name, file, line, key
    for name, value, _ in front_matter_images(template.front_matter):
        section, sub = name.split(".")
        line = front_matter_line(template, section, sub)
        if "{{" in value or "{%" in value:
            return {}, [Problem(shown, line, name, f"{value!r}: write the image's file name "
                                "as it is, without {{ }}")]
        wanted.append((value, shown, line, name))
    for value, line in image_references(template.body):
        wanted.append((value, shown, line, None))
    for _, (path, text) in sorted(template.includes.items()):
        for value, line in image_references(text):
            wanted.append((value, display_path(Path(path)), line, None))
    images: dict[str, Any] = {}
    problems: list[Problem] = []
    root = template.directory.resolve()
    for value, where, line, key in wanted:
        if value in images:
            continue
        image, problem = _read_image(root, value, where, line, key)
        if problem is not None:
            problems.append(problem)
            continue
        assert image is not None
        images[value] = image
        if image.kind == "svg":
            png = value[: value.rfind(".")] + ".png"
            target = _image_path(root, png)
            if target is not None and target.is_file():
                fallback, problem = _read_image(root, png, where, line, key)
                if problem is not None:
                    problems.append(problem)
                elif fallback is not None:
                    images[png] = fallback
                    images[value] = dataclasses.replace(image, fallback=png)
    return images, problems


def _image_path(root: Path, name: str) -> Path | None:
    """The file an image name names, or None when the name may not be used: a URL, an
    absolute path, a ``..``, or a path (a symbolic link too) that leads out of ``root``."""
    if (not name or _URL_SCHEME.match(name) or name.startswith(("/", "\\"))
            or ".." in re.split(r"[/\\]", name) or "\x00" in name):
        return None
    return _inside(root, name)


def _read_image(root: Path, name: str, where: str, line: int | None, key: str | None
                ) -> tuple[Any, Problem | None]:
    from .images import MAX_IMAGE_BYTES, ImageProblem, inspect

    path = _image_path(root, name)
    if path is None:
        what = ("a URL: letterforge fetches nothing from the network"
                if _URL_SCHEME.match(name) else "outside the templates folder")
        return None, Problem(where, line, key, f"the image {name!r} is {what}; put the "
                             "file in the templates folder and name it from there "
                             "(e.g. logo.png)")
    try:
        info = path.stat()
        size = info.st_size
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):  # a pipe or a device: reading it would hang
            return None, Problem(where, line, key, f"the image {name!r} is not a file (a "
                                 "pipe or a device): put the image file itself there")
        if size > MAX_IMAGE_BYTES:
            return None, Problem(where, line, key, (
                f"the image {name!r} is {size / 2**20:.1f} MB; an image may be "
                f"{MAX_IMAGE_BYTES // 2**20} MB at most: make it smaller"))
        data = path.read_bytes()
    except FileNotFoundError:
        return None, Problem(where, line, key, f"the image {name!r} is not in the templates "
                             f"folder {display_path(root)}: add it or correct the name")
    except IsADirectoryError:
        return None, Problem(where, line, key, f"the image {name!r} is a folder, not a file")
    except OSError as exc:
        return None, Problem(where, line, key, f"the image {name!r} cannot be read: "
                             f"{exc.strerror}")
    try:
        return inspect(name, data), None
    except ImageProblem as exc:
        return None, Problem(where, line, key, str(exc))


def _inside(root: Path, name: str) -> Path | None:
    """``root/name`` resolved, or None when it leads outside ``root``."""
    if "\x00" in name:
        return None
    try:
        path = (root / name).resolve()
    except (OSError, ValueError):
        return None
    return path if path.is_relative_to(root) else None


def installed_font_families() -> frozenset[str] | None:
    """Font families fontconfig (which WeasyPrint uses) knows, lower-cased; None when
    fontconfig's fc-list is not there to ask."""
    import shutil
    import subprocess

    exe = shutil.which("fc-list")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--format", "%{family}\\n"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    names = {name.strip().lower() for line in out.splitlines() for name in line.split(",")}
    return frozenset(n for n in names if n)


def source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH (reproducible-builds.org): the time every embedded date takes."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value.isdigit() else None


_CODEPOINTS: dict[str, frozenset[int] | None] = {}


def fonts_codepoints(families: Iterable[str]) -> dict[str, frozenset[int] | None]:
    """For each family, the characters the font fontconfig gives for it can draw; None
    when fontconfig has no such family (it would substitute another) or cannot be asked.

    They are fontconfig's own list for the font (its charset, from its cache): what
    Pango, which draws the PDF's text, takes a font to cover. It is the font's cmap
    less the C0 controls and any character mapped to a blank glyph (the same as the
    cmap on every font of a Debian system with fonts-noto, but for U+0000-001F, which
    ``uncovered`` does not check). Where fontconfig gives no charset, the cmap, read
    with fontTools (a .ttc collection at the face fontconfig names). fontconfig is
    asked for all the families at once (one ``fc-match`` each, side by side: 15-25 ms
    each); the answers are remembered per process."""
    import shutil
    import subprocess

    asked = list(dict.fromkeys(families))
    todo = [f for f in asked if f not in _CODEPOINTS]
    exe = shutil.which("fc-match") if todo else None
    running = {}
    for family in todo:
        if exe is None:
            _CODEPOINTS[family] = None
            continue
        pattern = re.sub(r"([\\\-:,=])", r"\\\1", family)
        try:
            running[family] = subprocess.Popen(
                [exe, "--format", "%{file}\\n%{index}\\n%{family}\\n%{charset}", pattern],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True)
        except OSError:
            _CODEPOINTS[family] = None
    for family, process in running.items():
        try:
            out, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            out = ""
        _CODEPOINTS[family] = _codepoints(family, out) if process.returncode == 0 else None
    return {f: _CODEPOINTS[f] for f in asked}


def _codepoints(family: str, out: str) -> frozenset[int] | None:
    path, index, families, charset = ([*out.split("\n", 3), "", "", "", ""])[:4]
    if not path or family.strip().lower() not in {f.strip().lower() for f in families.split(",")}:
        return None
    found = _charset(charset)
    if found:
        return found
    from fontTools.ttLib import TTFont

    kwargs = {"fontNumber": int(index or 0)} if path.lower().endswith((".ttc", ".otc")) else {}
    try:
        with TTFont(path, lazy=True, **kwargs) as font:
            return frozenset(font.getBestCmap() or {})
    except Exception:  # a font file fontTools cannot read: as if not installed
        return None


def _charset(text: str) -> frozenset[int] | None:
    """fontconfig's charset as ``fc-match`` prints it (hexadecimal code points and
    ranges: ``20-7e a0 2c6-2c7``); None when empty or not in that form."""
    found: set[int] = set()
    try:
        for part in text.split():
            first, _, last = part.partition("-")
            found.update(range(int(first, 16), int(last or first, 16) + 1))
    except ValueError:
        return None
    return frozenset(found) or None
