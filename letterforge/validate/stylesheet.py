"""The print stylesheet: resources it names (inside the templates folder, no network),
numbers no letter needs, fonts that are installed or given by @font-face, and the
characters a letter has that none of its fonts draws."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..css import css_rules, css_urls, tokens
from ..errors import Problem, display_path
from ..images import ImageProblem, inspect_data_url

#: No size or number in a letter's stylesheet comes near this; 1e400pt is infinity, which
#: stopped the PDF writer with a traceback.
MAX_CSS_NUMBER = 100_000


def _huge_numbers(css: str, shown: str) -> list[Problem]:
    import math

    for rule in css_rules(css):
        for t in tokens([*getattr(rule, "prelude", ()), *(getattr(rule, "content", ()) or ())]):
            if t.type in ("number", "dimension", "percentage") \
                    and not (math.isfinite(t.value) and abs(t.value) <= MAX_CSS_NUMBER):
                return [Problem(shown, t.source_line, None,
                                f"{t.serialize()[:40]!r} is not a size a page can hold: write "
                                "a size such as 11pt or 25mm")]
    return []


def stylesheet_problems(css: str, css_path: Path, root: Path) -> list[Problem]:
    """Every resource the stylesheet names must be a file in the templates folder; an
    inline ``data:`` image may not name anything outside itself."""
    from urllib.parse import unquote, urlparse

    shown = display_path(css_path)
    root = root.resolve()
    problems = []
    try:
        refs = css_urls(css)
    except Exception as exc:  # tinycss2 is lenient; this is only a safety net
        return [Problem(shown, None, None, f"cannot be read as CSS: {exc}")]
    problems.extend(_huge_numbers(css, shown))
    for ref, line in refs:
        ref = ref.strip()
        if not ref:
            continue
        if ref.lower().startswith("data:"):
            try:
                inspect_data_url("an inline data: image", ref)
            except ImageProblem as exc:
                problems.append(Problem(shown, line, None, str(exc)))
            continue
        parsed = urlparse(ref)
        if parsed.scheme and parsed.scheme != "file":
            problems.append(Problem(shown, line, None,
                                    f"{ref!r}: letterforge fetches nothing from the network; "
                                    "put the file in the templates folder and name it there"))
            continue
        try:
            target = (css_path.parent / unquote(parsed.path)).resolve()
        except (OSError, ValueError):
            target = None
        if target is None or not target.is_relative_to(root):
            problems.append(Problem(shown, line, None,
                                    f"{ref!r} is outside the templates folder "
                                    f"({display_path(root)}): only files in it can be used"))
        elif not target.is_file():
            problems.append(Problem(shown, line, None,
                                    f"{ref!r} not found in {display_path(root)}"))
    return problems


GENERIC_FAMILIES = {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui",
                    "emoji", "math", "fangsong", "ui-serif", "ui-sans-serif", "ui-monospace",
                    "ui-rounded", "inherit", "initial", "unset", "revert", "revert-layer"}


def _declarations(tokens: Sequence[Any] | None) -> Iterator[tuple[Any, bool]]:
    """(declaration, inside @font-face) of a block's content, nested rules included."""
    import tinycss2

    for item in tinycss2.parse_blocks_contents(tokens or [], skip_comments=True,
                                               skip_whitespace=True):
        if item.type == "declaration":
            yield item, False
        elif item.type in ("at-rule", "qualified-rule") and item.content is not None:
            face = item.type == "at-rule" and item.lower_at_keyword == "font-face"
            for decl, inner in _declarations(item.content):
                yield decl, face or inner


def families_of(value: Sequence[Any]) -> list[str]:
    names: list[str] = []
    current: list[str] = []
    for t in [*value, None]:
        if t is None or (t.type == "literal" and t.value == ","):
            name = " ".join(current).strip()
            if name:
                names.append(name)
            current = []
        elif t.type == "string" or t.type == "ident":
            current.append(t.value)
    return names


def font_families(css: str) -> tuple[list[tuple[str, int]], set[str]]:
    """(family, line) of every font-family the stylesheet asks for, and the families its
    @font-face rules provide (lower-cased)."""
    asked: list[tuple[str, int]] = []
    provided: set[str] = set()
    for rule in css_rules(css):
        if rule.type not in ("at-rule", "qualified-rule") or rule.content is None:
            continue
        face = rule.type == "at-rule" and rule.lower_at_keyword == "font-face"
        for decl, inner in _declarations(rule.content):
            if decl.lower_name != "font-family":
                continue
            for family in families_of(decl.value):
                if face or inner:
                    provided.add(family.lower())
                else:
                    asked.append((family, decl.source_line))
    return asked, provided


def font_problems(css: str, css_path: Path, installed: frozenset[str] | None) -> list[Problem]:
    """Every font the stylesheet names must be installed or given by an @font-face rule:
    a missing font is an error, never a silent fallback to another one."""
    shown = display_path(css_path)
    if installed is None:
        return [Problem(shown, None, None, "cannot check the fonts the stylesheet names: "
                        "fontconfig's fc-list is not installed (Debian: fontconfig)")]
    asked, provided = font_families(css)
    problems: list[Problem] = []
    seen: set[str] = set()
    for name, line in asked:
        key = name.lower()
        if key in GENERIC_FAMILIES or key in provided or key in seen:
            continue
        seen.add(key)
        if key not in installed:
            problems.append(Problem(shown, line, None,
                                    f"the font {name!r} is not installed: install it "
                                    "(./setup.sh installs the sample's fonts) or name "
                                    "another; letterforge does not fall back to another "
                                    "font silently"))
    return problems


def drawn(ch: str) -> bool:
    """Whether a character is drawn with a glyph of its own (not a space, a control, a
    format character or a variation selector)."""
    if ch.isspace():
        return False
    if unicodedata.category(ch) in ("Cc", "Cf"):
        return False
    cp = ord(ch)
    return not (0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF)


def uncovered(text: str, covered: frozenset[int]) -> list[str]:
    """The characters of ``text`` that ``covered`` does not have, each once, in order."""
    return [ch for ch in dict.fromkeys(text) if ord(ch) not in covered and drawn(ch)]


def describe_character(ch: str) -> str:
    return f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')})"
