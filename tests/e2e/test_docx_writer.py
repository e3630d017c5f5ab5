"""The DOCX, read as XML (not through python-docx): styles, numbering (a list inside a list
too), links, properties."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from conftest import THREE, invoke_wide
from letterforge.cli import app

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


# ----- a small campaign of its own (SMALL): a list inside a list ---------------------


SMALL = THREE
invoke = invoke_wide


def test_nested_lists_number_the_same_in_the_docx(small: Path) -> None:
    letter = small / "templates" / "letter.md"
    letter.write_text(letter.read_text().replace(
        "We expand on each of these areas of concern below.",
        "1. Outer\n\n   3. three\n   4. four\n"))
    assert invoke("render", "--year", "2013", "--only", "Cuba", "-f", "docx").exit_code == 0
    with zipfile.ZipFile(small / "out" / "2013" / "docx" / "cuba.docx") as z:
        doc = etree.fromstring(z.read("word/document.xml"))
        numbering = etree.fromstring(z.read("word/numbering.xml"))
    ns = {"w": W}
    p = next(p for p in doc.iter(f"{{{W}}}p")
             if "".join(t.text or "" for t in p.iter(f"{{{W}}}t")) == "three")
    num_id = p.find("w:pPr/w:numPr/w:numId", ns).get(f"{{{W}}}val")
    ilvl = p.find("w:pPr/w:numPr/w:ilvl", ns).get(f"{{{W}}}val")
    num = next(n for n in numbering.findall("w:num", ns) if n.get(f"{{{W}}}numId") == num_id)
    override = num.find("w:lvlOverride", ns)
    assert override.get(f"{{{W}}}ilvl") == ilvl == "1"
    assert override.find("w:startOverride", ns).get(f"{{{W}}}val") == "3"
    abstract_id = num.find("w:abstractNumId", ns).get(f"{{{W}}}val")
    abstract = next(a for a in numbering.findall("w:abstractNum", ns)
                    if a.get(f"{{{W}}}abstractNumId") == abstract_id)
    lvl = abstract.find(f"w:lvl[@w:ilvl='{ilvl}']", ns)
    assert lvl.find("w:numFmt", ns).get(f"{{{W}}}val") == "decimal"


#: Lists whose numbers the PDF and the DOCX once disagreed on: a list from 0, from 7,
#: a nested list from 3, a loose list, and one that goes past 9.
AGREEING_LISTS = """\
Zero:

0. zeroth item
1. first item

Seven:

7. seventh item
8. eighth item

Nested:

1. outer item

   3. third inner item
   4. fourth inner item
2. second outer item

Loose:

5. fifth loose item

6. sixth loose item

Long:

""" + "".join(f"{n}. item number {n}\n" for n in range(98, 102))


@pytest.mark.slow  # LibreOffice or Chromium: in CI (-m slow)
def test_the_pdf_and_the_docx_number_every_list_alike(small: Path) -> None:
    """The numbers a reader sees: the PDF's text (pdftotext) against the DOCX as
    LibreOffice lays it out (its PDF's text), item by item."""
    import re

    import pytest

    from conftest import pdf_text
    from letterforge.preview.pages import ConversionFailed, docx_to_pdf

    letter = small / "templates" / "letter.md"
    letter.write_text(letter.read_text().replace(
        "We expand on each of these areas of concern below.", AGREEING_LISTS))
    result = invoke("render", "--year", "2013", "--only", "Cuba", "-f", "docx,pdf", "-j", "1")
    assert result.exit_code == 0, result.output
    out = small / "out" / "2013"
    try:
        laid_out = docx_to_pdf((out / "docx" / "cuba.docx").read_bytes())
    except ConversionFailed as exc:
        pytest.skip(f"LibreOffice: {exc}")
    (small / "lo.pdf").write_bytes(laid_out)
    item = re.compile(r"(\d+)\.\s+((?:zeroth|first|seventh|eighth|outer|third|fourth|"
                      r"second|fifth|sixth) (?:inner |outer |loose )?item|item number \d+)")

    def numbers(text: str) -> list[tuple[str, str]]:
        return [(n, " ".join(words.split())) for n, words in item.findall(text)]

    in_pdf = numbers(pdf_text(out / "pdf" / "cuba.pdf"))
    in_docx = numbers(pdf_text(small / "lo.pdf"))
    assert in_pdf == in_docx
    assert ("0", "zeroth item") in in_pdf and ("3", "third inner item") in in_pdf
    assert ("101", "item number 101") in in_pdf and len(in_pdf) == 14
