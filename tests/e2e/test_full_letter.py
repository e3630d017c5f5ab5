"""Issue 10's letter: examples/full-letter has a letterhead with a logo, a footer with page
numbers, a signature image, a table filled from the CSV, two footnotes (one referenced
twice), an image, typographic quotes and a nested block quote. Every letter of it renders
to a PDF that passes PDF/UA-1 (page-validation) and to a DOCX whose LibreOffice rendering
has the PDF's pages, each beginning at the PDF's line; independent readers (pdftotext,
pypdf, docx2python) find every part where it belongs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, _flatten, page_lines, page_starts, pdf_pages

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
EXAMPLE = ROOT / "examples" / "full-letter"
LETTERS = ("cote-d-ivoire", "mexico", "russian-federation", "united-kingdom")

pytestmark = pytest.mark.skipif(
    SOFFICE is None or shutil.which("pdftotext") is None,
    reason="LibreOffice or pdftotext is not installed (./setup.sh --test installs them)")


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example rendered through the CLI, as a user would from its folder."""
    from typer.testing import CliRunner

    from letterforge.cli import app

    out = tmp_path_factory.mktemp("full-letter")
    old = Path.cwd()
    os.chdir(EXAMPLE)
    try:
        checked = CliRunner().invoke(app, ["check", "--year", "2013"])
        result = CliRunner().invoke(app, ["render", "--year", "2013", "-j", "1",
                                          "--out", str(out)])
    finally:
        os.chdir(old)
    assert checked.exit_code == 0, checked.output
    assert result.exit_code == 0, result.output
    return out / "2013"


@pytest.fixture(scope="module")
def libreoffice(batch: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("full-letter-lo")
    docs = sorted((batch / "docx").glob("*.docx"))
    assert [d.stem for d in docs] == list(LETTERS)
    subprocess.run([str(SOFFICE), f"-env:UserInstallation=file://{out}/profile",
                    "--headless", "--convert-to", "pdf", "--outdir", str(out),
                    *map(str, docs)], check=True, capture_output=True, timeout=240)
    return out


def test_every_pdf_passes_pdf_ua_1(batch: Path) -> None:
    page = pytest.importorskip("page", reason="page-validation is in the test extra")
    for name in LETTERS:
        report = page.validate_pdf(str(batch / "pdf" / f"{name}.pdf"),
                                   profile=page.ValidationProfile.PDF_UA_1)
        failed = sorted({f"{f.rule_id}: {f.message}" for f in report.failures})
        assert report.is_compliant, f"{name}: {failed}"


@pytest.mark.slow  # LibreOffice or Chromium: in CI (-m slow)
def test_libreoffice_lays_out_every_docx_as_the_pdf(batch: Path, libreoffice: Path) -> None:
    report = {}
    for name in LETTERS:
        want, got = (page_lines(batch / "pdf" / f"{name}.pdf"),
                     page_lines(libreoffice / f"{name}.pdf"))
        report[name] = (len(want), len(got), page_starts(want, got))
    wrong = {n: r for n, r in report.items()
             if r[0] != r[1] or any(abs(offset) > 1 for offset in r[2])}
    assert not wrong, f"(PDF pages, LibreOffice pages, page starts in lines): {wrong}"


def _figure_alts(pdf: Path) -> list[str]:
    """The alt texts of the structure tree's Figure elements, in document order."""
    import pypdf

    reader = pypdf.PdfReader(pdf)
    alts: list[str] = []

    def walk(node: object) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, pypdf.generic.ArrayObject):
            for kid in node:
                walk(kid)
        elif isinstance(node, pypdf.generic.DictionaryObject):
            if node.get("/S") == "/Figure":
                alts.append(str(node.get("/Alt", "")))
            if "/K" in node:
                walk(node["/K"])

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return alts


def test_the_pdf_has_every_part_where_it_belongs(batch: Path) -> None:
    text = pdf_pages(batch / "pdf" / "mexico.pdf")
    first = " ".join(text[0].split())
    # the letterhead and the footer
    assert first.startswith("Open Letters Network Rue de l’Exemple 1 1200 Genève") or \
        first.startswith("Open Letters Network Rue de l'Exemple 1 1200 Genève")
    assert all(f"page {i} of {len(text)}" in page for i, page in enumerate(text, 1))
    # the table, with the candidate's values as written in the CSV
    assert "Core treaties ratified 17 of 18 ratify all of them" in first
    # typographic quotes and dashes from the template
    assert "“shall uphold the highest standards" in first and "further – and it can" in first
    # both notes at the foot of page 1, after the body's last line of that page
    notes = first.index("1 General Assembly resolution 60/251")
    assert first.index("2 Figures as of 1 November 2013") > notes > first.index("Reprisals")
    # the images are SVG, drawn as vectors: the chart and the signature are figures with
    # their alt text in the structure tree; the logo is page furniture (an artifact)
    assert _figure_alts(batch / "pdf" / "mexico.pdf") == [
        "Bar chart: the share of members of the Council that have issued a standing "
        "invitation to the Special Procedures, rising in each of the last five years",
        "Signature of A. N. Example"]
    # the block quote and the quote inside it
    assert "Any act of intimidation or reprisal" in " ".join(" ".join(text).split())
    assert "Signature of" not in " ".join(text)  # alt text is not printed


def test_the_docx_has_every_part_where_it_belongs(batch: Path) -> None:
    from docx2python import docx2python

    with docx2python(str(batch / "docx" / "mexico.docx")) as doc:
        body = _flatten(doc.body)
        header = " ".join(_flatten(doc.header))
        notes = " ".join(_flatten(doc.footnotes))
        images = sorted(doc.images)
    cells = [c.strip() for c in body if c.strip()]
    assert "Core treaties ratified" in cells and "17 of 18" in cells
    assert "Open Letters Network" in header
    assert "General Assembly resolution 60/251" in notes and "Figures as of" in notes
    assert len(images) >= 3  # logo, chart, signature
