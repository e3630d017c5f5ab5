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

from conftest import pdf_pages, pdf_text
from letterforge.document import Document, parse_markdown
from letterforge.models import Assets, Candidate, Source
from letterforge.writers import WRITERS

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice is not installed (Debian: libreoffice-writer-nogui; "
    "./setup.sh --test installs it)",
)


def test_every_docx_converts_and_keeps_its_numbering(batch_2013: Path, tmp_path: Path) -> None:
    docs = sorted((batch_2013 / "docx").glob("*.docx"))
    assert len(docs) == 17
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
    for doc in docs:
        converted = tmp_path / "pdf" / (doc.stem + ".pdf")
        assert converted.is_file(), f"LibreOffice did not convert {doc.name}: {result.stderr}"
        text = pdf_text(converted)
        for first in ("1. Issuing and honouring", "1. Cooperate fully with the focal point",
                      "1. Ensure that domestic legal", "1. Action Canada for Population",
                      "11. Prevent the occurrence", "40. World Organisation Against Torture"):
            assert first in text, f"{doc.name}: {first!r} not found in LibreOffice's rendering"
        assert "6. Ensure" not in text and "41. " not in text
        footers = re.findall(r"Open Letters Network · page (\d+) of (\d+)",
                             pdf_text(converted, footer=False))
        assert footers == [(str(n), str(len(footers))) for n in range(1, len(footers) + 1)]
        assert len(footers) > 1, f"{doc.name}: no footer 'page X of Y' ({footers})"
        # the letterhead (the first page's header) on the first page only
        pages = pdf_pages(converted)
        assert pages[0].startswith("Open Letters Network Rue de l'Exemple 1 1200 Genève")
        assert not any("Rue de l'Exemple" in page for page in pages[1:])
    text = pdf_text(tmp_path / "pdf" / "hostile.pdf")
    for words in ("LETTERHEAD OF THE SENDER", "our website", "FOOTER OF THE SENDER",
                  "1. first", "2. second", "With a link."):
        assert words in text, f"hostile.docx: {words!r} not found in LibreOffice's rendering"
    assert "SECRET" not in text
