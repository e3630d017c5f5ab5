"""The PDF: A4, tagged, language and title, fonts embedded, clickable links, page numbers;
the writer alone on the sample's Mexico letter (its text compared with
tests/golden/pdf/mexico.txt), on lists (PDF/UA-1 structure, hanging numbers) and on
footnotes (at the foot of their page, tagged as notes)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

from pypdf import PdfReader

from conftest import CONSTRUCTS as LETTER
from conftest import LISTS, ROOT, golden
from letterforge.letter import Renderer
from letterforge.models import Assets, Candidate, Source
from letterforge.parse import Document, parse_markdown
from letterforge.writers import WRITERS


def test_pdf_properties(batch_2013: Path) -> None:
    reader = PdfReader(batch_2013 / "pdf" / "mexico.pdf")
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert reader.metadata.title == "Open Letter to candidates to the Human Rights Council"
    assert reader.metadata.subject == (
        "Open letter to Mexico: candidacy for the Human Rights Council 2013")
    for page in reader.pages:
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4


def test_fonts_are_embedded(batch_2013: Path) -> None:
    reader = PdfReader(batch_2013 / "pdf" / "mexico.pdf")
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            desc = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            fonts[font["/BaseFont"]] = any(k in desc for k in ("/FontFile", "/FontFile2",
                                                               "/FontFile3"))
    assert fonts and all(fonts.values()), fonts
    assert any("Liberation-Serif" in name for name in fonts)


def test_links_are_clickable(batch_2013: Path) -> None:
    reader = PdfReader(batch_2013 / "pdf" / "mexico.pdf")
    uris = []
    for page in reader.pages:
        for annot in page.get("/Annots", []) or []:
            annot = annot.get_object()
            if annot.get("/Subtype") == "/Link" and "/A" in annot:
                uris.append(annot["/A"].get("/URI"))
    assert "https://undocs.org/A/HRC/RES/24/24" in uris
    assert "https://undocs.org/A/HRC/RES/24/21" in uris


def test_page_numbers_and_nothing_overflows(batch_2013: Path) -> None:
    reader = PdfReader(batch_2013 / "pdf" / "mexico.pdf")
    n = len(reader.pages)
    assert n >= 2
    for i, page in enumerate(reader.pages, 1):
        assert f"International Service for Human Rights · page {i} of {n}" in page.extract_text()


def test_long_unbroken_values_stay_on_the_page(sample: Path, runner) -> None:
    import os
    import re
    import shutil
    import subprocess

    import pytest

    from letterforge.cli import app

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    csv = sample / "candidates.csv"
    long_name = "Republic" + "x" * 240  # 248: a word letterforge still accepts (254)
    csv.write_text(
        "year,name,short_name,email\n"
        f"2013,the {long_name},{long_name[:40]},a@example.org\n", encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(sample)
    try:
        result = runner.invoke(app, ["render", "--year", "2013", "--format", "pdf"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    (pdf,) = (sample / "out" / "2013" / "pdf").iterdir()
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    width = float(re.search(r'<page width="([\d.]+)"', xml).group(1))
    right = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', xml))
    assert right <= width - 25 / 25.4 * 72 + 1  # inside the 25 mm right margin


def test_the_pdf_fetcher_serves_only_the_templates_folder(tmp_path: Path) -> None:
    import pytest
    from weasyprint.urls import FatalURLFetchingError

    from letterforge.writers.pdf.render import _fetcher_class

    root = tmp_path / "templates"
    root.mkdir()
    (root / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "unnamed.png").write_bytes(b"not named by the stylesheet")
    fetcher = _fetcher_class()(root, {"logo.svg": (root / "logo.svg").read_bytes()})
    response = fetcher.fetch((root / "logo.svg").as_uri())
    assert b"svg" in response.read()
    for url in ("https://example.org/x.png", "http://127.0.0.1/x.css", "ftp://example.org/x",
                (tmp_path / "secret.txt").as_uri(), (root / ".." / "secret.txt").as_uri(),
                (root / "unnamed.png").as_uri()):
        with pytest.raises(FatalURLFetchingError):
            fetcher.fetch(url)


def test_a_remote_resource_stops_the_render_with_a_clear_error(tmp_path: Path) -> None:
    import datetime as dt

    import pytest
    from markdown_it.tree import SyntaxTreeNode

    from letterforge.errors import RenderError
    from letterforge.models import Assets, Candidate, Source
    from letterforge.parse import Document, parser
    from letterforge.writers.pdf import render as pdf

    cand = Candidate(2013, "X", "X", ("a@example.org",), "x", {}, Source("c.csv", 2))
    doc = Document(SyntaxTreeNode(parser().parse("Hello\n")),
                   {"lang": "en", "title": "t", "date": dt.date(2013, 1, 1)}, cand)
    assets = Assets(tmp_path, "letter.css",
                    "body { background: url(https://example.org/track.png) }")
    with pytest.raises(RenderError, match="fetches nothing from the network"):
        pdf.render(doc, assets)


def test_every_pdf_of_the_batch_is_pdf_ua_1_with_labelled_list_items(batch_2013: Path) -> None:
    """An independent validator (page-validation) passes every letter as PDF/UA-1, and
    every list item is a label and a body, as the list numbers hang inside the text."""
    import page

    from conftest import pdf_list_items

    pdfs = sorted((batch_2013 / "pdf").glob("*.pdf"))
    assert len(pdfs) > 1
    for path in pdfs:
        data = path.read_bytes()
        report = page.validate_pdf_bytes(data, profile="ua1")
        assert report.is_compliant, (path.name, [(f.rule_id, f.message)
                                                 for f in report.failures])
        items = pdf_list_items(data)
        labelled = [kids for kids in items if kids == ["/Lbl", "/LBody"]]
        # an item broken over two pages continues there as a body without a label
        assert all(kids in (["/Lbl", "/LBody"], ["/LBody"]) for kids in items), path.name
        assert len(labelled) >= 58, (path.name, len(labelled))


# ----- the writer alone, one call on a parsed letter (were unit tests) -----------


def test_pdf_golden_text(mexico: tuple[Document, Renderer], tmp_path: Path) -> None:
    from conftest import pdf_text

    doc, renderer = mexico
    data = WRITERS["pdf"].render(doc, renderer.job.assets)
    assert data.startswith(b"%PDF-")
    (tmp_path / "m.pdf").write_bytes(data)
    text = pdf_text(tmp_path / "m.pdf", drawn=True)  # columns one after the other
    golden("pdf/mexico.txt", "\n".join(re.findall(r".{1,100}(?:\s|$)", text)) + "\n")


def _lists_document() -> Document:
    cand = Candidate(2013, "X", "X", ("a@example.org",), "x", {}, Source("c.csv", 2))
    return Document(parse_markdown(LISTS), {"lang": "en", "title": "Lists"}, cand)


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


META = {"lang": "en", "title": "T", "timestamp": dt.datetime(2013, 11, 5, tzinfo=dt.UTC)}

CAND = Candidate(2013, "X", "X", (), "x", {}, Source("c.csv", 2))


def _doc(text: str = LETTER) -> Document:
    return Document(parse_markdown(text, "en"), META, CAND)


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
