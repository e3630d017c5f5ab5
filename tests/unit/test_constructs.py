"""Tables, footnotes, strikethrough and block quotes in each writer, from small inline
letters; what the parse stage refuses (raw HTML, math, stray footnote and table markup)
and what it keeps as text (a "<" in prose, markup characters in the data)."""

from __future__ import annotations

import datetime as dt
import io
import re
import textwrap
import zipfile
from pathlib import Path

import pytest

from letterforge.errors import RenderError
from letterforge.load import read_template
from letterforge.merge import Merger
from letterforge.models import Assets, Candidate, Settings, Signatory, Source
from letterforge.parse import Document, parse, parse_markdown
from letterforge.writers import WRITERS
from letterforge.writers.html import render_page
from letterforge.writers.text import WIDTH, render_text

META = {"lang": "en", "title": "T", "timestamp": dt.datetime(2013, 11, 5, tzinfo=dt.UTC)}
CAND = Candidate(2013, "X", "X", (), "x", {}, Source("c.csv", 2))

LETTER = """\
Dear Sir,

The record shows a pattern.[^res] We ~~welcome~~ note your pledge.[^p]

| Year | Vote | Remark |
|:-----|:----:|-------:|
| 2006 | *For* | 12 |
| 2011 | Against[^p] | **1,204** |

> The Council shall uphold the highest standards.[^res]
>
> > A quote in a quote.

[^res]: GA Resolution 60/251, para. 9.
[^p]: Pledge of 2013, *A/68/XXX*, see [the text](https://example.org/pledge).
"""


def _doc(text: str = LETTER) -> Document:
    return Document(parse_markdown(text, "en"), META, CAND)


def _docx(text: str = LETTER) -> dict[str, str]:
    data = WRITERS["docx"].render(_doc(text), Assets(Path("."), "letter.css", ""))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n).decode() for n in z.namelist() if n.endswith((".xml", ".rels"))}


# ----- HTML ---------------------------------------------------------------------------


def test_html_table_has_header_cells_with_scope_and_alignment() -> None:
    page = render_page(_doc().tree, META)
    assert "</colgroup>\n<thead>\n<tr>" in page and "<tbody>" in page
    # the widths the DOCX has too; a word wider than its column breaks
    assert '<table style="table-layout:fixed;overflow-wrap:anywhere">' in page
    assert '<th scope="col" style="text-align:left">Year</th>' in page
    assert '<th scope="col" style="text-align:center">Vote</th>' in page
    assert '<td style="text-align:right"><strong>1,204</strong></td>' in page
    assert '<td style="text-align:center"><em>For</em></td>' in page
    assert "<s>welcome</s>" in page


def test_html_for_the_email_puts_numbered_notes_at_the_end() -> None:
    page = render_page(_doc().tree, META)
    assert 'pattern.<sup class="footnote-ref"><a href="#fn1" id="fnref1">1</a></sup>' in page
    # a note referenced again shows its number, without a second anchor
    assert 'standards.<sup class="footnote-ref"><a href="#fn1">1</a></sup>' in page
    notes = page[page.index('<section class="footnotes">'):]
    assert '<li id="fn1">GA Resolution 60/251, para. 9.</li>' in notes
    assert '<li id="fn2">Pledge of 2013, <em>A/68/XXX</em>, see <a href="https://example.org' \
           '/pledge">the text</a>.</li>' in notes
    assert "[^" not in page


def test_html_for_the_pdf_puts_each_note_at_its_first_reference() -> None:
    page = render_page(_doc().tree, META, footnotes="float")
    assert page.count('<span class="lf-footnote">GA Resolution 60/251') == 1
    assert 'pattern.<span class="lf-footnote">GA Resolution' in page
    assert 'standards.<sup class="lf-footnote-again">1</sup>' in page
    assert 'Against<sup class="lf-footnote-again">2</sup>' in page
    assert "footnotes" not in page.split("<main>")[1].replace("lf-footnote", "")


# ----- text ---------------------------------------------------------------------------


def test_text_draws_the_table_aligned_and_keeps_struck_words_marked() -> None:
    text = render_text(_doc().tree)
    lines = text.split("\n")
    table = lines[lines.index(next(ln for ln in lines if ln.startswith("Year"))):][:4]
    assert table == ["Year |    Vote    | Remark",
                     "-----+------------+-------",
                     "2006 |    For     |     12",
                     "2011 | Against[2] |  1,204"]
    assert "We ~~welcome~~ note your pledge.[2]" in text


def test_text_puts_numbered_notes_at_the_end() -> None:
    text = render_text(_doc().tree)
    assert "The record shows a pattern.[1]" in text
    assert "> The Council shall uphold the highest standards.[1]" in text
    assert "> > A quote in a quote." in text
    assert text.endswith(
        "--------------------\n\n[1] GA Resolution 60/251, para. 9.\n"
        "[2] Pledge of 2013, A/68/XXX, see the text <https://example.org/pledge>.\n")


def test_text_table_wider_than_the_page_wraps_its_cells() -> None:
    long = "a sentence of many words that cannot possibly fit on one line " * 2
    text = render_text(_doc(f"| A | B |\n|---|---|\n| {long} | {long} |\n").tree)
    assert all(len(line) <= WIDTH for line in text.splitlines()), text
    assert " ".join(text.split()).count("possibly fit") == 4
    assert "possibly fit" in text


# ----- DOCX ---------------------------------------------------------------------------


def test_docx_table_is_a_real_table_filling_the_text_width() -> None:
    body = _docx()["word/document.xml"]
    table = body[body.index("<w:tbl>"):body.index("</w:tbl>")]
    widths = [int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)"/>', table)]
    page = re.search(r'<w:pgSz w:w="(\d+)".*?<w:pgMar w:top="\d+" w:right="(\d+)" '
                     r'w:bottom="\d+" w:left="(\d+)"', body)
    assert page, "the section gives the page"
    text_width = int(page.group(1)) - int(page.group(2)) - int(page.group(3))
    assert len(widths) == 3 and sum(widths) == text_width  # the table fills the text
    assert table.count("<w:tblHeader/>") == 1  # the header row repeats on a new page
    assert '<w:insideH w:val="single"' in table
    header = table[:table.index("</w:tr>")]
    assert header.count('w:val="TableHeading"') == 3
    assert '<w:jc w:val="center"/>' in header and '<w:jc w:val="right"/>' in header
    assert "<w:b/>" in table and "<w:i/>" in table  # inline formatting in cells
    # a body never ends with a table, and the text after a table keeps its distance
    assert _docx("| A |\n|---|\n| 1 |\n")["word/document.xml"].count("</w:tbl><w:p>") == 1


def test_docx_strikethrough_is_w_strike() -> None:
    body = _docx()["word/document.xml"]
    assert re.search(r"<w:strike/>.*?<w:t[^>]*>welcome</w:t>", body)


def test_docx_footnotes_are_word_footnotes() -> None:
    parts = _docx()
    body, notes = parts["word/document.xml"], parts["word/footnotes.xml"]
    # two notes: each referenced once as a footnote, the repeats by NOTEREF fields
    assert re.findall(r'<w:footnoteReference w:id="(\d+)"/>', body) == ["1", "2"]
    assert body.count("NOTEREF _RefLFNote1 \\f \\h") == 1
    assert body.count("NOTEREF _RefLFNote2 \\f \\h") == 1
    assert body.count('<w:rStyle w:val="FootnoteReference"/>') >= 2
    assert '<w:footnote w:type="separator" w:id="-1">' in notes
    assert '<w:footnote w:type="continuationSeparator" w:id="0">' in notes
    assert notes.count('<w:pStyle w:val="FootnoteText"/>') == 2
    assert notes.count("<w:footnoteRef/>") == 2 and "GA Resolution 60/251" in notes
    assert '<w:hyperlink r:id="' in notes  # a link in a note: footnotes.xml's own rels
    assert "https://example.org/pledge" in parts["word/_rels/footnotes.xml.rels"]
    assert "https://example.org/pledge" not in parts["word/_rels/document.xml.rels"]
    assert 'Target="footnotes.xml"' in parts["word/_rels/document.xml.rels"]
    assert 'PartName="/word/footnotes.xml"' in parts["[Content_Types].xml"]
    assert '<w:footnotePr><w:footnote w:id="-1"/><w:footnote w:id="0"/></w:footnotePr>' \
        in parts["word/settings.xml"]
    styles = parts["word/styles.xml"]
    assert 'w:styleId="FootnoteText"><w:name w:val="footnote text"/>' in styles
    assert re.search(r'w:styleId="FootnoteReference"><w:name w:val="footnote reference"/>'
                     r'.*?<w:vertAlign w:val="superscript"/>', styles)


def test_docx_without_notes_has_no_footnotes_part() -> None:
    parts = _docx("Just a letter.\n")
    assert "word/footnotes.xml" not in parts and "footnote" not in parts["word/settings.xml"]


def test_docx_quotes_are_indented_on_both_sides_and_nested_twice() -> None:
    parts = _docx()
    quote = re.search(r'w:styleId="Quote">.*?</w:style>', parts["word/styles.xml"])
    indent = re.search(r'<w:ind w:left="(\d+)" w:right="(\d+)"/>', quote.group()) \
        if quote else None
    assert indent and indent.group(1) == indent.group(2) != "0"  # both sides alike
    level = int(indent.group(1))
    body = parts["word/document.xml"]
    # the first level: the style's indent (this one follows a table: space above it)
    assert re.search(r'<w:pStyle w:val="Quote"/>(<w:spacing [^>]*/>)?<w:rPr>', body)
    assert (f'<w:pStyle w:val="Quote"/><w:ind w:left="{2 * level}" w:right="{2 * level}"/>'
            in body)


def test_pdf_stylesheet_indents_quotes_on_both_sides_as_the_docx() -> None:
    from conftest import ROOT

    css = (ROOT / "templates" / "letter.css").read_text()
    assert "blockquote { margin: 0 2em 8pt 2em;" in css


# ----- PDF ---------------------------------------------------------------------------


def test_pdf_footnotes_stand_at_the_foot_of_their_page_tagged_as_notes() -> None:
    """The letter's stylesheet rules the footnote area: WeasyPrint 70 alone would move
    every note to the next page; the notes are Note elements with an ID (PDF/UA-1)."""
    import page as validator
    import pypdfium2 as pdfium

    from conftest import ROOT

    fillers = "\n\n".join(["A paragraph of filler text that takes a line or two."] * 12)
    doc = _doc(LETTER.replace("[^res]: ", fillers + "\n\n[^res]: "))
    css = (ROOT / "templates" / "letter.css").read_text()
    data = WRITERS["pdf"].render(doc, Assets(ROOT / "templates", "letter.css", css))
    pdf = pdfium.PdfDocument(data)
    assert len(pdf) == 1
    text = pdf[0].get_textpage()
    hit = text.search("GA Resolution").get_next()
    assert hit, "the note is not on the page of its reference"
    assert text.get_charbox(hit[0])[3] < pdf[0].get_height() / 4
    report = validator.validate_pdf_bytes(data, profile="ua1")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]
    notes = [e for e in _struct_elements(data) if e.get("/S") == "/Note"]
    assert len(notes) == 2 and all(str(e["/ID"]).startswith("lf-note-") for e in notes)
    assert [str(e["/K"][0].get_object()["/S"]) for e in notes] == ["/Lbl", "/Lbl"]


def _struct_elements(data: bytes) -> list[dict]:
    """Every element of a PDF's structure tree, read with pypdf."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject

    found: list[dict] = []
    stack = [PdfReader(io.BytesIO(data)).trailer["/Root"]["/StructTreeRoot"].get_object()]
    while stack:
        element = stack.pop()
        found.append(element)
        kids = element.get("/K")
        kids = kids.get_object() if hasattr(kids, "get_object") else kids
        for kid in kids if isinstance(kids, ArrayObject) else [kids]:
            kid = kid.get_object() if hasattr(kid, "get_object") else kid
            if isinstance(kid, DictionaryObject) and "/S" in kid:
                stack.append(kid)
    return found


# ----- the parse stage: refused with the template's line, or kept as text ---------------


def _parse(tmp_path: Path, body: str, note: str = "") -> Document:
    path = tmp_path / "templates" / "letter.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\ndate: 2013-11-05\nlang: en\n---\n" + textwrap.dedent(body))
    template = read_template(path)
    candidate = Candidate(2013, "Mexico", "Mexico", ("m@example.org",), "mexico",
                          {"name": "Mexico", "short_name": "Mexico", "note": note},
                          Source("c.csv", 2))
    signatories = (Signatory(2013, "Org", {"name": "Org"}, Source("s.csv", 2)),)
    letter = Merger(template, signatories, Settings(2013)).merge(candidate)
    return parse(letter, template)


@pytest.mark.parametrize(("markdown", "says", "at"), [
    ("<div>x</div>", "raw HTML is not supported", 0),
    ("Yours,<br>Ann", "raw HTML is not supported", 0),
    ("<!-- draft -->", "raw HTML is not supported", 0),
    ("The cost is $x^2$.", "math ($...$) is not supported", 0),
    ("$$\nx\n$$", "math ($$...$$) is not supported", 0),
    ("Term\n: its meaning", "a definition list is not supported", 0),
    ("As said[^1].", "the footnote [^1] has no definition", 0),
    ("[^1]: Never referenced.", "the footnote [^1] is defined here but never used", 0),
    ("Text.[^1]\n\n[^1]: A note[^2].\n\n[^2]: Another.", "a footnote inside a footnote",
     2),
    ("Text.[^1]\n\n[^1]: A note.\n\n    - a list in it", "a footnote may hold paragraphs",
     4),
    ("| A | B |\n| 1 | 2 |", "looks like a table row", 0),
    ("| A | B |\n|---|---|\n| 1 | 2 | three |", "this table row has 3 cells but its "
     "header has 2: the cells past the first 2 ('three') would be dropped", 2),
    ("A | B\n--|--\n1 | 2 | 3", "has 3 cells but its header has 2", 2),
    ("> | A | B |\n> |---|---|\n> | 1 | 2 | 3 |", "has 3 cells", 2),
    ("| A | B |\n|---|---|\n| 1 {{ candidate.note }} | 2 |", "a line break in this "
     "table row would split it in two", 2),
    ("## About {{ candidate.note }}", "a line break in this heading", 0),
    ("Dup.[^d]\n\n[^d]: First.\n\n[^d]: Second.", "[^d] is defined twice", 4),
    ("Empty.[^e]\n\n[^e]:", "the footnote [^e] is empty", 2),
    ("Spaced.[^a b]\n\n[^a b]: Note.", "[^a b] has a space", 2),  # a link definition
    ("Spaced.[^a b]\n\n[^a b]: Two words.", "[^a b] has a space", 0),
    ("| " + " | ".join("H" * 21) + " |\n|" + "---|" * 21, "this table has 21 columns; a "
     "letter's table may have 20 at most", 0),
    ("Evil &#x202e;txet desrever", "the direction control U+202E", 0),
    ("Evil \u2066txet", "the direction control U+2066", 0),
    ("[click](javascript:alert(1))", "this looks like a link but is not one", 0),
    ("[the file](file:///etc/passwd)", "this looks like a link but is not one", 0),
    ("See the resolution.\n\n[1]: A/RES/60/251", "a link definition ([1]: ...) that no "
     "text uses: it would not print", 2),
    ("Text first.\n| A | B |", "looks like a table row", 1),
])
def test_unsupported_markup_is_refused_with_its_template_line(
        tmp_path: Path, markdown: str, says: str, at: int) -> None:
    body = "Dear {{ candidate.name }},\n\n" + markdown + "\n"
    with pytest.raises(RenderError) as info:
        _parse(tmp_path, body, note="two\nlines")
    problem = info.value.problem
    assert says in problem.message, problem.message
    assert problem.path.endswith("templates/letter.md")
    assert problem.line == 7 + at  # 4 lines of front matter, "Dear", a blank line


def test_a_link_definition_that_is_used_is_fine(tmp_path: Path) -> None:
    doc = _parse(tmp_path, "See [the resolution][1].\n\n[1]: https://undocs.org/A/RES/60/251\n")
    assert "the resolution" in render_text(doc.tree)


def test_table_rows_with_fewer_cells_escaped_pipes_and_backslashes_are_fine(
        tmp_path: Path) -> None:
    doc = _parse(tmp_path, "| A | B | C |\n|---|---|---|\n| a \\| b | {{ candidate.note }} |\n"
                           "| c |\n\n## On {{ candidate.note }}\n", note="x\\")
    text = render_text(doc.tree)
    assert "a | b" in text and "x\\" in text and "On x\\" in text


def test_a_less_than_sign_and_dollars_in_prose_are_text(tmp_path: Path) -> None:
    doc = _parse(tmp_path, "Since 3 < 4 and a <= b, we pay $5 and $10.\n")
    assert "3 &lt; 4 and a &lt;= b, we pay $5 and $10." in render_page(doc.tree, META)


@pytest.mark.parametrize("value", ["<div>x</div>", "[^1]", "| a | b |", "~~no~~",
                                   "$x$", "<!-- c -->"])
def test_markup_characters_in_the_data_print_as_written(tmp_path: Path, value: str) -> None:
    doc = _parse(tmp_path, "Note: {{ candidate.note }}\n", note=value)
    assert f"Note: {value}" in render_text(doc.tree)


def test_pdf_and_docx_share_a_tables_column_widths() -> None:
    """Both formats set the same column widths (so a cell wraps alike): the HTML's
    percentages and the DOCX's grid are the same shares of the text width."""
    text = ("| Measure | United Kingdom | What members should do |\n|:--|:-:|:--|\n"
            "| Visits of Special Procedures accepted | 7 | accept every request |\n")
    page = render_page(_doc(text).tree, META)
    shares = [float(p) / 100 for p in re.findall(r'<col style="width:([\d.]+)%">', page)]
    grid = [int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)"/>',
                                       _docx(text)["word/document.xml"])]
    assert len(shares) == len(grid) == 3
    assert [round(g / sum(grid), 3) for g in grid] == [round(s, 3) for s in shares]
    assert shares[0] > shares[2] > shares[1]  # the longest text gets the widest column
