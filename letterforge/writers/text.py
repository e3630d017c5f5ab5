"""Plain-text writer: the document tree as the text part of an e-mail.

Paragraphs are wrapped at 72 columns and separated by blank lines; list items keep
their numbers ("1.") or bullets ("-") with a hanging indent; a link is written
"text <url>" unless the text is the URL. Render rules are a table keyed by node type
(:data:`RULES`), one rule for each type of :data:`letterforge.document.NODE_TYPES`:
a block rule returns blocks (each a list of lines), an inline rule returns text.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from markdown_it.tree import SyntaxTreeNode

from ..document import image_alt

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
    start = int(node.attrs.get("start", 1) or 1) if ordered else 1
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
    "image": lambda n, _: f"[Image: {image_alt(n)}]",
}


def render_text(tree: SyntaxTreeNode) -> str:
    return "\n\n".join("\n".join(block) for block in blocks(tree)) + "\n"
