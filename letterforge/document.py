"""Parse: merged Markdown -> one document tree that every writer walks.

The parser is CommonMark with raw HTML switched off (a ``<`` in the text is text) and
block attributes: a line ``{.date}`` before a paragraph gives it the class ``date``,
which the DOCX writer maps to the paragraph style "Date" and the PDF's stylesheet to
``.date``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.attrs import attrs_block_plugin

from .models import Candidate, Letter


@dataclass(frozen=True)
class Document:
    tree: SyntaxTreeNode
    meta: Mapping[str, Any]
    candidate: Candidate


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "typographer": False}).use(
        attrs_block_plugin
    )


def parse(letter: Letter) -> Document:
    tokens = parser().parse(letter.markdown)
    return Document(tree=SyntaxTreeNode(tokens), meta=letter.meta, candidate=letter.candidate)


def walk(node: SyntaxTreeNode) -> Iterator[SyntaxTreeNode]:
    yield node
    for child in node.children:
        yield from walk(child)


def classes(node: SyntaxTreeNode) -> list[str]:
    if node.is_root:
        return []
    value = node.attrs.get("class", "")
    return str(value).split() if value else []


def plain_text(node: SyntaxTreeNode) -> str:
    """The text of a subtree, breaks as spaces: for checks and e-mail previews."""
    parts: list[str] = []
    for n in walk(node):
        if n.type in ("text", "code_inline"):
            parts.append(n.content)
        elif n.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)
