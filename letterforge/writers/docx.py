"""DOCX writer: the document tree written as WordprocessingML, with parts built once.

Every paragraph gets a named style a user can restyle in Word or LibreOffice:
Markdown headings -> "Heading N"; a block with a class (``{.date}`` in the template) ->
the style of that name, title-cased ("Date", "Closing", "Signature", "Signer Title");
list items -> "List Paragraph" (or the list's class); block quotes -> "Quote" (22 pt in
on both sides, as the PDF's ``blockquote``; a quote in a quote twice that, as direct
indents); code -> "Source Code"; a rule -> "Horizontal Rule". Links use the "Hyperlink"
character style; struck text (``~~x~~``) is ``w:strike``.

**Tables** are ``w:tbl`` at the text width (read from the section), ruled as the PDF's,
columns as wide as their text asks, the header row repeated on every page
(``w:tblHeader``) in the paragraph style "Table Heading", the other cells "Table Text",
each cell aligned as the template's delimiter row says. **Footnotes** are Word's own, in
``word/footnotes.xml`` (separator and continuation separator as ids -1 and 0, as Word
writes them; ``w:footnotePr`` in the settings), each note's text in "Footnote Text", its
number a ``w:footnoteReference`` in the "Footnote Reference" character style: Word and
LibreOffice number them. A note referenced again gets a NOTEREF field to a bookmark on
its first reference, which shows the same number.

**What comes from the reference document** (``templates/reference.docx``, as pandoc's
``--reference-doc``): its styles, numbering definitions, theme, font table, the
settings that shape the layout (an allow-list: tab stops, hyphenation, compatibility...),
and its last section (page size, margins, title page) with the headers and footers it
names and their images. Nothing else: never its body, comments, document properties,
thumbnail, custom XML, glossary, people, web settings, attached template, mail merge,
nor any external relationship (a header's external link or linked picture is removed).
Any style the letter uses that is missing there is created with plain defaults.

**Without a reference document the DOCX lays out like the PDF**: python-docx's default
template gives the styles, and the PDF's stylesheet (``letter.css``) gives their fonts,
sizes, line heights, spacing, indents and keep-with-next, the page's size and margins,
the list indents and the centred "page / pages" footer's font (see
:mod:`letterforge.writers.layout`): LibreOffice's pages then begin where the PDF's do.
``letter.css`` stays the one place to restyle both; a reference document overrides it
for the DOCX.

**Speed**: those parts are built once per process for each (reference document,
language) (:func:`base`); a letter only writes what differs: ``word/document.xml`` (the
body, built as text, escaped here), ``word/numbering.xml`` (each Markdown list gets its
own ``w:abstractNum`` + ``w:num`` with a ``w:startOverride``, so every list restarts at
its first number in Word and in LibreOffice), ``word/styles.xml`` (only when a block
class names a style not in the base), ``word/_rels/document.xml.rels`` (its links),
``docProps/core.xml`` and ``[Content_Types].xml``. The zip has fixed entry times (the
letter's timestamp) and a fixed order: same input, same bytes.

Render rules are a table keyed by node type (:data:`RULES`), one rule for each type of
:data:`letterforge.document.NODE_TYPES`. A letter part is a :class:`Part` with its own
relationships, so a new kind of content (footnotes, images) is a new part and a rule.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import posixpath
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lxml import etree
from markdown_it.tree import SyntaxTreeNode

from ..document import SIGNATURE_IMAGE, Document, classes
from ..errors import InputError, Problem, RenderError
from ..models import Assets
from .html import RTL_LANGUAGES, column_weights, footer_of, letterhead_of
from .layout import Layout, layout

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
R_ATTR = f"{{{R}}}"  # the start of an attribute that names a relationship

_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
RT_OFFICE_DOCUMENT = _RT + "officeDocument"
RT_CORE = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
RT_STYLES = _RT + "styles"
RT_NUMBERING = _RT + "numbering"
RT_SETTINGS = _RT + "settings"
RT_FONT_TABLE = _RT + "fontTable"
RT_THEME = _RT + "theme"
RT_HEADER = _RT + "header"
RT_FOOTER = _RT + "footer"
RT_HYPERLINK = _RT + "hyperlink"
RT_IMAGE = _RT + "image"
RT_FONT = _RT + "font"
RT_FOOTNOTES = _RT + "footnotes"

_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."
CT_DOCUMENT = _WML + "document.main+xml"
CT_STYLES = _WML + "styles+xml"
CT_NUMBERING = _WML + "numbering+xml"
CT_SETTINGS = _WML + "settings+xml"
CT_FONT_TABLE = _WML + "fontTable+xml"
CT_HEADER = _WML + "header+xml"
CT_FOOTER = _WML + "footer+xml"
CT_FOOTNOTES = _WML + "footnotes+xml"
CT_THEME = "application/vnd.openxmlformats-officedocument.theme+xml"
CT_CORE = "application/vnd.openxmlformats-package.core-properties+xml"
CT_RELS = "application/vnd.openxmlformats-package.relationships+xml"

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

#: The namespaces of ``word/document.xml``: the body uses w: and r:; the others are
#: declared for what a reference document's section or a later image needs.
DOCUMENT_NSMAP = {
    "w": W, "r": R, "mc": MC,
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture",
    "w14": "http://schemas.microsoft.com/office/word/2010/wordml",
}

#: Settings kept from a reference document: only those that shape the layout, in the
#: schema's order (CT_Settings is a sequence). Everything else (attached template, mail
#: merge, document variables, rsids, document ids, protection, footnote separators the
#: letter does not carry) is dropped.
SAFE_SETTINGS = (
    "mirrorMargins", "alignBordersAndEdges", "bordersDoNotSurroundHeader",
    "bordersDoNotSurroundFooter", "gutterAtTop", "defaultTabStop", "autoHyphenation",
    "consecutiveHyphenLimit", "hyphenationZone", "doNotHyphenateCaps", "defaultTableStyle",
    "evenAndOddHeaders", "bookFoldRevPrinting", "bookFoldPrinting", "bookFoldPrintingSheets",
    "noPunctuationKerning", "characterSpacingControl", "strictFirstAndLastChars",
    "noLineBreaksAfter", "noLineBreaksBefore", "compat", "themeFontLang",
    "clrSchemeMapping", "decimalSymbol", "listSeparator",
)

# Style defaults used only when the reference document lacks the style.
PARAGRAPH_STYLE_DEFAULTS: dict[str, dict[str, Any]] = {
    "Date": {"align": "left", "after": 12},
    "Recipients": {"after": 6},
    "Salutation": {"before": 12, "after": 12},
    "Closing": {"before": 12, "after": 36, "keep_with_next": True},
    "Signature": {"after": 0, "keep_with_next": True},
    "Signer Title": {"after": 6, "keep_with_next": True},
    "On Behalf": {"before": 6, "after": 6, "keep_with_next": True},
    "List Paragraph": {},
    "Quote": {"left": 22, "right": 22, "italic": True},
    "Table Text": {"after": 0},
    "Table Heading": {"after": 0, "bold": True, "keep_with_next": True},
    "Footnote Text": {"after": 0, "size": 9},
    "Source Code": {"font": "Liberation Mono", "size": 9, "after": 0},
    "Horizontal Rule": {"after": 12, "border_bottom": True},
}
CHARACTER_STYLES = ("Hyperlink", "Verbatim Char", "Footnote Reference")

#: A block quote's indent on each side, in twentieths of a point: the PDF's 2em at 11 pt.
QUOTE_INDENT = 440
#: Borders of a table's cells, in eighths of a point (the PDF's 0.5pt), and their
#: padding in twips: the PDF's 2pt 4pt, and on the sides the half of the collapsed 0.5pt
#: border the PDF's cell also gives up (Word and LibreOffice draw borders in the padding),
#: so a cell's text has the same width in both formats and wraps alike.
TABLE_BORDER = 4
TABLE_CELL_MARGIN = (40, 85)

BULLETS = ["•", "◦", "▪"]

_XML_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
# Characters XML 1.0 cannot hold (the load stage refuses them in data already).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def style_name(css_class: str) -> str:
    """'signer-title' -> 'Signer Title': the DOCX style for a block class."""
    return " ".join(w.capitalize() for w in css_class.replace("_", "-").split("-") if w)


def _q(tag: str) -> str:
    prefix, local = tag.split(":")
    return f"{{{W if prefix == 'w' else R}}}{local}"


def xml_text(text: str) -> str:
    """Text for an element or an attribute value: escaped; characters XML cannot hold
    are refused, never dropped."""
    bad = _NOT_XML.search(text)
    if bad:
        raise RenderError(Problem("", None, None, (
            f"the letter contains the control character U+{ord(bad.group()):04X}, which a "
            "Word document cannot hold: remove it from the template or the data")))
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


# ----- the package: parts and relationships ---------------------------------------------


@dataclass(frozen=True)
class Rel:
    id: str
    type: str
    target: str
    external: bool = False

    def xml(self) -> str:
        mode = ' TargetMode="External"' if self.external else ""
        return (f'<Relationship Id="{self.id}" Type="{self.type}" '
                f'Target="{xml_text(self.target)}"{mode}/>')


@dataclass(frozen=True)
class Part:
    """One part of the package, its relationships written beside it."""

    name: str  # "word/footer1.xml"
    content_type: str
    data: bytes
    rels: tuple[Rel, ...] = ()


def rels_xml(rels: Iterable[Rel]) -> bytes:
    return (XML_DECLARATION + f'<Relationships xmlns="{PKG_RELS}">'
            + "".join(r.xml() for r in rels) + "</Relationships>").encode()


def _rels_name(part_name: str) -> str:
    folder, _, leaf = part_name.rpartition("/")
    return f"{folder}/_rels/{leaf}.rels" if folder else f"_rels/{leaf}.rels"


def content_types_xml(parts: Iterable[Part]) -> bytes:
    overrides = "".join(f'<Override PartName="/{p.name}" ContentType="{p.content_type}"/>'
                        for p in parts)
    return (XML_DECLARATION + f'<Types xmlns="{CT_NS}">'
            f'<Default Extension="rels" ContentType="{CT_RELS}"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            + overrides + "</Types>").encode()


@dataclass(frozen=True)
class Entry:
    """A zip entry, compressed once: the parts every letter shares are compressed when
    the base is built, not for every letter."""

    name: str
    size: int
    crc: int
    deflated: bytes

    @classmethod
    def of(cls, name: str, data: bytes) -> Entry:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        return cls(name, len(data), zlib.crc32(data), packer.compress(data) + packer.flush())


def _zip(entries: Iterable[Entry], when: dt.datetime) -> bytes:
    """The package with fixed entry times, attributes and order: same parts, same bytes.
    A plain zip (deflate, no extra fields, no zip64: a letter is far below 4 GB), as
    zipfile writes it, from entries compressed beforehand."""
    when = max(when, dt.datetime(1980, 1, 1, tzinfo=dt.UTC))
    time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    date = ((when.year - 1980) << 9) | (when.month << 5) | when.day
    out: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    for e in entries:
        name = e.name.encode("ascii")
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, time, date, e.crc,
                             len(e.deflated), e.size, len(name), 0) + name
        directory.append(struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 20, 20, 0, 8, time, date, e.crc,
            len(e.deflated), e.size, len(name), 0, 0, 0, 0, 0o644 << 16, offset) + name)
        out += (header, e.deflated)
        offset += len(header) + len(e.deflated)
    central = b"".join(directory)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(directory), len(directory),
                      len(central), offset, 0)
    return b"".join(out) + central + end


def _entries(parts: Iterable[Part]) -> Iterable[Entry]:
    for part in parts:
        yield Entry.of(part.name, part.data)
        if part.rels:
            yield Entry.of(_rels_name(part.name), rels_xml(part.rels))


# ----- the base: what every letter of a (reference document, language) shares ------------


@dataclass
class Base:
    """The parts every letter shares, built once per process (see :func:`base`)."""

    shared: tuple[Part, ...]  # settings, font table, theme, headers, footers, media
    shared_entries: tuple[Entry, ...]  # the same, compressed, with their relationships
    rels: tuple[Rel, ...]  # document.xml -> shared parts, styles, numbering
    document_head: str  # <w:document ...><w:body>
    document_tail: str  # <w:sectPr>...</w:sectPr></w:body></w:document>
    styles_head: str  # styles.xml up to its end tag
    styles_tail: str
    styles_entry: Entry  # styles.xml when the letter needs no extra style
    numbering: tuple[str, str, str]  # before our abstractNums, before our nums, the rest
    numbering_rels: tuple[Rel, ...]  # pictures of a reference's picture bullets
    next_abstract: int
    next_num: int
    paragraph_ids: dict[str, str]  # paragraph style name -> styleId
    character_ids: dict[str, str]
    all_ids: frozenset[str]
    normal_id: str
    w_prefixed: bool  # "w" is the WordprocessingML prefix in styles and numbering
    text_width: int = 9026  # twips between the section's margins (tables fill it)
    table_style: str | None = None  # the id of "Table Grid", when the styles have it
    settings_with_notes: Entry | None = None  # settings.xml naming the footnote separators
    page: Layout | None = None  # the stylesheet's layout, when no reference document


@lru_cache(maxsize=8)
def base(reference: bytes | None, lang: str, css: str | None = None) -> Base:
    """Build the shared parts once for each (reference document, language, stylesheet).
    Without a reference document the styles and the page follow the stylesheet ``css``
    (see :mod:`letterforge.writers.layout`)."""
    import docx

    from ..validate import reference_docx_problems

    if reference:  # the load stage checked it; a writer called alone checks it too
        problems = reference_docx_problems(reference, "reference.docx")
        if problems:
            raise InputError(problems)
    page = None if reference else layout(css or "", lang)
    d = docx.Document(io.BytesIO(reference)) if reference else _default_document(page)
    for name in PARAGRAPH_STYLE_DEFAULTS:
        _ensure_paragraph_style(d, name)
    for name in CHARACTER_STYLES:
        _ensure_character_style(d, name)
    _set_language(d, lang)
    taker = _Taker()

    rels: list[Rel] = [Rel("rId1", RT_STYLES, "styles.xml"),
                       Rel("rId2", RT_NUMBERING, "numbering.xml")]
    shared: list[Part] = []

    def share(part: Part, rel_type: str) -> None:
        rels.append(Rel(f"rId{len(rels) + 1}", rel_type, part.name[len("word/"):]))
        shared.append(part)

    share(Part("word/settings.xml", CT_SETTINGS, _settings_xml(d.settings.element)),
          RT_SETTINGS)
    settings_with_notes = Entry.of("word/settings.xml",
                                   _settings_xml(d.settings.element, footnotes=True))
    for rel_type, name, content_type, allowed in (
        (RT_FONT_TABLE, "word/fontTable.xml", CT_FONT_TABLE, {RT_FONT}),
        (RT_THEME, "word/theme/theme1.xml", CT_THEME, {RT_IMAGE}),
    ):
        try:
            src = d.part.part_related_by(rel_type)
        except KeyError:
            continue
        root = _parse(src)
        share(taker.xml_part(name, content_type, root, src.rels, allowed), rel_type)

    if reference:
        sect = d.element.body.find(_q("w:sectPr"))
        sect = copy.deepcopy(sect) if sect is not None else _default_sect_pr()
        for key in [k for k in sect.attrib if k.startswith(_q("w:rsid"))]:
            del sect.attrib[key]
        for ref in sect.findall(_q("w:printerSettings")):
            sect.remove(ref)
        counters = {"header": 0, "footer": 0}
        for ref in list(sect):
            kind = {_q("w:headerReference"): "header",
                    _q("w:footerReference"): "footer"}.get(ref.tag)
            if kind is None:
                continue
            rel = d.part.rels.get(ref.get(_q("r:id")) or "")
            if rel is None or rel.is_external:
                sect.remove(ref)
                continue
            counters[kind] += 1
            name = f"word/{kind}{counters[kind]}.xml"
            src = rel.target_part
            root = _parse(src)
            part = taker.xml_part(name, CT_HEADER if kind == "header" else CT_FOOTER,
                                  root, src.rels, {RT_IMAGE})
            share(part, RT_HEADER if kind == "header" else RT_FOOTER)
            ref.set(_q("r:id"), rels[-1].id)
    else:
        sect = _default_sect_pr(page)
        footer_id = _style_ids(d.styles.element, "paragraph").get("footer", "Footer")
        share(Part("word/footer1.xml", CT_FOOTER, _page_number_footer(footer_id)),
              RT_FOOTER)
        sect.insert(0, etree.fromstring(
            f'<w:footerReference xmlns:w="{W}" xmlns:r="{R}" w:type="default" '
            f'r:id="{rels[-1].id}"/>'))
    shared.extend(taker.media)

    numbering_el = copy.deepcopy(d.part.numbering_part.element)
    numbering_rels = taker.scrub("word/numbering.xml", numbering_el,
                                 d.part.numbering_part.rels, {RT_IMAGE})
    next_abstract, next_num = _numbering_ids(numbering_el)
    numbering = _split_numbering(numbering_el)

    styles_el = copy.deepcopy(d.styles.element)
    styles_el.append(etree.Comment("LF-EXTRA"))
    styles_text = _serialise(styles_el)
    styles_head, styles_tail = styles_text.split("<!--LF-EXTRA-->")
    paragraph_ids = _style_ids(styles_el, "paragraph")
    character_ids = _style_ids(styles_el, "character")

    document = etree.Element(_q("w:document"), nsmap=DOCUMENT_NSMAP)
    body = etree.SubElement(document, _q("w:body"))
    body.append(etree.Comment("LF-BODY"))
    body.append(sect)
    head, tail = _serialise(document).split("<!--LF-BODY-->")
    taken = sum(len(p.data) for p in shared) + len(styles_text) + len(tail)
    _check_size(taken)
    return Base(
        shared=tuple(shared), shared_entries=tuple(_entries(shared)), rels=tuple(rels),
        document_head=head, document_tail=tail,
        styles_head=styles_head, styles_tail=styles_tail,
        styles_entry=Entry.of("word/styles.xml", (styles_head + styles_tail).encode()),
        numbering=numbering,
        numbering_rels=numbering_rels, next_abstract=next_abstract, next_num=next_num,
        paragraph_ids=paragraph_ids, character_ids=character_ids,
        all_ids=frozenset(s.get(_q("w:styleId")) or "" for s in styles_el.iter(_q("w:style"))),
        normal_id=paragraph_ids.get("normal", "Normal"),
        w_prefixed=styles_el.prefix == "w" and numbering_el.prefix == "w",
        text_width=_text_width(sect),
        table_style=_style_ids(styles_el, "table").get("table grid"),
        settings_with_notes=settings_with_notes,
        page=page,
    )


def _text_width(sect: Any) -> int:
    """The width between the margins of a section, in twips (A4 with 25 mm margins when
    the section does not say)."""
    def twips(el: Any, attr: str, default: int) -> int:
        value = el.get(_q(attr)) if el is not None else None
        try:
            return int(float(value)) if value is not None else default
        except ValueError:
            return default
    size, margins = sect.find(_q("w:pgSz")), sect.find(_q("w:pgMar"))
    width = twips(size, "w:w", 11906) - twips(margins, "w:left", 1417) \
        - twips(margins, "w:right", 1417) - twips(margins, "w:gutter", 0)
    return width if width > 1440 else 9026


def _check_size(taken: int) -> None:
    from ..validate import REFERENCE_MAX_BYTES

    if taken > REFERENCE_MAX_BYTES:
        raise InputError(Problem("reference.docx", None, None, (
            f"its styles, headers, footers and their images take {taken // 2**20} MB; a "
            f"reference document may carry {REFERENCE_MAX_BYTES // 2**20} MB at most: "
            "make its images smaller")))


def _serialise(root: Any) -> str:
    return XML_DECLARATION + etree.tostring(root, encoding="unicode")


class _Taker:
    """Copies parts out of the reference document: only the relationships a part is
    allowed (its images, a font table's fonts), always internal; every reference to a
    relationship not taken is removed from the part's XML."""

    def __init__(self) -> None:
        self.media: list[Part] = []
        self._names: dict[str, str] = {}  # source part name -> our part name

    def xml_part(self, name: str, content_type: str, root: Any, src_rels: Any,
                 allowed: set[str]) -> Part:
        rels = self.scrub(name, root, src_rels, allowed)
        return Part(name, content_type, _serialise(root).encode(), rels)

    def scrub(self, name: str, root: Any, src_rels: Any, allowed: set[str]
              ) -> tuple[Rel, ...]:
        kept: list[Rel] = []
        dropped: set[str] = set()
        for r_id, rel in sorted(src_rels.items()):
            if rel.is_external or rel.reltype not in allowed:
                dropped.add(r_id)
                continue
            target = self._take(rel.target_part)
            kept.append(Rel(r_id, rel.reltype,
                            posixpath.relpath(target, posixpath.dirname(name))))
        _drop_references(root, dropped | self._unknown_ids(root, src_rels))
        _drop_fetching_fields(root)
        return tuple(kept)

    @staticmethod
    def _unknown_ids(root: Any, src_rels: Any) -> set[str]:
        return {v for el in root.iter() if isinstance(el.tag, str)
                for k, v in el.attrib.items() if k.startswith(R_ATTR)
                and v not in src_rels}

    def _take(self, src: Any) -> str:
        """The name of our copy of a media part, copied once."""
        key = str(src.partname)
        if key not in self._names:
            folder = "fonts" if "font" in src.content_type.lower() else "media"
            ext = src.partname.ext
            leaf = f"{'font' if folder == 'fonts' else 'image'}{len(self.media) + 1}.{ext}"
            self.media.append(Part(f"word/{folder}/{leaf}", src.content_type, src.blob))
            _check_size(sum(len(p.data) for p in self.media))
            self._names[key] = f"word/{folder}/{leaf}"
        return self._names[key]


_DRAWINGS = {_q("w:drawing"), _q("w:pict"), _q("w:object")}


def _parse(part: Any) -> Any:
    try:
        return etree.fromstring(part.blob, _XML_SAFE)
    except etree.XMLSyntaxError as exc:
        raise InputError(Problem("reference.docx", None, None, (
            f"its part {part.partname} is not well-formed XML ({exc}); save the document "
            "again from Word or LibreOffice"))) from None


# Fields that make Word fetch or link something outside the letter when it updates them.
_FETCHING_FIELD = re.compile(
    r"^\s*(INCLUDEPICTURE|INCLUDETEXT|LINK|DDE|DDEAUTO|IMPORT|HYPERLINK)\b", re.I)


def _drop_fetching_fields(root: Any) -> None:
    """A header's field that fetches a picture or a text, or links out, loses its
    instruction (a complex field keeps its last result) or its wrapper (a simple field
    keeps its text): the reference's links never reach a letter, even as fields."""
    for el in list(root.iter(_q("w:instrText"))):
        if _FETCHING_FIELD.match(el.text or ""):
            el.text = ""
    for el in list(root.iter(_q("w:fldSimple"))):
        if _FETCHING_FIELD.match(el.get(_q("w:instr")) or ""):
            parent = el.getparent()
            index = parent.index(el)
            for child in reversed(list(el)):
                parent.insert(index, child)
            parent.remove(el)


def _drop_references(root: Any, dropped: set[str]) -> None:
    """Remove what points at a relationship not taken: a link keeps its text, a linked
    picture loses its link, any other object (drawing, OLE object) goes."""
    if not dropped:
        return
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        for key in [k for k in el.attrib if k.startswith(R_ATTR)]:
            if el.attrib.get(key) not in dropped:
                continue
            if el.tag == _q("w:hyperlink"):
                parent = el.getparent()
                index = parent.index(el)
                for child in reversed(list(el)):
                    parent.insert(index, child)
                parent.remove(el)
                break
            if etree.QName(key).localname == "link":  # a:blip r:link: a linked picture
                del el.attrib[key]
                continue
            victim = el
            for anc in el.iterancestors():
                if anc.tag in _DRAWINGS:
                    victim = anc
            if victim is root:
                continue
            parent = victim.getparent()
            if parent is not None:
                parent.remove(victim)
            break


#: Settings that come after ``w:footnotePr`` in CT_Settings' sequence.
_AFTER_FOOTNOTE_PR = {"compat", "themeFontLang", "clrSchemeMapping", "decimalSymbol",
                      "listSeparator"}


def _settings_xml(settings: Any, footnotes: bool = False) -> bytes:
    """The allowed settings; with ``footnotes``, ``w:footnotePr`` naming the separator
    footnotes (-1, 0) of the letter's footnotes.xml, in its place in the sequence."""
    root = etree.Element(_q("w:settings"), nsmap={"w": W})
    for child in settings:
        if isinstance(child.tag, str) and etree.QName(child).namespace == W \
                and etree.QName(child).localname in SAFE_SETTINGS:
            root.append(copy.deepcopy(child))
    if footnotes:
        note_pr = etree.fromstring(f'<w:footnotePr xmlns:w="{W}"><w:footnote w:id="-1"/>'
                                   '<w:footnote w:id="0"/></w:footnotePr>')
        later = [c for c in root if etree.QName(c).localname in _AFTER_FOOTNOTE_PR]
        if later:
            later[0].addprevious(note_pr)
        else:
            root.append(note_pr)
    return _serialise(root).encode()


def _split_numbering(numbering: Any) -> tuple[str, str, str]:
    """numbering.xml as three strings: our abstractNums go after the last abstractNum
    (or before the first num), our nums after the last num (schema order: abstractNum*,
    num*, numIdMacAtCleanup)."""
    abstracts = numbering.findall(_q("w:abstractNum"))
    nums = numbering.findall(_q("w:num"))
    cleanup = numbering.find(_q("w:numIdMacAtCleanup"))
    a_mark, n_mark = etree.Comment("LF-ABSTRACT"), etree.Comment("LF-NUM")
    if abstracts:
        abstracts[-1].addnext(a_mark)
    elif nums:
        nums[0].addprevious(a_mark)
    elif cleanup is not None:
        cleanup.addprevious(a_mark)
    else:
        numbering.append(a_mark)
    if nums:
        nums[-1].addnext(n_mark)
    elif cleanup is not None:
        cleanup.addprevious(n_mark)
    else:
        numbering.append(n_mark)
    text = _serialise(numbering)
    head, rest = text.split("<!--LF-ABSTRACT-->")
    middle, tail = rest.split("<!--LF-NUM-->")
    return head, middle, tail


def _numbering_ids(numbering: Any) -> tuple[int, int]:
    abstract_ids = [int(e.get(_q("w:abstractNumId")))
                    for e in numbering.findall(_q("w:abstractNum"))]
    num_ids = [int(e.get(_q("w:numId"))) for e in numbering.findall(_q("w:num"))]
    return max(abstract_ids, default=-1) + 1, max(num_ids, default=0) + 1


def _style_ids(styles: Any, kind: str) -> dict[str, str]:
    """Lower-cased style name -> styleId, for styles of one type (a reference document
    may localise ids; Word stores built-in names in lower case)."""
    out: dict[str, str] = {}
    for s in styles.iter(_q("w:style")):
        if (s.get(_q("w:type")) or "paragraph") != kind:
            continue
        name = s.find(_q("w:name"))
        if name is not None and name.get(_q("w:val")):
            out.setdefault(name.get(_q("w:val")).casefold(), s.get(_q("w:styleId")) or "")
    return out


# ----- the base without a reference document: python-docx's template, once ------------


def _default_document(page: Layout | None = None) -> Any:
    import docx
    from docx.shared import Pt

    d = docx.Document()
    normal = d.styles["Normal"]
    normal.font.name = "Liberation Serif"
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(8)
    _plain_headings(d)
    quote = d.styles["Quote"].paragraph_format  # the template's Quote has no indent
    quote.left_indent = quote.right_indent = Pt(QUOTE_INDENT / 20)
    if page is not None:
        _ensure_paragraph_style(d, "Footnote Text")  # stored as Word names it, then styled
        _apply_layout(d, page)
    return d


def _twips(points: float) -> int:
    return round(points * 20)


def _default_sect_pr(page: Layout | None = None) -> Any:
    """The stylesheet's page size and margins (A4, 25 mm margins without one). The
    footer's text is centred in the bottom margin, as the PDF's ``@bottom-center``."""
    if page is None:
        return etree.fromstring(
            f'<w:sectPr xmlns:w="{W}"><w:pgSz w:w="11906" w:h="16838"/>'
            '<w:pgMar w:top="1417" w:right="1417" w:bottom="1417" w:left="1417" '
            'w:header="720" w:footer="720" w:gutter="0"/><w:cols w:space="720"/>'
            '<w:docGrid w:linePitch="360"/></w:sectPr>')
    footer_line = page.footer.size * 1.149  # the footer's own line: "normal" height
    footer = max(0.0, (page.bottom - footer_line) / 2)
    header = min(36.0, page.top / 2)
    return etree.fromstring(
        f'<w:sectPr xmlns:w="{W}"><w:pgSz w:w="{_twips(page.width)}" '
        f'w:h="{_twips(page.height)}"/>'
        f'<w:pgMar w:top="{_twips(page.top)}" w:right="{_twips(page.right)}" '
        f'w:bottom="{_twips(page.bottom)}" w:left="{_twips(page.left)}" '
        f'w:header="{_twips(header)}" w:footer="{_twips(footer)}" w:gutter="0"/>'
        '<w:cols w:space="720"/></w:sectPr>')


def _apply_layout(d: Any, page: Layout) -> None:
    """Every paragraph style as the stylesheet lays out its element: font, size, weight,
    colour, line height (at least, in points: CSS multiplies the font size, Word's
    "multiple" the font's own line height), spacing, indent, keep with next, widow
    control. The footer's style takes the ``@bottom-center`` box's font."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    aligns = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
              "right": WD_ALIGN_PARAGRAPH.RIGHT, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}
    # the document's defaults: no spacing, single lines (python-docx's template: 10 pt
    # after, 1.15 lines), so only what a style says counts
    defaults = d.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        for spacing in defaults.iter(qn("w:spacing")):
            spacing.getparent().remove(spacing)
        # kerning, as WeasyPrint (HarfBuzz) kerns: the same words fit on a line
        rpr_default = defaults.find(qn("w:rPrDefault") + "/" + qn("w:rPr"))
        if rpr_default is not None and rpr_default.find(qn("w:kern")) is None:
            kern = rpr_default.makeelement(qn("w:kern"), {qn("w:val"): "1"})
            size = rpr_default.find(qn("w:sz"))
            if size is not None:
                size.addprevious(kern)
            else:
                rpr_default.append(kern)
    for name, box in (*page.styles, ("Footer", page.footer)):
        try:
            style = d.styles[name]
        except KeyError:
            style = d.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            style.base_style = d.styles["Normal"]
            style.quick_style = True
        ppr = style.element.get_or_add_pPr()
        for tag in ("w:contextualSpacing", "w:ind", "w:tabs"):
            for el in ppr.findall(qn(tag)):
                ppr.remove(el)
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is not None:
            for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                fonts.attrib.pop(qn(attr), None)
        style.font.name = box.font
        style.font.size = Pt(box.size)
        style.font.bold = box.bold
        style.font.italic = box.italic
        style.font.color.rgb = RGBColor.from_string(box.color or "000000")
        pf = style.paragraph_format
        pf.space_before = Pt(box.before)
        pf.space_after = Pt(box.after)
        if box.line:
            pf.line_spacing_rule = WD_LINE_SPACING.AT_LEAST
            pf.line_spacing = Pt(box.line)
        else:
            pf.line_spacing = 1.0
        pf.left_indent = Pt(box.left) if box.left else None
        pf.right_indent = Pt(box.right) if box.right else None
        pf.alignment = aligns.get(box.align, WD_ALIGN_PARAGRAPH.LEFT)
        pf.keep_with_next = box.keep_with_next
        pf.widow_control = box.widow_control
        if name == "Normal":  # no extra space between CJK and Latin text, as in the PDF
            later = [el for el in ppr if etree.QName(el).localname in _AFTER_AUTOSPACE]
            for tag in ("w:autoSpaceDE", "w:autoSpaceDN"):
                if ppr.find(qn(tag)) is None:
                    el = ppr.makeelement(qn(tag), {qn("w:val"): "0"})
                    if later:
                        later[0].addprevious(el)
                    else:
                        ppr.append(el)


# What follows w:autoSpaceDN in a w:pPr (the schema's order).
_AFTER_AUTOSPACE = {"bidi", "adjustRightInd", "snapToGrid", "spacing", "ind",
                    "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
                    "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl",
                    "divId", "cnfStyle", "rPr", "sectPr", "pPrChange"}


def _field(instruction: str) -> str:
    return ('<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r><w:instrText xml:space="preserve"> {instruction} </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            '<w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>')


def _page_number_footer(style_id: str) -> bytes:
    """A centred footer "page / pages", as the PDF's."""
    return (XML_DECLARATION + f'<w:ftr xmlns:w="{W}" xmlns:r="{R}"><w:p><w:pPr>'
            f'<w:pStyle w:val="{xml_text(style_id)}"/><w:jc w:val="center"/></w:pPr>'
            + _field("PAGE") + '<w:r><w:t xml:space="preserve"> / </w:t></w:r>'
            + _field("NUMPAGES") + "</w:p></w:ftr>").encode()


def _plain_headings(d: Any) -> None:
    """Headings in the letter's font, black, as in the PDF (the default template's are
    blue Calibri Light). Only when no reference document gives its own."""
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    for name, size in (("Title", 16), ("Heading 1", 14), ("Heading 2", 12), ("Heading 3", 11)):
        style = d.styles[name]
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is not None:
            for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                fonts.attrib.pop(qn(attr), None)
        style.font.name = "Liberation Serif"
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.paragraph_format.space_before = Pt(12)
        style.paragraph_format.space_after = Pt(6)


# ----- styles (python-docx, once per base) -----------------------------------------------


def _ensure_paragraph_style(d: Any, name: str) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls
    from docx.shared import Pt

    styles = d.styles
    if _internal_name(name) in _style_ids(styles.element, "paragraph"):
        return  # a built-in name ("footnote text") may be stored in lower case
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    _builtin_name(style, name)
    style.base_style = styles["Normal"]
    style.quick_style = True
    opts = PARAGRAPH_STYLE_DEFAULTS.get(name, {})
    pf = style.paragraph_format
    if opts.get("align") == "left":
        pf.alignment = WD_ALIGN_PARAGRAPH.LEFT
    if "before" in opts:
        pf.space_before = Pt(opts["before"])
    if "after" in opts:
        pf.space_after = Pt(opts["after"])
    if opts.get("keep_with_next"):
        pf.keep_with_next = True
    if "left" in opts:
        pf.left_indent = Pt(opts["left"])
    if "right" in opts:
        pf.right_indent = Pt(opts["right"])
    if opts.get("italic"):
        style.font.italic = True
    if opts.get("bold"):
        style.font.bold = True
    if "font" in opts:
        style.font.name = opts["font"]
    if "size" in opts:
        style.font.size = Pt(opts["size"])
    if opts.get("border_bottom"):
        ppr = style.element.get_or_add_pPr()
        ppr.append(parse_xml(
            f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="6" w:space="1" '
            'w:color="auto"/></w:pBdr>'))


def _ensure_character_style(d: Any, name: str) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import RGBColor

    if _internal_name(name) in _style_ids(d.styles.element, "character"):
        return
    style = d.styles.add_style(name, WD_STYLE_TYPE.CHARACTER)
    _builtin_name(style, name)
    if name == "Footnote Reference":
        style.font.superscript = True
    elif name == "Hyperlink":
        style.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
        style.font.underline = True
    elif name == "Verbatim Char":
        style.font.name = "Liberation Mono"


#: Word's built-in styles letterforge may add: their stored name and usual id.
BUILTIN_STYLES = {"Footnote Text": ("footnote text", "FootnoteText"),
                  "Footnote Reference": ("footnote reference", "FootnoteReference")}


def _builtin_name(style: Any, name: str) -> None:
    """A built-in style is stored under Word's own (lower-case) name and usual id, so
    that Word and LibreOffice take it for theirs (LibreOffice: "Footnote")."""
    if name in BUILTIN_STYLES:
        stored, sid = BUILTIN_STYLES[name]
        style.element.name_val = stored
        style.element.styleId = sid
        style.element.attrib.pop(_q("w:customStyle"), None)


def _set_language(d: Any, lang: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    styles_el = d.styles.element
    defaults = styles_el.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        styles_el.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = OxmlElement("w:rPrDefault")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        rpr_default.append(rpr)
    lang_el = rpr.find(qn("w:lang"))
    if lang_el is None:
        lang_el = OxmlElement("w:lang")
        rpr.append(lang_el)
    lang_el.set(qn("w:val"), lang)


# ----- one letter ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fmt:
    italic: bool = False
    bold: bool = False
    code: bool = False
    link: bool = False
    strike: bool = False


@dataclass
class Ctx:
    base: Base
    out: list[str] = field(default_factory=list)  # document.xml's body, as text
    abstracts: list[str] = field(default_factory=list)  # our w:abstractNum elements
    nums: list[str] = field(default_factory=list)  # our w:num elements
    links: dict[str, str] = field(default_factory=dict)  # href -> rId
    extra_styles: dict[str, str] = field(default_factory=dict)  # name -> id, not in base
    list_depth: int = 0
    list_stack: list[tuple[int, str]] = field(default_factory=list)  # (numId, item style)
    block_style: list[str] = field(default_factory=list)  # style inherited from a quote
    first_in_item: bool = False
    spacing_at: int = -1  # where the last paragraph's w:spacing goes in ``out``
    last_style: str = ""  # the last paragraph's style name
    space_before: str = ""  # the last paragraph's w:before attribute, if any
    fmt: Fmt = field(default_factory=Fmt)
    quote_depth: int = 0  # block quotes around this block
    cell: tuple[str, str] | None = None  # (paragraph style, alignment) in a table cell
    after_table: bool = False  # the next paragraph follows a table
    notes: list[str] = field(default_factory=list)  # our w:footnote elements
    note_links: dict[str, str] = field(default_factory=dict)  # footnotes.xml's links
    lang: str = "en"
    rtl: bool = False  # a right-to-left letter (Arabic, Hebrew, Persian, Urdu)
    run_fonts: str = ""  # every run's rFonts (East Asian letters)
    run_lang: str = ""  # every run's rtl and lang
    images: Mapping[str, Any] = field(default_factory=dict)  # name -> Image (load stage)
    pictures: Pictures | None = None  # the document part's images
    media: list[Part] = field(default_factory=list)  # the header's images

    @property
    def run_props(self) -> str:
        return self.run_fonts + self.run_lang

    def set_language(self, lang: str) -> None:
        """Every run and paragraph mark carries the letter's language; right-to-left
        letters get bidi paragraphs and rtl runs, East Asian ones their font."""
        self.lang = lang
        base = lang.replace("_", "-").split("-")[0].lower()
        self.rtl = base in RTL_LANGUAGES
        fonts = ""
        attr = "w:val"
        if base in EAST_ASIAN_FONTS:
            fonts = f'<w:rFonts w:eastAsia="{EAST_ASIAN_FONTS[base]}"/>'
            attr = "w:eastAsia"
        elif self.rtl:
            if base in COMPLEX_SCRIPT_FONTS:
                fonts = f'<w:rFonts w:cs="{COMPLEX_SCRIPT_FONTS[base]}"/>'
            attr = "w:bidi"
        tag = xml_text(lang)
        lang_el = (f'<w:lang w:val="{tag}"/>' if attr == "w:val"
                   else f'<w:lang w:val="{tag}" {attr}="{tag}"/>')
        self.run_fonts = fonts
        self.run_lang = ("<w:rtl/>" if self.rtl else "") + lang_el

    def style_id(self, name: str) -> str:
        """The id of a paragraph style; a style the base lacks is added to this letter's
        styles.xml with plain defaults (based on Normal)."""
        found = self.base.paragraph_ids.get(_internal_name(name))
        if found is not None:
            return found
        if name not in self.extra_styles:
            stem = re.sub(r"[^A-Za-z0-9]", "", name) or "Style"
            sid, n = stem, 1
            taken = self.base.all_ids | set(self.extra_styles.values())
            while sid in taken:
                n += 1
                sid = f"{stem}{n}"
            self.extra_styles[name] = sid
        return self.extra_styles[name]

    def link_id(self, href: str) -> str:
        if href not in self.links:
            self.links[href] = f"rId{len(self.base.rels) + len(self.links) + 1}"
        return self.links[href]


Rule = Callable[[SyntaxTreeNode, Ctx], None]


def _internal_name(name: str) -> str:
    return name.casefold()


# The font Word and LibreOffice use for East Asian characters (Debian's fonts-noto-cjk).
EAST_ASIAN_FONTS = {"zh": "Noto Serif CJK SC", "ja": "Noto Serif CJK JP",
                    "ko": "Noto Serif CJK KR"}
# The font for complex scripts (Debian's fonts-noto-core).
COMPLEX_SCRIPT_FONTS = {"ar": "Noto Naskh Arabic", "fa": "Noto Naskh Arabic",
                        "ur": "Noto Naskh Arabic", "he": "Noto Serif Hebrew"}


# ----- numbering --------------------------------------------------------------------


def _new_list(ctx: Ctx, ordered: bool, start: int, level: int) -> int:
    """A fresh abstractNum + num for one Markdown list, used at ``level`` only; returns
    the numId. Numbers are decimal from ``start`` at every level, as in the PDF and the
    e-mail."""
    abstract_id = ctx.base.next_abstract + len(ctx.abstracts)
    num_id = ctx.base.next_num + len(ctx.nums)
    ns = "" if ctx.base.w_prefixed else f' xmlns:w="{W}"'
    levels = []
    page = ctx.base.page
    for ilvl in range(9):
        indent, hanging, jc = 720 + 360 * ilvl, 360, "left"
        if page is not None:  # the stylesheet's list padding; numbers end at the text
            indent = _twips(page.list_indent * (ilvl + 1))
            hanging, jc = (360, "left") if ctx.rtl else (55, "right")
        if ordered:
            fmt, text, first = "decimal", f"%{ilvl + 1}.", start
        else:
            fmt, text, first = "bullet", BULLETS[ilvl % 3], 1
        side = "right" if ctx.rtl else "left"  # right to left: the indent is mirrored
        bidi = "<w:bidi/>" if ctx.rtl else ""
        jc = side if ctx.rtl else jc
        levels.append(
            f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="{first}"/><w:numFmt w:val="{fmt}"/>'
            f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="{jc}"/>'
            f'<w:pPr>{bidi}<w:ind w:{side}="{indent}" w:hanging="{hanging}"/></w:pPr></w:lvl>'
        )
    ctx.abstracts.append(
        f'<w:abstractNum{ns} w:abstractNumId="{abstract_id}">'
        f'<w:nsid w:val="{0x4C460000 + abstract_id:08X}"/>'
        '<w:multiLevelType w:val="hybridMultilevel"/>' + "".join(levels) + "</w:abstractNum>"
    )
    ctx.nums.append(
        f'<w:num{ns} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/>'
        f'<w:lvlOverride w:ilvl="{level}"><w:startOverride w:val="{start}"/></w:lvlOverride>'
        "</w:num>"
    )
    return num_id


# ----- blocks -----------------------------------------------------------------------


def _children(node: SyntaxTreeNode, ctx: Ctx) -> None:
    for child in node.children:
        RULES[child.type](child, ctx)


def _open_paragraph(ctx: Ctx, style: str, numbered: int | None = None,
                    indent: int | None = None, both: int | None = None,
                    align: str | None = None) -> None:
    """<w:p><w:pPr> in schema order: pStyle, numPr, bidi, ind, jc, rPr (the mark's).
    ``indent``: the start side only (lists); ``both``: both sides (quotes)."""
    out = ctx.out
    out.append(f'<w:p><w:pPr><w:pStyle w:val="{xml_text(ctx.style_id(style))}"/>')
    if numbered is not None:
        out.append(f'<w:numPr><w:ilvl w:val="{ctx.list_depth - 1}"/>'
                   f'<w:numId w:val="{numbered}"/></w:numPr>')
    if ctx.rtl:
        out.append("<w:bidi/>")
    ctx.spacing_at, ctx.last_style = len(out), style
    ctx.space_before = ""
    if ctx.after_table:  # the PDF's table has an 8 pt margin below it
        ctx.space_before = ' w:before="160"'
        ctx.after_table = False
    # w:spacing: space before after a table; space after if the paragraph ends a list
    out.append(f"<w:spacing{ctx.space_before}/>" if ctx.space_before else "")
    if indent is not None:
        out.append(f'<w:ind w:{"right" if ctx.rtl else "left"}="{indent}"/>')
    elif both is not None:
        out.append(f'<w:ind w:left="{both}" w:right="{both}"/>')
    if align is not None:
        out.append(f'<w:jc w:val="{align}"/>')
    if ctx.run_props:
        out.append(f"<w:rPr>{ctx.run_props}</w:rPr>")
    out.append("</w:pPr>")


def _block_style(node: SyntaxTreeNode, ctx: Ctx, default: str) -> str:
    cls = classes(node)
    if cls:
        return style_name(cls[0])
    if ctx.block_style:
        return ctx.block_style[-1]
    return default


def _paragraph(node: SyntaxTreeNode, ctx: Ctx) -> None:
    if ctx.list_stack:
        num_id, item_style = ctx.list_stack[-1]
        style = _block_style(node, ctx, item_style)
        if ctx.first_in_item:
            _open_paragraph(ctx, style, numbered=num_id)
            ctx.first_in_item = False
        else:
            page = ctx.base.page
            indent = (720 + 360 * (ctx.list_depth - 1) if page is None
                      else _twips(page.list_indent * ctx.list_depth))
            _open_paragraph(ctx, style, indent=indent)
    elif ctx.cell is not None:
        _open_paragraph(ctx, _block_style(node, ctx, ctx.cell[0]), align=ctx.cell[1])
    elif ctx.quote_depth > 1:  # "Quote" indents one level; a quote in it, more
        _open_paragraph(ctx, _block_style(node, ctx, "Normal"),
                        both=_quote_indent(ctx) * ctx.quote_depth)
    else:
        _open_paragraph(ctx, _block_style(node, ctx, "Normal"))
    _children(node, ctx)
    ctx.out.append("</w:p>")


def _heading(node: SyntaxTreeNode, ctx: Ctx) -> None:
    level = int(node.tag[1])
    _open_paragraph(ctx, _block_style(node, ctx, f"Heading {level}"))
    _children(node, ctx)
    ctx.out.append("</w:p>")


def _list(node: SyntaxTreeNode, ctx: Ctx) -> None:
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1) or 1) if ordered else 1
    num_id = _new_list(ctx, ordered, start, ctx.list_depth)
    cls = classes(node)
    item_style = style_name(cls[0]) if cls else "List Paragraph"
    ctx.list_stack.append((num_id, item_style))
    ctx.list_depth += 1
    try:
        _children(node, ctx)
    finally:
        ctx.list_depth -= 1
        ctx.list_stack.pop()
    _end_list(ctx)


def _end_list(ctx: Ctx) -> None:
    """The list's bottom margin collapses with its last item's, as in CSS: the last
    paragraph gets the larger as its space after (only when the stylesheet lays out)."""
    page = ctx.base.page
    if page is None or ctx.spacing_at < 0:
        return
    box = page.style(ctx.last_style)
    own = box.after if box is not None else 0.0
    if page.list_after > own:
        ctx.out[ctx.spacing_at] = (f'<w:spacing{ctx.space_before} '
                                   f'w:after="{_twips(page.list_after)}"/>')


def _quote_indent(ctx: Ctx) -> int:
    """One level of block quote, in twips: the stylesheet's, or 2em of 11 pt."""
    page = ctx.base.page
    quote = page.style("Quote") if page is not None else None
    return _twips(quote.left) if quote is not None and quote.left else QUOTE_INDENT


def _list_item(node: SyntaxTreeNode, ctx: Ctx) -> None:
    ctx.first_in_item = True
    if not node.children:  # an empty item still shows its number
        num_id, item_style = ctx.list_stack[-1]
        _open_paragraph(ctx, item_style, numbered=num_id)
        ctx.out.append("</w:p>")
    _children(node, ctx)
    ctx.first_in_item = False


def _blockquote(node: SyntaxTreeNode, ctx: Ctx) -> None:
    ctx.block_style.append(_block_style(node, ctx, "Quote") if classes(node) else "Quote")
    ctx.quote_depth += 1
    try:
        _children(node, ctx)
    finally:
        ctx.block_style.pop()
        ctx.quote_depth -= 1


def _code_block(node: SyntaxTreeNode, ctx: Ctx) -> None:
    _open_paragraph(ctx, "Source Code")
    lines = node.content.rstrip("\n").split("\n")
    for i, line in enumerate(lines):
        ctx.out.append("<w:r>" + _text_xml(line) + ("<w:br/>" if i < len(lines) - 1 else "")
                       + "</w:r>")
    ctx.out.append("</w:p>")


def _hr(node: SyntaxTreeNode, ctx: Ctx) -> None:
    _open_paragraph(ctx, "Horizontal Rule")
    ctx.out.append("</w:p>")


# ----- inline -----------------------------------------------------------------------


def _text_xml(text: str) -> str:
    """<w:t> elements for a text, tabs as <w:tab/>."""
    return "<w:tab/>".join(f'<w:t xml:space="preserve">{xml_text(piece)}</w:t>' if piece else ""
                           for piece in text.split("\t"))


def _run(text: str, ctx: Ctx) -> None:
    """<w:r> with its rPr in schema order: rStyle, rFonts, b, bCs, i, iCs, rtl, lang."""
    fmt = ctx.fmt
    rpr = ""
    style = "Hyperlink" if fmt.link else ("Verbatim Char" if fmt.code else None)
    if style:
        sid = ctx.base.character_ids.get(_internal_name(style), style.replace(" ", ""))
        rpr += f'<w:rStyle w:val="{xml_text(sid)}"/>'
    rpr += ctx.run_fonts
    if fmt.bold:
        rpr += "<w:b/><w:bCs/>" if ctx.rtl else "<w:b/>"
    if fmt.italic:
        rpr += "<w:i/><w:iCs/>" if ctx.rtl else "<w:i/>"
    if fmt.strike:
        rpr += "<w:strike/>"
    rpr += ctx.run_lang
    if rpr:
        rpr = f"<w:rPr>{rpr}</w:rPr>"
    body = "<w:br/>" if text == "\n" else _text_xml(text)
    ctx.out.append(f"<w:r>{rpr}{body}</w:r>")


def _formatted(node: SyntaxTreeNode, ctx: Ctx, **change: bool) -> None:
    outer = ctx.fmt
    ctx.fmt = Fmt(**{**outer.__dict__, **change})
    try:
        _children(node, ctx)
    finally:
        ctx.fmt = outer


def _text(node: SyntaxTreeNode, ctx: Ctx) -> None:
    if node.content:
        _run(node.content, ctx)


def _code_inline(node: SyntaxTreeNode, ctx: Ctx) -> None:
    outer = ctx.fmt
    ctx.fmt = Fmt(outer.italic, outer.bold, True, outer.link, outer.strike)
    _run(node.content, ctx)
    ctx.fmt = outer


def _link(node: SyntaxTreeNode, ctx: Ctx) -> None:
    href = str(node.attrs.get("href", ""))
    if href.startswith("#"):
        ctx.out.append(f'<w:hyperlink w:anchor="{xml_text(href[1:])}" w:history="1">')
    else:
        ctx.out.append(f'<w:hyperlink r:id="{ctx.link_id(href)}" w:history="1">')
    _formatted(node, ctx, link=True)
    ctx.out.append("</w:hyperlink>")


# ----- tables -----------------------------------------------------------------------


def _align(cell: SyntaxTreeNode) -> str | None:
    style = str(cell.attrs.get("style", ""))
    return style.rsplit(":", 1)[-1].strip() if "text-align" in style else None


def _column_widths(node: SyntaxTreeNode, total: int) -> list[int]:
    """Widths in twips that fill ``total``, shared as the PDF's columns are."""
    want = column_weights(node)
    widths = [total * w // sum(want) for w in want]
    widths[-1] += total - sum(widths)
    return widths


def _table(node: SyntaxTreeNode, ctx: Ctx) -> None:
    total = ctx.base.text_width
    if ctx.quote_depth:
        total -= 2 * QUOTE_INDENT * ctx.quote_depth
    widths = _column_widths(node, total)
    border = "".join(f'<w:{side} w:val="single" w:sz="{TABLE_BORDER}" w:space="0" '
                     'w:color="000000"/>'
                     for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    v, h = TABLE_CELL_MARGIN
    style = f'<w:tblStyle w:val="{xml_text(ctx.base.table_style)}"/>' \
        if ctx.base.table_style else ""
    ind = f'<w:tblInd w:w="{QUOTE_INDENT * ctx.quote_depth}" w:type="dxa"/>' \
        if ctx.quote_depth else ""
    ctx.out.append(
        f'<w:tbl><w:tblPr>{style}{"<w:bidiVisual/>" if ctx.rtl else ""}'
        f'<w:tblW w:w="{total}" w:type="dxa"/>{ind}<w:tblBorders>{border}</w:tblBorders>'
        '<w:tblLayout w:type="fixed"/><w:tblCellMar>'
        f'<w:top w:w="{v}" w:type="dxa"/><w:left w:w="{h}" w:type="dxa"/>'
        f'<w:bottom w:w="{v}" w:type="dxa"/><w:right w:w="{h}" w:type="dxa"/>'
        '</w:tblCellMar><w:tblLook w:val="0420" w:firstRow="1" w:lastRow="0" '
        'w:firstColumn="0" w:lastColumn="0" w:noHBand="1" w:noVBand="1"/></w:tblPr>'
        "<w:tblGrid>" + "".join(f'<w:gridCol w:w="{w}"/>' for w in widths) + "</w:tblGrid>")
    for part in node.children:
        for row in part.children:
            head = part.type == "thead"
            ctx.out.append("<w:tr>" + ("<w:trPr><w:tblHeader/></w:trPr>" if head else ""))
            for i, cell in enumerate(row.children):
                ctx.out.append(f'<w:tc><w:tcPr><w:tcW w:w="{widths[i]}" w:type="dxa"/>'
                               "</w:tcPr>")
                outer = ctx.cell
                ctx.cell = ("Table Heading" if head else "Table Text", _align(cell) or "left")
                try:
                    _open_paragraph(ctx, ctx.cell[0], align=_align(cell))
                    _children(cell, ctx)
                    ctx.out.append("</w:p>")
                finally:
                    ctx.cell = outer
                ctx.out.append("</w:tc>")
            ctx.out.append("</w:tr>")
    ctx.out.append("</w:tbl>")
    ctx.after_table = True


# ----- footnotes --------------------------------------------------------------------


def _note_bookmark(number: int) -> str:
    return f"_RefLFNote{number}"


def _footnote_ref(node: SyntaxTreeNode, ctx: Ctx) -> None:
    """The note's number: a footnote reference Word numbers; a note referenced again, a
    NOTEREF field (formatted as a reference mark, \\f) to its first reference."""
    number = int(node.meta["id"]) + 1
    sid = ctx.base.character_ids.get("footnote reference", "FootnoteReference")
    rpr = f'<w:rPr><w:rStyle w:val="{xml_text(sid)}"/>{ctx.run_props}</w:rPr>'
    if int(node.meta.get("subId", 0)) == 0:
        mark = _note_bookmark(number)
        ctx.out.append(f'<w:bookmarkStart w:id="{number}" w:name="{mark}"/>'
                       f'<w:r>{rpr}<w:footnoteReference w:id="{number}"/></w:r>'
                       f'<w:bookmarkEnd w:id="{number}"/>')
        return
    ctx.out.append(
        f'<w:r>{rpr}<w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r>{rpr}<w:instrText xml:space="preserve"> NOTEREF {_note_bookmark(number)} '
        '\\f \\h </w:instrText></w:r>'
        f'<w:r>{rpr}<w:fldChar w:fldCharType="separate"/></w:r>'
        f'<w:r>{rpr}<w:t>{number}</w:t></w:r><w:r>{rpr}<w:fldChar w:fldCharType="end"/></w:r>')


def _footnote_block(node: SyntaxTreeNode, ctx: Ctx) -> None:
    """Every note into footnotes.xml (the letter's body gets nothing here), its links
    into footnotes.xml's own relationships."""
    body, links = ctx.out, ctx.links
    ctx.links = ctx.note_links
    try:
        for note in node.children:
            ctx.out = []
            _footnote(note, ctx)
            ctx.notes.append("".join(ctx.out))
    finally:
        ctx.out, ctx.links = body, links


def _footnote(node: SyntaxTreeNode, ctx: Ctx) -> None:
    number = int(node.meta["id"]) + 1
    sid = ctx.base.character_ids.get("footnote reference", "FootnoteReference")
    ctx.out.append(f'<w:footnote w:id="{number}">')
    for i, paragraph in enumerate(p for p in node.children if p.type == "paragraph"):
        _open_paragraph(ctx, "Footnote Text")
        if i == 0:
            ctx.out.append(f'<w:r><w:rPr><w:rStyle w:val="{xml_text(sid)}"/>'
                           f"{ctx.run_props}</w:rPr><w:footnoteRef/></w:r>")
            _run(" ", ctx)
        _children(paragraph, ctx)
        ctx.out.append("</w:p>")
    ctx.out.append("</w:footnote>")


def footnotes_xml(notes: list[str]) -> bytes:
    """word/footnotes.xml: the separators Word writes (ids -1 and 0), then the notes."""
    separator = ('<w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/>'
                 "</w:pPr><w:r><w:{}/></w:r></w:p>")
    return (XML_DECLARATION + f'<w:footnotes xmlns:w="{W}" xmlns:r="{R}">'
            '<w:footnote w:type="separator" w:id="-1">' + separator.format("separator")
            + '</w:footnote><w:footnote w:type="continuationSeparator" w:id="0">'
            + separator.format("continuationSeparator") + "</w:footnote>"
            + "".join(notes) + "</w:footnotes>").encode()
# ----- images ------------------------------------------------------------------------

EMU_PER_POINT = 12700
#: A signature is drawn at most this high (points), as in the PDF (writers/pdf.py).
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
    from ..images import fit

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


def _image(node: SyntaxTreeNode, ctx: Ctx) -> None:
    from ..document import image_alt, image_src

    src = image_src(node)
    image = ctx.images.get(src)
    if image is None or ctx.pictures is None:
        raise RenderError(Problem("", None, None, (
            f"the image {src!r} was not read from the templates folder: put it there and "
            "name it as it is")))
    block = node.parent.parent if node.parent is not None else None
    signature = block is not None and SIGNATURE_IMAGE in classes(block)
    max_height = SIGNATURE_MAX_HEIGHT if signature else None
    ctx.out.append("<w:r>" + (f"<w:rPr>{ctx.run_props}</w:rPr>" if ctx.run_props else "")
                   + drawing_xml(image, image_alt(node), ctx.images, ctx.pictures, "word",
                                 _room_for_image(node, ctx) / 20, max_height) + "</w:r>")


def _room_for_image(node: SyntaxTreeNode, ctx: Ctx) -> int:
    """The width (twips) an image may take where it stands: the text width inside any
    quotes, or its table cell's text width (as the PDF's ``max-width: 100%``: a chart in
    a narrow column was drawn seven times the column's width)."""
    total = ctx.base.text_width - 2 * QUOTE_INDENT * ctx.quote_depth
    cell = node.parent
    while cell is not None and cell.type not in ("td", "th"):
        cell = cell.parent
    if cell is None or cell.parent is None or cell.parent.parent is None \
            or cell.parent.parent.parent is None:
        return total
    table = cell.parent.parent.parent
    index = next(i for i, c in enumerate(cell.parent.children) if c is cell)
    return max(_column_widths(table, total)[index] - 2 * TABLE_CELL_MARGIN[1], 20)


RULES: dict[str, Rule] = {
    "root": _children,
    "paragraph": _paragraph,
    "heading": _heading,
    "ordered_list": _list,
    "bullet_list": _list,
    "list_item": _list_item,
    "blockquote": _blockquote,
    "code_block": _code_block,
    "fence": _code_block,
    "hr": _hr,
    "inline": _children,
    "text": _text,
    "softbreak": lambda node, ctx: _run(" ", ctx),
    "hardbreak": lambda node, ctx: _run("\n", ctx),
    "em": lambda node, ctx: _formatted(node, ctx, italic=True),
    "strong": lambda node, ctx: _formatted(node, ctx, bold=True),
    "code_inline": _code_inline,
    "link": _link,
    "s": lambda node, ctx: _formatted(node, ctx, strike=True),
    "table": _table,
    "thead": _children,  # the table rule writes its rows itself
    "tbody": _children,
    "tr": _children,
    "th": _children,
    "td": _children,
    "footnote_ref": _footnote_ref,
    "footnote_block": _footnote_block,
    "footnote": _footnote,
    "footnote_anchor": lambda node, ctx: None,  # a back link: Word has its own
    "image": _image,
}


def render_node(node: SyntaxTreeNode, ctx: Ctx) -> None:
    RULES[node.type](node, ctx)


# ----- document ---------------------------------------------------------------------


def _timestamp(meta: Any) -> dt.datetime:
    when = meta.get("timestamp")
    if isinstance(when, dt.datetime):
        return when
    date = meta.get("date")
    if isinstance(date, dt.date):
        return dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)
    return dt.datetime(1980, 1, 1, tzinfo=dt.UTC)


def core_xml(meta: Mapping[str, Any], lang: str, when: dt.datetime) -> bytes:
    """docProps/core.xml: the letter's own properties, nothing from the reference."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    fields = "".join(
        f"<{tag}>{xml_text(str(meta.get(key) or ''))}</{tag.split()[0]}>"
        for tag, key in (("dc:title", "title"), ("dc:subject", "subject"),
                         ("dc:creator", "author")) if meta.get(key))
    return (
        XML_DECLARATION + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/'
        'package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' + fields
        + "<cp:lastModifiedBy>letterforge</cp:lastModifiedBy><cp:revision>1</cp:revision>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        f"<dc:language>{xml_text(lang)}</dc:language></cp:coreProperties>"
    ).encode()


#: The letterhead's, the footer's and the signature's paragraph styles, as they are made
#: when the reference document has none of that name (pPr, rPr): as the PDF's
#: FURNITURE_CSS draws them. A reference document's own style of the name wins.
FURNITURE_STYLES = {
    "Letterhead Logo": ('<w:spacing w:before="0" w:after="60"/>', ""),
    "Letterhead Name": ('<w:spacing w:before="60" w:after="40"/>', '<w:b/><w:sz w:val="24"/>'),
    "Letterhead Address": ('<w:spacing w:before="0" w:after="40"/>', '<w:sz w:val="18"/>'),
    "Letterhead Contact": ('<w:spacing w:before="0" w:after="360"/>', '<w:sz w:val="18"/>'),
    "Signature Image": ('<w:keepNext/><w:spacing w:before="0" w:after="40"/>', ""),
    "Page Footer": ('<w:spacing w:before="0" w:after="0"/><w:jc w:val="center"/>',
                    '<w:color w:val="555555"/><w:sz w:val="18"/>'),
}


def _extra_style(name: str, sid: str, normal_id: str, w_prefixed: bool) -> str:
    ns = "" if w_prefixed else f' xmlns:w="{W}"'
    ppr, rpr = FURNITURE_STYLES.get(name, ("", ""))
    formatting = (f"<w:pPr>{ppr}</w:pPr>" if ppr else "") + (f"<w:rPr>{rpr}</w:rPr>"
                                                              if rpr else "")
    return (f'<w:style{ns} w:type="paragraph" w:customStyle="1" w:styleId="{xml_text(sid)}">'
            f'<w:name w:val="{xml_text(name)}"/><w:basedOn w:val="{xml_text(normal_id)}"/>'
            f"<w:qFormat/>{formatting}</w:style>")


# ----- the letterhead and the running footer ------------------------------------------

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
#: (``@top-left { padding-bottom: 6mm }`` in writers/pdf.py), in twips.
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
