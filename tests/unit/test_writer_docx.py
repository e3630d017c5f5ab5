"""The DOCX writer, one function call at a time: the sample's Mexico letter compared
part by part with its golden XML (tests/golden/docx/), and small inline letters: every
construct, what a reference document may give (styles and layout, nothing else), the
same bytes every time, tables, footnotes, strikethrough and quotes. Its page and styles
from the stylesheet: test_writer_docx_styles.py.

Regenerate the golden files after a deliberate change with
``LETTERFORGE_GOLDEN=update .venv/bin/python -m pytest tests/unit/test_writer_*.py
tests/e2e/test_pdf_writer.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from docx_references import PNG, SECRETS, hostile_reference, reference_with_a_part

from conftest import CONSTRUCTS as LETTER
from conftest import golden
from conftest import sample_document as _sample
from letterforge.letter import Renderer
from letterforge.models import Assets, Candidate, Source
from letterforge.parse import Document, parse_markdown
from letterforge.writers import WRITERS
from letterforge.writers.html import render_page


def _docx_parts(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith((".xml", ".rels"))}


def _pretty(xml: str) -> str:
    from lxml import etree

    root = etree.fromstring(xml.encode())
    etree.indent(root, space=" ")
    return etree.tostring(root, encoding="unicode") + "\n"


def test_docx_golden(mexico: tuple[Document, Renderer]) -> None:
    doc, renderer = mexico
    data = WRITERS["docx"].render(doc, renderer.job.assets)
    parts = _docx_parts(data)
    golden("docx/mexico-parts.txt", "\n".join(sorted(parts)) + "\n")
    golden("docx/mexico-document.xml", _pretty(parts["word/document.xml"]))
    golden("docx/mexico-numbering.xml", _pretty(parts["word/numbering.xml"]))
    golden("docx/mexico-core.xml", _pretty(parts["docProps/core.xml"]))
    golden("docx/mexico-footer1.xml", _pretty(parts["word/footer1.xml"]))
    golden("docx/mexico-settings.xml", _pretty(parts["word/settings.xml"]))
    golden("docx/mexico-document.xml.rels", _pretty(parts["word/_rels/document.xml.rels"]))


# ----- small inline documents --------------------------------------------------------------


def test_docx_of_every_construct() -> None:
    data = WRITERS["docx"].render(_sample(), Assets(Path("."), "letter.css", ""))
    xml = _docx_parts(data)["word/document.xml"]
    for fragment in ('w:val="Heading1"', 'w:val="Date"', "<w:i/>", "<w:b/>", "<w:hyperlink",
                     "<w:br/>", "<w:numPr>", 'w:val="Quote"', 'w:val="HorizontalRule"',
                     'w:val="SourceCode"'):
        assert fragment in xml, fragment


# ----- the DOCX and its reference document -------------------------------------------------


def test_docx_takes_only_styles_and_layout_from_the_reference() -> None:
    reference = hostile_reference()
    with zipfile.ZipFile(io.BytesIO(reference)) as z:  # the reference carries them all
        whole = b"".join(z.read(n) for n in z.namelist())
        assert all(s.encode() in whole for s in SECRETS)
    data = WRITERS["docx"].render(_sample(), Assets(Path("."), "letter.css", "", reference))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        parts = {n: z.read(n) for n in names}
    leaked = [(s, n) for n, b in parts.items() for s in SECRETS if s.encode() in b]
    assert not leaked
    assert not [n for n in names if re.search(
        r"comments|app\.xml|thumbnail|customXml|people|glossary|webSettings|settings\.xml\.rels",
        n)]
    for name, rels in parts.items():
        if name.endswith(".rels"):
            for rel in re.findall(rb"<Relationship [^>]*>", rels):
                assert b"External" not in rel or b"/hyperlink\"" in rel and \
                    b"example.org/a" in rel, (name, rel)
    assert b"attachedTemplate" not in parts["word/settings.xml"]
    assert b'w:ascii="DejaVu Sans"' in parts["word/styles.xml"]
    header = next(b for n, b in parts.items() if re.fullmatch(r"word/header\d\.xml", n))
    assert b"LETTERHEAD OF THE SENDER" in header and b"our website" in header
    assert b"FOOTER OF THE SENDER" in next(
        b for n, b in parts.items() if re.fullmatch(r"word/footer\d\.xml", n))
    assert b" and its field" in next(
        b for n, b in parts.items() if re.fullmatch(r"word/footer\d\.xml", n))
    assert [n for n in names if n.startswith("word/media/")] == ["word/media/image1.png"]
    assert parts["word/media/image1.png"] == PNG
    body = parts["word/document.xml"]
    assert b"Some " in body and b"<w:headerReference" in body

    from docx2python import docx2python  # an independent reader opens it

    with docx2python(io.BytesIO(data)) as read:
        assert "LETTERHEAD OF THE SENDER ----media/image1.png----our website" in str(read.header)
        assert read.images == {"image1.png": PNG}
        assert "nested bullet" in read.text


def test_docx_never_copies_a_part_it_does_not_take() -> None:
    reference = reference_with_a_part(5)
    data = WRITERS["docx"].render(_sample(), Assets(Path("."), "letter.css", "", reference))
    assert len(data) < 100_000
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert not [n for n in z.namelist() if "media" in n]


def test_docx_refuses_a_reference_that_expands_past_the_limit() -> None:
    import tracemalloc

    from letterforge.errors import InputError
    from letterforge.validate.reference import reference_docx_problems

    reference = reference_with_a_part(200)
    assert len(reference) < 2 << 20
    (problem,) = reference_docx_problems(reference, "templates/reference.docx")
    assert "expands to 200 MB (word/media/x.bin: 200 MB)" in problem.message
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="expands to 200 MB"):
            WRITERS["docx"].render(_sample(), Assets(Path("."), "letter.css", "", reference))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20  # the part was never expanded


# ----- the same bytes, text as text, the footer, classes -----------------------------------


def test_docx_is_the_same_bytes_every_time_and_escapes_its_text() -> None:
    # raw HTML is refused by the parse stage; escaped (as the merge escapes data) it is text
    text = 'Fish & "chips" \\<b>not bold\\</b> at 5 > 4 [x](https://example.org/?a=1&b=<2>)\n'
    one = WRITERS["docx"].render(_sample(text), Assets(Path("."), "letter.css", ""))
    two = WRITERS["docx"].render(_sample(text), Assets(Path("."), "letter.css", ""))
    assert one == two
    with zipfile.ZipFile(io.BytesIO(one)) as z:
        assert z.testzip() is None
        assert {i.date_time for i in z.infolist()} == {(2013, 11, 5, 0, 0, 0)}
        body = z.read("word/document.xml").decode()
        rels = z.read("word/_rels/document.xml.rels").decode()
    assert "Fish &amp; &quot;chips&quot; &lt;b&gt;not bold&lt;/b&gt; at 5 &gt; 4" in body
    assert 'Target="https://example.org/?a=1&amp;b=%3C2%3E"' in rels


def test_docx_refuses_a_character_xml_cannot_hold() -> None:
    from letterforge.errors import RenderError

    with pytest.raises(RenderError, match="control character U\\+0007"):
        WRITERS["docx"].render(_sample("A bell \x07 rings.\n"), Assets(Path("."), "letter.css", ""))


def test_docx_footer_numbers_pages_as_page_of_pages() -> None:
    data = WRITERS["docx"].render(_sample(), Assets(Path("."), "letter.css", ""))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        footer = z.read("word/footer1.xml").decode()
    assert re.search(r"> PAGE <.*> / <.*> NUMPAGES <", footer)


def test_docx_block_class_gets_a_style_of_its_own() -> None:
    data = WRITERS["docx"].render(_sample("{.signatories}\n- One\n- Two\n\n{.date}\nToday\n"),
                                  Assets(Path("."), "letter.css", ""))
    parts = _docx_parts(data)
    assert parts["word/document.xml"].count('<w:pStyle w:val="Signatories"/>') == 2
    assert re.search(r'<w:style w:type="paragraph" w:customStyle="1" w:styleId="Signatories">'
                     r'<w:name w:val="Signatories"/><w:basedOn w:val="Normal"/>',
                     parts["word/styles.xml"])
    assert parts["word/styles.xml"].count('w:styleId="Date"') == 1


# ----- tables, footnotes, strikethrough, quotes --------------------------------------------


META = {"lang": "en", "title": "T", "timestamp": dt.datetime(2013, 11, 5, tzinfo=dt.UTC)}

CAND = Candidate(2013, "X", "X", (), "x", {}, Source("c.csv", 2))


def _doc(text: str = LETTER) -> Document:
    return Document(parse_markdown(text, "en"), META, CAND)


def _docx(text: str = LETTER) -> dict[str, str]:
    data = WRITERS["docx"].render(_doc(text), Assets(Path("."), "letter.css", ""))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n).decode() for n in z.namelist() if n.endswith((".xml", ".rels"))}


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
