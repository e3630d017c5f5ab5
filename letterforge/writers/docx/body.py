"""The render rules, keyed by node type: one letter's body as WordprocessingML text.

Every paragraph gets a named style (see :mod:`letterforge.writers.docx`). **Tables** are
``w:tbl`` at the text width (read from the section), ruled as the PDF's, columns as wide
as their text asks, the header row repeated on every page (``w:tblHeader``) in the
paragraph style "Table Heading", the other cells "Table Text", each cell aligned as the
template's delimiter row says. **Lists**: each Markdown list gets its own
``w:abstractNum`` + ``w:num`` with a ``w:startOverride`` (:func:`_new_list`), so every
list restarts at its first number in Word and in LibreOffice. **Footnotes** are Word's
own, in ``word/footnotes.xml`` (separator and continuation separator as ids -1 and 0, as
Word writes them; ``w:footnotePr`` in the settings), each note's text in "Footnote Text",
its number a ``w:footnoteReference`` in the "Footnote Reference" character style: Word
and LibreOffice number them. A note referenced again gets a NOTEREF field to a bookmark
on its first reference, which shows the same number.

:data:`RULES` has one rule for each type of :data:`letterforge.parse.NODE_TYPES`; a
rule writes into the letter's :class:`Ctx` (the body as text, escaped here; its lists,
links, notes, pictures and the styles it adds).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markdown_it.tree import SyntaxTreeNode

from ...errors import Problem, RenderError
from ...parse import SIGNATURE_IMAGE, classes, list_start
from ..html import RTL_LANGUAGES, column_weights
from .images import SIGNATURE_MAX_HEIGHT, Pictures, drawing_xml
from .package import XML_DECLARATION, Part, R, W, xml_text
from .reference import Base
from .styles import QUOTE_INDENT, _internal_name, _twips, style_name

#: Borders of a table's cells, in eighths of a point (the PDF's 0.5pt), and their
#: padding in twips: the PDF's 2pt 4pt, and on the sides the half of the collapsed 0.5pt
#: border the PDF's cell also gives up (Word and LibreOffice draw borders in the padding),
#: so a cell's text has the same width in both formats and wraps alike.
TABLE_BORDER = 4
TABLE_CELL_MARGIN = (40, 85)

BULLETS = ["•", "◦", "▪"]


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
    style_at: int = -1  # the last paragraph's w:pStyle in ``out`` (w:keepNext follows it)
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
    ctx.style_at = len(out)
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
    start = list_start(node) if ordered else 1
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
    paragraph gets the larger as its space after (only when the stylesheet lays out).
    A list kept together (its items each kept with the next) lets its last item go: what
    follows the list may begin a page."""
    page = ctx.base.page
    if page is None or ctx.spacing_at < 0:
        return
    if ctx.last_style in page.kept_lists:
        ctx.out[ctx.style_at] += '<w:keepNext w:val="0"/>'
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


# ----- images -----------------------------------------------------------------------


def _image(node: SyntaxTreeNode, ctx: Ctx) -> None:
    from ...parse import image_alt, image_src

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

