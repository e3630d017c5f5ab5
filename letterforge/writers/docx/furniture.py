"""The letterhead and the running footer: the furniture a letter's front matter asks for.

The letterhead is the first page's header (:func:`letterhead_header`): the logo, the
sender's name, address and contact, each in its paragraph style, in a one-cell table as
high as the PDF's first top margin. The running footer (:func:`page_footer`) is every
page's: the organisation, then the page numbers as real PAGE and NUMPAGES fields.
:func:`furnished_tail` names them in the letter's last section. Their styles, when the
base lacks them, are :data:`letterforge.writers.docx.styles.FURNITURE_STYLES`; the
footer a letter gets without a reference document and without a ``footer`` in its front
matter is :func:`letterforge.writers.docx.styles._page_number_footer`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .body import Ctx, _text_xml
from .images import A_NS, PIC_NS, WP_NS, Pictures, drawing_xml
from .package import CT_FOOTER, CT_HEADER, XML_DECLARATION, Part, R, W, xml_text
from .styles import _field, _twips
from .stylesheet import layout

#: The letterhead's logo is drawn at most this high (points), as in the PDF.
LOGO_MAX_HEIGHT = 18 * 72 / 25.4
_PART_NS = (f'xmlns:w="{W}" xmlns:r="{R}" xmlns:wp="{WP_NS}" xmlns:a="{A_NS}" '
            f'xmlns:pic="{PIC_NS}"')


def _furniture_paragraph(ctx: Ctx, style: str, content: str, center: bool = False) -> str:
    jc = '<w:jc w:val="center"/>' if center else ""
    bidi = "<w:bidi/>" if ctx.rtl else ""
    rpr = f"<w:rPr>{ctx.run_props}</w:rPr>" if ctx.run_props else ""
    return (f'<w:p><w:pPr><w:pStyle w:val="{xml_text(ctx.style_id(style))}"/>{bidi}{jc}'
            f"{rpr}</w:pPr>{content}</w:p>")


def _text_runs(ctx: Ctx, lines: list[str]) -> str:
    rpr = f"<w:rPr>{ctx.run_props}</w:rPr>" if ctx.run_props else ""
    return f"<w:r>{rpr}<w:br/></w:r>".join(f"<w:r>{rpr}{_text_xml(line)}</w:r>"
                                            for line in lines)


def letterhead_header(ctx: Ctx, head: Mapping[str, Any], stylesheet: str = "") -> Part:
    """The first page's header: the logo, the sender's name, address and contact, each
    in its paragraph style ("Letterhead Logo", "Letterhead Name", "Letterhead Address",
    "Letterhead Contact")."""
    pictures = Pictures("rIdLogo", 1000)
    paragraphs = []
    if head["logo"]:
        image = ctx.images[head["logo"]]
        run = "<w:r>" + drawing_xml(image, head["logo_alt"], ctx.images, pictures, "word",
                                    ctx.base.text_width / 20,
                                    LOGO_MAX_HEIGHT) + "</w:r>"
        paragraphs.append(_furniture_paragraph(ctx, "Letterhead Logo", run))
    if head["name"]:
        paragraphs.append(_furniture_paragraph(ctx, "Letterhead Name",
                                               _text_runs(ctx, [head["name"]])))
    for key in ("address", "contact"):
        if head[key]:
            paragraphs.append(_furniture_paragraph(ctx, f"Letterhead {key.title()}",
                                                   _text_runs(ctx, head[key])))
    data = (XML_DECLARATION + f"<w:hdr {_PART_NS}>" + _first_page_box(ctx, paragraphs, stylesheet)
            + "</w:hdr>").encode()
    ctx.media.extend(pictures.media)
    return Part("word/header-letterhead.xml", CT_HEADER, data, tuple(pictures.rels.values()))


#: The letterhead stands this far above the first line of the letter, as in the PDF
#: (``@top-left { padding-bottom: 6mm }`` in writers/html.py's FURNITURE_CSS), in twips.
LETTERHEAD_GAP = 340


def _first_page_box(ctx: Ctx, paragraphs: list[str], stylesheet: str) -> str:
    """The letterhead's paragraphs in a borderless one-cell table whose row is exactly as
    high as the first page's top margin in the PDF (``@page :first``, 55 mm by default)
    less the header's distance from the page edge, bottom-aligned; then the paragraph a
    header must end with, 1 pt high. So the letter's first line starts where the PDF's
    does, whatever the letterhead holds (Word and LibreOffice push the body below a
    header taller than the top margin)."""
    # the stylesheet's layout (after the PDF's own defaults, which give 55 mm); with a
    # reference document, the stylesheet still gives the PDF's first page
    page = ctx.base.page or layout(stylesheet, ctx.lang)
    top = page.first_top
    found = re.search(r'<w:pgMar\b[^>]*?w:header="(\d+)"', ctx.base.document_tail)
    distance = int(found.group(1)) if found else 709
    end = '<w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="20" ' \
          'w:lineRule="exact"/><w:rPr><w:sz w:val="2"/></w:rPr></w:pPr></w:p>'
    height = _twips(top) - distance - 20 if top is not None else 0
    if height < 567 or not paragraphs:  # no room for a letterhead: as it comes
        return "".join(paragraphs or ["<w:p/>"])
    width = ctx.base.text_width
    none = "".join(f'<w:{side} w:val="nil"/>'
                   for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    return (
        f'<w:tbl><w:tblPr><w:tblW w:w="{width}" w:type="dxa"/>'
        f'{"<w:bidiVisual/>" if ctx.rtl else ""}<w:tblBorders>{none}</w:tblBorders>'
        '<w:tblLayout w:type="fixed"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/>'
        f'<w:left w:w="0" w:type="dxa"/><w:bottom w:w="{LETTERHEAD_GAP}" w:type="dxa"/>'
        '<w:right w:w="0" w:type="dxa"/></w:tblCellMar><w:tblLook w:val="0000" '
        'w:firstRow="0" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" w:noHBand="1" '
        f'w:noVBand="1"/></w:tblPr><w:tblGrid><w:gridCol w:w="{width}"/></w:tblGrid>'
        f'<w:tr><w:trPr><w:cantSplit/><w:trHeight w:val="{height}" w:hRule="exact"/>'
        f'</w:trPr><w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>'
        f'<w:vAlign w:val="bottom"/></w:tcPr>{"".join(paragraphs)}</w:tc></w:tr></w:tbl>'
        + end)


def page_footer(ctx: Ctx, text: str, pattern: str) -> Part:
    """The running footer of every page: the organisation, then the page numbers as
    real PAGE and NUMPAGES fields ("page 2 of 4"), in the paragraph style "Page Footer"."""
    pieces = [f"<w:r>{_rpr(ctx)}{_text_xml(text)}</w:r>"
              f"<w:r>{_rpr(ctx)}{_text_xml(' · ')}</w:r>"] if text else []
    for piece in re.split(r"(\{pages?\})", pattern):
        if piece == "{page}":
            pieces.append(_field("PAGE"))
        elif piece == "{pages}":
            pieces.append(_field("NUMPAGES"))
        elif piece:
            pieces.append(f"<w:r>{_rpr(ctx)}{_text_xml(piece)}</w:r>")
    data = (XML_DECLARATION + f"<w:ftr {_PART_NS}>"
            + _furniture_paragraph(ctx, "Page Footer", "".join(pieces), center=True)
            + "</w:ftr>").encode()
    return Part("word/footer-page.xml", CT_FOOTER, data)


def _rpr(ctx: Ctx) -> str:
    return f"<w:rPr>{ctx.run_props}</w:rPr>" if ctx.run_props else ""


_SECT_AFTER_TITLE_PG = ("<w:textDirection", "<w:bidi", "<w:rtlGutter", "<w:docGrid",
                        "<w:printerSettings", "<w:sectPrChange", "</w:sectPr>")


def furnished_tail(tail: str, header_id: str | None, footer_id: str | None) -> str:
    """The last section with the letterhead as its first page's header (``w:titlePg``)
    and the running footer as its first and default footer; the reference document's
    header and footers of those kinds give way, its others stay."""
    start = tail.index("<w:sectPr")
    end = tail.index(">", start) + 1
    sect, rest = tail[:end], tail[end:]
    refs = ""
    if header_id is not None:
        rest = re.sub(r'<w:headerReference\b[^>]*w:type="first"[^>]*/>', "", rest)
        refs += f'<w:headerReference w:type="first" r:id="{header_id}"/>'
    if footer_id is not None:
        rest = re.sub(r'<w:footerReference\b[^>]*w:type="(first|default)"[^>]*/>', "", rest)
        refs += (f'<w:footerReference w:type="default" r:id="{footer_id}"/>'
                 f'<w:footerReference w:type="first" r:id="{footer_id}"/>')
    if header_id is not None or footer_id is not None:
        rest = re.sub(r"<w:titlePg\b[^>]*/>", "", rest)
        at = min(i for i in (rest.find(t) for t in _SECT_AFTER_TITLE_PG) if i >= 0)
        rest = rest[:at] + "<w:titlePg/>" + rest[at:]
    return tail[:start] + sect + refs + rest
