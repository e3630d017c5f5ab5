"""The PDF's layout, read from its stylesheet, for the DOCX writer: one place to restyle.

``templates/letter.css`` is the one place a user restyles the letter. Without a
``reference.docx`` the DOCX writer takes its page (size, margins, footer), fonts, sizes,
line heights, paragraph spacing, list indents and keep-with-next from the same stylesheet,
so that Word and LibreOffice lay the DOCX out as WeasyPrint lays out the PDF: same pages,
each beginning at the same line. A ``reference.docx`` still restyles the DOCX (its
styles win, as pandoc's ``--reference-doc``); then nothing here is used.

The stylesheet is read with tinycss2 and its selectors matched with cssselect2 (the
parser and the matcher WeasyPrint itself uses) against a small HTML skeleton holding one
element for each paragraph style (``p``, ``h1``...``h6``, ``ol > li``,
``blockquote > p``, ``pre``, ``p.<class>`` and ``ol.<class> > li`` for every class the
stylesheet names). Before it, :data:`UA_CSS` gives the defaults WeasyPrint's own user
agent stylesheet gives, so an empty stylesheet lays out as WeasyPrint lays it out.

Only what a letter's paragraph needs is computed: font family, size, weight, style and
colour, line height, margins (top, bottom, left), the list's padding, text alignment,
``break-after: avoid``, a class list's ``break-inside: avoid`` (its items kept together:
each with the next), a link's colour and underline, and ``orphans``/``widows``;
``@page`` gives size, margins and the footer's font size and colour. Values are in
points; the DOCX writer turns them into twentieths of a point.

Two differences between CSS and WordprocessingML are bridged here:

- **Line height**: CSS ``line-height: 1.35`` is 1.35 x the font size; Word's "multiple"
  line spacing multiplies the font's own line height (about 1.15 em for Liberation
  Serif). The DOCX gets an at-least line height in points (an image still fits).
- **Margins**: LibreOffice spaces two paragraphs by the larger of the first's space
  after and the second's space before, as CSS collapses margins, so the styles carry
  the CSS margins as they are. A list's own bottom margin collapses with its last
  item's: the writer gives the last item the larger (:attr:`Layout.list_after`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xml.etree import ElementTree as ET

#: What WeasyPrint's user agent stylesheet (``html5_ua.css``) gives the elements a letter
#: uses, and the page's initial size and margins.
UA_CSS = """
@page { size: A4; margin: 75px; }
html { font-family: serif; font-size: 12pt; line-height: normal; }
p { margin: 1em 0; }
h1 { font-size: 2em; margin: .67em 0; font-weight: bold; }
h2 { font-size: 1.5em; margin: .83em 0; font-weight: bold; }
h3 { font-size: 1.17em; margin: 1em 0; font-weight: bold; }
h4 { margin: 1.33em 0; font-weight: bold; }
h5 { font-size: .83em; margin: 1.67em 0; font-weight: bold; }
h6 { font-size: .67em; margin: 2.33em 0; font-weight: bold; }
ol, ul { margin: 1em 0; padding-left: 40px; }
li > p { margin: 1em 0; }
blockquote { margin: 1em 40px; }
pre { font-family: monospace; margin: 1em 0; }
a { color: #0563c1; text-decoration: underline; }
"""

PAPER = {"a3": (297, 420), "a4": (210, 297), "a5": (148, 210), "b4": (250, 353),
         "b5": (176, 250), "letter": (215.9, 279.4), "legal": (215.9, 355.6),
         "ledger": (279.4, 431.8)}  # mm, portrait

_UNITS = {"pt": 1.0, "px": 0.75, "in": 72.0, "cm": 72 / 2.54, "mm": 72 / 25.4,
          "q": 72 / 101.6, "pc": 12.0}
_INHERITED = {"font-family", "font-size", "line-height", "font-weight", "font-style",
              "color", "text-align", "orphans", "widows"}
_KEYWORD_SIZES = {"xx-small": 7, "x-small": 7.5, "small": 10, "medium": 12, "large": 13.5,
                  "x-large": 18, "xx-large": 24}
#: Line height of "line-height: normal" for the fonts letters use, in em (Liberation Serif
#: and Times: ascent + descent = 1.149 em).
NORMAL_LINE = 1.149


@dataclass(frozen=True)
class Box:
    """What one paragraph style takes from the stylesheet; lengths in points."""

    font: str = "Liberation Serif"
    size: float = 11.0
    line: float = 0.0  # the line height; 0: the font's own
    bold: bool = False
    italic: bool = False
    color: str = ""  # "RRGGBB", "" for black/auto
    before: float = 0.0
    after: float = 0.0
    left: float = 0.0  # indent from the text's left edge
    right: float = 0.0  # indent from the text's right edge
    align: str = "left"
    keep_with_next: bool = False
    widow_control: bool = False


@dataclass(frozen=True)
class Layout:
    """The page and every paragraph style (by DOCX style name), as the PDF has them."""

    width: float  # page, points
    height: float
    top: float  # margins, points
    right: float
    bottom: float
    left: float
    footer: Box  # the page-number footer's text
    styles: tuple[tuple[str, Box], ...]
    list_indent: float  # ol/ul padding-left: where an item's text starts
    list_after: float  # the list's own bottom margin (collapses with its last item's)
    list_classes: frozenset[str] = field(default_factory=frozenset)  # DOCX style names
    #: a link's colour ("RRGGBB", "" for black) and underline: the "Hyperlink" style
    link: tuple[str, bool] = ("0563C1", True)
    #: the class lists (DOCX style names) whose items are kept on one page together
    kept_lists: frozenset[str] = field(default_factory=frozenset)
    first_top: float | None = None  # @page :first's top margin (the letterhead's page)

    def style(self, name: str) -> Box | None:
        return dict(self.styles).get(name)


def _length(tokens: list[Any], font_size: float, parent: float | None = None,
            percent_of: float | None = None) -> float | None:
    """A CSS length in points; em against ``font_size``; None if not a length (or not a
    finite one: 1e400pt is infinity, which no DOCX length can hold)."""
    import math

    value = _any_length(tokens, font_size, parent, percent_of)
    return value if value is None or math.isfinite(value) else None


def _any_length(tokens: list[Any], font_size: float, parent: float | None = None,
                percent_of: float | None = None) -> float | None:
    for t in tokens:
        if t.type == "whitespace":
            continue
        if t.type == "dimension":
            unit = t.lower_unit
            if unit in _UNITS:
                return float(t.value) * _UNITS[unit]
            if unit == "em":
                return float(t.value) * (parent if parent is not None else font_size)
            if unit == "rem":
                return float(t.value) * 12.0
            if unit == "ex":
                return float(t.value) * font_size * 0.5
            if unit == "ch":
                return float(t.value) * font_size * 0.5
            return None
        if t.type == "number" and t.value == 0:
            return 0.0
        if t.type == "percentage" and percent_of is not None:
            return float(t.value) / 100 * percent_of
        return None
    return None


def _values(tokens: list[Any]) -> list[list[Any]]:
    """A declaration's value split at whitespace into its component values."""
    parts: list[list[Any]] = [[]]
    for t in tokens:
        if t.type in ("whitespace", "comment"):
            if parts[-1]:
                parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p]


def _ident(tokens: list[Any]) -> str:
    for t in tokens:
        if t.type == "ident":
            return str(t.lower_value)
        if t.type not in ("whitespace", "comment"):
            return ""
    return ""


def _color(tokens: list[Any]) -> str:
    for t in tokens:
        if t.type == "hash":
            value = t.value.lower()
            if len(value) == 3:
                value = "".join(c * 2 for c in value)
            return value.upper()[:6] if re.fullmatch(r"[0-9a-f]{6}([0-9a-f]{2})?", value) else ""
        if t.type == "ident":
            return {"black": "", "gray": "808080", "grey": "808080"}.get(t.lower_value, "")
    return ""


def _family(tokens: list[Any]) -> str:
    from ...validate.stylesheet import GENERIC_FAMILIES, families_of

    names = families_of(tokens)
    generic = {"serif": "Liberation Serif", "sans-serif": "Liberation Sans",
               "monospace": "Liberation Mono"}
    for name in names:
        if name.lower() not in GENERIC_FAMILIES:
            return name
        if name.lower() in generic:
            return generic[name.lower()]
    return "Liberation Serif"


def _box_sides(tokens: list[Any]) -> list[list[Any]]:
    """margin: 1 to 4 values -> [top, right, bottom, left]."""
    v = _values(tokens)
    if len(v) == 1:
        return [v[0]] * 4
    if len(v) == 2:
        return [v[0], v[1], v[0], v[1]]
    if len(v) == 3:
        return [v[0], v[1], v[2], v[1]]
    return v[:4]


_SIDES = ("top", "right", "bottom", "left")


def _expand(name: str, value: list[Any]) -> list[tuple[str, list[Any]]]:
    if name in ("margin", "padding"):
        return [(f"{name}-{side}", v) for side, v in zip(_SIDES, _box_sides(value), strict=False)]
    if name in ("page-break-after", "page-break-inside"):
        return [(name[5:], value)]
    return [(name, value)]


class _Cascade:
    """Declarations of the stylesheets, matched against skeleton elements with cssselect2."""

    def __init__(self, css_texts: list[str]) -> None:
        import cssselect2
        import tinycss2

        self.matcher = cssselect2.Matcher()
        self.page: dict[str, list[Any]] = {}
        self.first_page: dict[str, list[Any]] = {}  # @page :first
        self.footer: dict[str, list[Any]] = {}
        self.classes: list[str] = []
        order = 0
        for css in css_texts:
            for rule in tinycss2.parse_stylesheet(css, skip_comments=True,
                                                  skip_whitespace=True):
                if rule.type == "at-rule" and rule.lower_at_keyword == "page":
                    self._page_rule(rule)
                    continue
                if rule.type != "qualified-rule":
                    continue
                order = self._style_rule(rule, order)

    def _page_rule(self, rule: Any) -> None:
        """An ``@page`` rule: ``@page :first`` gives the letterhead's page; any other with
        a selector (``:left``...) is skipped; the rest is the letter's page."""
        prelude = [t for t in rule.prelude if t.type not in ("whitespace",
                                                             "comment")]
        if [(t.type, getattr(t, "lower_value", getattr(t, "value", "")))
                for t in prelude] == [("literal", ":"), ("ident", "first")]:
            for name, value, _ in self._declarations(rule.content or []):
                self.first_page[name] = value  # the letterhead's page
        if prelude:
            return  # @page :first, :left...: the letter's page is the rest
        self._page(rule.content or [])

    def _style_rule(self, rule: Any, order: int) -> int:
        """A qualified rule: its classes noted, its selectors added to the matcher after
        those before it (``order``); returns the order of its last selector."""
        import cssselect2

        declarations = self._declarations(rule.content or [])
        for t in rule.prelude:
            if (t.type == "ident" and _after_dot(rule.prelude, t)
                    and t.value not in self.classes):
                self.classes.append(t.value)
        try:
            selectors = cssselect2.compile_selector_list(rule.prelude)
        except cssselect2.SelectorError:
            return order
        for selector in selectors:
            if selector.pseudo_element is None:
                order += 1
                self.matcher.add_selector(selector, (order, declarations))
        return order

    @staticmethod
    def _declarations(content: list[Any]) -> list[tuple[str, list[Any], bool]]:
        import tinycss2

        out = []
        for d in tinycss2.parse_blocks_contents(content, skip_comments=True,
                                                skip_whitespace=True):
            if d.type == "declaration":
                for name, value in _expand(d.lower_name, list(d.value)):
                    out.append((name, value, bool(d.important)))
        return out

    def _page(self, content: list[Any]) -> None:
        import tinycss2

        for item in tinycss2.parse_blocks_contents(content, skip_comments=True,
                                                   skip_whitespace=True):
            if item.type == "declaration":
                for name, value in _expand(item.lower_name, list(item.value)):
                    self.page[name] = value
            elif item.type == "at-rule" and item.lower_at_keyword == "bottom-center":
                for name, value, _ in self._declarations(item.content or []):
                    self.footer[name] = value

    def declared(self, element: Any) -> dict[str, list[Any]]:
        """The winning declaration of each property set on one element."""
        ranked = []
        for specificity, _order, _pseudo, (order, decls) in self.matcher.match(element):
            for i, (name, value, important) in enumerate(decls):
                ranked.append(((important, specificity, order, i), name, value))
        out: dict[str, list[Any]] = {}
        for _rank, name, value in sorted(ranked, key=lambda r: r[0]):
            out[name] = value
        return out


def _after_dot(prelude: list[Any], token: Any) -> bool:
    i = prelude.index(token)
    return i > 0 and prelude[i - 1].type == "literal" and prelude[i - 1].value == "."


def _class_style(css_class: str) -> str:
    return " ".join(w.capitalize() for w in css_class.replace("_", "-").split("-") if w)


# ----- the skeleton and its computed values ------------------------------------------------


@dataclass
class _Skeleton:
    """A small HTML page holding one element for each paragraph style, under
    html > body > main, and the elements the layout reads besides."""

    html: ET.Element
    wanted: list[tuple[str, ET.Element, ET.Element | None]]  # (style, el, list)
    ol: ET.Element  # the plain list and its item
    li: ET.Element
    quote: ET.Element
    class_lists: dict[str, tuple[ET.Element, ET.Element]]  # class -> (ol, li)
    link: ET.Element  # a link in a paragraph


def _skeleton(lang: str, rtl: bool, classes: list[str]) -> _Skeleton:
    from xml.etree import ElementTree as ET

    html = ET.Element("html", {"lang": lang} if lang else {})
    if rtl:
        html.set("dir", "rtl")
    body = ET.SubElement(html, "body")
    main = ET.SubElement(body, "main")
    wanted: list[tuple[str, ET.Element, ET.Element | None]] = []  # (style, el, list)
    paragraph = ET.SubElement(main, "p")
    wanted.append(("Normal", paragraph, None))
    link = ET.SubElement(paragraph, "a", {"href": "https://example.org/"})
    for n in range(1, 7):
        wanted.append((f"Heading {n}", ET.SubElement(main, f"h{n}"), None))
    ol = ET.SubElement(main, "ol")
    li = ET.SubElement(ol, "li")
    wanted.append(("List Paragraph", li, ol))
    quote = ET.SubElement(main, "blockquote")
    wanted.append(("Quote", ET.SubElement(quote, "p"), None))
    wanted.append(("Source Code", ET.SubElement(main, "pre"), None))
    wanted.append(("Horizontal Rule", ET.SubElement(main, "hr"), None))
    class_lists: dict[str, tuple[ET.Element, ET.Element]] = {}
    for cls in classes:
        wanted.append((_class_style(cls), ET.SubElement(main, "p", {"class": cls}), None))
        c_ol = ET.SubElement(main, "ol", {"class": cls})
        class_lists[cls] = (c_ol, ET.SubElement(c_ol, "li"))

    # a footnote: its text is a span of the paragraph it is referenced in, floated to the
    # foot of the page (writers/html.py); the DOCX's built-in "footnote text" style
    note = ET.SubElement(ET.SubElement(main, "p"), "span", {"class": "lf-footnote"})
    wanted.append(("footnote text", note, None))
    # the letterhead's lines and the running footer, as writers/html.py ``furniture``
    # writes them (the DOCX's first-page header and footers use these styles)
    head = ET.SubElement(body, "header", {"class": "letterhead"})
    for key in ("name", "address", "contact"):
        wanted.append((f"Letterhead {key.title()}",
                       ET.SubElement(head, "p", {"class": f"letterhead-{key}"}), None))
    wanted.append(("Page Footer", ET.SubElement(body, "footer", {"class": "page-footer"}),
                   None))
    return _Skeleton(html, wanted, ol, li, quote, class_lists, link)


def _compute(el: ET.Element, parent: dict[str, Any] | None, cascade: _Cascade,
             by_element: dict[int, Any], computed: dict[int, dict[str, Any]]
             ) -> dict[str, Any]:
    """The computed values of ``el`` and of every element under it, into ``computed``
    (keyed by ``id(element)``)."""
    declared = cascade.declared(by_element[id(el)])
    own: dict[str, Any] = {}
    if parent:
        own.update({k: v for k, v in parent.items() if k in _INHERITED})
    else:
        own.update({"font-size": 12.0, "font-family": "Liberation Serif",
                    "line-height": ("normal", 0.0), "font-weight": False,
                    "font-style": False, "color": "", "text-align": "left",
                    "orphans": 2, "widows": 2})
    _compute_font(own, declared)
    _compute_text(own, declared)
    size = own["font-size"]
    for prop in ("margin-top", "margin-bottom", "margin-left", "margin-right",
                 "padding-left", "padding-right"):
        points = _length(declared[prop], size) if prop in declared else None
        own[prop] = points or 0.0
    own["break-after"] = _ident(declared.get("break-after", []))
    own["break-inside"] = _ident(declared.get("break-inside", []))
    computed[id(el)] = own
    for child in el:
        _compute(child, own, cascade, by_element, computed)
    return own


def _compute_font(own: dict[str, Any], declared: dict[str, list[Any]]) -> None:
    """Font size, family, line height, weight and style."""
    parent_size = own["font-size"]
    if "font-size" in declared:
        value = declared["font-size"]
        word = _ident(value)
        size = (float(_KEYWORD_SIZES[word]) if word in _KEYWORD_SIZES
                else _length(value, parent_size, parent_size, parent_size))
        if size is not None:
            own["font-size"] = size
    size = own["font-size"]
    if "font-family" in declared:
        own["font-family"] = _family(declared["font-family"])
    if "line-height" in declared:
        value = declared["line-height"]
        number = [t for t in value if t.type == "number"]
        if _ident(value) == "normal":
            own["line-height"] = ("normal", 0.0)
        elif number and abs(float(number[0].value)) < 1000:
            own["line-height"] = ("factor", float(number[0].value))
        else:
            length = _length(value, size, percent_of=size)
            if length is not None:
                own["line-height"] = ("length", length)
    if "font-weight" in declared:
        word = _ident(declared["font-weight"])
        num = [t for t in declared["font-weight"] if t.type == "number"]
        own["font-weight"] = word in ("bold", "bolder") or bool(num and num[0].value >= 600)
    if "font-style" in declared:
        own["font-style"] = _ident(declared["font-style"]) in ("italic", "oblique")


def _compute_text(own: dict[str, Any], declared: dict[str, list[Any]]) -> None:
    """Colour, alignment, orphans and widows."""
    if "color" in declared and _ident(declared["color"]) not in ("inherit", "currentcolor"):
        own["color"] = _color(declared["color"])
    if "text-align" in declared:
        word = _ident(declared["text-align"])
        own["text-align"] = {"start": "left", "end": "right"}.get(word, word) or "left"
    for key in ("orphans", "widows"):
        if key in declared:
            num = [t for t in declared[key] if t.type == "number"]
            if num:
                own[key] = int(num[0].value)


def _sides(rtl: bool) -> tuple[str, str]:
    """The margins at the start and at the end of a line."""
    start = "margin-right" if rtl else "margin-left"
    end = "margin-left" if rtl else "margin-right"
    return start, end


def _box(c: dict[str, Any], rtl: bool, extra_left: float = 0.0, after: float | None = None,
         extra_right: float = 0.0) -> Box:
    """The :class:`Box` of an element's computed values ``c``."""
    start, end = _sides(rtl)
    align = c["text-align"]
    if rtl:  # a right-to-left paragraph's alignment is written from its start
        align = {"left": "right", "right": "left"}.get(align, align)
    kind, value = c["line-height"]
    line = {"factor": value * c["font-size"], "length": value}.get(kind, 0.0)
    return Box(
        font=c["font-family"], size=round(c["font-size"], 2), line=round(line, 2),
        bold=c["font-weight"], italic=c["font-style"], color=c["color"],
        before=round(c["margin-top"], 2),
        after=round(c["margin-bottom"] if after is None else after, 2),
        left=round(c[start] + extra_left, 2), right=round(c[end] + extra_right, 2),
        align=align,
        keep_with_next=c["break-after"] == "avoid",
        widow_control=c["orphans"] >= 2 or c["widows"] >= 2,
    )


def _styles(skeleton: _Skeleton, cascade: _Cascade, by_element: dict[int, Any],
            computed: dict[int, dict[str, Any]], rtl: bool
            ) -> tuple[list[tuple[str, Box]], set[str], set[str]]:
    """Every paragraph style's box, the class names whose lists are styled apart from a
    plain list (their items get the class's style), and those of them kept together
    (``break-inside: avoid``: each item kept with the next)."""
    start, end = _sides(rtl)
    quote = skeleton.quote
    styles: list[tuple[str, Box]] = []
    list_classes, kept = set(), set()
    plain_li = cascade.declared(by_element[id(skeleton.li)])
    for name, el, _list in skeleton.wanted:
        in_quote = el in quote
        extra = computed[id(quote)][start] if in_quote else 0.0
        extra_right = computed[id(quote)][end] if in_quote else 0.0
        styles.append((name, _box(computed[id(el)], rtl, extra, extra_right=extra_right)))
    for cls, (c_ol, c_li) in skeleton.class_lists.items():
        together = computed[id(c_ol)]["break-inside"] == "avoid"
        if cascade.declared(by_element[id(c_li)]) != plain_li or together:
            name = _class_style(cls)
            styles = [(n, b) for n, b in styles if n != name]
            box = _box(computed[id(c_li)], rtl)
            styles.append((name, replace(box, keep_with_next=True) if together else box))
            list_classes.add(name)
            if together:
                kept.add(name)
    return styles, list_classes, kept


def _page_size(page: dict[str, list[Any]]) -> tuple[float, float]:
    """``@page { size }`` in points (A4 when it does not say)."""
    width, height = 595.28, 841.89
    if "size" in page:
        parts = _values(page["size"])
        words = [_ident(p) for p in parts]
        lengths = [_length(p, 12.0) for p in parts]
        paper = next((PAPER[w] for w in words if w in PAPER), None)
        if paper:
            width, height = paper[0] * 72 / 25.4, paper[1] * 72 / 25.4
        elif lengths and all(x is not None for x in lengths):
            width = lengths[0] or width
            height = (lengths[1] if len(lengths) > 1 else lengths[0]) or height
        if "landscape" in words:
            width, height = max(width, height), min(width, height)
        elif "portrait" in words:
            width, height = min(width, height), max(width, height)
    return width, height


def _footer_box(cascade: _Cascade, html_c: dict[str, Any]) -> Box:
    """The ``@bottom-center`` box's font, size and colour (the page's, by default)."""
    footer_size = (_length(cascade.footer.get("font-size", []), html_c["font-size"])
                   if "font-size" in cascade.footer else None) or html_c["font-size"]
    footer_font = (_family(cascade.footer["font-family"]) if "font-family" in cascade.footer
                   else html_c["font-family"])
    return Box(font=footer_font, size=round(footer_size, 2),
               color=_color(cascade.footer.get("color", [])), align="center")


@lru_cache(maxsize=8)
def layout(css: str, lang: str = "") -> Layout:
    """The layout of a stylesheet (after WeasyPrint's defaults) for a letter in ``lang``:
    rules with ``:lang()`` or ``[dir=rtl]`` apply as they do to the letter's page."""
    import cssselect2

    from ..html import FURNITURE_CSS, RTL_LANGUAGES

    # the PDF's own defaults for the letterhead and the footer come before the stylesheet
    cascade = _Cascade([UA_CSS, FURNITURE_CSS, css])
    classes = [c for c in _Cascade([css]).classes if re.fullmatch(r"[A-Za-z_][\w-]*", c)]

    rtl = lang.replace("_", "-").split("-")[0].lower() in RTL_LANGUAGES
    skeleton = _skeleton(lang, rtl, classes)
    root = cssselect2.ElementWrapper.from_html_root(skeleton.html)
    by_element = {id(w.etree_element): w for w in root.iter_subtree()}
    computed: dict[int, dict[str, Any]] = {}
    _compute(skeleton.html, None, cascade, by_element, computed)
    styles, list_classes, kept = _styles(skeleton, cascade, by_element, computed, rtl)

    page = cascade.page
    width, height = _page_size(page)
    margins = [(_length(page.get(f"margin-{s}", []), 12.0, percent_of=width)
                if f"margin-{s}" in page else None) for s in _SIDES]
    top, right, bottom, left = (m if m is not None else 56.25 for m in margins)
    first = cascade.first_page.get("margin-top")
    first_top = _length(first, 12.0, percent_of=width) if first is not None else None
    first_top = round(first_top, 2) if first_top is not None else None
    html_c = computed[id(skeleton.html)]
    footer = _footer_box(cascade, html_c)
    ol_c = computed[id(skeleton.ol)]
    link = (computed[id(skeleton.link)]["color"],
            _underlined(cascade.declared(by_element[id(skeleton.link)])))
    return Layout(
        width=round(width, 2), height=round(height, 2), top=round(top, 2),
        right=round(right, 2), bottom=round(bottom, 2), left=round(left, 2),
        footer=footer, styles=tuple(styles),
        list_indent=round(ol_c["padding-right" if rtl else "padding-left"], 2),
        list_after=round(ol_c["margin-bottom"], 2),
        list_classes=frozenset(list_classes), kept_lists=frozenset(kept),
        first_top=first_top, link=link,
    )


def _underlined(declared: dict[str, list[Any]]) -> bool:
    """Whether ``text-decoration`` (or ``text-decoration-line``) underlines."""
    for key in ("text-decoration-line", "text-decoration"):
        if key in declared:
            return "underline" in {t.lower_value for t in declared[key] if t.type == "ident"}
    return False
