"""PDF pages as images and text (pypdfium2), and a DOCX laid out by LibreOffice.

PDFium is not thread-safe: every call into it holds :data:`PDFIUM_LOCK` (the preview
renders in its watcher thread and answers requests in others).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PDFIUM_LOCK = threading.RLock()

#: the page-number footer the stylesheet prints ("2 / 3"): not part of the letter's words
_FOOTER = re.compile(r"^\s*\d+\s*/\s*\d+\s*$", re.M)


@dataclass(frozen=True)
class PageImage:
    png: bytes
    width: int
    height: int


class UnreadablePDF(ValueError):
    """The bytes are not a PDF pdfium can read (a damaged or truncated file)."""


def _open(pdf: bytes) -> Any:
    """pdfium's document of ``pdf`` (call holding PDFIUM_LOCK); UnreadablePDF when it is
    not one."""
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise UnreadablePDF(str(exc)) from exc


def page_images(pdf: bytes, width: int = 900, first: int | None = None) -> list[PageImage]:
    """The pages of ``pdf`` as PNG images ``width`` pixels wide (the first ``first`` only)."""
    out = []
    with PDFIUM_LOCK:
        doc = _open(pdf)
        try:
            for i in range(len(doc) if first is None else min(first, len(doc))):
                page = doc[i]
                scale = width / page.get_width()
                image = page.render(scale=scale).to_pil()
                buf = io.BytesIO()
                # zlib's fastest level: on rendered text pages it is five times faster
                # than optimize=True (42 ms a 900-pixel page instead of 226) and the
                # file is no larger (214 KB instead of 250)
                image.save(buf, format="PNG", compress_level=1)
                out.append(PageImage(buf.getvalue(), image.width, image.height))
                page.close()
        finally:
            doc.close()
    return out


def page_count(pdf: bytes) -> int:
    with PDFIUM_LOCK:
        doc = _open(pdf)
        try:
            return len(doc)
        finally:
            doc.close()


def pdf_text(pdf: bytes) -> str:
    """The text of every page, the page-number footers left out."""
    parts = []
    with PDFIUM_LOCK:
        doc = _open(pdf)
        try:
            for page in doc:
                textpage = page.get_textpage()
                parts.append(textpage.get_text_range())
                textpage.close()
                page.close()
        finally:
            doc.close()
    text = "\n".join(parts).replace("\r\n", "\n").replace("\r", "\n")
    return _FOOTER.sub("", text)


def pdf_created(pdf: bytes) -> str | None:
    """The PDF's creation date as YYYY-MM-DD (the letter's date), if it has one."""
    with PDFIUM_LOCK:
        doc = _open(pdf)
        try:
            value = doc.get_metadata_dict().get("CreationDate", "")
        finally:
            doc.close()
    m = re.match(r"D:(\d{4})(\d{2})(\d{2})", value or "")
    return f"{m[1]}-{m[2]}-{m[3]}" if m else None


def pdf_keywords(pdf: bytes) -> str:
    """The PDF's Keywords (document information), "" when it has none."""
    with PDFIUM_LOCK:
        doc = _open(pdf)
        try:
            return str(doc.get_metadata_dict().get("Keywords", "") or "")
        finally:
            doc.close()


def soffice() -> str | None:
    """LibreOffice's command, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


class ConversionFailed(Exception):
    """LibreOffice could not lay out the DOCX."""


def docx_to_pdf(docx: bytes, timeout: float = 120) -> bytes:
    """The DOCX as LibreOffice lays it out, as a PDF. In a temporary folder, with a user
    profile of its own (two LibreOffice runs sharing a profile collide)."""
    exe = soffice()
    if exe is None:
        raise ConversionFailed("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="letterforge-preview-") as tmp:
        folder = Path(tmp)
        (folder / "letter.docx").write_bytes(docx)
        profile = folder / "profile"
        try:
            done = subprocess.run(
                [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                 "--convert-to", "pdf", "--outdir", str(folder), str(folder / "letter.docx")],
                capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise ConversionFailed(f"LibreOffice took more than {timeout:.0f} s") from exc
        result = folder / "letter.pdf"
        # soffice exits 0 even when it wrote nothing: the PDF is the proof
        if not result.is_file():
            err = done.stderr.decode(errors="replace").strip().splitlines()
            raise ConversionFailed("LibreOffice wrote no PDF"
                                   + (f": {err[-1]}" if err else ""))
        return result.read_bytes()
