"""Parse: merged Markdown -> one document tree that every writer walks, parsed once.

The parser is CommonMark with block attributes: a line ``{.date}`` before a paragraph
gives it the class ``date``, which the DOCX writer maps to the paragraph style "Date" and
the PDF's stylesheet to ``.date``; plus GFM tables and strikethrough (``~~x~~``) and
footnotes (``[^1]`` with a line ``[^1]: text``, or inline ``^[text]``).

Constructs no writer renders are parsed too, so that they are refused with their line
instead of printing as raw markup: raw HTML (``<div>``, ``<br>``, ``<!-- -->``: the
parser reads HTML, and an ``html_block``/``html_inline`` node is an error; a ``<`` that
starts no tag, as in "a < b", stays text, and values from the data are escaped), math
(``$x$``, ``$$...$$``) and definition lists. Markup that CommonMark would print as its
characters is refused as well (:func:`_literal_markup`): a footnote reference without a
definition, a definition no reference uses (markdown-it drops it silently), a line of
``|`` cells that is not a table (its delimiter row is missing or wrong), a table row with
more cells than its header (GFM drops the extra cells silently), a table row or heading
that a value's line break splits in two (:func:`_row_problem`).

:data:`NODE_TYPES` is the one set of node types letterforge renders; every writer has a
rule for each of them (a test holds them to it). A merged letter with any other node
type, or nested deeper than :data:`MAX_NESTING`, is an error naming the template's line:
content is never dropped or printed as raw markup.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.attrs import attrs_block_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin

from .errors import Problem, RenderError, display_path
from .models import Candidate, Letter, Template

BLOCK_TYPES = frozenset({
    "root", "paragraph", "heading", "ordered_list", "bullet_list", "list_item",
    "blockquote", "code_block", "fence", "hr",
    # GFM tables: table > thead/tbody > tr > th/td (with style="text-align:...")
    "table", "thead", "tbody", "tr", "th", "td",
    # footnotes: footnote_block (at the end) > footnote > paragraph..., footnote_anchor
    "footnote_block", "footnote", "footnote_anchor",
})
INLINE_TYPES = frozenset({
    "inline", "text", "softbreak", "hardbreak", "em", "strong", "code_inline", "link",
    "s", "footnote_ref", "image",
})
#: Every node type a letter may contain; each writer has a rule for each.
NODE_TYPES = BLOCK_TYPES | INLINE_TYPES

#: Lists and block quotes nested deeper than this are refused (markdown-it stops parsing
#: at its own limit and would silently drop the rest of the letter).
MAX_NESTING = 8
_CONTAINERS = frozenset({"ordered_list", "bullet_list", "blockquote"})

NODE_NAMES = {
    "image": "an image", "html_block": "raw HTML", "html_inline": "raw HTML",
    "math_inline": "math ($...$)", "math_block": "math ($$...$$)",
    "math_block_label": "math ($$...$$)", "dl": "a definition list",
    "fence": "a code block", "code_block": "a code block", "bullet_list": "a list",
    "ordered_list": "a numbered list", "blockquote": "a quote", "table": "a table",
    "heading": "a heading", "hr": "a line (---)",
}

#: What to do instead, for a construct that is refused.
NODE_HINTS = {
    "html_block": "write the text in Markdown (a line break is a backslash at the end "
                  "of the line); write \\< for a < that starts a tag",
    "html_inline": "write the text in Markdown (a line break is a backslash at the end "
                   "of the line); write \\< for a < that starts a tag",
    "math_inline": "write it as text; write \\$ for a dollar sign",
    "math_block": "write it as text; write \\$ for a dollar sign",
    "math_block_label": "write it as text; write \\$ for a dollar sign",
    "dl": "write it as a list or as paragraphs; write \\: for a colon that starts a line",
}


@dataclass(frozen=True)
class EmailDocument:
    tree: SyntaxTreeNode
    headers: Mapping[str, Any]
    attach_docx: bool


@dataclass(frozen=True)
class Document:
    """A parsed letter: the tree of the letter, its metadata, the parsed e-mail."""

    tree: SyntaxTreeNode
    meta: Mapping[str, Any]
    candidate: Candidate
    email: EmailDocument | None = None


#: Quotation marks as each language writes them (double open, double close, single
#: open, single close); French puts a narrow no-break space inside its guillemets.
QUOTES: dict[str, tuple[str, str, str, str]] = {
    "en": ("\u201c", "\u201d", "\u2018", "\u2019"),
    "fr": ("\u00ab\u202f", "\u202f\u00bb", "\u201c", "\u201d"),
    "es": ("\u00ab", "\u00bb", "\u201c", "\u201d"),
    "de": ("\u201e", "\u201c", "\u201a", "\u2018"),
    "ru": ("\u00ab", "\u00bb", "\u201e", "\u201c"),
    "ar": ("\u00ab", "\u00bb", "\u2039", "\u203a"),
    "zh": ("\u201c", "\u201d", "\u2018", "\u2019"),
    "it": ("\u00ab", "\u00bb", "\u201c", "\u201d"),
    "pt": ("\u00ab", "\u00bb", "\u201c", "\u201d"),
}


def _dashes(state: Any) -> None:
    """-- is an en dash and --- an em dash, in the template's own text. Values from the
    data are escaped, so they reach this rule as other tokens and stay as written."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        for token in block.children:
            if token.type == "text" and "--" in token.content:
                token.content = token.content.replace("---", "\u2014").replace("--", "\u2013")


#: A footnote reference typed in the template's own text (values from the data are
#: escaped: their brackets reach the check below as separate tokens).
_FOOTNOTE_LIKE = re.compile(r"\[\^[^\]\n]+\]")
#: ``[text](target)`` left as text: markdown-it refuses the target (its validateLink).
_LINK_LIKE = re.compile(r"\[[^\]\n]*\]\([^)\n]*\)")
#: ``~text~``: GFM's single-tilde strikethrough, which CommonMark prints as typed.
_SINGLE_TILDES = re.compile(r"(?<![~\w])~(?=[^\s~])[^~\n]*?(?<=[^\s~])~(?![~\w])")
#: Three or more unescaped tildes in a line: markdown-it pairs some and drops them.
_TILDE_RUN = re.compile(r"(?<!\\)~{3,}")
#: A task list item's box: ``[ ]``, ``[x]`` at the start of an item.
_TASK = re.compile(r"\[[ xX]\](?:\s|$)")
#: A line that starts and ends with an unescaped ``|``: a table row.
_TABLE_ROW = re.compile(r"^[ \t]*\|.*(?<!\\)\|[ \t]*$")

#: The key in the parser's env under which :func:`_literal_markup` leaves its findings:
#: a list of (0-based line, message).
LITERAL = "letterforge_literal_markup"


class _Literal:
    """The walk of :func:`_literal_markup`: what it has seen so far."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.tokens = state.tokens
        self.found: list[tuple[int | None, str]] = state.env.setdefault(LITERAL, [])
        self.refs = state.env.get("footnotes", {}).get("refs", {})
        self.source = state.src.split("\n")
        self.line: int | None = None
        self.in_definition = 0
        self.defined: set[str] = set()
        self.used: set[str] = set()
        self.columns = 0

    def say(self, line: int | None, message: str) -> None:
        self.found.append((line, message))

    def next_line(self, i: int) -> int | None:
        return next((t.map[0] for t in self.tokens[i:] if t.map), self.line)

    def rows(self, i: int, token: Any) -> None:
        """A table's rows and a heading's line (see :func:`_row_problem`)."""
        if token.type == "table_open":
            self.columns = 0
            for t in self.tokens[i:]:
                if t.type == "thead_close":
                    break
                self.columns += t.type == "th_open"
        if token.map and (token.type == "tr_open" or token.type == "heading_open"
                          and token.markup.startswith("#")):
            at = token.map[0]
            text = self.source[at] if at < len(self.source) else ""
            problem = _row_problem(text, self.columns if token.type == "tr_open" else 0)
            if problem:
                self.say(at, problem)

    def definition(self, i: int, token: Any) -> None:
        """A footnote's definition: defined twice, empty, or never used."""
        self.in_definition += 1
        label = token.meta.get("label", "")
        at = self.next_line(i)
        if label in self.defined:
            self.say(at, f"the footnote [^{label}] is defined twice, and one definition "
                         "would be dropped: give each note a label of its own, or remove one")
        self.defined.add(label)
        end = next((j for j in range(i, len(self.tokens))
                    if self.tokens[j].type == "footnote_reference_close"), len(self.tokens))
        if not any(t.type == "inline" and t.content.strip() for t in self.tokens[i + 1:end]):
            self.say(at, f"the footnote [^{label}] is empty: write its text after "
                         f"'[^{label}]: '")
        if self.refs.get(":" + label, -1) == -1:
            self.say(at, f"the footnote [^{label}] is defined here but never used: add "
                         f"[^{label}] where the note belongs, or remove the definition")

    def text(self, child: Any) -> None:
        """A run of text that holds what looks like a link or a footnote reference."""
        if _LINK_LIKE.search(child.content):
            self.say(self.line, "this looks like a link but is not one, and would print as "
                                "typed: its target is not an address a letter may link to "
                                "(javascript:, file:, data: and vbscript: are refused; write "
                                "a space as %20); link to an https:// address, or write \\[ "
                                "to print the brackets")
        if _SINGLE_TILDES.search(child.content):
            self.say(self.line, "~text~ strikes text through on GitHub but not in a letter, "
                                "where it would print its tildes: write ~~text~~ to strike "
                                "it through, or \\~ for a tilde")
        ref = _FOOTNOTE_LIKE.search(child.content)
        if ref and re.search(r"\s", ref.group()):
            dashed = re.sub(r"\s+", "-", ref.group())
            self.say(self.line, f"the footnote label {ref.group()} has a space, which a "
                                f"footnote label may not have: write it without, e.g. "
                                f"{dashed}")
        elif ref:
            self.say(self.line, f"the footnote {ref.group()} has no definition: add a line "
                                f"'{ref.group()}: the note's text' below the paragraph, or "
                                "write \\[ to print the brackets")

    def inline(self, token: Any, first_in_item: bool = False) -> None:
        if first_in_item and _TASK.match(token.content):
            self.say(self.line, "a task list item ([ ] or [x]) is not supported in a letter, "
                                "where its box would print as brackets: write the item as "
                                "text, or \\[x] to print the brackets")
        if _TILDE_RUN.search(token.content):
            self.say(self.line, "a run of three or more tildes (~~~) inside a line would "
                                "lose some of them: write ~~text~~ for struck-through text, "
                                "or \\~ for each tilde to print")
        for child in token.children or ():
            if child.type == "footnote_ref" and self.in_definition:
                self.say(self.line, "a footnote inside a footnote is not supported: write "
                                    "the note's text in the footnote itself")
            if child.type == "text":
                self.text(child)
        self.used.update(str(c.attrs.get("href") or c.attrs.get("src") or "")
                         for c in token.children or () if c.type in ("link_open", "image"))
        rows = [n for n, row in enumerate(token.content.split("\n")) if _TABLE_ROW.match(row)]
        if rows:
            at = token.map[0] + rows[0] if token.map else self.line
            self.say(at, "this looks like a table row but is not part of a table: a table "
                         "needs a header row, then a delimiter row such as | --- | :---: | "
                         "---: | with as many cells; write \\| for a | that is text")

    def references(self) -> None:
        """Link definitions no text uses, and footnote labels with a space."""
        for label, ref in self.state.env.get("references", {}).items():
            at = (ref.get("map") or [None])[0]
            raw = (self.source[at].strip().split("]:")[0] + "]" if at is not None
                   else f"[{label}]")
            if label.startswith("^"):
                dashed = re.sub(r"\s+", "-", raw)
                self.say(at, f"the footnote label {raw} has a space, which a footnote label "
                             f"may not have: write it without, e.g. {dashed}")
            elif ref.get("href") not in self.used:
                self.say(at, f"this line is a link definition ({raw}: ...) that no text "
                             "uses: it would not print; write \\[ at its start to print "
                             f"it, or link to it with [text]{raw}")


def _literal_markup(state: Any) -> None:
    """Find markup CommonMark would print as its characters, or drop: runs after the
    inline parse (escapes are still tokens of their own) and before footnote_tail (which
    drops the definitions no reference uses)."""
    walk = _Literal(state)
    for i, token in enumerate(state.tokens):
        if token.map:
            walk.line = token.map[0]
        walk.rows(i, token)
        if token.type == "footnote_reference_open":
            walk.definition(i, token)
        elif token.type == "footnote_reference_close":
            walk.in_definition -= 1
        if token.type == "inline":
            walk.inline(token, i >= 2 and state.tokens[i - 2].type == "list_item_open")
    walk.references()


def _row_problem(text: str, columns: int) -> str | None:
    """What is wrong with a table row's (``columns``: the header's cells) or a heading's
    line: cells past the header's, which the table drops silently; a value with a line
    break (merged as a backslash at the end of the line), which breaks the row or the
    heading in two and prints the backslash."""
    from markdown_it.rules_block.table import escapedSplit

    stripped = text.rstrip()
    if (len(stripped) - len(stripped.rstrip("\\"))) % 2:  # an odd number: not "\\\\"
        what = "table row" if columns else "heading"
        return (f"a line break in this {what} would split it in two and print a "
                "backslash: a value from the data holds a line break (correct it in the "
                f"data), or write the {what} on one line")
    if columns:
        cells = escapedSplit(re.sub(r"^[ \t]*(?:>[ \t]?)*", "", text).strip())
        if cells and cells[0] == "":
            cells.pop(0)
        if cells and cells[-1] == "":
            cells.pop()
        if len(cells) > columns:
            dropped = " | ".join(c.strip() for c in cells[columns:])[:60]
            return (f"this table row has {len(cells)} cells but its header has {columns}: "
                    f"the cells past the first {columns} ({dropped!r}) would be dropped; add "
                    "header cells, remove the extra cells, or write \\| for a | that is "
                    "text")
    return None


@lru_cache(maxsize=16)
def parser(lang: str = "") -> MarkdownIt:
    """The parser for a letter in ``lang``: CommonMark, block attributes, tables,
    strikethrough, footnotes, and the language's typography (curly quotes and
    apostrophes, dashes). Raw HTML, math and definition lists are parsed only to be
    refused. Without a language: no typography (the e-mail's plain-text source is parsed
    the same way)."""
    base = lang.replace("_", "-").split("-")[0].lower()
    if not lang:
        md = MarkdownIt("commonmark", {"html": True, "typographer": False})
    else:
        md = MarkdownIt("commonmark", {"html": True, "typographer": True,
                                       "quotes": list(QUOTES.get(base, QUOTES["en"]))})
        md.enable(["smartquotes"])
    md.enable(["table", "strikethrough"]).use(attrs_block_plugin).use(footnote_plugin)
    # A $ is math only as $x$ (no space inside, no digit after): "$5 and $10" is text.
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False).use(deflist_plugin)
    md.core.ruler.before("footnote_tail", "letterforge_literal_markup", _literal_markup)
    if lang:
        md.core.ruler.before("text_join", "letterforge_dashes", _dashes)
    return md


def parse_markdown(text: str, lang: str = "") -> SyntaxTreeNode:
    return SyntaxTreeNode(parser(lang).parse(text))


#: Emphasis, links and code nested inside one another deeper than this are refused: no
#: letter needs it, and a line of a thousand ``*`` would exhaust Python's recursion.
MAX_INLINE_NESTING = 32


def _checked_tree(text: str, lang: str, template: Template | None,
                  candidate: Candidate, signature: tuple[str, str] | None = None
                  ) -> SyntaxTreeNode:
    env: dict[str, Any] = {}
    tokens = parser(lang).parse(text, env)
    for at, problem in env.get(LITERAL, ())[:1]:
        _refuse(at + 1 if at is not None else None, problem, text, template, candidate)
    if signature is not None:
        _insert_signature(tokens, *signature, template, candidate)
    for token in tokens:
        line = token.map[0] + 1 if token.map else None
        if token.type == "fence" and not _fence_closed(token):
            _refuse(line, f"this code block ({token.markup}) is never closed: everything "
                    "after it, to the end of its block, would print as code, the signatories "
                    f"too; end it with a line of {token.markup} (or write \\{token.markup[0]} "
                    "for a character that starts no code block)", text, template, candidate)
        depth = max((t.level for t in token.children or ()), default=0)
        if depth > MAX_INLINE_NESTING:
            _refuse(line, f"emphasis, links or code are nested {depth} deep on this line; a "
                    f"letter may nest them {MAX_INLINE_NESTING} deep at most: check the "
                    "* and _ characters (write \\* for a star that is not emphasis)",
                    text, template, candidate)
    return SyntaxTreeNode(tokens)


def _fence_closed(token: Token) -> bool:
    """Whether a fenced code block has its closing fence. CommonMark runs an unclosed
    one to the end of its container (the letter, a quote, a list item): its lines are
    the opening fence and the content, one fewer than a closed block's."""
    assert token.map is not None
    return token.map[1] - token.map[0] == token.content.count("\n") + 2


def _refuse(line: int | None, problem: str, text: str, template: Template | None,
            candidate: Candidate) -> NoReturn:
    """A RenderError for ``line`` of the merged text, named as the template's line."""
    if template is None:
        where = f" (line {line} of the merged text)" if line else ""
        raise RenderError(Problem("", None, None, problem + where))
    raise RenderError(Problem(
        display_path(template.path),
        template_line_of(line, text, template.body) if line else None, None,
        f"{problem} (letter to {candidate.label})"))


#: The class of the paragraph that holds the signer's signature image (DOCX: the
#: paragraph style "Signature Image").
SIGNATURE_IMAGE = "signature-image"


def signature_of(meta: Mapping[str, Any]) -> tuple[str, str] | None:
    """(file name, alt text) of the signer's signature image, from the front matter's
    ``signer: {signature: ..., signature_alt: ...}``; None when there is none."""
    signer = meta.get("signer")
    if not isinstance(signer, Mapping) or not signer.get("signature"):
        return None
    return str(signer["signature"]), " ".join(str(signer.get("signature_alt") or "").split())


def _insert_signature(tokens: list[Token], src: str, alt: str, template: Template | None,
                      candidate: Candidate) -> None:
    """The signature image, as a paragraph of its own (class ``signature-image``) just
    above the signer's name (the first paragraph of class ``signature``): then every
    writer draws it with its image rule, in its place."""
    i = next((i for i, t in enumerate(tokens) if t.type == "paragraph_open"
              and "signature" in str(t.attrs.get("class", "")).split()), None)
    if i is None:
        shown = display_path(template.path) if template is not None else ""
        raise RenderError(Problem(shown, None, "signer.signature", (
            "the signature image goes above the signer's name, but no paragraph is marked "
            "{.signature}: put '{.signature}' on the line before the signer's name")))
    level, where = tokens[i].level, tokens[i].map
    text = Token("text", "", 0, content=alt)
    image = Token("image", "img", 0, attrs={"src": src, "alt": ""}, content=alt,
                  children=[text])
    tokens[i:i] = [
        Token("paragraph_open", "p", 1, attrs={"class": SIGNATURE_IMAGE}, map=where,
              level=level, block=True),
        Token("inline", "", 0, map=where, level=level + 1, content=f"![{alt}]({src})",
              block=True, children=[image]),
        Token("paragraph_close", "p", -1, level=level, block=True),
    ]


def parse(letter: Letter, template: Template | None = None,
          email_template: Template | None = None,
          images: Collection[str] | None = None) -> Document:
    """Parse the letter (and its e-mail) once; refuse what no writer can render.
    ``images``: the image files the load stage read (None: any name is accepted)."""
    lang = str(letter.meta.get("lang") or "en")
    tree = _checked_tree(letter.markdown, lang, template, letter.candidate,
                         signature_of(letter.meta))
    check_tree(tree, letter.markdown, template, letter.candidate, images)
    email = None
    if letter.email is not None:
        email_tree = _checked_tree(letter.email.markdown, lang, email_template,
                                   letter.candidate)
        check_tree(email_tree, letter.email.markdown, email_template, letter.candidate,
                   images=None, email=True)
        email = EmailDocument(email_tree, letter.email.headers, letter.email.attach_docx)
    return Document(tree=tree, meta=letter.meta, candidate=letter.candidate, email=email)


# Complexity over 20, kept: one test per node type, in the order the writers need them.
def check_tree(tree: SyntaxTreeNode, merged: str, template: Template | None,
               candidate: Candidate | None = None, images: Collection[str] | None = None,
               email: bool = False) -> None:
    """Raise a RenderError, with the template's line, for the first node no writer
    renders or nested deeper than MAX_NESTING, and for an image without alt text, not
    read from the templates folder (``images``), or in the e-mail."""
    for node, depth in _walk_depth(tree):
        problem = None
        if node.type == "image":
            problem = image_problem(node, images, email)
            if problem is None and _inside_footnote(node):
                problem = (f"the image {image_src(node)!r} is in a footnote, which may "
                           "hold text only (Word cannot show it there): put the image in "
                           "the letter's text")
        elif node.type not in NODE_TYPES:
            what = NODE_NAMES.get(node.type, f"Markdown '{node.type}'")
            hint = NODE_HINTS.get(node.type, "remove it or write it as text")
            problem = (f"{what} is not supported in a letter (it would not print the same "
                       f"in the PDF, the DOCX and the e-mail): {hint}")
        elif node.type == "footnote" and any(
                c.type not in ("paragraph", "footnote_anchor") for c in node.children):
            node = next(c for c in node.children
                        if c.type not in ("paragraph", "footnote_anchor"))
            problem = ("a footnote may hold paragraphs of text only (no list, quote, table "
                       "or code): write its content as sentences")
        elif node.type == "table" and _columns(node) > MAX_TABLE_COLUMNS:
            problem = (f"this table has {_columns(node)} columns; a letter's table may have "
                       f"{MAX_TABLE_COLUMNS} at most (narrower columns print their words "
                       "over one another): split it into several tables, or swap its "
                       "rows and columns")
        elif node.type in ("ordered_list", "list_item") and _list_problem(node):
            problem = _list_problem(node)
        elif node.type == "text" and _unprintable(node.content):
            problem = _unprintable(node.content)
        elif depth > MAX_NESTING:
            problem = (f"lists and quotes are nested {depth} levels deep here; a letter may "
                       f"nest them {MAX_NESTING} levels at most: flatten them")
        if problem is None:
            continue
        merged_line = _node_line(node)
        for_whom = f" (letter to {candidate.label})" if candidate is not None else ""
        if template is None:
            where = f" (line {merged_line} of the merged text)" if merged_line else ""
            raise RenderError(Problem("", None, None, problem + where + for_whom))
        line = template_line_of(merged_line, merged, template.body) if merged_line else None
        raise RenderError(Problem(display_path(template.path), line, None,
                                  problem + for_whom))


#: The largest number a numbered list may start at: Word's limit (LibreOffice keeps
#: 16 bits: 123456789 showed as 52501).
MAX_LIST_START = 32_767


def list_start(node: SyntaxTreeNode) -> int:
    """The number an ordered list starts at, as written (``0.`` starts at 0)."""
    start = node.attrs.get("start")
    return int(start) if start is not None else 1


def _list_problem(node: SyntaxTreeNode) -> str | None:
    """What of a list the PDF and the DOCX would number differently: a start past
    MAX_LIST_START, or an item that begins with something other than text (a code
    block, another list, a quote: the PDF puts its number beside it, Word on the next
    paragraph)."""
    if node.type == "ordered_list" and list_start(node) > MAX_LIST_START:
        return (f"this list starts at {list_start(node)}; a numbered list may start at "
                f"{MAX_LIST_START} at most (Word cannot show more): number it from a "
                "smaller number, or write the numbers as text (\\. after each)")
    if node.type == "list_item" and node.children and node.children[0].type != "paragraph":
        first = NODE_NAMES.get(node.children[0].type, node.children[0].type.replace("_", " "))
        return (f"this list item begins with {first}, which the PDF and the DOCX would "
                "number differently: begin the item with a line of text")
    return None


def image_src(node: SyntaxTreeNode) -> str:
    """The file name an image node names, as the template wrote it (markdown-it
    percent-encodes spaces and other characters in it)."""
    from urllib.parse import unquote

    return unquote(str(node.attrs.get("src", "")))


def image_alt(node: SyntaxTreeNode) -> str:
    """An image's alt text: the text between ``![`` and ``]``, one line."""
    return " ".join(plain_text(node).split())


def image_problem(node: SyntaxTreeNode, images: Collection[str] | None,
                  email: bool = False) -> str | None:
    src = image_src(node)
    if email:
        return (f"the image {src!r} cannot be shown in the e-mail: put it in the letter "
                "(the e-mail carries the letter's PDF) or remove it")
    if not image_alt(node):
        return (f"the image {src!r} has no alt text: write what it shows between the "
                f"brackets, ![a description]({src}) (the PDF must stay accessible, PDF/UA-1)")
    if images is not None and src not in images:
        return (f"the image {src!r} was not read from the templates folder: write its file "
                "name as it is (not built with {{ }}), from the templates folder")
    return None


#: A table with more columns than this leaves each too narrow for a word on A4.
MAX_TABLE_COLUMNS = 20


def _columns(table: SyntaxTreeNode) -> int:
    rows = [row for part in table.children for row in part.children]
    return len(rows[0].children) if rows else 0


def _unprintable(text: str) -> str | None:
    """A direction control in the template's own text (typed, or as an entity such as
    &#x202e;): it would not print in the order written. Values from the data are checked
    for them when read."""
    from .validate.rows import BIDI_CONTROLS

    for ch in text:
        if ch in BIDI_CONTROLS:
            return (f"the direction control U+{ord(ch):04X} (typed as a character or as "
                    f"&#x{ord(ch):x};) shows the text around it in another order than it is "
                    "written: remove it")
    return None


def _inside_footnote(node: SyntaxTreeNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type == "footnote":
            return True
        parent = parent.parent
    return False


def _walk_depth(node: SyntaxTreeNode, depth: int = 0) -> Iterator[tuple[SyntaxTreeNode, int]]:
    stack = [(node, depth)]
    while stack:
        n, d = stack.pop()
        if n.type in _CONTAINERS:
            d += 1
        yield n, d
        stack.extend((c, d) for c in reversed(n.children))


def _node_line(node: SyntaxTreeNode) -> int | None:
    while node is not None:
        if node.map:
            return node.map[0] + 1
        node = node.parent  # type: ignore[assignment]
    return None


def template_line_of(merged_line: int, merged: str, body: str) -> int | None:
    """The line of the template that produced line ``merged_line`` of the merged text:
    lines the template prints as written match exactly, lines with ``{{ }}`` by their
    place between those."""
    merged_lines = merged.split("\n")
    body_lines = body.split("\n")
    matcher = difflib.SequenceMatcher(None, body_lines, merged_lines, autojunk=False)
    target = merged_line - 1
    best = None
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if j1 <= target < j2 or (j1 == j2 == target):
            if tag == "equal":
                return i1 + (target - j1) + 1
            if i2 > i1:
                offset = min(target - j1, i2 - i1 - 1)
                return i1 + offset + 1
            best = i1
        if j1 > target:
            break
    return best + 1 if best is not None else None


def walk(node: SyntaxTreeNode) -> Iterator[SyntaxTreeNode]:
    yield node
    for child in node.children:
        yield from walk(child)


def classes(node: SyntaxTreeNode) -> list[str]:
    if node.is_root:
        return []
    value = node.attrs.get("class", "")
    return str(value).split() if value else []


def line_of(node: SyntaxTreeNode) -> int | None:
    return node.map[0] + 1 if node.map else None


def plain_text(node: SyntaxTreeNode) -> str:
    """The text of a subtree, breaks as spaces: for checks and e-mail previews."""
    parts: list[str] = []
    for n in walk(node):
        if n.type in ("text", "code_inline"):
            parts.append(n.content)
        elif n.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)
