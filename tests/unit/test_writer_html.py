"""The HTML writer (the PDF's page, the e-mail's HTML part): the sample's Mexico letter
compared with its golden page (tests/golden/html/), and small inline letters: lists,
every construct, tables and footnotes, right-to-left languages.

Regenerate the golden files after a deliberate change with
``LETTERFORGE_GOLDEN=update .venv/bin/python -m pytest tests/unit/test_writer_*.py
tests/e2e/test_pdf_writer.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import CONSTRUCTS as LETTER
from conftest import LISTS, SAMPLE_META, golden
from conftest import sample_document as _sample
from letterforge.letter import Renderer
from letterforge.models import Candidate, Source
from letterforge.parse import Document, parse_markdown
from letterforge.writers.html import render_page


def test_html_golden(mexico: tuple[Document, Renderer]) -> None:
    doc, _ = mexico
    golden("html/mexico.html", render_page(doc.tree, doc.meta))


# ----- lists -------------------------------------------------------------------------------


def _lists_document() -> Document:
    cand = Candidate(2013, "X", "X", ("a@example.org",), "x", {}, Source("c.csv", 2))
    return Document(parse_markdown(LISTS), {"lang": "en", "title": "Lists"}, cand)


def test_html_marks_tight_ordered_lists_and_long_numbers() -> None:
    html = render_page(_lists_document().tree, {"lang": "en", "title": "t"})
    assert '<ol class="lf-tight">\n<li>one</li>' in html
    assert "<ul>\n<li><p>a</p>" in html  # loose: unmarked, numbers stay outside
    assert '<ol class="lf-tight" start="9">\n<li>nine</li>\n<li class="lf-n2">ten</li>' in html
    assert '<li class="lf-n2">twenty</li>' in html
    # an item holding a list is not one line of text: its list keeps outside numbers
    assert '<ol>\n<li>outer<ol class="lf-tight">\n<li>inner</li>' in html


# ----- small inline documents --------------------------------------------------------------


def test_html_of_every_construct() -> None:
    page = render_page(_sample().tree, SAMPLE_META)
    for fragment in ('<html lang="en">', '<h1>Title</h1>', '<p class="date">',
                     "<em>emphasis</em>", "<strong>strong</strong>", "<code>code</code>",
                     '<a href="https://example.org/a">link</a>', "<br>", "<ol>",
                     "<li>one</li>", "<ul>", "<blockquote>", "<hr>", "<pre><code>code block"):
        assert fragment in page, fragment


@pytest.mark.parametrize(("lang", "attr"), [("ar", ' dir="rtl"'), ("he-IL", ' dir="rtl"'),
                                            ("en-GB", ""), ("zh", "")])
def test_a_right_to_left_letter_says_so_in_its_page(lang: str, attr: str) -> None:
    page = render_page(parse_markdown("x\n"), {**SAMPLE_META, "lang": lang})
    assert f'<html lang="{lang}"{attr}>' in page


# ----- tables, footnotes, strikethrough, quotes --------------------------------------------


META = {"lang": "en", "title": "T", "timestamp": dt.datetime(2013, 11, 5, tzinfo=dt.UTC)}

CAND = Candidate(2013, "X", "X", (), "x", {}, Source("c.csv", 2))


def _doc(text: str = LETTER) -> Document:
    return Document(parse_markdown(text, "en"), META, CAND)


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
