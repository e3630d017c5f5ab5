"""The DOCX lays out like the PDF: LibreOffice's rendering of every 2013 DOCX has the
PDF's pages, each beginning at the PDF's line (or within one line of it).

Both PDFs are read with poppler's pdftotext (independent of WeasyPrint and LibreOffice),
one page at a time; the footers ("2 / 4") are left out of the text compared."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(
    SOFFICE is None or shutil.which("pdftotext") is None,
    reason="LibreOffice or pdftotext is not installed (Debian: libreoffice-writer-nogui, "
    "poppler-utils; ./setup.sh --test installs them)",
)

FOOTER = re.compile(r"^\s*\d+\s*/\s*\d+\s*$")


def pages(pdf: Path) -> list[list[str]]:
    """The lines of each page, footers and blank lines left out."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [[line for line in page.split("\n") if line.strip() and not FOOTER.match(line)]
            for page in out.split("\f")[:-1]]


def page_starts(pdf: list[list[str]], docx: list[list[str]]) -> list[int]:
    """For each page, how many of the PDF's lines away from the PDF page's first line
    the DOCX page begins (0: the same line), found by the words before it."""
    lines: list[tuple[int, int]] = []  # (page, words before the line)
    words = 0
    for number, page in enumerate(pdf):
        for line in page:
            lines.append((number, words))
            words += len(line.split())
    offsets = []
    docx_words = 0
    for number, (pdf_page, docx_page) in enumerate(zip(pdf, docx, strict=False)):
        first = next(i for i, (p, _) in enumerate(lines) if p == number)
        if pdf_page[:1] and docx_page[:1] and pdf_page[0][:40] == docx_page[0][:40]:
            offsets.append(0)
        else:
            at = max(i for i, (_, before) in enumerate(lines) if before <= docx_words)
            offsets.append(at - first)
        docx_words += sum(len(line.split()) for line in docx_page)
    return offsets


@pytest.fixture(scope="module")
def libreoffice_2013(batch_2013: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LibreOffice's PDF of every 2013 DOCX, converted in one call."""
    docs = sorted((batch_2013 / "docx").glob("*.docx"))
    assert len(docs) == 17
    tmp = tmp_path_factory.mktemp("lo-layout")
    result = subprocess.run(
        [str(SOFFICE), f"-env:UserInstallation={(tmp / 'profile').as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp / "pdf"), *map(str, docs)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return tmp / "pdf"


def test_libreoffice_pages_of_every_docx_begin_where_the_pdf_pages_do(
        batch_2013: Path, libreoffice_2013: Path) -> None:
    report = {}
    for pdf in sorted((batch_2013 / "pdf").glob("*.pdf")):
        converted = libreoffice_2013 / pdf.name
        assert converted.is_file(), f"LibreOffice did not convert {pdf.stem}.docx"
        want, got = pages(pdf), pages(converted)
        report[pdf.stem] = (len(want), len(got), page_starts(want, got))
    assert len(report) == 17
    wrong = {name: r for name, r in report.items()
             if r[0] != r[1] or any(abs(offset) > 1 for offset in r[2])}
    assert not wrong, f"(PDF pages, LibreOffice pages, page starts in lines): {wrong}"

