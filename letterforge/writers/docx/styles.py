"""The DOCX's named styles, and the document without a reference.

Every paragraph gets a named style a user can restyle in Word or LibreOffice (see
:mod:`letterforge.writers.docx`); here are the styles letterforge adds when the base
document lacks them (:data:`PARAGRAPH_STYLE_DEFAULTS`, :data:`CHARACTER_STYLES`, Word's
built-in names), the styles a letter adds for itself (:data:`FURNITURE_STYLES`,
:func:`_extra_style`), and the lookups of a style's id by its name.

**Without a reference document the DOCX lays out like the PDF**: python-docx's default
template gives the styles, and the PDF's stylesheet (``letter.css``) gives their fonts,
sizes, line heights, spacing, indents and keep-with-next, the page's size and margins,
the list indents and the centred "page / pages" footer's font (read by
:mod:`letterforge.writers.docx.stylesheet`, applied by :func:`_default_document`,
:func:`_default_sect_pr` and :func:`_page_number_footer`): LibreOffice's pages then
begin where the PDF's do. ``letter.css`` stays the one place to restyle both; a
reference document overrides it for the DOCX.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from .package import XML_DECLARATION, R, W, _q, xml_text
from .stylesheet import Box, Layout

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


def style_name(css_class: str) -> str:
    """'signer-title' -> 'Signer Title': the DOCX style for a block class."""
    return " ".join(w.capitalize() for w in css_class.replace("_", "-").split("-") if w)


def _internal_name(name: str) -> str:
    return name.casefold()


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


def _ensure_character_style(d: Any, name: str, page: Layout | None = None) -> None:
    """Add the character style ``name`` unless the document has it; a link as the
    stylesheet's ``page`` colours and underlines it (Word's blue, underlined, without)."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import RGBColor

    if _internal_name(name) in _style_ids(d.styles.element, "character"):
        return
    style = d.styles.add_style(name, WD_STYLE_TYPE.CHARACTER)
    _builtin_name(style, name)
    if name == "Footnote Reference":
        style.font.superscript = True
    elif name == "Hyperlink":
        color, underline = page.link if page is not None else ("0563C1", True)
        if color:
            style.font.color.rgb = RGBColor.from_string(color)
        style.font.underline = underline
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


# ----- styles one letter adds to its own styles.xml ---------------------------------------

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

    _plain_defaults(d)
    for name, box in (*page.styles, ("Footer", page.footer)):
        try:
            style = d.styles[name]
        except KeyError:
            style = d.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            style.base_style = d.styles["Normal"]
            style.quick_style = True
        ppr = style.element.get_or_add_pPr()
        _apply_box(style, box, ppr)
        if name == "Normal":  # no extra space between CJK and Latin text, as in the PDF
            _no_autospace(ppr)


def _plain_defaults(d: Any) -> None:
    """The document's defaults: no spacing, single lines (python-docx's template: 10 pt
    after, 1.15 lines), so only what a style says counts; and kerning."""
    from docx.oxml.ns import qn

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


def _apply_box(style: Any, box: Box, ppr: Any) -> None:
    """One paragraph style (its pPr ``ppr``) as the stylesheet's ``box`` says."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    aligns = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
              "right": WD_ALIGN_PARAGRAPH.RIGHT, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}
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


def _no_autospace(ppr: Any) -> None:
    """No extra space between East Asian and Latin text or numbers (``w:autoSpaceDE``,
    ``w:autoSpaceDN`` off), in their place in the pPr."""
    from docx.oxml.ns import qn

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
