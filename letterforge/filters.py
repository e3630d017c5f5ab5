"""Template filters: how a candidate's name goes into a sentence.

Every filter works on plain text; escaping for Markdown happens once, when a value is
printed into the letter (see :func:`letterforge.merge.md_escape`). They are registered
in the Jinja environment under the names in :data:`FILTERS`:

``possessive``
    ``{{ candidate.name | possessive }}``: "the Russian Federation's", "Mexico's",
    and "Maldives'" (a name ending in *s* takes the apostrophe alone).
``capfirst``
    ``{{ candidate.name | capfirst }}``: "The Russian Federation" at the start of a
    sentence. Only the first letter changes ("the former Yugoslav Republic of
    Macedonia" -> "The former Yugoslav Republic of Macedonia"), unlike Jinja's
    ``capitalize``, which lowercases the rest.
``format_date``
    ``{{ date | format_date }}``: a date in the letter's locale with Babel
    ("5 November 2013" for ``lang: en-GB``); an optional Babel format:
    ``format_date("full")`` or a pattern such as ``format_date("d MMMM y")``.
``markdown``
    ``{{ candidate.note | markdown }}``: print a value as Markdown instead of as
    literal text. Only for columns that you write as Markdown on purpose.
``join_and``
    ``{{ names | join_and }}``: "A, B and C"; ``join_and("or")`` for "A, B or C".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import jinja2


class Markdown(str):
    """Text that is already Markdown and must not be escaped again."""

    __slots__ = ()


def possessive(value: Any, apostrophe: str = "'") -> str:
    """The possessive form of a name: add ``'s``, or ``'`` alone after a final *s*."""
    text = str(value).rstrip()
    if not text:
        return text
    if text[-1] in "sS":
        return text + apostrophe
    return text + apostrophe + "s"


def capfirst(value: Any) -> str:
    """Upper-case the first character, leave the rest as written."""
    text = str(value)
    if not text:
        return text
    first = text[0].upper()
    if len(first) != 1:  # "ß".upper() == "SS": keep the letter as it is
        first = text[0]
    return first + text[1:]


def join_and(values: Iterable[Any], conjunction: str = "and") -> str:
    items = [str(v) for v in values]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def markdown(value: Any) -> Markdown:
    return Markdown(str(value))


@jinja2.pass_context
def format_date(context: jinja2.runtime.Context, value: Any, format: str = "long") -> str:
    from babel.dates import format_date as babel_format_date

    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise jinja2.TemplateRuntimeError(
                f"format_date needs a date written YYYY-MM-DD, not {value!r}"
            ) from exc
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise jinja2.TemplateRuntimeError(f"format_date needs a date, not {value!r}")
    locale = context.get("locale") or "en"
    return babel_format_date(value, format=format, locale=locale)


FILTERS = {
    "possessive": possessive,
    "capfirst": capfirst,
    "format_date": format_date,
    "markdown": markdown,
    "join_and": join_and,
}
