"""The Mexico 2013 letter reads word for word as the seed, in the PDF and in the DOCX,
read back with readers independent of the writers."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from conftest import docx_text, pdf_text, seed_text, straight


def _diff(got: str, want: str) -> str:
    sm = difflib.SequenceMatcher(None, got, want, autojunk=False)
    return "\n".join(
        f"{op}: got {got[i1 - 30:i2 + 30]!r} want {want[j1 - 30:j2 + 30]!r}"
        for op, i1, i2, j1, j2 in sm.get_opcodes() if op != "equal"
    )[:3000]


TYPOGRAPHIC = ("“shall uphold the highest standards in the promotion and protection of "
               "human rights”", "the Human Rights Council’s Institution Building Package",
               "in the pursuit of Mexico’s candidacy")


#: The sample's letterhead, at the top of the first page: page furniture (as the footers
#: "… · page 1 of 4", which pdf_text leaves out), not the letter's words. Its sender is
#: the letter's author, as in the e-mail. Drawn after the first page's text.
LETTERHEAD = ("International Service for Human Rights Rue de l'Exemple 1 1200 Genève "
              "open-letters@example.org · www.example.org ")


def test_mexico_pdf_matches_the_seed(batch_2013: Path) -> None:
    """Word for word as sent, with typographic quotes and apostrophes where the plain-text
    seed has straight ones, in the order it is drawn (the two columns of signatories one
    after the other: read across, as pdftotext -layout does, they interleave); the
    letterhead above it, at the top of the first page."""
    path = batch_2013 / "pdf" / "mexico.pdf"
    first_page = pdf_text(path, pages="\f").split("\f")[0]
    assert first_page.startswith(LETTERHEAD), first_page[:200]
    got, want = pdf_text(path, drawn=True), seed_text()
    assert got.count(LETTERHEAD) == 1, got[:2000]
    got = got.replace(LETTERHEAD, "")
    assert straight(got) == want, _diff(straight(got), want)
    for phrase in TYPOGRAPHIC:
        assert phrase in got


def test_mexico_docx_matches_the_seed(batch_2013: Path) -> None:
    got, want = docx_text(batch_2013 / "docx" / "mexico.docx"), seed_text()
    assert straight(got) == want, _diff(straight(got), want)
    for phrase in TYPOGRAPHIC:
        assert phrase in got


def test_every_candidate_has_a_pdf_and_a_docx_naming_it(batch_2013: Path) -> None:
    manifest = json.loads((batch_2013 / "manifest.json").read_text())
    assert len(manifest["letters"]) == 17
    russia = next(e for e in manifest["letters"] if e["slug"] == "russian-federation")
    assert {f["path"] for f in russia["files"]} == {
        "pdf/russian-federation.pdf", "docx/russian-federation.docx",
        "email/russian-federation.eml"}
    text = pdf_text(batch_2013 / "pdf" / "russian-federation.pdf")
    assert "it is incumbent on the Russian Federation to set an example" in text
    assert "in the pursuit of the Russian Federation’s candidacy" in text
    assert "Mexico" not in text
    text = docx_text(batch_2013 / "docx" / "maldives.docx")
    assert "in the pursuit of Maldives’ candidacy" in text
    assert sorted(p.name for p in (batch_2013 / "pdf").iterdir()) == sorted(
        f"{e['slug']}.pdf" for e in manifest["letters"])


def test_manifest_hashes_match_the_files(batch_2013: Path) -> None:
    import hashlib

    manifest = json.loads((batch_2013 / "manifest.json").read_text())
    assert manifest["year"] == 2013
    for entry in manifest["letters"]:
        for f in entry["files"]:
            data = (batch_2013 / f["path"]).read_bytes()
            assert len(data) == f["size"]
            assert hashlib.sha256(data).hexdigest() == f["sha256"]
