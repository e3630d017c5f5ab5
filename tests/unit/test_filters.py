"""The template's filters (letterforge/filters.py): possessive, capfirst, join_and and
format_date in English and per locale; the French and Spanish grammar filters
(preposition + article, contracted and elided) and the language tags they take."""

from __future__ import annotations

import datetime as dt

import jinja2
import pytest

from letterforge.filters import FILTERS, FRENCH_ELIDING_H, capfirst, join_and, language_of
from letterforge.filters import a_for as a
from letterforge.filters import de_for as de
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


# ----- French and Spanish: preposition + article, contracted and elided ---------------

FRENCH = [
    # name, de, à
    ("le Mexique", "du Mexique", "au Mexique"),
    ("la France", "de la France", "à la France"),
    ("les Maldives", "des Maldives", "aux Maldives"),
    ("l'Algérie", "de l'Algérie", "à l'Algérie"),
    ("l’Algérie", "de l’Algérie", "à l’Algérie"),          # typographic apostrophe
    ("l'Uruguay", "de l'Uruguay", "à l'Uruguay"),
    ("l'Arabie saoudite", "de l'Arabie saoudite", "à l'Arabie saoudite"),
    ("la Fédération de Russie", "de la Fédération de Russie", "à la Fédération de Russie"),
    ("la Chine", "de la Chine", "à la Chine"),
    ("Cuba", "de Cuba", "à Cuba"),
    ("Israël", "d’Israël", "à Israël"),
    ("Oman", "d’Oman", "à Oman"),
    ("Haïti", "d’Haïti", "à Haïti"),                       # usage: d'Haïti
    ("Andorre", "d’Andorre", "à Andorre"),
    ("Érythrée", "d’Érythrée", "à Érythrée"),              # accented capital vowel
    ("Ypres", "d’Ypres", "à Ypres"),
    ("El Salvador", "d’El Salvador", "à El Salvador"),
    ("Hong Kong", "de Hong Kong", "à Hong Kong"),          # other h: no elision
    ("Hambourg", "de Hambourg", "à Hambourg"),
    ("le Honduras", "du Honduras", "au Honduras"),         # h aspiré written with "le"
    ("les Îles Marshall", "des Îles Marshall", "aux Îles Marshall"),
    ("les Émirats arabes unis", "des Émirats arabes unis", "aux Émirats arabes unis"),
    ("le Royaume-Uni", "du Royaume-Uni", "au Royaume-Uni"),
    ("la Côte d'Ivoire", "de la Côte d'Ivoire", "à la Côte d'Ivoire"),
    ("Lesotho", "de Lesotho", "à Lesotho"),                # "les"/"le" must be a word
    ("Laos", "de Laos", "à Laos"),
    ("Sao Tomé-et-Principe", "de Sao Tomé-et-Principe", "à Sao Tomé-et-Principe"),
]

SPANISH = [
    ("el Uruguay", "del Uruguay", "al Uruguay"),
    ("México", "de México", "a México"),
    ("Francia", "de Francia", "a Francia"),
    ("la Federación de Rusia", "de la Federación de Rusia", "a la Federación de Rusia"),
    ("los Estados Unidos", "de los Estados Unidos", "a los Estados Unidos"),
    ("los Países Bajos", "de los Países Bajos", "a los Países Bajos"),
    ("las Bahamas", "de las Bahamas", "a las Bahamas"),
    ("la Arabia Saudita", "de la Arabia Saudita", "a la Arabia Saudita"),
    ("El Salvador", "de El Salvador", "a El Salvador"),      # "El" is part of the name
    ("el Reino Unido", "del Reino Unido", "al Reino Unido"),
    ("Israel", "de Israel", "a Israel"),                     # no elision in Spanish
    ("Elandia", "de Elandia", "a Elandia"),                  # "el" must be a word
    ("La Habana", "de La Habana", "a La Habana"),            # capital article kept
    ("Cuba", "de Cuba", "a Cuba"),
]


@pytest.mark.parametrize("name,of,to", FRENCH)
def test_french(name, of, to):
    assert de(name, "fr") == of
    assert a(name, "fr") == to


@pytest.mark.parametrize("name,of,to", SPANISH)
def test_spanish(name, of, to):
    assert de(name, "es") == of
    assert a(name, "es") == to


# --- capital articles ---------------------------------------------------------------

def test_french_capital_le_les_contract():
    # decision: a capital Le/Les contracts like the lower-case one (du Havre, au Caire)
    assert de("Le Mexique", "fr") == "du Mexique"
    assert a("Le Mexique", "fr") == "au Mexique"
    assert de("Les Maldives", "fr") == "des Maldives"
    assert a("Les Maldives", "fr") == "aux Maldives"
    assert de("Le Havre", "fr") == "du Havre"
    assert a("LE MEXIQUE", "fr") == "au MEXIQUE"


def test_french_capital_la_l_kept_as_written():
    assert de("La Haye", "fr") == "de La Haye"
    assert a("La Haye", "fr") == "à La Haye"
    assert de("L'Algérie", "fr") == "de L'Algérie"


def test_spanish_capital_el_is_part_of_the_name():
    assert de("El Cairo", "es") == "de El Cairo"
    assert a("El Cairo", "es") == "a El Cairo"
    assert de("el Salvador", "es") == "del Salvador"   # lower case: treated as article


# --- apostrophes --------------------------------------------------------------------

def test_elided_apostrophe_follows_the_name():
    assert de("Israël", "fr") == "d\u2019Israël"      # the letter's typography
    assert de("Israël", "fr", apostrophe="'") == "d'Israël"
    assert de("Îles d'Åland", "fr") == "d'Îles d'Åland"  # as the name is written
    assert de("Îles d\u2019Åland", "fr") == "d\u2019Îles d\u2019Åland"


def test_typographic_apostrophe_article_with_space():
    assert de("l’ Algérie", "fr") == "de l’Algérie"
    assert a("l' Algérie", "fr") == "à l'Algérie"


def test_eliding_h_table():
    assert "haiti" in FRENCH_ELIDING_H
    assert de("Haiti", "fr") == "d\u2019Haiti"
    assert de("Haïti-Nord", "fr") == "d\u2019Haïti-Nord"


# --- spaces and empty names ---------------------------------------------------------

@pytest.mark.parametrize("name,lang,of,to", [
    ("  le Mexique", "fr", "du Mexique", "au Mexique"),
    ("\tla France \n", "fr", "de la France", "à la France"),
    ("le   Mexique", "fr", "du Mexique", "au Mexique"),
    ("   Israël", "fr", "d\u2019Israël", "à Israël"),
    ("  el Uruguay", "es", "del Uruguay", "al Uruguay"),
    ("el\u00a0Uruguay", "es", "del Uruguay", "al Uruguay"),   # no-break space
    (" México ", "es", "de México", "a México"),
])
def test_surrounding_and_inner_spaces(name, lang, of, to):
    assert de(name, lang) == of
    assert a(name, lang) == to


@pytest.mark.parametrize("name", ["", "   ", "\n"])
@pytest.mark.parametrize("fn", [de, a])
def test_empty_name_is_an_error(fn, name):
    with pytest.raises(ValueError, match="empty"):
        fn(name, "fr")


def test_article_alone_is_not_an_article():
    assert de("le", "fr") == "de le"
    assert de("el", "es") == "de el"


# --- languages ----------------------------------------------------------------------

@pytest.mark.parametrize("tag,expected", [
    ("fr", "fr"), ("fr-FR", "fr"), ("fr_CA", "fr"), ("FR", "fr"), (" fr-BE ", "fr"),
    ("es", "es"), ("es-419", "es"), ("es_MX", "es"), ("ES-es", "es"),
])
def test_language_tags(tag, expected):
    assert language_of(tag) == expected


def test_region_tags_work_in_de_and_a():
    assert de("le Mexique", "fr-CA") == "du Mexique"
    assert a("el Uruguay", "es-419") == "al Uruguay"


@pytest.mark.parametrize("lang", ["en", "en-GB", "ar", "zh", "ru", "it", "pt", "", "f", "fra"])
@pytest.mark.parametrize("fn", [de, a])
def test_other_languages_raise(fn, lang):
    with pytest.raises(ValueError, match="only for French and Spanish"):
        fn("la France", lang)


def test_language_checked_before_name():
    with pytest.raises(ValueError, match="only for French and Spanish"):
        de("", "en")


def test_pure_and_idempotent_on_input():
    name = "le Mexique"
    de(name, "fr")
    a(name, "fr")
    assert name == "le Mexique"
    assert de(name, "fr") == de(name, "fr")


@pytest.mark.parametrize(("name", "expected"), [
    ("Côte d'Ivoire", "Côte d'Ivoire's"),  # the name's straight apostrophe, not ’ beside it
    ("Côte d’Ivoire", "Côte d’Ivoire’s"),
    ("Mexico", "Mexico’s"),
    ("the Maldives", "the Maldives’"),
])
def test_possessive_takes_the_apostrophe_the_name_is_written_with(name: str,
                                                                 expected: str) -> None:
    from letterforge.filters import possessive

    assert possessive({"lang": "en"}, name) == expected
    assert possessive({"lang": "en"}, name, "'").endswith(("'s", "'"))
