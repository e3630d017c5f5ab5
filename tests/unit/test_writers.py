"""Each writer alone: one function call on a parsed letter, compared by content with a
golden file (tests/golden/<writer>/), and on small inline documents.

Regenerate the golden files after a deliberate change with
``LETTERFORGE_GOLDEN=update .venv/bin/python -m pytest tests/unit/test_writers.py``
and review the diff.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import zipfile
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from docx_references import PNG, SECRETS, hostile_reference, reference_with_a_part

from conftest import ROOT
from letterforge.config import Inputs, Options
from letterforge.letter import Renderer
from letterforge.models import Assets, Candidate, Source
from letterforge.parse import Document, EmailDocument, parse_markdown
from letterforge.plan import prepare
from letterforge.writers import WRITERS
from letterforge.writers.html import render_page
from letterforge.writers.text import render_text

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("LETTERFORGE_GOLDEN") == "update":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with LETTERFORGE_GOLDEN=update"
    assert actual == path.read_text(encoding="utf-8"), f"differs from {path}"


@pytest.fixture(scope="module")
def mexico(tmp_path_factory: pytest.TempPathFactory) -> tuple[Document, Renderer]:
    """The Mexico letter of the sample, merged and parsed once."""
    old = Path.cwd()
    os.chdir(ROOT)
    try:
        plan = prepare(Inputs(), Options(2013, only=("Mexico",)))
    finally:
        os.chdir(old)
    renderer = plan.renderer()
    (candidate,) = plan.candidates
    return renderer.document(candidate), renderer


def test_html_golden(mexico: tuple[Document, Renderer]) -> None:
    doc, _ = mexico
    golden("html/mexico.html", render_page(doc.tree, doc.meta))


def test_text_golden_of_the_email(mexico: tuple[Document, Renderer]) -> None:
    doc, _ = mexico
    assert doc.email is not None
    golden("text/mexico-email.txt", render_text(doc.email.tree))


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


def test_pdf_golden_text(mexico: tuple[Document, Renderer], tmp_path: Path) -> None:
    from conftest import pdf_text

    doc, renderer = mexico
    data = WRITERS["pdf"].render(doc, renderer.job.assets)
    assert data.startswith(b"%PDF-")
    (tmp_path / "m.pdf").write_bytes(data)
    text = pdf_text(tmp_path / "m.pdf")
    golden("pdf/mexico.txt", "\n".join(re.findall(r".{1,100}(?:\s|$)", text)) + "\n")


LISTS = """\
Tight:

1. one
2. two *with* [a link](https://example.org/a)

Loose:

- a

  a's second paragraph
- b

From nine:

9. nine
10. ten
11. eleven
12. twelve
13. thirteen
14. fourteen
15. fifteen
16. sixteen
17. seventeen
18. eighteen
19. nineteen
20. twenty

Nested:

1. outer
   1. inner
   2. inner two
2. outer two
"""


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


def test_pdf_lists_keep_pdf_ua_structure_and_hanging_numbers(tmp_path: Path) -> None:
    import subprocess

    import page

    from conftest import pdf_list_items

    root = ROOT / "templates"
    assets = Assets(root, "letter.css", (root / "letter.css").read_text(encoding="utf-8"))
    data = WRITERS["pdf"].render(_lists_document(), assets)
    report = page.validate_pdf_bytes(data, profile="ua1")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]
    items = pdf_list_items(data)
    assert len(items) == 2 + 2 + 12 + 2 + 2
    assert all(kids == ["/Lbl", "/LBody"] for kids in items), items
    # the numbers hang in the margin: each ends before its text, and every item's text
    # starts at the same place whatever its number's width (9. and 10. alike)
    (tmp_path / "l.pdf").write_bytes(data)
    xml = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "l.pdf"), "-"],
                         capture_output=True, text=True, check=True).stdout
    words = [(w, float(x0), float(x1)) for x0, x1, w in
             re.findall(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">'
                        r"([^<]*)</word>", xml)]
    names = [w for w, _, _ in words]
    part = words[names.index("nine:") + 1:names.index("Nested:")]
    pairs = [(a, b) for a, b in zip(part, part[1:], strict=False) if re.fullmatch(r"\d+\.", a[0])]
    assert [a[0] for a, _ in pairs] == [f"{n}." for n in range(9, 21)]
    number_ends = [a[2] for a, _ in pairs]
    assert all(a[2] < b[1] for a, b in pairs)
    assert len({round(b[1], 1) for _, b in pairs}) == 1  # every text starts at one place
    assert max(number_ends) - min(number_ends) < 0.5  # right-aligned, like outside markers


def test_eml_golden_headers_and_structure(mexico: tuple[Document, Renderer]) -> None:
    doc, renderer = mexico
    pdf = b"%PDF-1.7 stand-in"
    data = WRITERS["eml"].render(doc, renderer.job.assets, {"pdf": pdf})
    msg = message_from_bytes(data, policy=policy.default)
    lines = [f"{k}: {v}" for k, v in msg.items() if k.lower() != "content-type"]
    for part in msg.walk():
        lines.append(f"part: {part.get_content_type()} {part.get_filename() or ''}".rstrip())
    golden("eml/mexico-headers.txt", "\n".join(lines) + "\n")
    (attachment,) = msg.iter_attachments()
    assert attachment.get_content() == pdf


# ----- small inline documents ---------------------------------------------------------

CAND = Candidate(2013, "X", "X", ("x@example.org",), "x", {}, Source("c.csv", 2))
META = {"lang": "en", "title": "T", "subject": "S", "author": "A",
        "date": dt.date(2013, 11, 5),
        "timestamp": dt.datetime(2013, 11, 5, tzinfo=dt.UTC)}
SAMPLE = """\
# Title

{.date}
Some *emphasis*, **strong**, `code` and a [link](https://example.org/a).\\
After a hard break.

1. one
2. two
   - nested bullet

> quoted

---

    code block
"""


def _doc(text: str = SAMPLE) -> Document:
    return Document(parse_markdown(text), META, CAND,
                    EmailDocument(parse_markdown(text), {
                        "from": "A <a@example.org>", "to": ("x@example.org",), "cc": (),
                        "bcc": (), "reply_to": "", "subject": "S", "attachment": "x"}, False))


def test_html_of_every_construct() -> None:
    page = render_page(_doc().tree, META)
    for fragment in ('<html lang="en">', '<h1>Title</h1>', '<p class="date">',
                     "<em>emphasis</em>", "<strong>strong</strong>", "<code>code</code>",
                     '<a href="https://example.org/a">link</a>', "<br>", "<ol>",
                     "<li>one</li>", "<ul>", "<blockquote>", "<hr>", "<pre><code>code block"):
        assert fragment in page, fragment


def test_text_of_every_construct() -> None:
    text = render_text(_doc().tree)
    assert "link <https://example.org/a>" in text
    assert "1. one\n2. two\n   - nested bullet" in text
    assert "> quoted" in text and "    code block" not in text and "code block" in text
    assert all(len(line) <= 72 for line in text.splitlines())


def test_docx_of_every_construct() -> None:
    data = WRITERS["docx"].render(_doc(), Assets(Path("."), "letter.css", ""))
    xml = _docx_parts(data)["word/document.xml"]
    for fragment in ('w:val="Heading1"', 'w:val="Date"', "<w:i/>", "<w:b/>", "<w:hyperlink",
                     "<w:br/>", "<w:numPr>", 'w:val="Quote"', 'w:val="HorizontalRule"',
                     'w:val="SourceCode"'):
        assert fragment in xml, fragment


# ----- the DOCX and its reference document -------------------------------------------

def test_docx_takes_only_styles_and_layout_from_the_reference() -> None:
    reference = hostile_reference()
    with zipfile.ZipFile(io.BytesIO(reference)) as z:  # the reference carries them all
        whole = b"".join(z.read(n) for n in z.namelist())
        assert all(s.encode() in whole for s in SECRETS)
    data = WRITERS["docx"].render(_doc(), Assets(Path("."), "letter.css", "", reference))
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
    data = WRITERS["docx"].render(_doc(), Assets(Path("."), "letter.css", "", reference))
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
            WRITERS["docx"].render(_doc(), Assets(Path("."), "letter.css", "", reference))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20  # the part was never expanded


def test_docx_is_the_same_bytes_every_time_and_escapes_its_text() -> None:
    # raw HTML is refused by the parse stage; escaped (as the merge escapes data) it is text
    text = 'Fish & "chips" \\<b>not bold\\</b> at 5 > 4 [x](https://example.org/?a=1&b=<2>)\n'
    one = WRITERS["docx"].render(_doc(text), Assets(Path("."), "letter.css", ""))
    two = WRITERS["docx"].render(_doc(text), Assets(Path("."), "letter.css", ""))
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
        WRITERS["docx"].render(_doc("A bell \x07 rings.\n"), Assets(Path("."), "letter.css", ""))


def test_docx_footer_numbers_pages_as_page_of_pages() -> None:
    data = WRITERS["docx"].render(_doc(), Assets(Path("."), "letter.css", ""))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        footer = z.read("word/footer1.xml").decode()
    assert re.search(r"> PAGE <.*> / <.*> NUMPAGES <", footer)


def test_docx_block_class_gets_a_style_of_its_own() -> None:
    data = WRITERS["docx"].render(_doc("{.signatories}\n- One\n- Two\n\n{.date}\nToday\n"),
                                  Assets(Path("."), "letter.css", ""))
    parts = _docx_parts(data)
    assert parts["word/document.xml"].count('<w:pStyle w:val="Signatories"/>') == 2
    assert re.search(r'<w:style w:type="paragraph" w:customStyle="1" w:styleId="Signatories">'
                     r'<w:name w:val="Signatories"/><w:basedOn w:val="Normal"/>',
                     parts["word/styles.xml"])
    assert parts["word/styles.xml"].count('w:styleId="Date"') == 1


@pytest.mark.parametrize(("lang", "attr"), [("ar", ' dir="rtl"'), ("he-IL", ' dir="rtl"'),
                                            ("en-GB", ""), ("zh", "")])
def test_a_right_to_left_letter_says_so_in_its_page(lang: str, attr: str) -> None:
    page = render_page(parse_markdown("x\n"), {**META, "lang": lang})
    assert f'<html lang="{lang}"{attr}>' in page
