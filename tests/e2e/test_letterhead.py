"""The letterhead, the running footer and images, read back with independent readers:
pypdf for the PDF's image XObjects, pdftotext for its text, page-validation for PDF/UA-1,
docx2python for the DOCX's header and footer. A letterhead, a footer or a footnote too
tall for the page is refused by the PDF writer, not drawn past the page's edge."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, _flatten, image_assets, invoke_in, letter_to_mexico, pdf_pages
from letterforge.errors import RenderError
from letterforge.writers import WRITERS

SMALL = "year,name,short_name,email\n2013,Mexico,Mexico,mexico@example.org\n"


def _page_images(pdf: Path) -> list[list[tuple[int, int]]]:
    """The (width, height) in pixels of the image XObjects each page draws (its content
    stream's Do operators, through the forms it draws), not those its resources list."""
    import pypdf
    from pypdf.generic import ContentStream

    reader = pypdf.PdfReader(pdf)

    def drawn(contents: object, resources: dict) -> list[tuple[int, int]]:  # type: ignore[type-arg]
        out: list[tuple[int, int]] = []
        xobjects = resources.get("/XObject", {})
        for operands, operator in ContentStream(contents, reader).operations:
            if operator == b"Do":
                x = xobjects[operands[0]].get_object()
                if x["/Subtype"] == "/Image":
                    out.append((int(x["/Width"]), int(x["/Height"])))
                else:
                    out += drawn(x, x.get("/Resources", resources))
        return out

    return [drawn(page.get_contents(), page["/Resources"]) for page in reader.pages]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample with a PNG logo, a JPEG image at the end of the body and a signature,
    one letter rendered through the CLI."""
    from PIL import Image


    root = tmp_path_factory.mktemp("letterhead")
    shutil.copytree(ROOT / "templates", root / "templates")
    for name in ("candidates.csv", "signatories.csv"):
        shutil.copy(ROOT / name, root / name)
    (root / "candidates.csv").write_text(SMALL)
    t = root / "templates"
    Image.new("RGB", (120, 60), (29, 78, 137)).save(t / "mark.png", dpi=(300, 300))
    Image.new("L", (90, 30), 0).save(t / "sig.png", dpi=(300, 300))
    Image.new("RGB", (64, 32), (200, 50, 50)).save(t / "chart.jpg", dpi=(72, 72))
    letter = (t / "letter.md").read_text()
    letter = letter.replace("  logo: logo.svg ", "  logo: mark.png ")
    letter = letter.replace("  on_behalf: On behalf of\n", "  on_behalf: On behalf of\n"
                            "  signature: sig.png\n  signature_alt: Signature of Philip Lynch\n")
    letter += "\n![A red bar](chart.jpg)\n"
    (t / "letter.md").write_text(letter)

    result = invoke_in(
        root, "render", "--year", "2013", "-j", "1", "-f", "pdf,docx", "--out", str(root / "out"))
    assert result.exit_code == 0, result.output
    return root / "out" / "2013"


def test_pdf_logo_on_the_first_page_only_images_where_they_belong(rendered: Path) -> None:
    pdf = rendered / "pdf" / "mexico.pdf"
    images = _page_images(pdf)
    assert images[0] == [(120, 60)]  # the logo, on page 1 only
    assert all((120, 60) not in page for page in images[1:])
    assert images[-1] == [(64, 32)]  # the chart, at the end of the body
    assert sum(page.count((90, 30)) for page in images[1:]) == 1  # the signature, once
    assert sum(len(page) for page in images) == 3


def test_pdf_letterhead_on_page_one_footer_on_every_page(rendered: Path) -> None:
    import page

    pdf = rendered / "pdf" / "mexico.pdf"
    pages = pdf_pages(pdf)
    assert len(pages) > 2
    assert pages[0].startswith("International Service for Human Rights Rue de l'Exemple 1 "
                               "1200 Genève open-letters@example.org · www.example.org "
                               "New York")
    assert not any("Exemple" in p for p in pages[1:])
    for n, text in enumerate(pages, 1):
        assert text.endswith(
            f"International Service for Human Rights · page {n} of {len(pages)}"), text[-80:]
    report = page.validate_pdf(pdf, profile=page.ValidationProfile.PDF_UA_1)
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]


def test_docx_header_image_and_footer_fields(rendered: Path) -> None:
    import zipfile

    from docx2python import docx2python

    path = rendered / "docx" / "mexico.docx"
    with docx2python(str(path)) as doc:
        header = " ".join(" ".join(_flatten(doc.header)).split())
        footer = " ".join(_flatten(doc.footer))
        images = doc.images
    assert "International Service for Human Rights Rue de l'Exemple 1 1200 Genève" in header
    assert "International Service for Human Rights · page" in footer
    with zipfile.ZipFile(path) as z:
        assert re.findall(r"<w:instrText[^>]*> (\w+) </w:instrText>",
                          z.read("word/footer-page.xml").decode()) == ["PAGE", "NUMPAGES"]
    sizes = set()
    from PIL import Image

    for data in images.values():
        sizes.add(Image.open(io.BytesIO(data)).size)
    assert {(120, 60), (90, 30), (64, 32)} <= sizes


def test_pdf_letterhead_and_footer_are_pagination_artifacts(rendered: Path) -> None:
    """Every marked-content sequence is either in the structure tree or an artifact: the
    letterhead, its logo and the footers are artifacts, the letter's own images are
    Figures in the tree."""
    import pypdf
    from pypdf.generic import ContentStream

    reader = pypdf.PdfReader(rendered / "pdf" / "mexico.pdf")
    root = reader.trailer["/Root"]["/StructTreeRoot"]
    reachable: set[int] = set()
    figures: list[str] = []
    todo = list(root["/K"]) if isinstance(root["/K"], list) else [root["/K"]]
    while todo:
        ref = todo.pop()
        element = ref.get_object()
        if not hasattr(element, "get") or ref.idnum in reachable:
            continue
        reachable.add(ref.idnum)
        if element.get("/S") == "/Figure":
            figures.append(str(element.get("/Alt")))
        kids = element.get("/K")
        todo.extend(k for k in (kids if isinstance(kids, list) else [kids])
                    if hasattr(k, "idnum"))
    assert sorted(figures) == ["A red bar", "Signature of Philip Lynch"]
    nums = root["/ParentTree"]["/Nums"]
    for n, page in enumerate(reader.pages):
        mapping = nums[2 * n + 1].get_object()
        artifacts = 0
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator != b"BDC":
                continue
            if operands[0] == "/Artifact":
                artifacts += 1
                continue
            ref = mapping[operands[1]["/MCID"]]
            assert ref.idnum in reachable, f"page {n + 1}: {operands} is neither"
        assert artifacts >= 3  # the footer's text and its two numbers at least


# ----- the letterhead, the footer and the footnotes must fit the page -------------------




_assets = image_assets
_doc = letter_to_mexico



@pytest.mark.parametrize(("meta", "says"), [
    ({"letterhead": {"name": "Open Letters",
                     "address": [f"Line {i} of the address" for i in range(40)]}},
     "the letterhead is"),
    ({"footer": " ".join(f"Footer{i}" for i in range(100))}, "the running footer is"),
])
def test_a_letterhead_or_footer_taller_than_its_margin_is_refused(
        tmp_path: Path, meta: dict[str, object], says: str) -> None:
    """WeasyPrint draws an overflowing margin box past the page's edge (the logo and the
    first lines of a long letterhead were lost) or over the footnotes."""
    with pytest.raises(RenderError, match=says + r" \d+ pt tall, but the page's"):
        WRITERS["pdf"].render(_doc("Hello.\n", meta), _assets(tmp_path))



def test_a_letterhead_and_footer_that_fit_render(tmp_path: Path) -> None:
    meta = {"letterhead": {"name": "Open Letters", "address": ["Rue 1", "1200 Genève"]},
            "footer": "Open Letters"}
    assert WRITERS["pdf"].render(_doc("Hello.\n", meta), _assets(tmp_path)).startswith(b"%PDF")



def test_a_footnote_taller_than_the_page_is_refused(tmp_path: Path) -> None:
    """WeasyPrint drew a 3,000-word note up past the page's top: half its words lost."""
    doc = _doc("Long.[^1]\n\n[^1]: " + "word " * 3000 + "\n")
    with pytest.raises(RenderError, match=r"the footnotes of page \d+ are taller than the page"):
        WRITERS["pdf"].render(doc, _assets(tmp_path))

