"""DrawingML images: an inline picture (``w:drawing``) at its print size, its media part
added once to the part that shows it (:class:`Pictures`: the body, a header).

The rule that places an image in the letter's body is :func:`letterforge.writers.docx.body._image`
(it knows where the image stands: in a quote, a table cell, a signature); the letterhead's
logo is drawn by :mod:`letterforge.writers.docx.furniture`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .package import RT_IMAGE, Part, Rel, xml_text

EMU_PER_POINT = 12700
#: A signature is drawn at most this high (points), as in the PDF (writers/html.py's
#: FURNITURE_CSS).
SIGNATURE_MAX_HEIGHT = 25 * 72 / 25.4
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
PIC_NS = "http://schemas.openxmlformats.org/drawingml/2006/picture"
WP_NS = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
ASVG_NS = "http://schemas.microsoft.com/office/drawing/2016/SVG/main"
SVG_EXTENSION = "{96DAC541-7B7A-43D3-8B79-37D633B846F1}"


@dataclass
class Pictures:
    """The images of one part (the body, a header): their media parts, the part's
    relationships to them, and the drawing ids (unique in the whole document)."""

    prefix: str  # rId prefix, unique in the part
    first_id: int  # the first drawing id (docPr ids are unique across the document)
    rels: dict[str, Rel] = field(default_factory=dict)  # media name -> relationship
    media: list[Part] = field(default_factory=list)
    drawings: int = 0

    def rel(self, image: Any, folder: str) -> str:
        """The rId of ``image`` in this part, its media part added once."""
        if image.name not in self.rels:
            stem = "logo" if self.prefix == "rIdLogo" else "image"
            leaf = f"letter-{stem}{len(self.rels) + 1}.{image.extension}"
            self.media.append(Part(f"word/media/{leaf}", image.mime_type, image.data))
            self.rels[image.name] = Rel(f"{self.prefix}{len(self.rels) + 1}", RT_IMAGE,
                                        posixpath.relpath(f"word/media/{leaf}", folder))
        return self.rels[image.name].id


def drawing_xml(image: Any, alt: str, images: Mapping[str, Any], pictures: Pictures,
                folder: str, max_width: float, max_height: float | None = None) -> str:
    """An inline picture (``w:drawing``/``wp:inline``) with its alt text in ``descr``,
    at its print size scaled to fit ``max_width`` (and ``max_height``). An SVG is drawn
    from its PNG beside it, with the SVG itself as an ``asvg:svgBlip`` extension: Word
    365 draws the SVG, older Word and LibreOffice the PNG."""
    from ...images import fit

    width, height = fit(image, max_width)
    if max_height is not None and height > max_height:
        width, height = width * max_height / height, max_height
    cx, cy = round(width * EMU_PER_POINT), round(height * EMU_PER_POINT)
    if image.kind == "svg":
        png = images[image.fallback]
        blip = (f'<a:blip r:embed="{pictures.rel(png, folder)}"><a:extLst>'
                f'<a:ext uri="{SVG_EXTENSION}"><asvg:svgBlip xmlns:asvg="{ASVG_NS}" '
                f'r:embed="{pictures.rel(image, folder)}"/></a:ext></a:extLst></a:blip>')
    else:
        blip = f'<a:blip r:embed="{pictures.rel(image, folder)}"/>'
    pictures.drawings += 1
    did = pictures.first_id + pictures.drawings
    descr = xml_text(alt)
    name = xml_text(posixpath.basename(image.name))
    return (
        f'<w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0">'
        f'<wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{did}" name="{name}" descr="{descr}"/>'
        '<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/>'
        f'</wp:cNvGraphicFramePr><a:graphic><a:graphicData uri="{PIC_NS}"><pic:pic>'
        f'<pic:nvPicPr><pic:cNvPr id="{did}" name="{name}" descr="{descr}"/><pic:cNvPicPr/>'
        f'</pic:nvPicPr><pic:blipFill>{blip}<a:stretch><a:fillRect/></a:stretch>'
        '</pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/>'
        f'<a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
        "</a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline>"
        "</w:drawing>")
