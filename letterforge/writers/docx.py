"""DOCX writer: the document tree walked into python-docx.

Every paragraph gets a named style a user can restyle in Word or LibreOffice:
Markdown headings -> "Heading N"; a block with a class (``{.date}`` in the template) ->
the style of that name, title-cased ("Date", "Closing", "Signature", "Signer Title");
list items -> "List Paragraph" (or the list's class); block quotes -> "Quote".
Styles come from ``templates/reference.docx`` when it exists (as pandoc's
``--reference-doc``); any style missing there is created with plain defaults.

Each Markdown list gets its own numbering definition (``w:abstractNum`` + ``w:num``
with a ``w:startOverride``), so every list restarts at its first number in Word and in
LibreOffice; python-docx has no API for that, so the numbering XML is built here.

Render rules are a table keyed by node type (:data:`RULES`), one rule for each type of
:data:`letterforge.document.NODE_TYPES`.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from markdown_it.tree import SyntaxTreeNode

from ..document import Document, classes
from ..models import Assets

# Style defaults used only when the reference document lacks the style.
PARAGRAPH_STYLE_DEFAULTS: dict[str, dict[str, Any]] = {
    "Date": {"align": WD_ALIGN_PARAGRAPH.LEFT, "after": 12},
    "Recipients": {"after": 6},
    "Salutation": {"before": 12, "after": 12},
    "Closing": {"before": 12, "after": 36, "keep_with_next": True},
    "Signature": {"after": 0, "keep_with_next": True},
    "Signer Title": {"after": 6, "keep_with_next": True},
    "On Behalf": {"before": 6, "after": 6, "keep_with_next": True},
    "Source Code": {"font": "Liberation Mono", "size": 9, "after": 0},
    "Horizontal Rule": {"after": 12, "border_bottom": True},
}

BULLETS = ["•", "◦", "▪"]


def style_name(css_class: str) -> str:
    """'signer-title' -> 'Signer Title': the DOCX style for a block class."""
    return " ".join(w.capitalize() for w in css_class.replace("_", "-").split("-") if w)


@dataclass
class Ctx:
    doc: Any  # docx.document.Document
    numbering: Any  # CT_Numbering
    next_abstract: int
    next_num: int
    list_depth: int = 0
    list_stack: list[tuple[int, str]] = field(default_factory=list)  # (numId, item style)
    block_style: list[str] = field(default_factory=list)  # style inherited from a quote
    first_in_item: bool = False
    style_ids: dict[str, str] = field(default_factory=dict)  # style name -> id, looked up once
    container: Any = None  # the element inline content goes into
    fmt: Fmt = field(default_factory=lambda: Fmt())


Rule = Callable[[SyntaxTreeNode, Ctx], None]


# ----- styles -----------------------------------------------------------------------


def _ensure_paragraph_style(d: Any, name: str) -> str:
    styles = d.styles
    try:
        styles[name]
        return name
    except KeyError:
        pass
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles["Normal"]
    style.quick_style = True
    opts = PARAGRAPH_STYLE_DEFAULTS.get(name, {})
    pf = style.paragraph_format
    if "align" in opts:
        pf.alignment = opts["align"]
    if "before" in opts:
        pf.space_before = Pt(opts["before"])
    if "after" in opts:
        pf.space_after = Pt(opts["after"])
    if opts.get("keep_with_next"):
        pf.keep_with_next = True
    if "font" in opts:
        style.font.name = opts["font"]
    if "size" in opts:
        style.font.size = Pt(opts["size"])
    if opts.get("border_bottom"):
        ppr = style.element.get_or_add_pPr()
        ppr.append(
            parse_xml(
                f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="6" w:space="1" '
                'w:color="auto"/></w:pBdr>'
            )
        )
    return name


def _ensure_character_style(d: Any, name: str) -> str:
    try:
        d.styles[name]
        return name
    except KeyError:
        pass
    style = d.styles.add_style(name, WD_STYLE_TYPE.CHARACTER)
    if name == "Hyperlink":
        style.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
        style.font.underline = True
    elif name == "Verbatim Char":
        style.font.name = "Liberation Mono"
    return name


def _set_language(d: Any, lang: str) -> None:
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


# ----- numbering --------------------------------------------------------------------


def _new_list(ctx: Ctx, ordered: bool, start: int, level: int) -> int:
    """A fresh abstractNum + num for one Markdown list, used at ``level`` only; returns
    the numId. Numbers are decimal from ``start`` at every level, as in the PDF and the
    e-mail."""
    abstract_id = ctx.next_abstract
    num_id = ctx.next_num
    ctx.next_abstract += 1
    ctx.next_num += 1
    levels = []
    for ilvl in range(9):
        indent = 720 + 360 * ilvl
        if ordered:
            fmt, text, first = "decimal", f"%{ilvl + 1}.", start
        else:
            fmt, text, first = "bullet", BULLETS[ilvl % 3], 1
        levels.append(
            f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="{first}"/><w:numFmt w:val="{fmt}"/>'
            f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
            f'<w:pPr><w:ind w:left="{indent}" w:hanging="360"/></w:pPr></w:lvl>'
        )
    abstract = parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">'
        f'<w:nsid w:val="{0x4C460000 + abstract_id:08X}"/>'
        '<w:multiLevelType w:val="hybridMultilevel"/>' + "".join(levels) + "</w:abstractNum>"
    )
    num = parse_xml(
        f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/>'
        f'<w:lvlOverride w:ilvl="{level}"><w:startOverride w:val="{start}"/></w:lvlOverride>'
        "</w:num>"
    )
    # Schema order: every abstractNum, then every num, then numIdMacAtCleanup (Word).
    numbering = ctx.numbering
    cleanup = numbering.find(qn("w:numIdMacAtCleanup"))
    anchor = numbering.find(qn("w:num"))
    anchor = anchor if anchor is not None else cleanup
    if anchor is not None:
        anchor.addprevious(abstract)
    else:
        numbering.append(abstract)
    if cleanup is not None:
        cleanup.addprevious(num)
    else:
        numbering.append(num)
    return num_id


def _numbering_ids(numbering: Any) -> tuple[int, int]:
    abstract_ids = [
        int(e.get(qn("w:abstractNumId"))) for e in numbering.findall(qn("w:abstractNum"))
    ]
    num_ids = [int(e.get(qn("w:numId"))) for e in numbering.findall(qn("w:num"))]
    return max(abstract_ids, default=0) + 1, max(num_ids, default=0) + 1


# ----- blocks -----------------------------------------------------------------------


def _children(node: SyntaxTreeNode, ctx: Ctx) -> None:
    for child in node.children:
        RULES[child.type](child, ctx)


def _new_paragraph(ctx: Ctx, style: str) -> Paragraph:
    style_id = ctx.style_ids.get(style)
    if style_id is None:  # python-docx looks a style up by scanning styles.xml: once each
        _ensure_paragraph_style(ctx.doc, style)
        style_id = ctx.style_ids[style] = ctx.doc.styles[style].style_id
    p = ctx.doc.add_paragraph()
    p._p.get_or_add_pPr().style = style_id
    return p


def _block_style(node: SyntaxTreeNode, ctx: Ctx, default: str) -> str:
    cls = classes(node)
    if cls:
        return style_name(cls[0])
    if ctx.block_style:
        return ctx.block_style[-1]
    return default


def _inline_content(node: SyntaxTreeNode, p: Paragraph, ctx: Ctx) -> None:
    outer = ctx.container
    ctx.container = p._p
    try:
        _children(node, ctx)
    finally:
        ctx.container = outer


def _paragraph(node: SyntaxTreeNode, ctx: Ctx) -> None:
    if ctx.list_stack:
        num_id, item_style = ctx.list_stack[-1]
        p = _new_paragraph(ctx, _block_style(node, ctx, item_style))
        ppr = p._p.get_or_add_pPr()
        if ctx.first_in_item:
            numpr = ppr.get_or_add_numPr()
            numpr.get_or_add_ilvl().val = ctx.list_depth - 1
            numpr.get_or_add_numId().val = num_id
            ctx.first_in_item = False
        else:
            p.paragraph_format.left_indent = Pt((720 + 360 * (ctx.list_depth - 1)) / 20)
    else:
        p = _new_paragraph(ctx, _block_style(node, ctx, "Normal"))
    _inline_content(node, p, ctx)


def _heading(node: SyntaxTreeNode, ctx: Ctx) -> None:
    level = int(node.tag[1])
    p = _new_paragraph(ctx, _block_style(node, ctx, f"Heading {level}"))
    _inline_content(node, p, ctx)


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


def _list_item(node: SyntaxTreeNode, ctx: Ctx) -> None:
    ctx.first_in_item = True
    if not node.children:  # an empty item still shows its number
        num_id, item_style = ctx.list_stack[-1]
        p = _new_paragraph(ctx, item_style)
        numpr = p._p.get_or_add_pPr().get_or_add_numPr()
        numpr.get_or_add_ilvl().val = ctx.list_depth - 1
        numpr.get_or_add_numId().val = num_id
    _children(node, ctx)
    ctx.first_in_item = False


def _blockquote(node: SyntaxTreeNode, ctx: Ctx) -> None:
    ctx.block_style.append(_block_style(node, ctx, "Quote") if classes(node) else "Quote")
    try:
        _children(node, ctx)
    finally:
        ctx.block_style.pop()


def _code_block(node: SyntaxTreeNode, ctx: Ctx) -> None:
    p = _new_paragraph(ctx, "Source Code")
    lines = node.content.rstrip("\n").split("\n")
    for i, line in enumerate(lines):
        run = p.add_run(line)
        if i < len(lines) - 1:
            run.add_break()


def _hr(node: SyntaxTreeNode, ctx: Ctx) -> None:
    _new_paragraph(ctx, "Horizontal Rule")


# ----- inline -----------------------------------------------------------------------


@dataclass(frozen=True)
class Fmt:
    italic: bool = False
    bold: bool = False
    code: bool = False
    link: bool = False


def _char_style_id(ctx: Ctx, name: str) -> str:
    """The id of a character style (a reference document may localise ids): once each."""
    key = "char:" + name
    if key not in ctx.style_ids:
        _ensure_character_style(ctx.doc, name)
        ctx.style_ids[key] = ctx.doc.styles[name].style_id
    return ctx.style_ids[key]


def _run(text: str, ctx: Ctx) -> None:
    fmt = ctx.fmt
    r = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    style = "Hyperlink" if fmt.link else ("Verbatim Char" if fmt.code else None)
    if style:
        rstyle = OxmlElement("w:rStyle")
        rstyle.set(qn("w:val"), _char_style_id(ctx, style))
        rpr.append(rstyle)
    if fmt.bold:
        rpr.append(OxmlElement("w:b"))
    if fmt.italic:
        rpr.append(OxmlElement("w:i"))
    if len(rpr):
        r.append(rpr)
    if text == "\n":
        r.append(OxmlElement("w:br"))
    else:
        t = OxmlElement("w:t")
        t.text = text
        t.set(qn("xml:space"), "preserve")
        r.append(t)
    ctx.container.append(r)


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
    ctx.fmt = Fmt(outer.italic, outer.bold, True, outer.link)
    _run(node.content, ctx)
    ctx.fmt = outer


def _link(node: SyntaxTreeNode, ctx: Ctx) -> None:
    href = str(node.attrs.get("href", ""))
    link = OxmlElement("w:hyperlink")
    if href.startswith("#"):
        link.set(qn("w:anchor"), href[1:])
    else:
        r_id = ctx.doc.part.relate_to(href, RT.HYPERLINK, is_external=True)
        link.set(qn("r:id"), r_id)
    link.set(qn("w:history"), "1")
    ctx.container.append(link)
    outer = ctx.container
    ctx.container = link
    try:
        _formatted(node, ctx, link=True)
    finally:
        ctx.container = outer


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
}


def render_node(node: SyntaxTreeNode, ctx: Ctx) -> None:
    RULES[node.type](node, ctx)


# ----- document ---------------------------------------------------------------------


def _page_number_footer(d: Any) -> None:
    footer = d.sections[0].footer
    p = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    p.style = d.styles["Footer"]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for kind, text in (("begin", None), ("instr", " PAGE "), ("separate", None),
                       ("text", "1"), ("end", None)):
        r = OxmlElement("w:r")
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        elif kind == "text":
            el = OxmlElement("w:t")
            el.text = text
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        r.append(el)
        p._p.append(r)


def _plain_headings(d: Any) -> None:
    """Headings in the letter's font, black, as in the PDF (the default template's are
    blue Calibri Light). Only when no reference document gives its own."""
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


def _timestamp(meta: Any) -> dt.datetime:
    when = meta.get("timestamp")
    if isinstance(when, dt.datetime):
        return when
    date = meta.get("date")
    if isinstance(date, dt.date):
        return dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)
    return dt.datetime(1980, 1, 1, tzinfo=dt.UTC)


def _normalise_zip(data: bytes, when: dt.datetime) -> bytes:
    """Rewrite the package with fixed entry times and order: same input, same bytes."""
    stamp = max(when, dt.datetime(1980, 1, 1, tzinfo=dt.UTC)).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED
    ) as zout:
        for info in zin.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            zout.writestr(entry, zin.read(info.filename))
    return out.getvalue()


def render(doc: Document, assets: Assets, needed: Mapping[str, bytes] | None = None) -> bytes:
    meta = doc.meta
    if assets.reference_docx:
        d = docx.Document(io.BytesIO(assets.reference_docx))
        body = d.element.body
        for child in list(body):
            if child.tag != qn("w:sectPr"):
                body.remove(child)
    else:
        d = docx.Document()
        section = d.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Mm(25)
        section.top_margin, section.bottom_margin = Mm(25), Mm(25)
        normal = d.styles["Normal"]
        normal.font.name = "Liberation Serif"
        normal.font.size = Pt(11)
        normal.paragraph_format.space_after = Pt(8)
        _plain_headings(d)
        _page_number_footer(d)
    lang = str(meta.get("lang", "en"))
    _set_language(d, lang)
    for name in ("List Paragraph", "Hyperlink"):
        if name == "Hyperlink":
            _ensure_character_style(d, name)
        else:
            _ensure_paragraph_style(d, name)

    numbering = d.part.numbering_part.element
    next_abstract, next_num = _numbering_ids(numbering)
    ctx = Ctx(doc=d, numbering=numbering, next_abstract=next_abstract, next_num=next_num)
    render_node(doc.tree, ctx)

    when = _timestamp(meta)
    cp = d.core_properties
    cp.title = str(meta.get("title", ""))
    cp.subject = str(meta.get("subject", ""))
    cp.author = str(meta.get("author", ""))
    cp.last_modified_by = "letterforge"
    cp.language = lang
    cp.keywords = ""
    cp.comments = ""
    cp.category = ""
    cp.revision = 1
    cp.created = when.replace(tzinfo=None)
    cp.modified = when.replace(tzinfo=None)
    cp.last_printed = when.replace(tzinfo=None)

    buf = io.BytesIO()
    d.save(buf)
    return _normalise_zip(buf.getvalue(), when)
