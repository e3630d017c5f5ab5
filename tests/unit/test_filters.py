import datetime as dt

import jinja2
import pytest

from letterforge.filters import FILTERS, capfirst, join_and
from letterforge.filters import english_possessive as possessive


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Mexico", "Mexico's"),
        ("the Russian Federation", "the Russian Federation's"),
        ("Maldives", "Maldives'"),
        ("the Bahamas", "the Bahamas'"),
        ("Côte d'Ivoire", "Côte d'Ivoire's"),
        ("Türkiye", "Türkiye's"),
        ("Viet Nam", "Viet Nam's"),
        ("", ""),
    ],
)
def test_possessive(name: str, expected: str) -> None:
    assert possessive(name) == expected


def test_possessive_typographic_apostrophe() -> None:
    assert possessive("Mexico", "\u2019") == "Mexico\u2019s"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("the Russian Federation", "The Russian Federation"),
        ("the former Yugoslav Republic of Macedonia", "The former Yugoslav Republic of Macedonia"),
        ("Viet Nam", "Viet Nam"),
        ("élan", "Élan"),
        ("ßtraße", "ßtraße"),
        ("", ""),
    ],
)
def test_capfirst_changes_only_the_first_letter(name: str, expected: str) -> None:
    assert capfirst(name) == expected


def test_join_and() -> None:
    assert join_and([]) == ""
    assert join_and(["A"]) == "A"
    assert join_and(["A", "B"]) == "A and B"
    assert join_and(["A", "B", "C"], "or") == "A, B or C"


def _render(source: str, **ctx: object) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    return env.from_string(source).render(**ctx)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en_GB", "5 November 2013"), ("en_US", "November 5, 2013"), ("fr", "5 novembre 2013"),
     ("es", "5 de noviembre de 2013")],
)
def test_format_date_follows_the_letter_locale(locale: str, expected: str) -> None:
    assert _render("{{ d | format_date }}", d=dt.date(2013, 11, 5), locale=locale) == expected


def test_format_date_pattern_and_iso_string() -> None:
    assert _render("{{ d | format_date('d MMM y') }}", d="2013-11-05", locale="en_GB") == \
        "5 Nov 2013"


def test_format_date_rejects_non_dates() -> None:
    with pytest.raises(jinja2.TemplateRuntimeError, match="YYYY-MM-DD"):
        _render("{{ d | format_date }}", d="5/11/2013", locale="en_GB")
