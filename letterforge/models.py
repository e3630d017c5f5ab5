"""The data that flows between stages: frozen, plain, no behaviour beyond small conveniences.

Everything here can be pickled, so a worker process gets the same inputs as the main one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .images import Image


@dataclass(frozen=True)
class Row:
    """One row of a data file."""

    line: int  # 1-based line of the row's first physical line
    cells: Mapping[str, str]  # normalised header -> stripped text


@dataclass(frozen=True)
class Table:
    """A data file as read: its headers, rows and where it came from."""

    path: Path
    display: str
    headers: tuple[str, ...]  # normalised
    raw_headers: tuple[str, ...]  # as written
    rows: tuple[Row, ...]
    delimiter: str
    sha256: str
    codec: str = "utf-8-sig"  # what the file was read with

    def year_sha256(self, year: int) -> str:
        """A hash of what a year's batch reads of this file: its headers and the rows of
        that year, cell by cell (another year's rows, added by new-year or for next year,
        leave it as it was)."""
        import hashlib
        import json

        rows = [dict(sorted(r.cells.items())) for r in self.rows
                if r.cells.get("year", "").strip() == str(year)]
        doc = {"headers": list(self.headers), "year": year, "rows": rows}
        return hashlib.sha256(json.dumps(doc, ensure_ascii=False, sort_keys=True)
                              .encode()).hexdigest()

    @property
    def years(self) -> list[int]:
        """The years of the rows, in the order they first appear (rows whose year is not
        a number left out)."""
        out: list[int] = []
        for row in self.rows:
            value = row.cells.get("year", "").strip()
            if value.isdigit() and int(value) not in out:
                out.append(int(value))
        return out


@dataclass(frozen=True)
class Source:
    """Where a row came from, for messages: file and 1-based line of the row's first line."""

    path: str
    line: int


@dataclass(frozen=True)
class Candidate:
    """One state (or person) the letter is addressed to, in one year.

    ``fields`` holds every column of the row (normalised header -> text), the required
    ones included, so a template can use any column a user adds.
    """

    year: int
    name: str  # as it reads inside a sentence: "the Russian Federation", "Viet Nam"
    short_name: str  # for file names and subjects: "Russian Federation"
    emails: tuple[str, ...]
    slug: str
    fields: Mapping[str, str]
    source: Source
    lang: str = ""  # the ``lang`` column (BCP 47); empty: the template's language

    @property
    def label(self) -> str:
        """The candidate as messages name it: its short name, cut when very long."""
        name = self.short_name
        return name if len(name) <= 40 else name[:39] + "…"

    def localized(self, column: str, lang: str) -> str | None:
        """The ``column`` written for ``lang``: ``name_fr`` for fr and fr-CA (``name_fr_ca``
        first), or None when the data has no such cell."""
        tags = [t for t in lang.lower().replace("-", "_").split("_") if t]
        for i in range(len(tags), 0, -1):
            value = self.fields.get(f"{column}_{'_'.join(tags[:i])}", "")
            if value:
                return value
        return None

    def context(self, lang: str = "") -> dict[str, Any]:
        """What the template sees as ``candidate``; in a letter in ``lang``, ``name`` and
        ``short_name`` are the ``name_<lang>`` and ``short_name_<lang>`` columns when the
        data has them."""
        ctx: dict[str, Any] = dict(self.fields)
        ctx.update(
            year=self.year,
            name=(self.localized("name", lang) if lang else None) or self.name,
            short_name=(self.localized("short_name", lang) if lang else None)
            or self.short_name,
            emails=tuple(self.emails),
            email=", ".join(self.emails),
            slug=self.slug,
        )
        return ctx


@dataclass(frozen=True)
class Signatory:
    year: int
    name: str
    fields: Mapping[str, str]
    source: Source

    def context(self) -> dict[str, Any]:
        ctx: dict[str, Any] = dict(self.fields)
        ctx.update(year=self.year, name=self.name)
        return ctx


@dataclass(frozen=True)
class Template:
    """A template: YAML front matter plus a Markdown + Jinja2 body, with the files it
    includes (read by the load stage, from the templates folder only).

    ``body`` keeps the front matter's lines as blank lines so that line numbers in
    Jinja errors are line numbers of the file.
    """

    path: Path
    front_matter: Mapping[str, Any]
    body: str
    body_first_line: int
    sha256: str = ""  # of the file as read
    includes: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (path, text)

    @property
    def directory(self) -> Path:
        return self.path.parent


@dataclass(frozen=True)
class Assets:
    """Files the writers need besides the letter, read once by the load stage."""

    template_dir: Path
    stylesheet_name: str
    stylesheet: str  # CSS text of the print stylesheet
    reference_docx: bytes | None = None  # a .docx whose styles the DOCX writer uses
    files: Mapping[str, bytes] = field(default_factory=dict)  # resources the CSS names
    # images the template names (body, letterhead logo, signature), checked
    images: Mapping[str, Image] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """Per-run choices that are not data: the year, an optional date override, and the
    time every embedded date comes from when SOURCE_DATE_EPOCH is set."""

    year: int
    date: dt.date | None = None
    source_date_epoch: int | None = None


class TemplateText(str):
    """A string the template's author wrote (a front matter value): printed literally
    like data, but with the letter's quotes and apostrophes."""

    __slots__ = ()


class FrontMatterMap(dict[str, Any]):
    """A mapping written in the front matter (``signer:``) as the template sees it."""

    key = ""


@dataclass(frozen=True)
class Email:
    """The merged e-mail that carries a letter: its Markdown body and checked headers."""

    markdown: str
    headers: Mapping[str, Any]  # from, to, cc, bcc, reply_to, subject, attachment
    attach_docx: bool = False


@dataclass(frozen=True)
class Letter:
    """One merged letter: Markdown text, the metadata every writer needs, its e-mail."""

    candidate: Candidate
    markdown: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    email: Email | None = None

    @property
    def title(self) -> str:
        return str(self.meta.get("title", ""))

    @property
    def subject(self) -> str:
        return str(self.meta.get("subject", ""))

    @property
    def lang(self) -> str:
        return str(self.meta.get("lang", "en"))
