"""The only stage that reads input: CSV tables and the master template.

CSV is read as spreadsheets write it: UTF-8 with or without a byte-order mark, comma,
semicolon or tab delimited, CRLF or LF line ends, quoted cells with delimiters and line
breaks, blank lines, headers with stray spaces or another case. Anything that is not
valid in the expected encoding is rejected with the file and line, never guessed.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Problem, display_path
from .models import TemplateSource

DELIMITERS = ",;\t"


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line of the row's first physical line
    cells: Mapping[str, str]  # normalised header -> stripped text


@dataclass(frozen=True)
class Table:
    path: Path
    display: str
    headers: tuple[str, ...]  # normalised
    raw_headers: tuple[str, ...]  # as written
    rows: tuple[Row, ...]
    delimiter: str
    sha256: str


HEADER_ALIASES = {"e_mail": "email", "email_address": "email", "e_mail_address": "email"}


def normalise_header(name: str) -> str:
    """'  Short Name ' -> 'short_name'; headers are matched case- and space-insensitively."""
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return HEADER_ALIASES.get(key, key)


def _decode(data: bytes, path: Path, encoding: str | None) -> str:
    shown = display_path(path)
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise InputError(
                Problem(shown, None, None, f"unknown encoding {encoding!r} given with --encoding")
            ) from exc
        enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc = "utf-16"  # Excel's "Unicode Text" export
    else:
        enc = "utf-8-sig"
    try:
        return data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        if encoding:
            hint = f"it is not valid {encoding}; check the encoding the file was saved in"
        else:
            hint = (
                "it is not UTF-8. Save it as 'CSV UTF-8' from your spreadsheet, "
                "or name its encoding with --encoding (for example --encoding cp1252)"
            )
        raise InputError(
            Problem(shown, line, None, f"byte 0x{data[exc.start]:02x} cannot be read: {hint}")
        ) from exc


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


def read_table(path: Path, *, encoding: str | None = None) -> Table:
    """Read a CSV file into normalised rows; raise :class:`InputError` on what cannot be read."""
    import hashlib

    shown = display_path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(Problem(shown, None, None, "file not found")) from exc
    except IsADirectoryError as exc:
        raise InputError(Problem(shown, None, None, "is a folder, not a CSV file")) from exc
    except OSError as exc:
        raise InputError(Problem(shown, None, None, f"cannot be read: {exc.strerror}")) from exc
    text = _decode(data, path, encoding)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(
            Problem(shown, line, None, "contains NUL bytes: this is not a text CSV file "
                    "(save it from your spreadsheet as CSV UTF-8)")
        )
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
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
    )


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


def read_template(path: Path) -> TemplateSource:
    """Read the master letter and split its YAML front matter from the body."""
    shown = display_path(path)
    import hashlib

    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(Problem(shown, None, None, "template not found")) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            Problem(shown, None, None, "is not UTF-8 text: save the template as UTF-8")
        ) from exc
    except OSError as exc:
        raise InputError(Problem(shown, None, None, f"cannot be read: {exc.strerror}")) from exc
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
            loaded = yaml.safe_load(yaml_text) if yaml_text.strip() else {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 1
            reason = getattr(exc, "problem", None) or str(exc)
            raise InputError(
                Problem(shown, line, None, f"front matter is not valid YAML: {reason}")
            ) from exc
        if not isinstance(loaded, dict):
            raise InputError(
                Problem(shown, 2, None, "front matter must be 'key: value' lines")
            )
        front = {str(k): v for k, v in loaded.items()}
        body_first = end + 2
        # Keep the line count so Jinja's line numbers are the file's.
        lines = [""] * (end + 1) + lines[end + 1:]
    return TemplateSource(
        path=path, front_matter=front, body="\n".join(lines), body_first_line=body_first,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


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
