"""The data that flows between stages: frozen, plain, no behaviour beyond small conveniences."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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

    def context(self) -> dict[str, Any]:
        """What the template sees as ``candidate``."""
        ctx: dict[str, Any] = dict(self.fields)
        ctx.update(
            year=self.year,
            name=self.name,
            short_name=self.short_name,
            emails=list(self.emails),
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
class TemplateSource:
    """The master letter: YAML front matter plus a Markdown + Jinja2 body.

    ``body`` keeps the front matter's lines as blank lines so that line numbers in
    Jinja errors are line numbers of the file.
    """

    path: Path
    front_matter: Mapping[str, Any]
    body: str
    body_first_line: int
    sha256: str = ""  # of the file as read

    @property
    def directory(self) -> Path:
        return self.path.parent


@dataclass(frozen=True)
class Settings:
    """Per-run choices that are not data: the year, and an optional date override."""

    year: int
    date: dt.date | None = None


@dataclass(frozen=True)
class Letter:
    """One merged letter: Markdown text and the metadata every writer needs."""

    candidate: Candidate
    markdown: str
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.meta.get("title", ""))

    @property
    def subject(self) -> str:
        return str(self.meta.get("subject", ""))

    @property
    def lang(self) -> str:
        return str(self.meta.get("lang", "en"))


@dataclass(frozen=True)
class Assets:
    """Files the writers need besides the letter, read once by the load stage."""

    template_dir: Path
    stylesheet_name: str
    stylesheet: str  # CSS text of the print stylesheet
    reference_docx: bytes | None = None  # a .docx whose styles the DOCX writer uses
