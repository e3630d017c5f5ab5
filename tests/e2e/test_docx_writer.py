"""The DOCX, read as XML (not through python-docx): styles, numbering, links, properties."""

from __future__ import annotations

import zipfile
from pathlib import Path

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS = {"w": W, "r": R}


def _xml(path: Path, part: str) -> etree._Element:
    with zipfile.ZipFile(path) as z:
        return etree.fromstring(z.read(part))


def _style_names(path: Path) -> dict[str, str]:
    styles = _xml(path, "word/styles.xml")
    return {s.get(f"{{{W}}}styleId"): s.find("w:name", NS).get(f"{{{W}}}val")
            for s in styles.findall("w:style", NS)}


def _paragraphs(path: Path) -> list[tuple[str, str, str | None]]:
    """(style name, text, numId) per body paragraph."""
    names = _style_names(path)
    doc = _xml(path, "word/document.xml")
    out = []
    for p in doc.iter(f"{{{W}}}p"):
        sid = p.find("w:pPr/w:pStyle", NS)
        style = names.get(sid.get(f"{{{W}}}val")) if sid is not None else "Normal"
        num = p.find("w:pPr/w:numPr/w:numId", NS)
        text = "".join(t.text or "" for t in p.iter(f"{{{W}}}t"))
        out.append((style, text, num.get(f"{{{W}}}val") if num is not None else None))
    return out


def test_paragraph_styles_are_named(batch_2013: Path) -> None:
    paras = _paragraphs(batch_2013 / "docx" / "mexico.docx")
    # Word stores built-in names in lower case ("heading 1") and shows them capitalised.
    by_text = {text: style.casefold() for style, text, _ in paras}
    assert by_text["New York, 5 November 2013"] == "date"
    assert by_text["Open Letter to candidates to the Human Rights Council"] == "heading 1"
    assert by_text["Cooperation with Special Procedures"] == "heading 2"
    assert by_text["Excellency,"] == "salutation"
    assert by_text["Yours sincerely,"] == "closing"
    assert by_text["Philip Lynch"] == "signature"
    assert by_text["Director – International Service for Human Rights"] == "signer title"
    assert by_text["Amnesty International"] == "signatories"


def test_each_list_has_its_own_numbering_that_restarts(batch_2013: Path) -> None:
    path = batch_2013 / "docx" / "mexico.docx"
    paras = _paragraphs(path)
    lists: dict[str, list[str]] = {}
    for _, text, num in paras:
        if num:
            lists.setdefault(num, []).append(text)
    assert [len(v) for v in lists.values()] == [5, 11, 2, 40]
    numbering = _xml(path, "word/numbering.xml")
    abstract_of = {}
    for num in numbering.findall("w:num", NS):
        nid = num.get(f"{{{W}}}numId")
        if nid in lists:
            start = num.find("w:lvlOverride/w:startOverride", NS)
            assert start is not None and start.get(f"{{{W}}}val") == "1"
            abstract_of[nid] = num.find("w:abstractNumId", NS).get(f"{{{W}}}val")
    assert len(set(abstract_of.values())) == 4  # no two lists share a definition
    for abstract in numbering.findall("w:abstractNum", NS):
        if abstract.get(f"{{{W}}}abstractNumId") in abstract_of.values():
            lvl0 = abstract.find("w:lvl[@w:ilvl='0']", NS)
            assert lvl0.find("w:numFmt", NS).get(f"{{{W}}}val") == "decimal"
            assert lvl0.find("w:lvlText", NS).get(f"{{{W}}}val") == "%1."
    # schema order: every abstractNum before the first num
    tags = [etree.QName(e).localname for e in numbering]
    assert tags.index("num") > max(i for i, t in enumerate(tags) if t == "abstractNum")


def test_links_and_emphasis(batch_2013: Path) -> None:
    path = batch_2013 / "docx" / "mexico.docx"
    doc = _xml(path, "word/document.xml")
    rels = _xml(path, "word/_rels/document.xml.rels")
    targets = {r.get("Id"): (r.get("Target"), r.get("TargetMode")) for r in rels}
    links = {}
    for h in doc.iter(f"{{{W}}}hyperlink"):
        text = "".join(t.text for t in h.iter(f"{{{W}}}t"))
        links[text] = targets[h.get(f"{{{R}}}id")]
    assert links["HRC/RES/24/24"] == ("https://undocs.org/A/HRC/RES/24/24", "External")
    assert links["HRC/RES/24/21"] == ("https://undocs.org/A/HRC/RES/24/21", "External")
    italic = ["".join(t.text for t in r.iter(f"{{{W}}}t"))
              for r in doc.iter(f"{{{W}}}r") if r.find("w:rPr/w:i", NS) is not None]
    assert italic == ["effective"]


def test_document_properties_and_language(batch_2013: Path) -> None:
    path = batch_2013 / "docx" / "mexico.docx"
    core = _xml(path, "docProps/core.xml")
    ns = {"dc": "http://purl.org/dc/elements/1.1/", "dcterms": "http://purl.org/dc/terms/"}
    assert core.find("dc:title", ns).text == "Open Letter to candidates to the Human Rights Council"
    assert core.find("dc:creator", ns).text == "International Service for Human Rights"
    assert core.find("dc:language", ns).text == "en-GB"
    assert core.find("dcterms:created", ns).text.startswith("2013-11-05")
    styles = _xml(path, "word/styles.xml")
    assert styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:lang", NS).get(f"{{{W}}}val") == "en-GB"
    doc = _xml(path, "word/document.xml")
    size = doc.find(".//w:sectPr/w:pgSz", NS)
    assert (size.get(f"{{{W}}}w"), size.get(f"{{{W}}}h")) == ("11906", "16838")  # A4


def test_zip_entries_have_fixed_times(batch_2013: Path) -> None:
    with zipfile.ZipFile(batch_2013 / "docx" / "mexico.docx") as z:
        assert {i.date_time for i in z.infolist()} == {(2013, 11, 5, 0, 0, 0)}


def test_reference_docx_gives_its_styles(sample: Path, monkeypatch) -> None:
    import docx
    from docx.shared import Pt
    from typer.testing import CliRunner

    from letterforge.cli import app

    ref = docx.Document()
    ref.styles["Normal"].font.name = "DejaVu Sans"
    ref.styles["Normal"].font.size = Pt(13)
    ref.add_paragraph("letterhead placeholder that must not appear")
    ref.save(sample / "templates" / "reference.docx")
    monkeypatch.chdir(sample)
    result = CliRunner().invoke(app, ["render", "--year", "2013", "--only", "Cuba",
                                      "--format", "docx"])
    assert result.exit_code == 0, result.output
    out = sample / "out" / "2013" / "docx" / "cuba.docx"
    styles = _xml(out, "word/styles.xml")
    normal = next(s for s in styles.findall("w:style", NS)
                  if s.get(f"{{{W}}}styleId") == "Normal")
    assert normal.find("w:rPr/w:rFonts", NS).get(f"{{{W}}}ascii") == "DejaVu Sans"
    text = "".join(t.text or "" for t in _xml(out, "word/document.xml").iter(f"{{{W}}}t"))
    assert "placeholder" not in text and "incumbent on Cuba" in text

    (sample / "templates" / "reference.docx").write_bytes(b"not a zip")
    result = CliRunner().invoke(app, ["check", "--year", "2013"])
    assert result.exit_code == 1
    assert "templates/reference.docx: is not a Word document python-docx can open" in \
        result.stderr
