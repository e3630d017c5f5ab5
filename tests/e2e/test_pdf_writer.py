"""The PDF: A4, tagged, language and title, fonts embedded, clickable links, page numbers."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader


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
        assert f"Open Letters Network · page {i} of {n}" in page.extract_text()


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
    long_name = "Republic" + "x" * 300
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
