"""The plain-text writer (the e-mail's text part): the sample's Mexico e-mail compared
with its golden text (tests/golden/text/), and small inline letters: every construct,
tables drawn in text, numbered footnotes at the end, lines of 72 characters at most.

Regenerate the golden files after a deliberate change with
``LETTERFORGE_GOLDEN=update .venv/bin/python -m pytest tests/unit/test_writer_*.py
tests/e2e/test_pdf_writer.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt

from conftest import CONSTRUCTS as LETTER
from conftest import golden
from conftest import sample_document as _sample
from letterforge.letter import Renderer
from letterforge.models import Candidate, Source
from letterforge.parse import Document, parse_markdown
from letterforge.writers.text import WIDTH, render_text


def test_text_golden_of_the_email(mexico: tuple[Document, Renderer]) -> None:
    doc, _ = mexico
    assert doc.email is not None
    golden("text/mexico-email.txt", render_text(doc.email.tree))


# ----- small inline documents --------------------------------------------------------------


def test_text_of_every_construct() -> None:
    text = render_text(_sample().tree)
    assert "link <https://example.org/a>" in text
    assert "1. one\n2. two\n   - nested bullet" in text
    assert "> quoted" in text and "    code block" not in text and "code block" in text
    assert all(len(line) <= 72 for line in text.splitlines())


# ----- tables, footnotes, strikethrough, quotes --------------------------------------------


META = {"lang": "en", "title": "T", "timestamp": dt.datetime(2013, 11, 5, tzinfo=dt.UTC)}

CAND = Candidate(2013, "X", "X", (), "x", {}, Source("c.csv", 2))


def _doc(text: str = LETTER) -> Document:
    return Document(parse_markdown(text, "en"), META, CAND)


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
