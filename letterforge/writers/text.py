"""Plain-text writer: the document tree as the text part of an e-mail.

Paragraphs are wrapped at 72 columns and separated by blank lines; list items keep
their numbers ("1.") or bullets ("-") with a hanging indent; a link is written
"text <url>" unless the text is the URL; a table is drawn with ``|`` and ``-``, its
columns aligned as the template asks (and wrapped to fit); struck text keeps its words
between ``~~`` (plain text cannot strike through, and dropping the marks would say the
opposite of the letter); a footnote is ``[1]`` in the text and numbered at the end,
under a line. Render rules are a table keyed by node type
(:data:`RULES`), one rule for each type of :data:`letterforge.parse.NODE_TYPES`:
a block rule returns blocks (each a list of lines), an inline rule returns text.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from markdown_it.tree import SyntaxTreeNode

from ..parse import image_alt, list_start

WIDTH = 72

Blocks = list[list[str]]
Rule = Callable[[SyntaxTreeNode, str], Any]


def inline(node: SyntaxTreeNode) -> str:
    text: str = RULES[node.type](node, "")
    return text


def _inline_children(node: SyntaxTreeNode, indent: str = "") -> str:
    return "".join(inline(c) for c in node.children)


def _link(node: SyntaxTreeNode, indent: str) -> str:
    text = _inline_children(node)
    href = str(node.attrs.get("href", ""))
    if not href or href == text or href.startswith("#"):
        return text
    return f"{text} <{href}>"


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    lines: list[str] = []
    for i, part in enumerate(text.split("\n")):
        wrapped = textwrap.wrap(
            part, WIDTH, initial_indent=first if i == 0 else rest, subsequent_indent=rest,
            break_long_words=False, break_on_hyphens=False,
        )
        lines.extend(wrapped or [(first if i == 0 else rest).rstrip()])
    return lines


def blocks(node: SyntaxTreeNode, indent: str = "") -> Blocks:
    """The blocks of a container's children."""
    out: Blocks = []
    for child in node.children:
        out.extend(RULES[child.type](child, indent))
    return out


def _paragraph(node: SyntaxTreeNode, indent: str) -> Blocks:
    text = inline(node.children[0]) if node.children else ""
    return [_wrap(text, indent, indent)]


def _list(node: SyntaxTreeNode, indent: str) -> Blocks:
    ordered = node.type == "ordered_list"
    start = list_start(node) if ordered else 1
    items: list[str] = []
    for i, item in enumerate(node.children):
        marker = f"{start + i}. " if ordered else "- "
        sub = blocks(item, indent + " " * len(marker))
        lines = [ln for block in sub for ln in block]
        if lines:
            lines[0] = indent + marker + lines[0][len(indent) + len(marker):]
        else:
            lines = [indent + marker.rstrip()]
        items.extend(lines)
    return [items]


def _list_item(node: SyntaxTreeNode, indent: str) -> Blocks:
    return blocks(node, indent)


def _blockquote(node: SyntaxTreeNode, indent: str) -> Blocks:
    return blocks(node, indent + "> ")


def _code_block(node: SyntaxTreeNode, indent: str) -> Blocks:
    return [[indent + ln for ln in node.content.rstrip("\n").split("\n")]]


def _hr(node: SyntaxTreeNode, indent: str) -> Blocks:
    return [[indent + "-" * 20]]


def _strike(node: SyntaxTreeNode, indent: str) -> str:
    return f"~~{_inline_children(node)}~~"


# ----- tables -----------------------------------------------------------------------


def _align(cell: SyntaxTreeNode) -> str:
    style = str(cell.attrs.get("style", ""))
    return style.rsplit(":", 1)[-1].strip() if "text-align" in style else "left"


def _cell_text(cell: SyntaxTreeNode) -> str:
    return " ".join(_inline_children(cell).split())


# Complexity over 20, kept: the column widths and alignments of a plain-text table, in one pass.
def _table(node: SyntaxTreeNode, indent: str) -> Blocks:
    """The table drawn with | between columns and a line of - under the header row,
    each column as wide as its widest cell; when that is wider than the page, the widest
    columns are narrowed (never below their longest word) and their cells wrapped."""
    rows = [row for part in node.children for row in part.children]
    header_rows = len(node.children[0].children) if node.children[0].type == "thead" else 0
    cells = [[_cell_text(c) for c in row.children] for row in rows]
    aligns = [_align(c) for c in rows[0].children]
    ncols = len(aligns)
    widths = [max(len(r[i]) for r in cells) for i in range(ncols)]
    floor = [max([len(w) for r in cells for w in r[i].split()] + [1]) for i in range(ncols)]
    room = WIDTH - len(indent) - 3 * (ncols - 1)
    while sum(widths) > room:
        widest = max(range(ncols), key=lambda i: widths[i] - floor[i])
        if widths[widest] <= floor[widest]:
            break  # words longer than the page: the line runs long, nothing is cut
        widths[widest] -= 1
    lines: list[str] = []
    for r, row in enumerate(cells):
        wrapped = [textwrap.wrap(text, widths[i], break_long_words=False) or [""]
                   for i, text in enumerate(row)]
        for k in range(max(len(w) for w in wrapped)):
            parts = []
            for i, w in enumerate(wrapped):
                piece = w[k] if k < len(w) else ""
                parts.append(piece.rjust(widths[i]) if aligns[i] == "right"
                             else piece.center(widths[i]) if aligns[i] == "center"
                             else piece.ljust(widths[i]))
            lines.append((indent + " | ".join(parts)).rstrip())
        if r == header_rows - 1:
            lines.append(indent + "-+-".join("-" * w for w in widths))
    return [lines]


# ----- footnotes --------------------------------------------------------------------


def _footnote_ref(node: SyntaxTreeNode, indent: str) -> str:
    return f"[{int(node.meta['id']) + 1}]"


def _footnote_block(node: SyntaxTreeNode, indent: str) -> Blocks:
    notes = [line for note in node.children for block in _footnote(note, indent)
             for line in block]
    return [[indent + "-" * 20], notes]


def _footnote(node: SyntaxTreeNode, indent: str) -> Blocks:
    mark = f"[{int(node.meta['id']) + 1}] "
    paragraphs = [p for p in node.children if p.type == "paragraph"]
    out: Blocks = []
    for i, p in enumerate(paragraphs):
        text = inline(p.children[0]) if p.children else ""
        first = indent + (mark if i == 0 else " " * len(mark))
        out.append(_wrap(text, first, indent + " " * len(mark)))
    return out


RULES: dict[str, Rule] = {
    "root": blocks,
    "paragraph": _paragraph,
    "heading": _paragraph,
    "ordered_list": _list,
    "bullet_list": _list,
    "list_item": _list_item,
    "blockquote": _blockquote,
    "code_block": _code_block,
    "fence": _code_block,
    "hr": _hr,
    "inline": _inline_children,
    "text": lambda n, _: n.content,
    "code_inline": lambda n, _: n.content,
    "softbreak": lambda n, _: " ",
    "hardbreak": lambda n, _: "\n",
    "em": _inline_children,
    "strong": _inline_children,
    "link": _link,
    "s": _strike,
    "table": _table,
    "thead": blocks,  # the table rule reads its rows itself
    "tbody": blocks,
    "tr": blocks,
    "th": _inline_children,
    "td": _inline_children,
    "footnote_ref": _footnote_ref,
    "footnote_block": _footnote_block,
    "footnote": _footnote,
    "footnote_anchor": lambda n, _: [],
    "image": lambda n, _: f"[Image: {image_alt(n)}]",
}


def render_text(tree: SyntaxTreeNode) -> str:
    return "\n\n".join("\n".join(block) for block in blocks(tree)) + "\n"
