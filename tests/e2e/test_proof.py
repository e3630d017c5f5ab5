"""letterforge proof on the 2013 batch: the sheet, its PDF, and a render that keeps it."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from chromium import browser, screenshot
from typer.testing import CliRunner

from conftest import invoke_in, pdf_text
from letterforge.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def proofed(batch_2013: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A copy of the 2013 batch (the session's batch stays as it is) with one DOCX
    edited by hand, and the result of `proof` on it."""
    out = tmp_path_factory.mktemp("proof-out")
    batch = out / "2013"
    shutil.copytree(batch_2013, batch)
    with open(batch / "docx" / "cuba.docx", "ab") as fh:
        fh.write(b"\0")
    result = invoke_in(ROOT, "proof", "--year", "2013", "--out", str(out))
    return {"out": out, "batch": batch, "result": result}


def test_proof_writes_a_self_contained_sheet_of_every_letter(proofed: dict[str, Any]) -> None:
    result, batch = proofed["result"], proofed["batch"]
    assert result.exit_code == 0, result.output
    assert "Proof sheet of 17 letters" in result.output
    assert "docx/cuba.docx: was changed after it was rendered" in result.output
    html = (batch / "proof.html").read_text(encoding="utf-8")
    thumbs = re.findall(r'<img class="thumb" src="data:image/png;base64,[^"]+" alt="([^"]+)"',
                        html)
    assert len(thumbs) == 17
    assert "First page of the letter to Mexico" in thumbs
    assert "src=\"http" not in html and "<link" not in html  # nothing outside the file
    # the summary: letters, formats, the inputs' hashes, signatories, the date
    manifest = (batch / "manifest.json").read_text(encoding="utf-8")
    for digest in re.findall(r'"(?:candidates|signatories|template)": "([0-9a-f]{64})"',
                             manifest)[:3]:
        assert digest in html
    assert "<th scope=\"row\">Signatories</th><td>40</td>" in html
    assert "<th scope=\"row\">Date of the letters</th><td>2013-11-05</td>" in html
    # per letter: the recipients (To, Cc; never Bcc), the pages, the words that differ
    mexico = html[html.index('id="letter-mexico"'):]
    mexico = mexico[:mexico.index("</article>")]
    assert "mission.mexico@example.org" in mexico
    assert re.search(r"<th scope=\"row\">Pages</th><td>\d</td>", mexico)
    assert "incumbent on <mark>Mexico</mark> to set" in mexico
    assert "Bcc" not in re.sub(r"data:image/png;base64,[^\"]+", "", html)  # not in images
    assert "docx/cuba.docx was changed after it was rendered" in html


def test_proof_pdf_has_every_letter_and_is_pdf_ua(proofed: dict[str, Any]) -> None:
    pdf = proofed["batch"] / "proof.pdf"
    text = pdf_text(pdf)
    assert text.startswith("Proof sheet: the 2013 letters")
    assert "incumbent on Mexico to set" in text
    assert text.count("Differs from the letter to") == 17
    from letterforge.preview.pages import pdf_keywords
    from letterforge.proof import MADE_FROM

    made_from = hashlib.sha256((proofed["batch"] / "manifest.json").read_bytes()).hexdigest()
    assert pdf_keywords(pdf.read_bytes()) == MADE_FROM + made_from
    page = pytest.importorskip("page", reason="page-validation (PDF/UA check) is not "
                               "installed")
    report = page.validate_pdf(str(pdf), profile=page.ValidationProfile.PDF_UA_1)
    assert report.is_compliant, [f.rule_id for f in report.failures]


@pytest.mark.slow  # LibreOffice or Chromium: in CI (-m slow)
def test_proof_sheet_shows_17_thumbnails_in_a_browser(proofed: dict[str, Any]) -> None:
    with browser() as b:
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        page.goto((proofed["batch"] / "proof.html").as_uri())
        page.wait_for_function("""() => {
            const imgs = [...document.querySelectorAll('img.thumb')];
            return imgs.length === 17 && imgs.every((i) => i.complete && i.naturalWidth > 0);
        }""", timeout=20_000)
        assert page.title() == "Proof sheet: the 2013 letters"
        screenshot(page, "proof.png")


def test_a_render_keeps_the_proof(proofed: dict[str, Any], runner: CliRunner,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out, batch = proofed["out"], proofed["batch"]
    (batch / "docx" / "cuba.docx").unlink()  # no hand edit in the way of the render
    before = {n: (batch / n).read_bytes() for n in ("proof.html", "proof.pdf")}
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["render", "--year", "2013", "--out", str(out), "-j", "1",
                                 "--only", "Cuba"])
    assert result.exit_code == 0, result.output
    assert {n: (batch / n).read_bytes() for n in before} == before
    # Cuba's letter came out the same bytes: the manifest too, so the proof still
    # describes the batch and nothing is said (see test_preview: when it does not)
    assert "describe" not in result.output


def test_a_damaged_pdf_is_named_not_a_traceback(batch_2013: Path, tmp_path: Path,
                                                runner: CliRunner,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A PDF cut short by a full disk or a sync tool: proof names it and what to do, and
    writes no sheet."""
    batch = tmp_path / "2013"
    shutil.copytree(batch_2013, batch)
    pdf = batch / "pdf" / "algeria.pdf"
    pdf.write_bytes(pdf.read_bytes()[:900])
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["proof", "--year", "2013", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{pdf}: is not a PDF that can be read" in result.output
    assert "render it again (letterforge render --year 2013)" in result.output
    assert not (batch / "proof.html").exists() and not (batch / "proof.pdf").exists()


def test_proof_without_a_batch(tmp_path: Path, runner: CliRunner,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["proof", "--year", "2013"])
    assert result.exit_code == 1
    assert result.output.startswith("error: out/2013/manifest.json: not found: there is no "
                                    "rendered batch here")
    assert not (tmp_path / "out" / "2013").exists()
