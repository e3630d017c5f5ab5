"""Images: read by the load stage from the templates folder only, checked for what they
are, required to have alt text, and drawn by each writer's image rule; the letterhead,
the running footer and the signature image in the DOCX. (What the letterhead's values
may be: test_validate.py; a letterhead too tall for its margin, in the PDF:
e2e/test_letterhead.py.)"""

from __future__ import annotations

import io
import re
import textwrap
import threading
import zipfile
from pathlib import Path

import pytest

from conftest import image_assets, letter_to_mexico
from letterforge.errors import RenderError
from letterforge.images import ImageProblem, inspect
from letterforge.load import read_assets, read_template
from letterforge.models import Candidate, Source
from letterforge.parse import check_tree, parse_markdown
from letterforge.validate.front_matter import letterhead_problems
from letterforge.writers import WRITERS
from letterforge.writers.html import render_page
from letterforge.writers.text import render_text

CAND = Candidate(2013, "Mexico", "Mexico", ("m@example.org",), "mexico", {},
                 Source("c.csv", 2))
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="30mm" height="10mm" '
       b'viewBox="0 0 300 100"><rect width="300" height="100" fill="#1d4e89"/></svg>')


def png(width: int = 300, height: int = 150, dpi: int = 300, mode: str = "RGB") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, (width, height), "white").save(out, "PNG", dpi=(dpi, dpi))
    return out.getvalue()


def jpeg(width: int = 200, height: int = 100) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(out, "JPEG", dpi=(72, 72))
    return out.getvalue()


# ----- what an image file is ---------------------------------------------------------


def test_a_png_prints_at_its_own_resolution() -> None:
    image = inspect("logo.png", png(300, 150, dpi=300))
    assert image.kind == "png"
    assert (round(image.width, 2), round(image.height, 2)) == (72.0, 36.0)  # 1 x 0.5 in
    assert inspect("a.jpg", jpeg()).kind == "jpeg"


def test_an_svg_prints_at_its_width_and_height() -> None:
    image = inspect("logo.svg", SVG)
    assert image.kind == "svg"
    assert round(image.width / 72 * 25.4, 3) == 30.0 and round(image.height / 72 * 25.4) == 10


@pytest.mark.parametrize(("name", "data", "says"), [
    ("logo.png", b"GIF89a not a png", "is not a PNG image"),
    ("logo.png", jpeg(), "is a JPEG image, not a PNG"),
    ("logo.png", png()[:60], "cannot be read as a PNG"),
    ("logo.gif", b"GIF89a", "not a PNG, JPEG or SVG file name"),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1">'
                 b'<image href="https://example.org/x.png"/></svg>', "outside the image"),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1">'
                 b'<image xlink:href="file:///etc/passwd" '
                 b'xmlns:xlink="http://www.w3.org/1999/xlink"/></svg>', "outside the image"),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1">'
                 b'<style>@import url(other.css);</style></svg>', "outside the image"),
    ("logo.svg", b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1">&x;</svg>',
     "entities"),
    ("logo.svg", b"<svg><rect/></svg>", "not an SVG image"),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', "width"),
])
def test_what_is_not_a_usable_image_is_refused(name: str, data: bytes, says: str) -> None:
    with pytest.raises(ImageProblem, match=re.escape(says)):
        inspect(name, data)


# ----- the load stage: the templates folder only -------------------------------------


def _folder(tmp_path: Path, body: str, front: str = "", **files: bytes) -> Path:
    root = tmp_path / "templates"
    root.mkdir()
    (root / "letter.css").write_text("p { margin: 0 }\n")
    for name, data in files.items():
        (root / name.replace("__", ".")).write_bytes(data)
    (root / "letter.md").write_text(
        "---\nlang: en\n" + textwrap.dedent(front) + "---\n" + textwrap.dedent(body))
    return root


def _problems(root: Path) -> list[tuple[int | None, str]]:
    _, problems = read_assets(read_template(root / "letter.md"))
    return [(p.line, p.message) for p in problems]


def test_body_and_front_matter_images_are_read_from_the_templates_folder(
        tmp_path: Path) -> None:
    root = _folder(tmp_path, "Hello.\n\n![A chart](chart.png)\n",
                   "letterhead:\n  logo: logo.svg\n  logo_alt: Logo\n",
                   chart__png=png(), logo__svg=SVG, logo__png=png(60, 20))
    assets, problems = read_assets(read_template(root / "letter.md"))
    assert problems == []
    assert sorted(assets.images) == ["chart.png", "logo.png", "logo.svg"]
    assert assets.images["logo.svg"].fallback == "logo.png"  # what the DOCX shows


@pytest.mark.parametrize("target", ["../secret.png", "/etc/secret.png",
                                    "https://example.org/logo.png", "sub/../../secret.png",
                                    "link.png"])
def test_an_image_outside_the_templates_folder_is_refused_with_its_line(
        tmp_path: Path, target: str) -> None:
    (tmp_path / "secret.png").write_bytes(png())
    root = _folder(tmp_path, f"Hello.\n\n![A secret]({target})\n")
    (root / "link.png").symlink_to(tmp_path / "secret.png")
    ((line, message),) = _problems(root)
    assert line == 6  # 3 lines of front matter, then line 3 of the body
    assert "outside the templates folder" in message or "a URL" in message


def test_a_missing_too_big_or_false_image_names_its_line(tmp_path: Path) -> None:
    root = _folder(tmp_path, "![a](missing.png)\n\n![b](big.png)\n\n![c](text.png)\n",
                   big__png=b"\x89PNG\r\n\x1a\n" + bytes(6 * 2**20), text__png=b"hello")
    problems = _problems(root)
    assert [line for line, _ in problems] == [4, 6, 8]
    assert "not in the templates folder" in problems[0][1]
    assert "5 MB at most" in problems[1][1]
    assert "is not a PNG image" in problems[2][1]


def test_the_logo_needs_alt_text_and_the_docx_needs_an_svgs_png(tmp_path: Path) -> None:
    root = _folder(tmp_path, "Hello.\n", "letterhead:\n  name: X\n  logo: logo.svg\n",
                   logo__svg=SVG)
    template = read_template(root / "letter.md")
    assets, _ = read_assets(template)
    problems = letterhead_problems(template.front_matter, assets.images, "letter.md",
                                   ("docx", "pdf"))
    messages = " | ".join(p.message for p in problems)
    assert "the logo has no alt text" in messages
    assert "needs a PNG copy beside it for the DOCX (logo.png)" in messages
    assert letterhead_problems({"letterhead": {"adress": "x"}}, {}, "l.md", ())[0].column \
        == "letterhead.adress"


def test_an_image_in_the_body_needs_alt_text() -> None:
    tree = parse_markdown("Hello.\n\n![](chart.png)\n", "en")
    with pytest.raises(RenderError, match="'chart.png' has no alt text"):
        check_tree(tree, "", None, CAND, images={"chart.png"})
    tree = parse_markdown("Hello.\n\n![Chart](other.png)\n", "en")
    with pytest.raises(RenderError, match="not read from the templates folder"):
        check_tree(tree, "", None, CAND, images={"chart.png"})


def test_an_image_in_a_footnote_is_refused() -> None:
    """Word keeps a footnote's pictures apart from the body's: the DOCX's footnotes part
    was not even well-formed XML with one."""
    tree = parse_markdown("Text.[^1]\n\n[^1]: See ![Chart](chart.png).\n", "en")
    with pytest.raises(RenderError, match="'chart.png' is in a footnote"):
        check_tree(tree, "", None, CAND, images={"chart.png"})


def test_an_images_alt_text_may_hold_brackets(tmp_path: Path) -> None:
    root = _folder(tmp_path, "![The [1] chart, see [a](b)](chart.png)\n", chart__png=png())
    assets, problems = read_assets(read_template(root / "letter.md"))
    assert problems == [] and list(assets.images) == ["chart.png"]


# ----- each writer's image rule ------------------------------------------------------


_assets = image_assets
_doc = letter_to_mexico


def test_html_and_text_rules() -> None:
    from letterforge.images import inspect as look

    doc = _doc("See ![A red chart](chart.png).\n")
    html = render_page(doc.tree, doc.meta, images={"chart.png": look("chart.png", png())})
    assert '<img src="chart.png" alt="A red chart" width="96.00" height="48.00">' in html
    assert render_text(doc.tree) == "See [Image: A red chart].\n"


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_docx_image_rule_makes_an_inline_picture(tmp_path: Path) -> None:
    data = WRITERS["docx"].render(_doc("![A *red* chart](chart.png)\n"),
                                  _assets(tmp_path, chart__png=png(3000, 300, dpi=100)))
    parts = _parts(data)
    body = parts["word/document.xml"].decode()
    assert '<wp:docPr id="1" name="chart.png" descr="A red chart"/>' in body
    cx = int(re.search(r'<wp:extent cx="(\d+)"', body).group(1))  # type: ignore[union-attr]
    page = re.search(r'<w:pgSz w:w="(\d+)".*?<w:pgMar w:top="\d+" w:right="(\d+)" '
                     r'w:bottom="\d+" w:left="(\d+)"', body)
    assert page, "the section gives the page"
    text_width = int(page.group(1)) - int(page.group(2)) - int(page.group(3))
    assert cx == round(text_width / 20 * 12700)  # 30 in wide: capped to the text
    rels = parts["word/_rels/document.xml.rels"].decode()
    assert 'Id="rIdImage1" Type="http://schemas.openxmlformats.org/officeDocument/2006/' \
        'relationships/image" Target="media/letter-image1.png"' in rels
    assert parts["word/media/letter-image1.png"] == png(3000, 300, dpi=100)
    assert 'PartName="/word/media/letter-image1.png" ContentType="image/png"' in \
        parts["[Content_Types].xml"].decode()


def test_docx_svg_is_drawn_from_its_png_with_the_svg_as_extension(tmp_path: Path) -> None:
    data = WRITERS["docx"].render(_doc("![Logo](logo.svg)\n"),
                                  _assets(tmp_path, logo__svg=SVG, logo__png=png(300, 100)))
    parts = _parts(data)
    body = parts["word/document.xml"].decode()
    assert re.search(r'<a:blip r:embed="rIdImage1"><a:extLst><a:ext uri="\{96DAC541[^"]*\}">'
                     r'<asvg:svgBlip [^>]*r:embed="rIdImage2"/>', body)
    assert parts["word/media/letter-image1.png"] == png(300, 100)
    assert parts["word/media/letter-image2.svg"] == SVG


LETTERHEAD = {
    "letterhead": {"logo": "logo.svg", "logo_alt": "Open Letters Network logo",
                   "name": "Open Letters Network",
                   "address": ["Rue de l'Exemple 1", "1200 Genève"],
                   "contact": "letters@example.org"},
}


def test_docx_letterhead_is_a_first_page_header_with_page_number_footers(
        tmp_path: Path) -> None:
    data = WRITERS["docx"].render(_doc("Hello.\n", LETTERHEAD),
                                  _assets(tmp_path, logo__svg=SVG, logo__png=png(300, 100)))
    parts = _parts(data)
    body = parts["word/document.xml"].decode()
    sect = body[body.index("<w:sectPr"):]
    assert '<w:headerReference w:type="first" r:id="rIdLetterhead"/>' in sect
    assert '<w:footerReference w:type="default" r:id="rIdPageFooter"/>' in sect
    assert '<w:footerReference w:type="first" r:id="rIdPageFooter"/>' in sect
    assert "<w:titlePg/>" in sect and 'r:id="rId' not in sect.split("<w:titlePg/>")[1]
    header = parts["word/header-letterhead.xml"].decode()
    assert 'descr="Open Letters Network logo"' in header
    assert "Rue de l&apos;Exemple 1" in header or "Rue de l'Exemple 1" in header
    assert "letters@example.org" in header
    assert parts["word/media/letter-logo1.png"] == png(300, 100)
    footer = parts["word/footer-page.xml"].decode()
    assert "Open Letters Network" in footer
    assert re.findall(r"<w:instrText[^>]*> (\w+) </w:instrText>", footer) == ["PAGE",
                                                                              "NUMPAGES"]
    assert _footer_text(footer) == "Open Letters Network · page 1 of 1"
    styles = parts["word/styles.xml"].decode()
    for style in ("Letterhead Logo", "Letterhead Name", "Letterhead Address",
                  "Letterhead Contact", "Page Footer"):
        assert f'w:val="{style}"' in styles


def test_a_footer_alone_keeps_the_first_page_header_free(tmp_path: Path) -> None:
    data = WRITERS["docx"].render(
        _doc("Hello.\n", {"footer": {"text": "ISHR", "pages": "{page}/{pages}"}}),
        _assets(tmp_path))
    parts = _parts(data)
    assert "word/header-letterhead.xml" not in parts
    assert _footer_text(parts["word/footer-page.xml"].decode()) == "ISHR · 1/1"


def _footer_text(xml: str) -> str:
    """The footer as Word shows it before it updates its fields (their results are 1)."""
    xml = re.sub(r"<w:instrText[^<]*</w:instrText>", "", xml.split("?>", 1)[1])
    return re.sub(r"<[^>]+>", "", xml).strip()


def test_signature_image_goes_above_the_signers_name_in_every_writer(tmp_path: Path) -> None:
    meta = {"signer": {"name": "A. Signer", "signature": "sig.png",
                       "signature_alt": "Signature of A. Signer"}}
    doc = _doc("Yours,\n\n{.signature}\nA. Signer\n", meta)
    html = render_page(doc.tree, doc.meta)
    assert re.search(r'<p class="signature-image"><img src="sig.png" '
                     r'alt="Signature of A. Signer"></p>\n<p class="signature">A. Signer', html)
    body = _parts(WRITERS["docx"].render(doc, _assets(tmp_path, sig__png=png())))[
        "word/document.xml"].decode()
    assert body.index('descr="Signature of A. Signer"') < body.index("A. Signer</w:t>")
    assert '<w:pStyle w:val="SignatureImage"/>' in body
    with pytest.raises(RenderError, match=r"no paragraph is marked \{.signature\}"):
        _doc("Yours,\n\nA. Signer\n", meta)


def test_docx_image_in_a_table_cell_fits_its_column(tmp_path: Path) -> None:
    """The PDF shrinks it to the cell (max-width: 100%); the DOCX drew a chart in a
    narrow column at the text's full width."""
    doc = _doc("| Year | Chart | What the chart shows, in a good many words |\n|---|---|---|\n"
               "| 2013 | ![A chart](chart.png) | The share of members rising each year |\n")
    body = _parts(WRITERS["docx"].render(doc, _assets(tmp_path, chart__png=png(3000, 1000))))[
        "word/document.xml"].decode()
    grid = [int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)"/>', body)]
    (cx,) = [int(c) for c in re.findall(r'<wp:extent cx="(\d+)"', body)]
    assert cx <= grid[1] * 635  # EMU per twip


# ----- images that would exhaust the PDF writer ----------------------------------------


def _svg(inner: str) -> bytes:
    return (b'<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="20mm">'
            + inner.encode() + b"</svg>")


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height`` pixels (a decompression
    bomb's shape: nothing is decoded to refuse it)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


_USE_CHAIN = "<defs><rect id='a0' width='1' height='1'/>" + "".join(
    f"<g id='a{i}'><use href='#a{i - 1}'/><use href='#a{i - 1}'/></g>"
    for i in range(1, 40)) + "</defs><use href='#a39'/>"


@pytest.mark.parametrize(("data", "says"), [
    (_svg(_USE_CHAIN), "more than 20,000 shapes"),  # 2**39 rectangles in 40 lines
    (_svg("<g id='a'><rect width='1' height='1'/><use href='#a'/></g>"), "20,000 shapes"),
    (_svg("<path d='M1 1h1v1z'/>" * 20_001), "20,000 shapes"),
    (_svg("<text>" + "lorem ipsum " * 2000 + "</text>"), "20,000 characters of text"),
    (_svg("<path d='M1 1" + " l1 1" * 250_000 + "'/>"), "characters of path data"),
    (_svg("<marker id='m'><rect width='1' height='1'/></marker>"
          "<path marker-mid='url(#m)' d='M1 1" + " l1 1" * 30_000 + "'/>"), "20,000 shapes"),
    (_svg("<image width='1' height='1' href='data:image/png;base64,"
          + __import__("base64").b64encode(_png_claiming(12_000, 12_000)).decode() + "'/>"),
     "12000 x 12000 pixels"),
    (_svg("<image width='1' height='1' href='data:image/svg+xml;base64,PHN2Zy8+'/>"),
     "holds another SVG"),
])
def test_an_svg_too_costly_to_draw_is_refused_quickly(data: bytes, says: str) -> None:
    with pytest.raises(ImageProblem, match=re.escape(says)):
        inspect("chart.svg", data)


def test_a_decompression_bomb_is_refused_in_plain_words() -> None:
    with pytest.raises(ImageProblem, match="far more than 25 million pixels"):
        inspect("logo.png", _png_claiming(100_000, 100_000))


def test_an_image_of_30_million_pixels_is_refused_25_million_is_not() -> None:
    """A 16-bit image of 40 million pixels took 446 MB per worker to decode."""
    with pytest.raises(ImageProblem, match="25 million pixels at most"):
        inspect("scan.png", _png_claiming(6000, 5000))
    assert inspect("scan.png", png(5000, 5000, mode="1")).kind == "png"


def test_an_svg_of_a_few_hundred_shapes_and_uses_is_fine() -> None:
    inner = "<defs><circle id='dot' r='1'/></defs>" + "<use href='#dot'/>" * 500
    assert inspect("chart.svg", _svg(inner + "<text>A chart</text>")).kind == "svg"


def test_an_image_that_is_a_pipe_is_refused_not_read(tmp_path: Path) -> None:
    import os

    root = _folder(tmp_path, "Hello.\n\n![A chart](chart.png)\n")
    os.mkfifo(root / "chart.png")  # reading it would wait for a writer for ever
    # (a writer that answers a reader, so that reading it fails this test, not hangs it)
    threading.Thread(target=(root / "chart.png").write_bytes, args=(b"hello",),
                     daemon=True).start()
    ((line, message),) = _problems(root)
    assert line == 6 and "not a file (a pipe or a device)" in message


# ----- what an SVG may embed or name, read as a browser reads it ---------------------

_B64 = __import__("base64").b64encode


@pytest.mark.parametrize(("inner", "says"), [
    # a data: URL is judged by its bytes, whatever media type it declares, or none
    ("<image width='1' height='1' href='data:;base64,"
     + _B64(_png_claiming(12_000, 12_000)).decode() + "'/>", "12000 x 12000 pixels"),
    ("<image width='1' height='1' href='data:text/plain;base64,"
     + _B64(_png_claiming(12_000, 12_000)).decode() + "'/>", "12000 x 12000 pixels"),
    ("<image width='1' height='1' href='data:image/png;base64,"
     + _B64(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode() + "'/>",
     "holds another SVG"),
    ("<image width='1' height='1' href='data:,%3Csvg%20xmlns%3D%22x%22%2F%3E'/>",
     "holds another SVG"),
    # CSS read by tinycss2: any case, escapes resolved, every way of naming a file
    ("<style>rect { fill: URL(https://tracker.example.org/a.png) }</style>",
     "tracker.example.org"),
    ("<style>rect { fill: \\75 rl(https://tracker.example.org/b.png) }</style>",
     "tracker.example.org"),
    ("<style>rect { background: image-set('https://tracker.example.org/c.png' 1x) }"
     "</style>", "tracker.example.org"),
    ("<style>@import 'https://tracker.example.org/d.css';</style>", "@import"),
    ("<style>@IMPORT url(local.css);</style>", "@import"),
    ("<rect width='1' height='1' style='fill: url(\"https://tracker.example.org/e\")'/>",
     "tracker.example.org"),
    ("<style>@font-face { font-family: x; src: url(https://tracker.example.org/f.woff) }"
     "</style>", "tracker.example.org"),
])
def test_an_svg_hides_nothing_it_would_fetch_or_draw(inner: str, says: str) -> None:
    with pytest.raises(ImageProblem, match=re.escape(says)):
        inspect("chart.svg", _svg(inner))


def test_a_local_reference_in_an_svg_s_css_is_fine() -> None:
    inner = ("<defs><linearGradient id='g'/></defs><style>rect { fill: url(#g) }</style>"
             "<rect width='1' height='1' style='fill: url(#g)'/>")
    assert inspect("chart.svg", _svg(inner)).kind == "svg"


@pytest.mark.parametrize(("size", "says"), [
    ("width='1e308pt' height='1e308pt'", "points"),
    ("width='100000mm' height='10mm'", "points"),  # 283,000 points: 100 m of paper
    ("width='0.0001pt' height='10mm'", "points"),
    ("viewBox='0 0 1e-300 1e-300'", "points"),
])
def test_an_svg_must_print_at_a_size_a_page_can_hold(size: str, says: str) -> None:
    data = f"<svg xmlns='http://www.w3.org/2000/svg' {size}><rect/></svg>".encode()
    with pytest.raises(ImageProblem, match=says):
        inspect("logo.svg", data)


def test_an_svg_of_a_real_size_prints_at_it() -> None:
    image = inspect("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg' width='200mm' "
                                b"height='1mm'/>")
    assert round(image.width) == 567 and round(image.height, 1) == 2.8


def test_an_image_the_stylesheet_names_is_checked_like_the_template_s(
        tmp_path: Path) -> None:
    """``background: url(big.png)`` in letter.css: the same limits as ``![..](big.png)``,
    named with the stylesheet's line."""
    root = _folder(tmp_path, "Hello.\n", big__png=_png_claiming(100_000, 100_000),
                   bomb__svg=_svg(_USE_CHAIN))
    (root / "letter.css").write_text("p { margin: 0 }\n"
                                     ".a { background: url(big.png) }\n"
                                     ".b { background: url('bomb.svg') }\n")
    problems = _problems(root)
    assert [(line, "25 million pixels" in m or "20,000 shapes" in m)
            for line, m in problems] == [(2, True), (3, True)]


def test_a_data_url_in_the_stylesheet_is_judged_by_its_bytes(tmp_path: Path) -> None:
    from letterforge.validate.stylesheet import stylesheet_problems

    bomb = _B64(_png_claiming(100_000, 100_000)).decode()
    css = f"p {{ margin: 0 }}\n.a {{ background: url(data:;base64,{bomb}) }}\n"
    problems = stylesheet_problems(css, tmp_path / "letter.css", tmp_path)
    assert [p.line for p in problems] == [2]
    assert "25 million pixels" in problems[0].message
    assert "an inline data: image" in problems[0].message
