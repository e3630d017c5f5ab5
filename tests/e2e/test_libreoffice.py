"""Every 2013 DOCX opens in LibreOffice, and its lists are still numbered from 1 there."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import pdf_text

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice is not installed (Debian: libreoffice-writer-nogui; "
    "./setup.sh --test installs it)",
)


def test_every_docx_converts_and_keeps_its_numbering(batch_2013: Path, tmp_path: Path) -> None:
    docs = sorted((batch_2013 / "docx").glob("*.docx"))
    assert len(docs) == 17
    profile = tmp_path / "profile"
    result = subprocess.run(
        [str(SOFFICE), f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), *map(str, docs)],
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
