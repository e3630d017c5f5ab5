"""Plain-text writer: the document tree as the text part of an e-mail.

Paragraphs are wrapped at 72 columns and separated by blank lines; list items keep
their numbers ("1.") or bullets ("-") with a hanging indent; a link is written
"text <url>" unless the text is the URL. Render rules are a table keyed by node type,
as in the other writers; an unknown node type raises.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from markdown_it.tree import SyntaxTreeNode

from . import UnsupportedNode

WIDTH = 72

InlineRule = Callable[[SyntaxTreeNode], str]


def _line(node: SyntaxTreeNode) -> int | None:
    return node.map[0] + 1 if node.map else None


def _inline_children(node: SyntaxTreeNode) -> str:
    return "".join(inline(c) for c in node.children)


def _link(node: SyntaxTreeNode) -> str:
    text = _inline_children(node)
    href = str(node.attrs.get("href", ""))
    if not href or href == text or href.startswith("#"):
        return text
    return f"{text} <{href}>"


INLINE_RULES: dict[str, InlineRule] = {
    "text": lambda n: n.content,
    "code_inline": lambda n: n.content,
    "softbreak": lambda n: " ",
    "hardbreak": lambda n: "\n",
    "em": _inline_children,
    "strong": _inline_children,
    "link": _link,
    "inline": _inline_children,
}


def inline(node: SyntaxTreeNode) -> str:
    rule = INLINE_RULES.get(node.type)
    if rule is None:
        raise UnsupportedNode("text", node.type, _line(node))
    return rule(node)


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    lines: list[str] = []
    for i, part in enumerate(text.split("\n")):
        wrapped = textwrap.wrap(
            part, WIDTH, initial_indent=first if i == 0 else rest, subsequent_indent=rest,
            break_long_words=False, break_on_hyphens=False,
        )
        lines.extend(wrapped or [(first if i == 0 else rest).rstrip()])
    return lines


def _blocks(node: SyntaxTreeNode, indent: str = "") -> list[list[str]]:
    """A list of blocks, each a list of lines."""
    out: list[list[str]] = []
    for child in node.children:
        t = child.type
        if t in ("paragraph", "heading"):
            text = inline(child.children[0]) if child.children else ""
            out.append(_wrap(text, indent, indent))
        elif t in ("ordered_list", "bullet_list"):
            start = int(child.attrs.get("start", 1) or 1) if t == "ordered_list" else 1
            items: list[str] = []
            for i, item in enumerate(child.children):
                marker = f"{start + i}. " if t == "ordered_list" else "- "
                sub = _blocks(item, indent + " " * len(marker))
                lines = [ln for block in sub for ln in block]
                if lines:
                    lines[0] = indent + marker + lines[0][len(indent) + len(marker):]
                else:
                    lines = [indent + marker.rstrip()]
                items.extend(lines)
            out.append(items)
        elif t == "blockquote":
            out.extend(_blocks(child, indent + "> "))
        elif t in ("code_block", "fence"):
            out.append([indent + ln for ln in child.content.rstrip("\n").split("\n")])
        elif t == "hr":
            out.append([indent + "-" * 20])
        else:
            raise UnsupportedNode("text", t, _line(child))
    return out


def render_text(tree: SyntaxTreeNode) -> str:
    return "\n\n".join("\n".join(block) for block in _blocks(tree)) + "\n"
