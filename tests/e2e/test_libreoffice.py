"""Every 2013 DOCX opens in LibreOffice, and its lists are still numbered from 1 there;
a letter made with a hostile reference document opens too, with its header and footer."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx_references import hostile_reference

from conftest import page_lines, page_starts, pdf_pages, pdf_text
from letterforge.models import Assets, Candidate, Source
from letterforge.parse import Document, parse_markdown
from letterforge.writers import WRITERS

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice is not installed (Debian: libreoffice-writer-nogui; "
    "./setup.sh --test installs it)",
), pytest.mark.slow]  # LibreOffice converts every DOCX: in CI (-m slow)


@pytest.fixture(scope="module")
def converted(batch_2013: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LibreOffice's PDF of every 2013 DOCX and of a letter made with a hostile reference
    document, converted in one call (shared by this module's tests)."""
    docs = sorted((batch_2013 / "docx").glob("*.docx"))
    assert len(docs) == 17
    tmp_path = tmp_path_factory.mktemp("libreoffice")
    letter = Document(
        parse_markdown("# A letter\n\n1. first\n2. second\n\nWith a [link](https://example.org).\n"),
        {"lang": "en", "timestamp": dt.datetime(2013, 11, 5, tzinfo=dt.UTC)},
        Candidate(2013, "X", "X", (), "x", {}, Source("c.csv", 2)))
    hostile = tmp_path / "hostile.docx"
    hostile.write_bytes(WRITERS["docx"].render(
        letter, Assets(Path("."), "letter.css", "", hostile_reference())))
    profile = tmp_path / "profile"
    result = subprocess.run(
        [str(SOFFICE), f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), *map(str, docs),
         str(hostile)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return tmp_path / "pdf"


def test_every_docx_converts_and_keeps_its_numbering(batch_2013: Path, converted: Path) -> None:
    docs = sorted((batch_2013 / "docx").glob("*.docx"))
    for doc in docs:
        pdf = converted / (doc.stem + ".pdf")
        assert pdf.is_file(), f"LibreOffice did not convert {doc.name}"
        text = pdf_text(pdf)
        for first in ("1. Issuing and honouring", "1. Cooperate fully with the focal point",
                      "1. Ensure that domestic legal", "1. Action Canada for Population",
                      "11. Prevent the occurrence", "40. World Organisation Against Torture"):
            assert first in text, f"{doc.name}: {first!r} not found in LibreOffice's rendering"
        assert "6. Ensure" not in text and "41. " not in text
        footers = re.findall(r"International Service for Human Rights · page (\d+) of (\d+)",
                             pdf_text(pdf, footer=False))
        assert footers == [(str(n), str(len(footers))) for n in range(1, len(footers) + 1)]
        assert len(footers) > 1, f"{doc.name}: no footer 'page X of Y' ({footers})"
        # the letterhead (the first page's header) on the first page only
        pages = pdf_pages(pdf)
        assert pages[0].startswith(
            "International Service for Human Rights Rue de l'Exemple 1 1200 Genève")
        assert not any("Rue de l'Exemple" in page for page in pages[1:])
    text = pdf_text(converted / "hostile.pdf")
    for words in ("LETTERHEAD OF THE SENDER", "our website", "FOOTER OF THE SENDER",
                  "1. first", "2. second", "With a link."):
        assert words in text, f"hostile.docx: {words!r} not found in LibreOffice's rendering"
    assert "SECRET" not in text


def test_libreoffice_pages_of_every_docx_begin_where_the_pdf_pages_do(
        batch_2013: Path, converted: Path) -> None:
    """The DOCX lays out like the PDF: LibreOffice's rendering of every 2013 DOCX has the
    PDF's pages, each beginning at the PDF's line (or within one line of it); both read
    with poppler's pdftotext, one page at a time, footers left out."""
    report = {}
    for pdf in sorted((batch_2013 / "pdf").glob("*.pdf")):
        lo_pdf = converted / pdf.name
        assert lo_pdf.is_file(), f"LibreOffice did not convert {pdf.stem}.docx"
        want, got = page_lines(pdf), page_lines(lo_pdf)
        report[pdf.stem] = (len(want), len(got), page_starts(want, got))
    assert len(report) == 17
    wrong = {name: r for name, r in report.items()
             if r[0] != r[1] or any(abs(offset) > 1 for offset in r[2])}
    assert not wrong, f"(PDF pages, LibreOffice pages, page starts in lines): {wrong}"

