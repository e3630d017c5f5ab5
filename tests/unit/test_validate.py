"""Validate: rows, the e-mail's settings, the stylesheet and its fonts, the reference
document, the letterhead: pure functions from what was read to every problem found, each
with its file, line and column and what to do. Inline data, no rendering."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from letterforge.load import read_table
from letterforge.validate.front_matter import email_settings_problems, letterhead_problems
from letterforge.validate.reference import REFERENCE_MAX_BYTES, reference_docx_problems
from letterforge.validate.rows import (
    bad_character,
    candidates_for_year,
    check_email,
    language_problem,
    signatories_for_year,
    slug_for,
)
from letterforge.validate.stylesheet import (
    describe_character,
    font_families,
    font_problems,
    stylesheet_problems,
    uncovered,
)

# ----- rows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Côte d'Ivoire", "cote-d-ivoire"),
        ("Türkiye", "turkiye"),
        ("Russian Federation", "russian-federation"),
        ("../../etc/passwd", "etc-passwd"),
        ("CON", "con-letter"),
        ("Viet Nam", "viet-nam"),
        ("A" * 200, "a" * 60),
    ],
)
def test_slugs_are_ascii_and_safe(text: str, expected: str) -> None:
    assert slug_for(text) == expected


def _table(write, text: str, encoding: str = "utf-8", name: str = "c.csv"):
    return read_table(write(name, text, encoding))


def test_missing_columns_are_named_with_the_columns_found(write) -> None:
    _, problems = candidates_for_year(_table(write, "year,country,mail\n2013,X,a@example.org\n"),
                                      2013)
    assert len(problems) == 1
    assert problems[0].line == 1
    assert "missing columns name, short_name, email (columns found: year, country, mail)" in \
        problems[0].message


def test_every_row_problem_is_reported(write) -> None:
    t = _table(write, "year,name,short_name,email\n"
                      "2013,,X,a@example.org\n"
                      "2013,Y,Y,not an address\n"
                      "20x3,Z,Z,z@example.org\n"
                      "2013,Mexico,Mexico,m@example.org\n"
                      "2013,Mexico,mexico,m2@example.org\n"
                      "2013,Bad\u0007Name,Bad,b@example.org\n")
    _, problems = candidates_for_year(t, 2013)
    got = [(p.line, p.column) for p in problems]
    assert got == [(2, "name"), (3, "email"), (4, "year"), (6, "short_name"), (7, "name")]
    assert "already a candidate for 2013 on line 5" in problems[3].message
    assert "U+0007" in problems[4].message


def test_each_problem_names_the_file_line_and_column(write, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    t = _table(write, "year,name,short_name,email,cc,lang\n"
                      "2013,Chile,Chile,c@example.org,,\n"
                      "2013,Peru,Peru,p@example.org,desk at example.org,\n"
                      "2013,Mali,Mali,m@example.org,,klingon\n"
                      "2013,Côte d'Ivoire,Côte d'Ivoire,ci@example.org,,\n"
                      "2013,Cote d Ivoire,Cote d Ivoire,cdi@example.org,,\n"
                      "2013,Stars,***,s@example.org,,\n"
                      "2013,Niger,Niger,niger@example.org,,fr\n")
    cands, problems = candidates_for_year(t, 2013)
    assert [c.short_name for c in cands] == ["Chile", "Côte d'Ivoire", "Niger"]
    assert cands[2].lang == "fr" and cands[2].source.line == 8
    assert [str(p) for p in problems] == [
        "c.csv:3: cc: 'desk at example.org' is not a valid e-mail address: An email address "
        "must have an @-sign.",
        "c.csv:4: lang: 'klingon' is not a language tag: write it as fr, es, ar, zh, ru or "
        "en-GB",
        "c.csv:6: short_name: 'Cote d Ivoire' gives the same file name (cote-d-ivoire) as the "
        "candidate on line 5: make the short names differ",
        "c.csv:7: short_name: '***' gives no file name: write the short name with at least "
        "one letter or digit"]


def test_a_year_with_no_rows_says_which_years_there_are(write) -> None:
    _, problems = candidates_for_year(
        _table(write, "year,name,short_name,email\n2012.0,A,A,a@example.org\n"
                      "2014,B,B,b@example.org\n"), 2013)
    (problem,) = problems
    assert problem.line is None
    assert "no candidates for 2013 (years in the file: 2012, 2014)" in problem.message
    cands, problems = candidates_for_year(
        _table(write, "year,name,short_name,email\n2013.0,A,A,a@example.org\n"), 2013)
    assert problems == [] and [c.year for c in cands] == [2013]  # a spreadsheet's 2013.0


def test_empty_signatory_list_for_the_year(write) -> None:
    _, problems = signatories_for_year(_table(write, "year,name\n2012,A\n"), 2013)
    assert "no signatories for 2013 (years in the file: 2012)" in problems[0].message


def test_signatories_keep_file_order_and_reject_duplicates(write) -> None:
    sigs, problems = signatories_for_year(
        _table(write, "year,name\n2013,Zeta\n2013,Alpha\n2013, zeta \n"), 2013)
    assert [s.name for s in sigs] == ["Zeta", "Alpha"]
    assert problems[0].line == 4 and "already signs" in problems[0].message


def test_signatory_rows_name_their_line(write) -> None:
    t = _table(write, "year,name\n2013,Org A\n2013,\nyear 2013,Org C\n2013,Org\u0007D\n")
    sigs, problems = signatories_for_year(t, 2013)
    assert [s.name for s in sigs] == ["Org A"]
    assert [(p.line, p.column) for p in problems] == [(3, "name"), (4, "year"), (5, "name")]
    assert "empty cell: give the organisation's name" in problems[0].message
    assert "'year 2013' is not a year" in problems[1].message
    assert "U+0007" in problems[2].message
    _, problems = signatories_for_year(_table(write, "year,organisation\n2013,A\n"), 2013)
    assert [(p.line, p.message.split(" (")[0]) for p in problems] == [(1, "missing column name")]


def test_bad_character() -> None:
    assert bad_character("ok\ttab", allow_newline=False) is None
    assert bad_character("two\nlines", allow_newline=True) is None
    assert bad_character("two\nlines", allow_newline=False) == "a line break"
    assert bad_character("x\u0000", allow_newline=True) == "the control character U+0000"
    # a right-to-left override shows "Mexico\u202eocixeM" reversed: refused; the marks
    # and joiners that real names use are not
    assert "U+202E" in (bad_character("Mexico\u202eocixeM", allow_newline=False) or "")
    assert "U+2067" in (bad_character("a\u2067b", allow_newline=True) or "")
    assert bad_character("\u0645\u200f\u0635\u0631", allow_newline=False) is None
    assert bad_character("\u0915\u094d\u200d\u0937", allow_newline=False) is None


@pytest.mark.parametrize("address", ["mission.mexico@example.org", "Mission.Mexico@EXAMPLE.org",
                                     "a+b_c%d-e@sub.example.org"])
def test_plain_addresses_are_valid(address: str) -> None:
    assert check_email(address) is None


@pytest.mark.parametrize(("address", "says"), [
    ("not an address", "must have an @-sign"),
    ("a@@example.org", "invalid characters"),
    ("a@localhost", "should have a period"),
    ("desk@example.test", "special-use or reserved name"),
    ("josé@example.org", "Internationalized characters before the @-sign"),
    ("cuba@exämple.org", "write it in its ASCII form, cuba@xn--exmple-cua.org"),
])
def test_an_address_a_server_would_refuse_says_why(address: str, says: str) -> None:
    assert says in (check_email(address) or "")


@pytest.mark.parametrize("tag", ["fr", "es-419", "zh-Hans", "en-GB", "en_GB", "ar"])
def test_language_tags_babel_knows(tag: str) -> None:
    assert language_problem(tag) is None


@pytest.mark.parametrize(("tag", "says"), [
    ("french", "'french' is not a language tag"), ("en GB", "is not a language tag"),
    ("", "is not a language tag"), ("xx", "'xx' is not a language letterforge knows"),
    ("fr-XX", "is not a language letterforge knows"),
])
def test_other_language_tags_are_refused(tag: str, says: str) -> None:
    problem = language_problem(tag)
    assert problem is not None and says in problem and "en-GB" in problem


# ----- the e-mail template's settings ------------------------------------------------


def test_the_email_needs_a_valid_sender_and_valid_addresses() -> None:
    assert email_settings_problems({"from": "Open Letters <letters@example.org>",
                                    "reply_to": "Replies <replies@example.org>",
                                    "bcc": "archive@example.org"}, "email.md") == []
    (problem,) = email_settings_problems({}, "templates/email.md")
    assert (problem.path, problem.column) == ("templates/email.md", "from")
    assert "no sender" in problem.message
    (problem,) = email_settings_problems({"from": "Open Letters"}, "email.md")
    assert "'Open Letters' is not a valid sender address" in problem.message
    (problem,) = email_settings_problems({"from": "a@example.org",
                                          "bcc": "archive@example.org, bad"}, "email.md")
    assert problem.column == "bcc" and "'bad' is not a valid e-mail address" in problem.message


# ----- the stylesheet and its fonts ----------------------------------------------------


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "templates"
    (root / "images").mkdir(parents=True)
    (root / "images" / "logo.png").write_bytes(b"a file")
    (tmp_path / "secret.png").write_bytes(b"outside")
    return root


def test_a_stylesheets_resources_are_files_of_the_templates_folder(templates: Path) -> None:
    css = ("body { background: url(images/logo.png) }\n"
           "h1 { background: url('https://example.org/track.png') }\n"
           "h2 { background: url(../secret.png) }\n"
           "h3 { background: url(images/missing.png) }\n"
           "@import url(http://example.org/more.css);\n")
    problems = stylesheet_problems(css, templates / "letter.css", templates)
    assert [(p.path, p.line) for p in problems] == [("templates/letter.css", n)
                                                    for n in (2, 3, 4, 5)]
    assert "letterforge fetches nothing from the network" in problems[0].message
    assert "'../secret.png' is outside the templates folder (templates)" in problems[1].message
    assert "'images/missing.png' not found in templates" in problems[2].message
    assert "fetches nothing from the network" in problems[3].message


def test_an_inline_image_may_use_only_what_it_contains(templates: Path) -> None:
    svg = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='10mm' "
           "height='10mm'%3E%3Cdefs%3E%3Crect id='dot' width='1' height='1'/%3E%3C/defs%3E"
           "%3Cuse href='{}'/%3E%3C/svg%3E")
    inside = f"p {{ background: url(\"{svg.format('#dot')}\") }}\n"
    outside = f"p {{\n  background: url(\"{svg.format('file:///etc/passwd')}\") }}\n"
    assert stylesheet_problems(inside, templates / "letter.css", templates) == []
    (problem,) = stylesheet_problems(outside, templates / "letter.css", templates)
    assert (problem.path, problem.line) == ("templates/letter.css", 2)
    assert "'file:///etc/passwd'" in problem.message


CSS_FONTS = """\
html { font-family: "Liberation Serif", serif }
p {
  font-family: "No Such Font", sans-serif;
}
h1 { font-family: "no such font" }
@font-face { font-family: "Own Face"; src: url(own.ttf) }
h2 { font-family: "Own Face", monospace }
"""


def test_a_font_that_is_not_installed_is_an_error_with_its_line(templates: Path) -> None:
    asked, provided = font_families(CSS_FONTS)
    assert [name for name, _ in asked] == ["Liberation Serif", "serif", "No Such Font",
                                           "sans-serif", "no such font", "Own Face",
                                           "monospace"]
    assert provided == {"own face"}
    (problem,) = font_problems(CSS_FONTS, templates / "letter.css",
                               frozenset({"liberation serif"}))
    assert (problem.path, problem.line) == ("templates/letter.css", 3)  # said once
    assert "the font 'No Such Font' is not installed" in problem.message
    assert font_problems(CSS_FONTS, templates / "letter.css",
                         frozenset({"liberation serif", "no such font"})) == []


def test_without_fontconfig_the_fonts_cannot_be_checked(templates: Path) -> None:
    (problem,) = font_problems(CSS_FONTS, templates / "letter.css", None)
    assert problem.line is None and "fc-list is not installed" in problem.message


def test_the_characters_no_font_draws_each_once_in_order() -> None:
    covered = frozenset(map(ord, "Aab"))
    assert uncovered("Aa b\u200d\ufe0f\u2d5c\u2d5c\n", covered) == ["\u2d5c"]
    assert describe_character("\u2d5c") == "'\u2d5c' (U+2D5C TIFINAGH LETTER YAT)"


# ----- the reference document -----------------------------------------------------------


def test_a_reference_document_is_a_word_document() -> None:
    import docx

    good = io.BytesIO()
    docx.Document().save(good)
    assert reference_docx_problems(good.getvalue(), "templates/reference.docx") == []
    (problem,) = reference_docx_problems(b"not a zip", "templates/reference.docx")
    assert problem.path == "templates/reference.docx"
    assert "is not a Word document python-docx can open" in problem.message
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("notes.txt", "a zip, not a Word document")
    (problem,) = reference_docx_problems(other.getvalue(), "r.docx")
    assert "[Content_Types].xml" in problem.message and "save it again" in problem.message


def test_a_reference_document_may_expand_to_64_mb() -> None:
    from docx_references import reference_with_a_part

    assert REFERENCE_MAX_BYTES == 64 << 20
    (problem,) = reference_docx_problems(reference_with_a_part(65), "r.docx")
    assert problem.message.startswith("expands to 65 MB (word/media/x.bin: 65 MB)")
    assert "may expand to 64 MB at most" in problem.message


# ----- the letterhead, the footer, the signature ------------------------------------


@pytest.mark.parametrize(("front", "column"), [
    ({"letterhead": {"name": ["Open", "Letters"]}}, "letterhead.name"),
    ({"letterhead": {"address": ["Rue 1", ["a", "b"]]}}, "letterhead.address"),
    ({"letterhead": {"address": {"street": "Rue 1"}}}, "letterhead.address"),
    ({"letterhead": {"contact": {"email": "a@example.org"}}}, "letterhead.contact"),
    ({"letterhead": {"name": False}}, "letterhead.name"),  # name: No
    ({"letterhead": {"logo": ["logo.svg"], "logo_alt": "Logo"}}, "letterhead.logo"),
    ({"footer": {"text": ["a", "b"]}}, "footer.text"),
    ({"signer": {"signature_alt": {"a": "b"}}}, "signer.signature_alt"),
])
def test_letterhead_values_that_are_not_text_are_refused(front: dict[str, object],
                                                         column: str) -> None:
    """A list or keys printed as Python's own brackets, ('Rue', 'de'), in the letter."""
    (problem,) = letterhead_problems(front, {}, "l.md", ())
    assert problem.column == column
    assert "one line" in problem.message or "lines of text" in problem.message


def test_a_letterhead_or_footer_line_of_thousands_of_characters_is_refused() -> None:
    problems = letterhead_problems({"letterhead": {"name": "N " * 1000},
                                    "footer": "F" * 201}, {}, "l.md", ())
    assert [p.column for p in problems] == ["letterhead.name", "footer"]
    assert all("too long" in p.message for p in problems)


def test_letterhead_text_lines_and_numbers_are_fine() -> None:
    front = {"letterhead": {"name": "Open Letters", "address": ["Rue 1", 1200],
                            "contact": "a@example.org"}, "footer": {"text": 42}}
    assert letterhead_problems(front, {}, "l.md", ()) == []


def test_letterhead_keys_name_their_line_and_the_signature_needs_alt_text() -> None:
    front = {"letterhead": {"name": "Open Letters", "adress": "Rue 1"},
             "footer": {"text": "ISHR", "pages": "page {page}"},
             "signer": {"name": "A. Signer", "signature": "sig.png"}}
    lines = {("letterhead", "adress"): 4, ("footer", "pages"): 7, ("signer", "signature"): 9}
    problems = letterhead_problems(front, {}, "templates/letter.md", ("pdf",),
                                   lambda section, key: lines.get((section, key)))
    assert [(p.path, p.line, p.column) for p in problems] == [
        ("templates/letter.md", 4, "letterhead.adress"),
        ("templates/letter.md", 7, "footer.pages"),
        ("templates/letter.md", 9, "signer.signature")]
    assert "the letterhead takes logo, logo_alt, name, address, contact" in problems[0].message
    assert "must hold {page} and {pages}" in problems[1].message
    assert "the signature image has no alt text" in problems[2].message


def test_a_word_too_long_for_a_line_is_refused_with_its_cell(write) -> None:
    """A cell pasted without spaces (a URL, a name run together): no writer can break
    it on a page, and it would run off the paper; 254 characters still fit."""
    fits = "N" * 254
    t = _table(write, "year,name,short_name,email,note\n"
                      f"2013,{fits},Fits,f@example.org,\n"
                      "2013,Long,Long,l@example.org," + "x" * 300 + "\n")
    cands, problems = candidates_for_year(t, 2013)
    assert [c.short_name for c in cands] == ["Fits"]
    (problem,) = problems
    assert (problem.line, problem.column) == (3, "note")
    assert "holds 300 characters without a space" in problem.message
    assert "254 at most" in problem.message


def test_an_empty_required_cell_says_what_the_candidate_needs_in_words(write) -> None:
    t = _table(write, "year,name,short_name,email\n2013,Chile,,\n")
    _, problems = candidates_for_year(t, 2013)
    assert [p.message for p in problems] == [
        "empty cell: every candidate needs a short name",
        "empty cell: every candidate needs an e-mail address"]
