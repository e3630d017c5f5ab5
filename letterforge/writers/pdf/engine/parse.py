"""The ``parse`` speed override: a letter's page parsed once per skeleton (see the table
in ``engine/__init__.py``).

WeasyPrint parses each letter's HTML with tinyhtml5, a pure-Python HTML5 parser: 14-18
ms a letter, for pages that differ from one letter to the next in their words only.
How an HTML5 parser builds the tree depends on the tags and on whether a run of text
is white space or not (and on a few characters: NUL, CR, '&'), never on which words
the text holds. So the page is parsed once per *skeleton*: the page with every run
of text that holds more than white space reduced to its white space around a marker
(``\ue000N\ue001``), and the values of the attributes that hold words (``content``,
``alt``, ``title``, ``href``, ``src``) replaced by markers. Each letter gets a copy of
its skeleton's tree with the markers replaced by its own words, decoded as the parser
decodes them. Anything outside what letterforge's HTML writer produces -- another
character reference than the five ``html.escape`` writes, a control character, a CR,
the marker characters, a tag that is not a plain start or end tag with double-quoted
attributes, an element whose content the parser reads differently (script, style,
textarea, SVG...) -- and the page goes to tinyhtml5 whole, as before.
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
from collections import OrderedDict
from html import unescape
from typing import Any

from . import patch

_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_WORD_ATTRIBUTES = frozenset(("content", "alt", "title", "href", "src"))
_HTML_SPACE = " \t\n\f"
_PIECES = re.compile(r"(<[^<>]*>)")
_START = re.compile(r'<([a-zA-Z][a-zA-Z0-9]*)((?:[ \t\n\f]+[a-zA-Z][-a-zA-Z0-9:._]*'
                    r'(?:="[^"]*")?)*)[ \t\n\f]*>\Z')
_ATTRIBUTE = re.compile(r'([a-zA-Z][-a-zA-Z0-9:._]*)(?:="([^"]*)")?')
_END = re.compile(r"</([a-zA-Z][a-zA-Z0-9]*)[ \t\n\f]*>\Z")
_SPECIAL_CONTENT = frozenset((
    "script", "style", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript",
    "plaintext", "svg", "math", "template", "select", "frameset", "frame", "object",
    "image", "isindex", "form"))
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\r\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000\ue001"
                          "\ufdd0-\ufdef\ufffe\uffff]|&(?!(?:amp|lt|gt|quot|#x27);)")
_MARKED = re.compile("\ue000([0-9]+)\ue001")
MAX_SKELETONS = 16
_original_parse: Any = None
_skeletons: OrderedDict[str, Any] = OrderedDict()


# Complexity over 20, kept: a tokenizer: one case per kind of piece an HTML page has.
def _skeleton(page: str) -> tuple[str, list[str]] | None:
    """The page's skeleton and its words in marker order; None for a page this does
    not take (see above)."""
    words: list[str] = []
    out: list[str] = []
    pieces = _PIECES.split(page)
    in_title = False  # <title> holds text up to </title>, tags included (RCDATA)
    for i, piece in enumerate(pieces):
        if i % 2 == 1 and in_title:
            end = _END.match(piece)
            if end is None or end[1].lower() != "title":
                return None
            in_title = False
        if i % 2 == 0:  # text
            if not piece:
                continue
            if "<" in piece or ">" in piece or _UNSAFE_TEXT.search(piece):
                return None
            core = piece.strip(_HTML_SPACE)
            if not core:
                out.append(piece)
                continue
            start = len(piece) - len(piece.lstrip(_HTML_SPACE))
            out.append(f"{piece[:start]}{_MARK_OPEN}{len(words)}{_MARK_CLOSE}"
                       f"{piece[start + len(core):]}")
            words.append(unescape(core))
            continue
        if i == 1 and piece.lower() == "<!doctype html>":
            out.append(piece)
            continue
        end = _END.match(piece)
        if end is not None:
            if end[1].lower() in _SPECIAL_CONTENT:
                return None
            out.append(piece)
            continue
        start_tag = _START.match(piece)
        if start_tag is None or start_tag[1].lower() in _SPECIAL_CONTENT:
            return None
        tag = [f"<{start_tag[1]}"]
        for attribute in _ATTRIBUTE.finditer(start_tag[2]):
            name, value = attribute[1], attribute[2]
            if value is None:
                tag.append(f" {name}")
                continue
            if _UNSAFE_TEXT.search(value):
                return None
            if name.lower() in _WORD_ATTRIBUTES and value:
                tag.append(f' {name}="{_MARK_OPEN}{len(words)}{_MARK_CLOSE}"')
                words.append(unescape(value))
            else:
                tag.append(f' {name}="{value}"')
        tag.append(">")
        out.append("".join(tag))
        in_title = start_tag[1].lower() == "title"
    if in_title:
        return None
    return "".join(out), words


def _fill(tree: Any, words: list[str]) -> Any:
    def put(text: str) -> str:
        return _MARKED.sub(lambda m: words[int(m[1])], text)

    for element in tree.iter():
        if element.text and _MARK_OPEN in element.text:
            element.text = put(element.text)
        if element.tail and _MARK_OPEN in element.tail:
            element.tail = put(element.tail)
        for name, value in element.attrib.items():
            if _MARK_OPEN in value:
                element.attrib[name] = put(value)
    return tree


def _parse(document: Any, namespace_html_elements: bool = True, **kwargs: Any) -> Any:
    if (namespace_html_elements or kwargs
            or not isinstance(document, (str, io.StringIO))):
        return _original_parse(document, namespace_html_elements, **kwargs)
    page = document if isinstance(document, str) else document.read()
    found = _skeleton(page)
    if found is None:
        return _original_parse(page, namespace_html_elements)
    skeleton, words = found
    tree = _skeletons.get(skeleton)
    if tree is None:
        tree = _original_parse(skeleton, namespace_html_elements)
        _skeletons[skeleton] = tree
        while len(_skeletons) > MAX_SKELETONS:
            _skeletons.popitem(last=False)
    else:
        with contextlib.suppress(KeyError):  # another thread's page may have pushed it out
            _skeletons.move_to_end(skeleton)
    return _fill(copy.deepcopy(tree), words)


def install(name: str) -> None:
    import tinyhtml5

    global _original_parse
    _original_parse = patch("parse", tinyhtml5, "parse", _parse)
