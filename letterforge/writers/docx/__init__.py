"""DOCX writer: the document tree written as WordprocessingML, with parts built once.

Every paragraph gets a named style a user can restyle in Word or LibreOffice:
Markdown headings -> "Heading N"; a block with a class (``{.date}`` in the template) ->
the style of that name, title-cased ("Date", "Closing", "Signature", "Signer Title");
list items -> "List Paragraph" (or the list's class); block quotes -> "Quote" (22 pt in
on both sides, as the PDF's ``blockquote``; a quote in a quote twice that, as direct
indents); code -> "Source Code"; a rule -> "Horizontal Rule". Links use the "Hyperlink"
character style; struck text (``~~x~~``) is ``w:strike``. Fonts, spacing and the page
come from a reference document (``templates/reference.docx``, as pandoc's
``--reference-doc``) or, without one, from the PDF's stylesheet (``letter.css``).

The package, one module per job (each imports only those above it):

- :mod:`~letterforge.writers.docx.package`: parts, relationships, content types, the zip.
- :mod:`~letterforge.writers.docx.stylesheet`: the print stylesheet read as the layout
  of each paragraph style (page, fonts, spacing, list indents).
- :mod:`~letterforge.writers.docx.styles`: the DOCX's named styles, and the document
  without a reference (python-docx's template laid out from the stylesheet).
- :mod:`~letterforge.writers.docx.reference`: a ``reference.docx`` read and made safe;
  the :class:`~letterforge.writers.docx.reference.Base` every letter shares.
- :mod:`~letterforge.writers.docx.images`: DrawingML pictures.
- :mod:`~letterforge.writers.docx.body`: the render rules keyed by node type
  (:data:`RULES`: paragraphs, headings, lists, quotes, code, tables, inline runs,
  links, footnotes, images) and the letter's state (``Ctx``).
- :mod:`~letterforge.writers.docx.furniture`: the letterhead and the running footer.
- here: :func:`render`, which puts one letter together.

**Speed**: the shared parts are built once per process for each (reference document,
language) (:func:`~letterforge.writers.docx.reference.base`); a letter only writes what
differs: ``word/document.xml`` (the body, built as text, escaped here),
``word/numbering.xml`` (each Markdown list gets its own ``w:abstractNum`` + ``w:num``
with a ``w:startOverride``, so every list restarts at its first number in Word and in
LibreOffice), ``word/styles.xml`` (only when a block class names a style not in the
base), ``word/_rels/document.xml.rels`` (its links), ``docProps/core.xml`` and
``[Content_Types].xml``. The zip has fixed entry times (the letter's timestamp) and a
fixed order: same input, same bytes.

Render rules are a table keyed by node type (:data:`RULES`), one rule for each type of
:data:`letterforge.parse.NODE_TYPES`. A letter part is a
:class:`~letterforge.writers.docx.package.Part` with its own relationships, so a new
kind of content (footnotes, images) is a new part and a rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..html import footer_of, letterhead_of
from .body import RULES, Ctx, _open_paragraph, footnotes_xml, render_node
from .furniture import furnished_tail, letterhead_header, page_footer
from .images import Pictures
from .package import (
    CT_CORE,
    CT_DOCUMENT,
    CT_FOOTNOTES,
    CT_NUMBERING,
    CT_STYLES,
    RT_CORE,
    RT_FOOTER,
    RT_FOOTNOTES,
    RT_HEADER,
    RT_HYPERLINK,
    RT_OFFICE_DOCUMENT,
    Entry,
    Part,
    Rel,
    _entries,
    _zip,
    content_types_xml,
    core_xml,
    rels_xml,
)
from .reference import base
from .styles import _extra_style

if TYPE_CHECKING:
    from ...models import Assets
    from ...parse import Document

__all__ = ["RULES", "render"]


def _timestamp(meta: Any) -> dt.datetime:
    when = meta.get("timestamp")
    if isinstance(when, dt.datetime):
        return when
    date = meta.get("date")
    if isinstance(date, dt.date):
        return dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)
    return dt.datetime(1980, 1, 1, tzinfo=dt.UTC)


def render(doc: Document, assets: Assets, needed: Mapping[str, bytes] | None = None) -> bytes:
    meta = doc.meta
    lang = str(meta.get("lang", "en"))
    b = base(assets.reference_docx, lang,
             None if assets.reference_docx else assets.stylesheet)
    ctx = Ctx(base=b, images=assets.images, pictures=Pictures("rIdImage", 0))
    ctx.set_language(lang)
    render_node(doc.tree, ctx)
    if ctx.out and ctx.out[-1] == "</w:tbl>":  # a body ends with a paragraph, not a table
        _open_paragraph(ctx, "Normal")
        ctx.out.append("</w:p>")

    # the letterhead and the running footer (only when the front matter asks for them)
    furniture: list[Part] = []
    furniture_rels: list[Rel] = []
    section_tail = b.document_tail
    letterhead, footer = letterhead_of(meta), footer_of(meta)
    if letterhead is not None or footer is not None:
        ids: dict[str, str | None] = {"header": None, "footer": None}
        if letterhead is not None:
            furniture.append(letterhead_header(ctx, letterhead, assets.stylesheet))
            furniture_rels.append(Rel("rIdLetterhead", RT_HEADER, "header-letterhead.xml"))
            ids["header"] = "rIdLetterhead"
        if footer is not None:
            furniture.append(page_footer(ctx, *footer))
            furniture_rels.append(Rel("rIdPageFooter", RT_FOOTER, "footer-page.xml"))
            ids["footer"] = "rIdPageFooter"
        section_tail = furnished_tail(section_tail, ids["header"], ids["footer"])
    assert ctx.pictures is not None
    furniture.extend(ctx.pictures.media + ctx.media)

    document = (b.document_head + "".join(ctx.out) + section_tail).encode()
    head, middle, tail = b.numbering
    numbering = (head + "".join(ctx.abstracts) + middle + "".join(ctx.nums) + tail).encode()
    styles = b.styles_entry
    if ctx.extra_styles:
        styles = Entry.of("word/styles.xml", (b.styles_head + "".join(
            _extra_style(name, sid, b.normal_id, b.w_prefixed)
            for name, sid in ctx.extra_styles.items()) + b.styles_tail).encode())
    rels = b.rels + tuple(Rel(r_id, RT_HYPERLINK, href, external=True)
                          for href, r_id in ctx.links.items())
    shared_entries: tuple[Entry, ...] = b.shared_entries
    notes: list[Part] = []
    if ctx.notes:
        rels += (Rel("rIdFootnotes", RT_FOOTNOTES, "footnotes.xml"),)
        notes.append(Part("word/footnotes.xml", CT_FOOTNOTES, footnotes_xml(ctx.notes),
                          tuple(Rel(r_id, RT_HYPERLINK, href, external=True)
                                for href, r_id in ctx.note_links.items())))
        assert b.settings_with_notes is not None
        shared_entries = tuple(b.settings_with_notes if e.name == "word/settings.xml" else e
                               for e in shared_entries)
    rels += tuple(ctx.pictures.rels.values()) + tuple(furniture_rels)
    when = _timestamp(meta)
    own = [
        Part("docProps/core.xml", CT_CORE, core_xml(meta, lang, when)),
        Part("word/document.xml", CT_DOCUMENT, document, rels),
        *notes,
        *furniture,
    ]
    numbering_part = Part("word/numbering.xml", CT_NUMBERING, numbering, b.numbering_rels)
    styles_part = Part("word/styles.xml", CT_STYLES, b"")  # for its content type
    package_rels = (Rel("rId1", RT_OFFICE_DOCUMENT, "word/document.xml"),
                    Rel("rId2", RT_CORE, "docProps/core.xml"))
    return _zip([
        Entry.of("[Content_Types].xml",
                 content_types_xml([*own, styles_part, numbering_part, *b.shared])),
        Entry.of("_rels/.rels", rels_xml(package_rels)),
        *_entries(own), styles, *_entries([numbering_part]), *shared_entries,
    ], when)
