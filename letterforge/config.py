"""What a command is asked to work on: the input files and the options of a render.

The defaults are the layout of a campaign folder: ``candidates.csv``, ``signatories.csv``
and ``templates/letter.md`` (with ``email.md`` beside it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

FORMATS = ("docx", "pdf", "eml")
DEFAULT_FORMATS = FORMATS


@dataclass(frozen=True)
class Inputs:
    candidates: Path = Path("candidates.csv")
    signatories: Path = Path("signatories.csv")
    template: Path = Path("templates/letter.md")
    encoding: str | None = None
    email_template: Path | None = None  # default: email.md beside the letter template

    @property
    def email_template_path(self) -> Path:
        return self.email_template or self.template.parent / "email.md"


@dataclass(frozen=True)
class Options:
    """What to render: the year, an optional date, the formats, which letters."""

    year: int
    date: dt.date | None = None
    formats: tuple[str, ...] = DEFAULT_FORMATS
    only: tuple[str, ...] = ()
    shard: tuple[int, int] | None = None


def parse_formats(value: str | Sequence[str] | None, needs: dict[str, tuple[str, ...]]
                  ) -> tuple[str, ...]:
    """'docx,pdf' -> ('docx', 'pdf'), with what each format needs added before it."""
    if value is None:
        return DEFAULT_FORMATS
    parts = value.split(",") if isinstance(value, str) else list(value)
    formats: list[str] = []
    for part in parts:
        name = part.strip().lower()
        if not name:
            continue
        if name not in needs:
            raise UsageError(
                f"--format: unknown format {name!r}; choose from {', '.join(needs)}")
        if name not in formats:
            formats.append(name)
    if not formats:
        raise UsageError(f"--format: give at least one of {', '.join(needs)}")
    for name in list(formats):
        for needed in needs[name]:  # the e-mail carries the PDF: eml implies pdf
            if needed not in formats:
                formats.insert(formats.index(name), needed)
    return tuple(formats)


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """'2/4' -> (2, 4)."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise UsageError(f"--shard: {value!r} is not K/N with 1 <= K <= N (e.g. 2/4)")
    return int(m.group(1)), int(m.group(2))


def parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--date: {value!r} is not a date: write YYYY-MM-DD") from None
