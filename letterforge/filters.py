"""Template filters: how a candidate's name goes into a sentence.

Every filter works on plain text; escaping for Markdown happens once, when a value is
printed into the letter (see :func:`letterforge.merge.md_escape`). They are registered
in the Jinja environment under the names in :data:`FILTERS`:

``possessive``
    ``{{ candidate.name | possessive }}``: "the Russian Federation’s", "Mexico’s",
    and "Maldives’" (a name ending in *s* takes the apostrophe alone), with the
    typographic apostrophe the rest of the letter gets; a name written with a straight
    apostrophe keeps its style: "Côte d'Ivoire's", never "Côte d'Ivoire’s" (the same
    rule as ``de``; ``possessive("'")`` or ``possessive("’")`` to choose). English
    letters only: in another language it is an error naming the template line.
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
``de`` and ``a`` (French and Spanish letters)
    The preposition before a name that carries its article, contracted and elided as
    the language writes it: ``{{ candidate.name | de }}`` gives "du Mexique", "de la
    France", "des Maldives", "de l'Algérie", "de Cuba", "d’Israël" (fr) and "del
    Uruguay", "de México", "de El Salvador" (es); ``{{ candidate.name | a }}`` gives
    "au Mexique", "à la France", "aux Maldives", "à l'Algérie", "à Cuba" (fr) and "al
    Uruguay", "a México" (es). Write the names with their article as they read
    mid-sentence ("le Mexique", "el Uruguay"). In a letter in another language they are
    an error.
``join_and``
    ``{{ names | join_and }}``: "A, B and C"; ``join_and("or")`` for "A, B or C".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import jinja2


class Markdown(str):
    """Text that is already Markdown and must not be escaped again."""

    __slots__ = ()


def _lang(context: Any) -> str:
    return str(context.get("lang") or "en") if context is not None else "en"


@jinja2.pass_context
def possessive(context: Any, value: Any, apostrophe: str | None = None) -> str:
    """The possessive form of a name: add ``'s``, or ``'`` alone after a final *s*; the
    apostrophe the name is written with, else the typographic one."""
    lang = _lang(context)
    if not lang.lower().startswith("en"):
        raise jinja2.TemplateRuntimeError(
            f"possessive is for English letters; this letter is in {lang!r}: write the "
            "sentence with the language's own construction (de, a ...)")
    return english_possessive(value, _apostrophe_for(str(value), apostrophe))


def english_possessive(value: Any, apostrophe: str = "'") -> str:
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


#: French names starting with *h* that take the elided "d'" (compared case-insensitively
#: and without accents). Usage writes "d'Haïti" although the h of Haïti is aspirated.
FRENCH_ELIDING_H: frozenset[str] = frozenset({"haiti"})

_APOSTROPHES = "'\u2019"  # ASCII apostrophe and RIGHT SINGLE QUOTATION MARK

# An article followed by the rest of the name. The article is matched case-insensitively.
_FR_ARTICLE = re.compile(r"(?P<art>les|le|la)\s+(?P<rest>\S.*)\Z|(?P<elided>l[" + _APOSTROPHES
                         + r"])\s*(?P<rest2>\S.*)\Z", re.IGNORECASE | re.DOTALL)
_ES_ARTICLE = re.compile(r"(?P<art>el|la|los|las)\s+(?P<rest>\S.*)\Z", re.DOTALL)

_FR_VOWELS = frozenset("aeiouy")


def language_of(lang: str) -> str:
    """``"fr"`` or ``"es"`` for a tag such as ``fr-FR``/``es_419``; ValueError otherwise."""
    primary = re.split(r"[-_]", str(lang).strip(), maxsplit=1)[0].lower()
    if primary in ("fr", "es"):
        return primary
    raise ValueError(
        f"de and a (preposition + article) work only for French and Spanish "
        f"(lang fr… or es…), not {lang!r}")


def _clean(name: str) -> str:
    text = str(name).strip()
    if not text:
        raise ValueError("de/a: the name is empty")
    return text


def _base_letter(ch: str) -> str:
    """The letter without its accents, lower-cased: 'É' -> 'e', 'Ï' -> 'i'."""
    decomposed = unicodedata.normalize("NFD", ch)
    return decomposed[0].lower() if decomposed else ch.lower()


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.combining(c)).lower()


def _french_elides(name: str) -> bool:
    first = _base_letter(name[0])
    if first in _FR_VOWELS:
        return True
    if first == "h":
        word = re.split(r"[\s\-]", name, maxsplit=1)[0]
        return _strip_accents(word) in FRENCH_ELIDING_H
    return False


def _apostrophe_for(name: str, apostrophe: str | None) -> str:
    if apostrophe is not None:
        return apostrophe
    return "'" if "'" in name else "\u2019"


def _french(prep: str, name: str, apostrophe: str | None) -> str:
    m = _FR_ARTICLE.match(name)
    if m and m.group("art"):
        art, rest = m.group("art"), m.group("rest")
        low = art.lower()
        if low == "le":
            return ("du " if prep == "de" else "au ") + rest
        if low == "les":
            return ("des " if prep == "de" else "aux ") + rest
        return f"{prep} {art} {rest}"  # la / La: kept as written
    if m and m.group("elided"):
        return f"{prep} {m.group('elided')}{m.group('rest2')}"  # l' / l’ / L'
    if prep == "de" and _french_elides(name):
        return "d" + _apostrophe_for(name, apostrophe) + name
    return f"{prep} {name}"


def _spanish(prep: str, name: str) -> str:
    m = _ES_ARTICLE.match(name)
    if m:
        art, rest = m.group("art"), m.group("rest")
        if art == "el":  # lower-case article only; "El Salvador" is a name
            return ("del " if prep == "de" else "al ") + rest
        return f"{prep} {art} {rest}"
    return f"{prep} {name}"


def de_for(name: str, lang: str, *, apostrophe: str | None = None) -> str:
    """*of* + the name: "du Mexique", "de l'Algérie", "d'Israël", "del Uruguay".

    ``name`` carries its article as it reads mid-sentence; ``lang`` is ``fr…`` or
    ``es…``. Raises ValueError for another language or an empty name. ``apostrophe``
    (French only) is the apostrophe of an elided "d'": by default the typographic one the
    rest of the letter gets ("d’Israël"), or a straight one if the name itself is written
    with one.
    """
    lang = language_of(lang)
    text = _clean(name)
    if lang == "fr":
        return _french("de", text, apostrophe)
    return _spanish("de", text)


def a_for(name: str, lang: str) -> str:
    """*to* + the name: "au Mexique", "aux Maldives", "à Cuba", "al Uruguay".

    ``name`` carries its article as it reads mid-sentence; ``lang`` is ``fr…`` or
    ``es…``. Raises ValueError for another language or an empty name.
    """
    lang = language_of(lang)
    text = _clean(name)
    if lang == "fr":
        return _french("à", text, None)
    return _spanish("a", text)


def _in_letter_language(grammar: Any) -> Any:
    """A Jinja filter that applies ``grammar(name, lang)`` in the letter's language."""

    @jinja2.pass_context
    def apply(context: Any, value: Any) -> str:
        try:
            result: str = grammar(str(value), _lang(context))
            return result
        except ValueError as exc:
            raise jinja2.TemplateRuntimeError(str(exc)) from exc

    return apply


de = _in_letter_language(de_for)
a = _in_letter_language(a_for)


FILTERS = {
    "possessive": possessive,
    "capfirst": capfirst,
    "format_date": format_date,
    "markdown": markdown,
    "join_and": join_and,
    "de": de,
    "a": a,
}
