"""The multilingual example campaign (examples/multilingual): one render writes each
letter in its recipient's language, read back with independent readers."""

from __future__ import annotations

import re
import shutil
import subprocess
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from conftest import ROOT, docx_text, invoke_in, pdf_text

EXAMPLE = ROOT / "examples" / "multilingual"


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("multilingual")
    for name in ("candidates.csv", "signatories.csv"):
        shutil.copy(EXAMPLE / name, folder / name)
    shutil.copytree(EXAMPLE / "templates", folder / "templates")
    result = invoke_in(folder, "render", "--year", "2013")
    assert result.exit_code == 0, result.output
    return folder / "out" / "2013"


@pytest.mark.parametrize(("slug", "phrases"), [
    ("algeria", ["New York, le 5 novembre 2013", "la candidature de l'Algérie",
                 "Il incombe à l'Algérie"]),
    ("france", ["la candidature de la France"]),
    ("mexico", ["Nueva York, 5 de noviembre de 2013", "la candidatura de México"]),
    ("uruguay", ["la candidatura del Uruguay"]),
    ("russian-federation", ["5 ноября 2013", "Российская Федерация"]),
    ("china", ["2013年11月5日", "中国"]),
    ("maldives", ["New York, 5 November 2013", "Maldives"]),
])
def test_each_pdf_is_in_its_recipients_language(batch: Path, slug: str,
                                                phrases: list[str]) -> None:
    text = pdf_text(batch / "pdf" / f"{slug}.pdf")
    for phrase in phrases:
        assert phrase in text, (slug, phrase)


def test_the_arabic_letter_reads_right_in_the_docx_and_its_fonts_cover_it(batch: Path
                                                                          ) -> None:
    from pypdf import PdfReader

    text = docx_text(batch / "docx" / "saudi-arabia.docx")
    assert "المملكة العربية السعودية" in text and "صاحب السعادة" in text
    reader = PdfReader(batch / "pdf" / "saudi-arabia.pdf")
    assert str(reader.trailer["/Root"]["/Lang"]) == "ar"
    fonts = {str(f["/BaseFont"]) for page in reader.pages
             for f in page["/Resources"]["/Font"].values()}
    assert any("Naskh-Arabic" in f for f in fonts), fonts
    xml = _part(batch / "docx" / "saudi-arabia.docx", "word/document.xml")
    assert "<w:bidi/>" in xml and "<w:rtl/>" in xml and 'w:bidi="ar"' in xml


def test_the_chinese_docx_names_its_east_asian_font(batch: Path) -> None:
    xml = _part(batch / "docx" / "china.docx", "word/document.xml")
    assert 'w:eastAsia="Noto Serif CJK SC"' in xml and 'w:eastAsia="zh"' in xml


def test_every_pdf_is_tagged_with_its_language(batch: Path) -> None:
    from pypdf import PdfReader

    langs = {p.stem: str(PdfReader(p).trailer["/Root"]["/Lang"])
             for p in (batch / "pdf").glob("*.pdf")}
    assert langs["algeria"] == "fr" and langs["mexico"] == "es"
    assert langs["china"] == "zh" and langs["russian-federation"] == "ru"
    assert langs["maldives"] == "en-GB"


def test_the_emails_speak_the_language_in_encoded_headers(batch: Path) -> None:
    raw = (batch / "email" / "saudi-arabia.eml").read_bytes()
    assert all(b < 128 for b in raw)  # 7-bit clean: RFC 2047 encoded words
    msg = message_from_bytes(raw, policy=policy.default)
    assert "المملكة العربية السعودية" in str(msg["Subject"])
    assert msg["Content-Language"] == "ar"
    body = msg.get_body(("plain",)).get_content()
    assert "سعادة" in body


def test_every_pdf_passes_pdf_ua_1(batch: Path) -> None:
    page = pytest.importorskip("page", reason="page-validation is in the test extra")
    for pdf in sorted((batch / "pdf").glob("*.pdf")):
        report = page.validate_pdf(str(pdf), profile="ua1")
        assert report.is_compliant, (pdf.name, [f.rule_id for f in report.failures])


@pytest.mark.slow  # LibreOffice or Chromium: in CI (-m slow)
def test_libreoffice_opens_every_docx(batch: Path, tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed; ./setup.sh --test installs it")
    docs = sorted((batch / "docx").glob("*.docx"))
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), *map(str, docs)],
                   check=True, capture_output=True, timeout=240)
    for doc in docs:
        converted = tmp_path / f"{doc.stem}.pdf"
        assert converted.is_file(), doc.name
    assert "Мексика" in pdf_text(tmp_path / "mexico.pdf") or "México" in pdf_text(
        tmp_path / "mexico.pdf")
    assert re.search(r"2013\s*年\s*11\s*月\s*5\s*日", pdf_text(tmp_path / "china.pdf"))


def _part(path: Path, name: str) -> str:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return z.read(name).decode("utf-8")
