"""Each letter in its recipient's language: the template per language (with fallbacks
said as warnings), names per language, grammar per language, fonts that cover every
character."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from letterforge.config import Inputs, Options
from letterforge.errors import ValidationFailed
from letterforge.plan import prepare

FRONT = "---\nlang: {lang}\ndate: 2013-11-05\nsubject: \"{subject}\"\n---\n"


def _campaign(tmp_path: Path, letters: dict[str, str], rows: str) -> Inputs:
    t = tmp_path / "templates"
    t.mkdir()
    for suffix, body in letters.items():
        lang, subject = {"": ("en-GB", "To {{ candidate.short_name }}"),
                         "fr": ("fr", "À {{ candidate.short_name }}"),
                         "es": ("es", "A {{ candidate.short_name }}")}[suffix]
        name = f"letter.{suffix}.md" if suffix else "letter.md"
        (t / name).write_text(FRONT.format(lang=lang, subject=subject)
                              + textwrap.dedent(body), encoding="utf-8")
    (t / "letter.css").write_text('html { font-family: "Liberation Serif" }\n')
    (tmp_path / "c.csv").write_text(textwrap.dedent(rows), encoding="utf-8")
    (tmp_path / "s.csv").write_text("year,name\n2013,Org\n")
    return Inputs(tmp_path / "c.csv", tmp_path / "s.csv", t / "letter.md")


LETTERS = {
    "": "We write regarding {{ candidate.name | possessive }} candidacy.\n",
    "fr": "Nous écrivons au sujet de la candidature {{ candidate.name | de }}.\n"
          "Il incombe {{ candidate.name | a }} de montrer l'exemple.\n",
    "es": "Escribimos en relación con la candidatura {{ candidate.name | de }}.\n",
}
ROWS = """\
    year,name,short_name,email,lang,name_fr,short_name_fr,name_es
    2013,Mexico,Mexico,m@example.org,es,le Mexique,Mexique,México
    2013,France,France,f@example.org,fr,la France,France,Francia
    2013,Maldives,Maldives,mv@example.org,fr,les Maldives,Maldives,Maldivas
    2013,Uruguay,Uruguay,u@example.org,es,l'Uruguay,Uruguay,el Uruguay
    2013,Viet Nam,Viet Nam,v@example.org,,le Viet Nam,Viet Nam,Viet Nam
    """


def _letters(inputs: Inputs) -> dict[str, str]:
    plan = prepare(inputs, Options(2013, formats=("docx",)))
    renderer = plan.renderer()
    # the merged Markdown, its escapes removed: the words as they print
    return {c.short_name: renderer.merger_for(c).merge(c).markdown.strip().replace("\\", "")
            for c in plan.candidates}


def test_each_letter_in_the_language_of_its_row(tmp_path: Path) -> None:
    letters = _letters(_campaign(tmp_path, LETTERS, ROWS))
    assert "la candidature de la France." in letters["France"]
    assert "la candidatura del Uruguay." in letters["Uruguay"]
    assert "Il incombe à la France" in letters["France"]
    assert "la candidature des Maldives." in letters["Maldives"]
    assert "Il incombe aux Maldives" in letters["Maldives"]
    assert "la candidatura de México." in letters["Mexico"]
    assert "la candidatura del Uruguay." in letters["Uruguay"]
    assert "regarding Viet Nam’s candidacy" in letters["Viet Nam"]  # no lang: the template's


def test_the_subject_and_date_are_in_the_letters_language(tmp_path: Path) -> None:
    plan = prepare(_campaign(tmp_path, LETTERS, ROWS), Options(2013, formats=("docx",)))
    renderer = plan.renderer()
    france = next(c for c in plan.candidates if c.slug == "france")
    letter = renderer.merger_for(france).merge(france)
    assert letter.meta["subject"] == "À France" and letter.meta["lang"] == "fr"


def test_a_missing_language_falls_back_with_a_warning(tmp_path: Path) -> None:
    letters = {"": LETTERS[""], "fr": LETTERS["fr"]}
    rows = ROWS.replace("2013,Uruguay,Uruguay,u@example.org,es,",
                        "2013,Uruguay,Uruguay,u@example.org,es-UY,")
    inputs = _campaign(tmp_path, letters, rows)
    plan = prepare(inputs, Options(2013, formats=("docx",)))
    messages = [str(w) for w in plan.warnings]
    assert any("c.csv:2: lang: there is no templates/letter.es.md" in m.replace(
        str(tmp_path) + "/", "") for m in messages), messages
    assert any("letters in 'es-UY'" in m for m in messages), messages


def test_letter_base_language_template_serves_a_regional_tag(tmp_path: Path) -> None:
    rows = ROWS.replace(",es,le Mexique", ",es-MX,le Mexique")
    letters = _letters(_campaign(tmp_path, LETTERS, rows))
    assert "la candidatura de México." in letters["Mexico"]


def test_a_language_without_its_name_column_uses_name_and_says_so(tmp_path: Path) -> None:
    rows = "year,name,short_name,email,lang\n2013,Cuba,Cuba,c@example.org,fr\n"
    inputs = _campaign(tmp_path, {"": LETTERS[""], "fr": LETTERS["fr"]}, rows)
    plan = prepare(inputs, Options(2013, formats=("docx",)))
    assert any("there is no name_fr column" in str(w) for w in plan.warnings)


def test_possessive_in_a_french_letter_is_an_error_with_its_line(tmp_path: Path) -> None:
    letters = {"": LETTERS[""],
               "fr": "Bonjour\n\nLa candidature {{ candidate.name | possessive }}.\n"}
    with pytest.raises(ValidationFailed) as info:
        prepare(_campaign(tmp_path, letters, ROWS), Options(2013, formats=("docx",)))
    problem = info.value.problems[0]
    assert problem.path.endswith("letter.fr.md") and problem.line == 8
    assert "possessive is for English letters" in problem.message


def test_a_bad_language_tag_names_its_row(tmp_path: Path) -> None:
    rows = ROWS.replace(",fr,la France", ",french,la France")
    with pytest.raises(ValidationFailed, match=r"c.csv:3: lang: 'french' is not a language"):
        prepare(_campaign(tmp_path, LETTERS, rows), Options(2013, formats=("docx",)))


def test_a_character_no_font_draws_is_an_error_naming_it(tmp_path: Path) -> None:
    rows = ROWS.replace("2013,Viet Nam,Viet Nam", "2013,ⵜⴰⵎⴰ,Tama")
    with pytest.raises(ValidationFailed) as info:
        prepare(_campaign(tmp_path, LETTERS, rows), Options(2013, formats=("pdf",)))
    (problem,) = info.value.problems
    assert problem.line == 6 and problem.column == "name"
    assert "U+2D5C TIFINAGH LETTER YAT" in problem.message
    assert "none of the fonts the letter uses (Liberation Serif)" in problem.message
    # the DOCX alone is drawn by the reader's fonts: no such check
    prepare(Inputs(
        tmp_path / "c.csv", tmp_path / "s.csv", tmp_path / "templates" / "letter.md"),
        Options(2013, formats=("docx",)))


def test_each_language_keeps_its_own_date_when_rendered(tmp_path: Path) -> None:
    inputs = _campaign(tmp_path, LETTERS, ROWS)
    fr = tmp_path / "templates" / "letter.fr.md"
    fr.write_text(fr.read_text(encoding="utf-8").replace("date: 2013-11-05",
                                                         "date: 2013-11-07"), encoding="utf-8")
    plan = prepare(inputs, Options(2013, formats=("docx",)))
    from letterforge.letter import make_renderer

    renderer = make_renderer(plan.job)  # as a worker process builds it
    france = next(c for c in plan.candidates if c.slug == "france")
    mexico = next(c for c in plan.candidates if c.slug == "mexico")
    assert str(renderer.document(france).meta["date"]) == "2013-11-07"
    assert str(renderer.document(mexico).meta["date"]) == "2013-11-05"
