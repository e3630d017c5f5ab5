"""HTML writer: the document tree as one HTML page. The PDF writer lays this page out
with WeasyPrint; the e-mail writer uses it as the HTML alternative.

Render rules are a table keyed by node type (:data:`RULES`), one rule for each type of
:data:`letterforge.parse.NODE_TYPES`.

Footnotes are written one of two ways (:func:`render_page`'s ``footnotes``): ``"float"``
for the PDF, where a note's text stands at its (first) reference in a
``<span class="lf-footnote">`` that the PDF writer's stylesheet floats to the foot of
the page (WeasyPrint's ``float: footnote``, which numbers it); ``"end"`` for the e-mail
and the preview: a superscript number at the reference, the numbered notes in a
``<section class="footnotes">`` at the end. A note referenced again shows its number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from html import escape
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from markdown_it.tree import SyntaxTreeNode

from ..parse import classes, image_alt, image_src

if TYPE_CHECKING:
    from ..images import Image

Rule = Callable[[SyntaxTreeNode], str]


def _attrs(node: SyntaxTreeNode, extra: dict[str, Any] | None = None,
           more_classes: tuple[str, ...] = ()) -> str:
    attrs: dict[str, Any] = {}
    cls = classes(node) + list(more_classes)
    if cls:
        attrs["class"] = " ".join(cls)
    if not node.is_root and node.attrs.get("id"):
        attrs["id"] = node.attrs["id"]
    attrs.update(extra or {})
    return "".join(f' {k}="{escape(str(v), quote=True)}"' for k, v in attrs.items())


def _children(node: SyntaxTreeNode) -> str:
    return "".join(render_node(child) for child in node.children)


def _paragraph(node: SyntaxTreeNode) -> str:
    if node.hidden:  # paragraph in a tight list item
        return _children(node)
    return f"<p{_attrs(node)}>{_children(node)}</p>\n"


def _heading(node: SyntaxTreeNode) -> str:
    return f"<{node.tag}{_attrs(node)}>{_children(node)}</{node.tag}>\n"


#: Class of an ordered list whose every item is one line of text (a tight item: one
#: hidden paragraph). The PDF writer sets its numbers inside the text's first line,
#: hung into the margin (:data:`HANGING_LISTS_CSS`), which WeasyPrint lays out much faster
#: than an outside marker; it needs no block inside the item.
TIGHT = "lf-tight"


def _is_tight(node: SyntaxTreeNode) -> bool:
    return all(
        item.type == "list_item"
        and all(child.type == "paragraph" and child.hidden for child in item.children)
        and len(item.children) <= 1
        for item in node.children
    )


def _number_class(number: int) -> tuple[str, ...]:
    """``lf-nN`` for an item whose number has N >= 2 digits: its hanging indent."""
    digits = len(str(number))
    return (f"lf-n{digits}",) if digits > 1 else ()


def _ordered_list(node: SyntaxTreeNode) -> str:
    start = node.attrs.get("start")
    extra = {"start": start} if start not in (None, 1) else {}
    if not _is_tight(node):
        return f"<ol{_attrs(node, extra)}>\n{_children(node)}</ol>\n"
    first = int(start) if isinstance(start, int | str) and str(start).isdigit() else 1
    items = "".join(_list_item(item, _number_class(first + i))
                    for i, item in enumerate(node.children))
    return f"<ol{_attrs(node, extra, (TIGHT,))}>\n{items}</ol>\n"


def _bullet_list(node: SyntaxTreeNode) -> str:
    return f"<ul{_attrs(node)}>\n{_children(node)}</ul>\n"


def _list_item(node: SyntaxTreeNode, more_classes: tuple[str, ...] = ()) -> str:
    return f"<li{_attrs(node, None, more_classes)}>{_children(node)}</li>\n"


def _blockquote(node: SyntaxTreeNode) -> str:
    return f"<blockquote{_attrs(node)}>\n{_children(node)}</blockquote>\n"


def _code_block(node: SyntaxTreeNode) -> str:
    return f"<pre{_attrs(node)}><code>{escape(node.content)}</code></pre>\n"


def _hr(node: SyntaxTreeNode) -> str:
    return f"<hr{_attrs(node)}>\n"


def _text(node: SyntaxTreeNode) -> str:
    return escape(node.content, quote=False)


def _softbreak(node: SyntaxTreeNode) -> str:
    return "\n"


def _hardbreak(node: SyntaxTreeNode) -> str:
    return "<br>\n"


def _em(node: SyntaxTreeNode) -> str:
    return f"<em>{_children(node)}</em>"


def _strong(node: SyntaxTreeNode) -> str:
    return f"<strong>{_children(node)}</strong>"


def _code_inline(node: SyntaxTreeNode) -> str:
    return f"<code>{escape(node.content)}</code>"


def _link(node: SyntaxTreeNode) -> str:
    href = str(node.attrs.get("href", ""))
    title = node.attrs.get("title")
    extra = f' title="{escape(str(title))}"' if title else ""
    return f'<a href="{escape(href, quote=True)}"{extra}>{_children(node)}</a>'


def _inline(node: SyntaxTreeNode) -> str:
    return _children(node)


def _s(node: SyntaxTreeNode) -> str:
    return f"<s>{_children(node)}</s>"


# ----- tables -----------------------------------------------------------------------


def column_weights(table: SyntaxTreeNode) -> list[int]:
    """How the text width is shared between a table's columns, in both formats: each
    column's share is its longest cell's length (at least twice its longest word), as a
    browser shares a full-width table. The PDF and the DOCX both set these widths, so
    their cells wrap alike."""
    from ..parse import plain_text

    rows = [row for part in table.children for row in part.children]
    ncols = len(rows[0].children) if rows else 1
    want = [0] * ncols
    for row in rows:
        for i, cell in enumerate(row.children[:ncols]):
            text = plain_text(cell)
            longest_word = max((len(w) for w in text.split()), default=1)
            want[i] = max(want[i], len(text), 2 * longest_word, 3)
    return want


def _table(node: SyntaxTreeNode) -> str:
    weights = column_weights(node)
    cols = "".join(f'<col style="width:{100 * w / sum(weights):.4f}%">' for w in weights)
    # a word wider than its column breaks (it would print over the next cell's words)
    return (f'<table style="table-layout:fixed;overflow-wrap:anywhere">\n'
            f'<colgroup>{cols}</colgroup>\n'
            f"{_children(node)}</table>\n")


def _table_part(node: SyntaxTreeNode) -> str:
    return f"<{node.type}>\n{_children(node)}</{node.type}>\n"


def _tr(node: SyntaxTreeNode) -> str:
    return f"<tr>{_children(node)}</tr>\n"


def _cell(node: SyntaxTreeNode) -> str:
    extra: dict[str, Any] = {"scope": "col"} if node.type == "th" else {}
    if node.attrs.get("style"):  # text-align:left|center|right, from the delimiter row
        extra["style"] = node.attrs["style"]
    return f"<{node.type}{_attrs(node, extra)}>{_children(node)}</{node.type}>"


# ----- footnotes --------------------------------------------------------------------


#: How this page writes footnotes ("float" or "end") and the notes by id.
_FOOTNOTES: ContextVar[tuple[str, dict[int, SyntaxTreeNode]]] = ContextVar(
    "lf_footnotes", default=("end", {}))


def footnotes_of(tree: SyntaxTreeNode) -> dict[int, SyntaxTreeNode]:
    """The footnote nodes of a letter by id (0 is the first referenced)."""
    return {int(note.meta["id"]): note for block in tree.children
            if block.type == "footnote_block" for note in block.children}


def note_number(node: SyntaxTreeNode) -> int:
    """The number a footnote reference (or note) shows: notes are numbered in the order
    of their first reference."""
    return int(node.meta["id"]) + 1


def note_inline(note: SyntaxTreeNode) -> str:
    """A note's text as inline HTML: its paragraphs joined by line breaks (the document
    stage allows only paragraphs in a note)."""
    return "<br>\n".join(_children(p) for p in note.children if p.type == "paragraph")


def _footnote_ref(node: SyntaxTreeNode) -> str:
    mode, notes = _FOOTNOTES.get()
    n = note_number(node)
    first = int(node.meta.get("subId", 0)) == 0
    if mode == "float":
        if first:
            return f'<span class="lf-footnote">{note_inline(notes[n - 1])}</span>'
        return f'<sup class="lf-footnote-again">{n}</sup>'
    anchor = f' id="fnref{n}"' if first else ""
    return f'<sup class="footnote-ref"><a href="#fn{n}"{anchor}>{n}</a></sup>'


def _footnote_block(node: SyntaxTreeNode) -> str:
    if _FOOTNOTES.get()[0] == "float":
        return ""  # each note was written at its reference
    return f'<section class="footnotes">\n<hr>\n<ol>\n{_children(node)}</ol>\n</section>\n'


def _footnote(node: SyntaxTreeNode) -> str:
    n = note_number(node)
    return f'<li id="fn{n}">{note_inline(node)}</li>\n'


def _nothing(node: SyntaxTreeNode) -> str:
    return ""
#: The images of the letter being rendered (set by :func:`render_page`): their print size.
_IMAGES: ContextVar[Mapping[str, Image]] = ContextVar("letterforge_images",
                                                         default=MappingProxyType({}))


def _img(src: str, alt: str, css_class: str = "") -> str:
    """<img> with its alt text and its print size as width and height (CSS pixels, a
    presentational hint the stylesheet can override)."""
    image = _IMAGES.get().get(src)
    size = ""
    if image is not None:
        size = f' width="{image.width / 0.75:.2f}" height="{image.height / 0.75:.2f}"'
    cls = f' class="{escape(css_class)}"' if css_class else ""
    return f'<img{cls} src="{escape(src, quote=True)}" alt="{escape(alt, quote=True)}"{size}>'


def _image(node: SyntaxTreeNode) -> str:
    return _img(image_src(node), image_alt(node))


RULES: dict[str, Rule] = {
    "root": _children,
    "paragraph": _paragraph,
    "heading": _heading,
    "ordered_list": _ordered_list,
    "bullet_list": _bullet_list,
    "list_item": _list_item,
    "blockquote": _blockquote,
    "code_block": _code_block,
    "fence": _code_block,
    "hr": _hr,
    "inline": _inline,
    "text": _text,
    "softbreak": _softbreak,
    "hardbreak": _hardbreak,
    "em": _em,
    "strong": _strong,
    "code_inline": _code_inline,
    "link": _link,
    "s": _s,
    "table": _table,
    "thead": _table_part,
    "tbody": _table_part,
    "tr": _tr,
    "th": _cell,
    "td": _cell,
    "footnote_ref": _footnote_ref,
    "footnote_block": _footnote_block,
    "footnote": _footnote,
    "footnote_anchor": _nothing,  # a back link: the notes are short, the letter is printed
    "image": _image,
}


def render_node(node: SyntaxTreeNode) -> str:
    return RULES[node.type](node)


RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "sd", "ug", "dv"})


def direction(lang: str) -> str:
    """' dir="rtl"' for a language written right to left, else nothing."""
    base = lang.replace("_", "-").split("-")[0].lower()
    return ' dir="rtl"' if base in RTL_LANGUAGES else ""


def _text_of(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _lines(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [t for t in (_text_of(v) for v in value) if t]
    return [t for t in (_text_of(v) for v in str(value or "").split("\n")) if t]


#: The running footer's page numbers when the front matter says nothing else.
DEFAULT_PAGES = "page {page} of {pages}"


def letterhead_of(meta: Mapping[str, Any]) -> dict[str, Any] | None:
    """The letterhead (logo, logo_alt, name, address lines, contact lines) the front
    matter's ``letterhead`` gives; None when it has none."""
    head = meta.get("letterhead")
    if not isinstance(head, Mapping):
        return None
    return {"logo": str(head.get("logo") or "") or None,
            "logo_alt": _text_of(head.get("logo_alt")),
            "name": _text_of(head.get("name")),
            "address": _lines(head.get("address")),
            "contact": _lines(head.get("contact"))}


def footer_of(meta: Mapping[str, Any]) -> tuple[str, str] | None:
    """(organisation, page-number pattern) of the running footer: the front matter's
    ``footer`` (one line, or ``text`` and ``pages``), else the letterhead's name; None
    when the letter has neither (its footer is the stylesheet's own)."""
    footer = meta.get("footer")
    head = letterhead_of(meta)
    if footer is None and head is None:
        return None
    text = head["name"] if head else ""
    pages = DEFAULT_PAGES
    if isinstance(footer, Mapping):
        text = _text_of(footer.get("text")) if footer.get("text") is not None else text
        pages = str(footer.get("pages") or DEFAULT_PAGES)
    elif footer is not None:
        text = _text_of(footer)
    return text, pages


def page_numbers(pattern: str, page: str, pages: str) -> list[str]:
    """The pattern ("page {page} of {pages}") split around its two numbers:
    text, page, text, pages, text (escaped text; the numbers as given)."""
    out: list[str] = []
    for piece in re.split(r"(\{pages?\})", pattern):
        out.append(page if piece == "{page}" else pages if piece == "{pages}"
                   else escape(piece, quote=False))
    return out


def furniture(meta: Mapping[str, Any]) -> str:
    """The letterhead and the running footer, as HTML the print stylesheet places in the
    page margins (running elements, :data:`FURNITURE_CSS`): empty when the front matter
    has neither."""
    out = ""
    head = letterhead_of(meta)
    if head is not None:
        parts = []
        if head["logo"]:
            parts.append(_img(head["logo"], head["logo_alt"], "letterhead-logo"))
        if head["name"]:
            parts.append(f'<p class="letterhead-name">{escape(head["name"])}</p>')
        for key in ("address", "contact"):
            if head[key]:
                lines = "<br>".join(escape(line) for line in head[key])
                parts.append(f'<p class="letterhead-{key}">{lines}</p>')
        out += '<header class="letterhead">\n' + "\n".join(parts) + "\n</header>\n"
    footer = footer_of(meta)
    if footer is not None:
        text, pattern = footer
        numbers = "".join(page_numbers(pattern, '<span class="page-number"></span>',
                                       '<span class="page-count"></span>'))
        org = (f'<span class="page-footer-text">{escape(text)}</span>'
               '<span class="page-footer-separator"> · </span>') if text else ""
        out += (f'<footer class="page-footer">{org}'
                f'<span class="page-footer-pages">{numbers}</span></footer>\n')
    return out


#: The page's print stylesheets, laid out by the PDF writer around the template's own.
#:
#: Hanging list numbers. WeasyPrint lays out an outside ``::marker`` as an absolutely
#: positioned box with a shrink-to-fit width, which cost about a third of the layout
#: time of a letter with 58 numbered items. For a tight ordered list (:data:`TIGHT`:
#: each item one line of text) the numbers are set ``inside`` the first line and hung
#: into the margin by a negative ``text-indent`` of the number's width, so they stand
#: where outside markers stood: in the fonts letters use (Liberation Serif and Sans,
#: DejaVu, Times, Arial metrics) a digit is 1ch and ". " is 1ch too, so "N. " with d
#: digits is (d + 1)ch. An item whose number has d >= 2 digits is marked ``lf-n<d>``.
#: The number is set without kerning: the text stays exactly in place. The PDF tags
#: such an item ``LI > Lbl, LBody`` (writers/pdf/conformance.py).
HANGING_LISTS_CSS = (
    "ol.lf-tight > li { list-style-position: inside; text-indent: -2ch; }\n"
    "ol.lf-tight > li::marker { font-kerning: none; }\n"
    + "".join(f"ol.lf-tight > li.lf-n{d} {{ text-indent: -{d + 1}ch; }}\n"
              for d in range(2, 11))
)

#: What makes a footnote a footnote, whatever the letter's stylesheet says: each note's
#: text stands at its reference in a ``span.lf-footnote``, floated to the foot of its
#: page; WeasyPrint numbers the notes (``counter(footnote)``), and a note referenced
#: again shows the same number. Its look is the stylesheet's (templates/letter.css).
FOOTNOTES_CSS = (
    ".lf-footnote { float: footnote; }\n"
    ".lf-footnote-again { vertical-align: super; }\n"
)

#: The letterhead, the running footer and images, laid out when a letter has them
#: (:func:`furniture`). FURNITURE_CSS comes before the template's stylesheet, so
#: ``letter.css`` restyles any of it; the placement of the running elements in the
#: margin boxes (:data:`PLACEMENT_CSS`) comes after it. The DOCX takes its furniture's
#: defaults from the same rules (writers/docx/stylesheet.py).
FURNITURE_CSS = """
img { max-width: 100%; height: auto; }
p.signature-image { margin: 0 0 2pt 0; break-after: avoid; }
p.signature-image img { max-height: 25mm; width: auto; }
header.letterhead { position: running(letterhead); font-size: 9pt; line-height: 1.3; }
header.letterhead p { margin: 0 0 2pt 0; }
header.letterhead .letterhead-name { font-size: 12pt; font-weight: bold; margin-top: 3pt; }
img.letterhead-logo { max-height: 18mm; width: auto; display: block; }
footer.page-footer { position: running(page-footer); font-size: 9pt; color: #555; }
.page-number::before { content: counter(page); }
.page-count::before { content: counter(pages); }
@page :first { margin-top: 55mm; @top-left { vertical-align: bottom; padding-bottom: 6mm; } }
"""
PLACEMENT_CSS = {
    "letterhead": "@page :first { @top-left { content: element(letterhead); } }\n",
    "footer": "@page { @bottom-center { content: element(page-footer); } }\n",
}


def render_page(tree: SyntaxTreeNode, meta: Mapping[str, Any],
                stylesheet: str | None = None, footnotes: str = "end",
                images: Mapping[str, Image] | None = None) -> str:
    """A complete HTML page: language, title and metadata in the head, the letter in the
    body (after the letterhead and the running footer, when the front matter has them);
    footnotes at the end, or ``"float"``: at their references, for the PDF."""
    lang = escape(str(meta.get("lang", "en")))
    head = [
        '<meta charset="utf-8">',
        f"<title>{escape(str(meta.get('title', '')))}</title>",
    ]
    if meta.get("author"):
        head.append(f'<meta name="author" content="{escape(str(meta["author"]))}">')
    if meta.get("subject"):
        head.append(f'<meta name="description" content="{escape(str(meta["subject"]))}">')
    for name in ("dcterms.created", "dcterms.modified"):
        if meta.get(name):
            head.append(f'<meta name="{name}" content="{escape(str(meta[name]))}">')
    head.append('<meta name="generator" content="letterforge">')
    if stylesheet:
        head.append(f"<style>\n{stylesheet}\n</style>")
    notes_token = _FOOTNOTES.set((footnotes, footnotes_of(tree)))
    token = _IMAGES.set(images or {})
    try:
        body = render_node(tree)
        extra = furniture(meta)
    finally:
        _IMAGES.reset(token)
        _FOOTNOTES.reset(notes_token)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"{direction(lang)}>\n<head>\n'
        + "\n".join(head)
        + f"\n</head>\n<body>\n{extra}<main>\n{body}</main>\n</body>\n</html>\n"
    )
