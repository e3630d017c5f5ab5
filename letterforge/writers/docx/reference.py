"""The base every letter shares: a user's ``reference.docx`` read and made safe, or,
without one, python-docx's template laid out from the stylesheet.

**What comes from the reference document** (``templates/reference.docx``, as pandoc's
``--reference-doc``): its styles, numbering definitions, theme, font table, the
settings that shape the layout (an allow-list: tab stops, hyphenation, compatibility...),
and its last section (page size, margins, title page) with the headers and footers it
names and their images. Nothing else: never its body, comments, document properties,
thumbnail, custom XML, glossary, people, web settings, attached template, mail merge,
nor any external relationship (a header's external link or linked picture is removed,
as is a field that fetches: :func:`_drop_references`, :func:`_drop_fetching_fields`).
Any style the letter uses that is missing there is created with plain defaults
(:mod:`letterforge.writers.docx.styles`).

Those parts are built once per process for each (reference document, language,
stylesheet) (:func:`base`), compressed once, and split where a letter writes its own
content (``<!--LF-BODY-->``, ``<!--LF-EXTRA-->``, ``<!--LF-ABSTRACT-->``...).
"""

from __future__ import annotations

import copy
import io
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lxml import etree

from ...errors import InputError, Problem
from .package import (
    CT_FONT_TABLE,
    CT_FOOTER,
    CT_HEADER,
    CT_SETTINGS,
    CT_THEME,
    DOCUMENT_NSMAP,
    R_ATTR,
    RT_FONT,
    RT_FONT_TABLE,
    RT_FOOTER,
    RT_HEADER,
    RT_IMAGE,
    RT_NUMBERING,
    RT_SETTINGS,
    RT_STYLES,
    RT_THEME,
    Entry,
    Part,
    R,
    Rel,
    W,
    _entries,
    _q,
    _serialise,
)
from .styles import (
    CHARACTER_STYLES,
    PARAGRAPH_STYLE_DEFAULTS,
    _default_document,
    _default_sect_pr,
    _ensure_character_style,
    _ensure_paragraph_style,
    _page_number_footer,
    _set_language,
    _style_ids,
)
from .stylesheet import Layout, layout

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

_XML_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

#: Adds a shared part and the document's relationship to it; returns the relationship's id.
_Share = Callable[[Part, str], str]


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
    (see :mod:`letterforge.writers.docx.stylesheet`)."""
    import docx

    from ...validate.reference import reference_docx_problems

    if reference:  # the load stage checked it; a writer called alone checks it too
        problems = reference_docx_problems(reference, "reference.docx")
        if problems:
            raise InputError(problems)
    page = None if reference else layout(css or "", lang)
    d = docx.Document(io.BytesIO(reference)) if reference else _default_document(page)
    for name in PARAGRAPH_STYLE_DEFAULTS:
        _ensure_paragraph_style(d, name)
    for name in CHARACTER_STYLES:
        _ensure_character_style(d, name, page)
    _set_language(d, lang)
    taker = _Taker()

    rels: list[Rel] = [Rel("rId1", RT_STYLES, "styles.xml"),
                       Rel("rId2", RT_NUMBERING, "numbering.xml")]
    shared: list[Part] = []

    def share(part: Part, rel_type: str) -> str:
        rels.append(Rel(f"rId{len(rels) + 1}", rel_type, part.name[len("word/"):]))
        shared.append(part)
        return rels[-1].id

    share(Part("word/settings.xml", CT_SETTINGS, _settings_xml(d.settings.element)),
          RT_SETTINGS)
    settings_with_notes = Entry.of("word/settings.xml",
                                   _settings_xml(d.settings.element, footnotes=True))
    _share_font_table_and_theme(d, taker, share)
    sect = (_reference_section(d, taker, share) if reference
            else _default_section(d, page, share))
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


def _share_font_table_and_theme(d: Any, taker: _Taker, share: _Share) -> None:
    """The font table (with its embedded fonts) and the theme (with its images)."""
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


def _reference_section(d: Any, taker: _Taker, share: _Share) -> Any:
    """The reference document's last section, without rsids or printer settings, with
    the headers and footers it names (internal ones only) shared as our own parts."""
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
        ref.set(_q("r:id"), share(part, RT_HEADER if kind == "header" else RT_FOOTER))
    return sect


def _default_section(d: Any, page: Layout | None, share: _Share) -> Any:
    """The stylesheet's section, with the centred "page / pages" footer."""
    sect = _default_sect_pr(page)
    footer_id = _style_ids(d.styles.element, "paragraph").get("footer", "Footer")
    rel_id = share(Part("word/footer1.xml", CT_FOOTER, _page_number_footer(footer_id)),
                   RT_FOOTER)
    sect.insert(0, etree.fromstring(
        f'<w:footerReference xmlns:w="{W}" xmlns:r="{R}" w:type="default" '
        f'r:id="{rel_id}"/>'))
    return sect


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
    from ...validate.reference import REFERENCE_MAX_BYTES

    if taken > REFERENCE_MAX_BYTES:
        raise InputError(Problem("reference.docx", None, None, (
            f"its styles, headers, footers and their images take {taken // 2**20} MB; a "
            f"reference document may carry {REFERENCE_MAX_BYTES // 2**20} MB at most: "
            "make its images smaller")))


# ----- taking parts out of the reference document ---------------------------------------


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


# ----- settings and numbering ----------------------------------------------------------

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
