"""Reading a stylesheet's references with tinycss2 (the CSS parser WeasyPrint itself uses):
every url(), src() and @import, escapes resolved, so a comment, a string or an escape
cannot hide a resource."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


def css_rules(css: str) -> list[Any]:
    import tinycss2

    return list(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))


def tokens(values: Sequence[Any] | None) -> Iterator[Any]:
    """Every component value, nested blocks and function arguments included."""
    for t in values or ():
        yield t
        if t.type == "function":
            yield from tokens(t.arguments)
        elif t.type in ("() block", "[] block", "{} block"):
            yield from tokens(t.content)


def css_urls(css: str) -> list[tuple[str, int]]:
    """(reference, line) of every url() and @import of a stylesheet, escapes resolved."""
    out: list[tuple[str, int]] = []
    for rule in css_rules(css):
        if rule.type not in ("at-rule", "qualified-rule"):
            continue
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            for t in rule.prelude:
                if t.type == "string":
                    out.append((t.value, t.source_line))
                    break
        for t in tokens([*rule.prelude, *(rule.content or [])]):
            if t.type == "url":
                out.append((t.value, t.source_line))
            elif t.type == "function" and t.lower_name in ("url", "src"):
                for arg in t.arguments:
                    if arg.type == "string":
                        out.append((arg.value, arg.source_line))
                        break
    return out


def css_references(css: str, css_path: Path, root: Path
                   ) -> list[tuple[str, int, Path | None]]:
    """(reference, line, file) of every resource the stylesheet names; ``file`` is the
    file in the templates folder, or None for a reference that is not one (remote,
    outside the folder, missing). ``data:`` URLs carry their content: not listed."""
    from urllib.parse import unquote, urlparse

    out = []
    for ref, line in css_urls(css):
        ref = ref.strip()
        if not ref or ref.lower().startswith("data:"):
            continue
        parsed = urlparse(ref)
        target: Path | None = None
        if not parsed.scheme or parsed.scheme == "file":
            try:
                candidate = (css_path.parent / unquote(parsed.path)).resolve()
            except (OSError, ValueError):
                candidate = None
            if (candidate is not None and candidate.is_relative_to(root)
                    and candidate.is_file()):
                target = candidate
        out.append((ref, line, target))
    return out
