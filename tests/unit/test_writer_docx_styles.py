"""The DOCX takes its page, fonts and spacing from the PDF's stylesheet (no reference
document), read with an independent reader of the package's XML (zipfile + lxml)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from docx_references import hostile_reference
from lxml import etree

from letterforge.models import Assets, Candidate, Source
from letterforge.parse import Document, parse_markdown
from letterforge.writers import WRITERS
from letterforge.writers.docx.stylesheet import layout

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

CSS = """
@page { size: A5 landscape; margin: 10mm 12mm 20mm 14mm;
        @bottom-center { content: counter(page); font-size: 8pt; color: #555; } }
html { font-family: "Liberation Sans", sans-serif; font-size: 10pt; line-height: 1.5; }
p, li { margin: 0 0 6pt 0; orphans: 2; widows: 2; }
h2 { font-size: 2em; margin-top: 1em; break-after: avoid; }
ol { margin-bottom: 9pt; padding-left: 3em; }
li { margin-bottom: 2pt; }
.closing { margin-top: 12pt; break-after: avoid; }
.names li { margin-bottom: 1pt; }
"""

TEXT = "## Head\n\nBody.\n\n1. one\n2. two\n\n{.closing}\nBye,\n\n{.names}\n1. A\n2. B\n"


def _docx(css: str, reference: bytes | None = None) -> dict[str, etree._Element]:
    doc = Document(parse_markdown(TEXT), {"lang": "en", "timestamp": dt.datetime(
        2013, 11, 5, tzinfo=dt.UTC)}, Candidate(2013, "X", "X", (), "x", {}, Source("c", 2)))
    data = WRITERS["docx"].render(doc, Assets(Path("."), "letter.css", css, reference))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: etree.fromstring(z.read(n)) for n in
                ("word/styles.xml", "word/document.xml", "word/numbering.xml")}


def _style(styles: etree._Element, name: str) -> etree._Element:
    return next(s for s in styles.iter(W + "style")
                if s.find(W + "name").get(W + "val").casefold() == name.casefold())


def _attr(el: etree._Element, path: str, attr: str) -> str | None:
    found = el.find(path)
    return None if found is None else found.get(W + attr)


def test_layout_reads_the_cascade_as_weasyprint_does() -> None:
    page = layout(CSS)
    assert (round(page.width), round(page.height)) == (595, 420)  # A5 landscape
    assert (round(page.top / 72 * 25.4), round(page.bottom / 72 * 25.4)) == (10, 20)
    assert page.footer.size == 8 and page.footer.color == "555555"
    assert page.list_indent == 30 and page.list_after == 9
    normal, head = page.style("Normal"), page.style("Heading 2")
    assert normal is not None and head is not None
    assert (normal.font, normal.size, normal.line, normal.after) == (
        "Liberation Sans", 10, 15, 6)
    assert (head.size, head.line, head.before, head.keep_with_next) == (20, 30, 20, True)
    assert page.style("List Paragraph").after == 2  # type: ignore[union-attr]
    assert page.style("Names").after == 1  # type: ignore[union-attr]
    assert "Names" in page.list_classes and "Closing" not in page.list_classes
    closing = page.style("Closing")
    assert closing is not None and (closing.before, closing.keep_with_next) == (12, True)


def test_docx_styles_and_page_follow_the_stylesheet() -> None:
    parts = _docx(CSS)
    styles, body = parts["word/styles.xml"], parts["word/document.xml"]
    sect = body.find(f"{W}body/{W}sectPr")
    assert _attr(sect, W + "pgSz", "w") == "11906" and _attr(sect, W + "pgSz", "h") == "8391"
    assert _attr(sect, W + "pgMar", "bottom") == "1134"  # 20 mm
    normal = _style(styles, "Normal")
    assert _attr(normal, f"{W}pPr/{W}spacing", "line") == "300"  # 1.5 x 10 pt
    assert _attr(normal, f"{W}pPr/{W}spacing", "lineRule") == "atLeast"
    assert _attr(normal, f"{W}rPr/{W}rFonts", "ascii") == "Liberation Sans"
    assert _attr(_style(styles, "Names"), f"{W}pPr/{W}spacing", "after") == "20"
    assert _style(styles, "Closing").find(f"{W}pPr/{W}keepNext") is not None
    assert _attr(_style(styles, "footer"), f"{W}rPr/{W}sz", "val") == "16"
    # the list's own bottom margin (9 pt) collapses with its last item's (2 pt)
    after = [_attr(p, f"{W}pPr/{W}spacing", "after") for p in body.iter(W + "p")]
    assert after == [None, None, None, "180", None, None, "180"]
    ours = [a for a in parts["word/numbering.xml"].iter(W + "abstractNum")
            if _attr(a, W + "nsid", "val").startswith("4C46")]  # type: ignore[union-attr]
    indents = {_attr(a, f"{W}lvl[@{W}ilvl='0']/{W}pPr/{W}ind", "left") for a in ours}
    assert len(ours) == 2 and indents == {"600"}  # 3em of 10 pt
    # a reference document keeps its own page and styles: the stylesheet is not read
    parts = _docx(CSS, hostile_reference())
    sect = parts["word/document.xml"].find(f"{W}body/{W}sectPr")
    assert _attr(sect, W + "pgMar", "bottom") != "1134"
    assert all(p.find(f"{W}pPr/{W}spacing") is None
               for p in parts["word/document.xml"].iter(W + "p"))


def test_the_first_page_top_margin_is_read_for_the_letterhead() -> None:
    default = 55 * 72 / 25.4  # the PDF's own @page :first (writers/pdf.py)
    assert layout("@page :first { margin: 40mm 10mm }").first_top == pytest.approx(
        40 * 72 / 25.4, abs=0.01)
    # not the first page's: the PDF's default stays
    assert layout("@page { margin-top: 40mm }").first_top == pytest.approx(default, abs=0.01)
    assert layout("@page :left { margin-top: 70mm }").first_top == pytest.approx(
        default, abs=0.01)
    # the PDF's own default (55 mm) unless the stylesheet says otherwise; other pages keep
    # the stylesheet's margin
    plain = layout("@page { margin: 25mm }")
    assert plain.first_top == pytest.approx(55 * 72 / 25.4, abs=0.01)  # points, rounded
    assert plain.top == pytest.approx(25 * 72 / 25.4, abs=0.01)
    assert layout("@page :first { margin-top: 70mm }").first_top == pytest.approx(
        70 * 72 / 25.4, abs=0.01)


def test_an_infinite_size_in_the_stylesheet_is_refused_not_a_traceback(
        tmp_path: Path) -> None:
    """1e400pt is infinity: the DOCX and the PDF writers both stopped with a traceback."""
    from letterforge.validate.stylesheet import stylesheet_problems

    css = "p {\n  margin-top: 1e400pt;\n  line-height: 1e400;\n}\n"
    (problem,) = stylesheet_problems(css, tmp_path / "letter.css", tmp_path)
    assert problem.line == 2 and "'1e400pt' is not a size a page can hold" in problem.message
    page = layout(css)  # ignores what it cannot use, as WeasyPrint ignores what is invalid
    assert all(abs(v) < 1e6 for v in (page.style("Normal") or page.styles[0][1]).__dict__
               .values() if isinstance(v, float))
    assert stylesheet_problems("p { margin: 12pt 0 }", tmp_path / "letter.css", tmp_path) == []


def test_a_list_kept_together_keeps_each_item_with_the_next_but_the_last() -> None:
    """``break-inside: avoid`` on a class list: the PDF moves the whole list to the next
    page when it does not fit; Word and LibreOffice do the same with each item kept with
    the next. The last item lets go: the text after the list may begin a page."""
    kept = CSS + ".names { break-inside: avoid; }\n"
    assert "Names" in layout(kept).kept_lists and not layout(CSS).kept_lists
    parts = _docx(kept + "p.after-names { margin: 0; }")
    styles, body = parts["word/styles.xml"], parts["word/document.xml"]
    assert _keeps(_style(styles, "Names"))
    names = [p for p in body.iter(W + "p")
             if _attr(p, f"{W}pPr/{W}pStyle", "val") == "Names"]
    assert [_attr(p, f"{W}pPr/{W}keepNext", "val") for p in names] == [None, "0"]
    # without it, nothing is kept
    parts = _docx(CSS)
    assert not _keeps(_style(parts["word/styles.xml"], "Names"))
    assert all(p.find(f"{W}pPr/{W}keepNext") is None
               for p in parts["word/document.xml"].iter(W + "p"))


def _keeps(el: etree._Element) -> bool:
    """Whether a style or paragraph keeps with the next (w:keepNext, not w:val="0")."""
    keep = el.find(f"{W}pPr/{W}keepNext")
    return keep is not None and keep.get(W + "val") not in ("0", "false")


@pytest.mark.parametrize(("css", "rpr"), [
    ("", ("0563C1", "single")),  # Word's hyperlink blue, underlined
    ("a { color: #c00; }", ("CC0000", "single")),
    ("a { color: inherit; text-decoration: none; }", (None, "none")),  # printed as text
    ("p { color: #333; } a:link { color: inherit; text-decoration-line: none; }",
     ("333333", "none")),
])
def test_links_in_the_docx_look_as_the_stylesheet_prints_them(
        css: str, rpr: tuple[str | None, str]) -> None:
    link = _style(_docx(css)["word/styles.xml"], "Hyperlink")
    assert (_attr(link, f"{W}rPr/{W}color", "val"), _attr(link, f"{W}rPr/{W}u", "val")) == rpr
