"""The ``lines`` speed override: a line's split remembered (see the table in
``engine/__init__.py``).

Letters of a batch share almost all their lines: the same text in the same style at the
same width. WeasyPrint shapes every line with Pango each time it lays one out
(``weasyprint.text.line_break.split_first_line``: about a third of a letter's layout).

Why a remembered result equals a fresh one. ``split_first_line(text, style, context,
max_width, justification_spacing, is_line_start, minimum)`` returns ``(layout, length,
resume_index, width, height, baseline)``; every return path goes through
``first_line_metrics``, which *deactivates* the layout: the Pango objects and the style
are dropped, and what stays on the ``Layout`` is plain data (the line's text,
``max_width``, ``justification_spacing``, ``first_line_direction``, decoration
metrics). The result follows from

- the arguments ``text``, ``max_width``, ``justification_spacing``, ``is_line_start``
  and ``minimum`` (all in the key);
- the style values the function and the ``Layout`` it builds read. Which ones is not
  written down by hand: the first split of each text records every value it reads, and
  a later split is taken from memory only when its style has the same value for each
  of them. Reading a value cannot change what a later read gives (a computed style
  computes each value once), so the same values mean the same path through the
  function and the same result;
- the font configuration: the memory lives on the render context
  (:func:`letterforge.writers.pdf.engine.store`), one per content of the stylesheet,
  its fonts and images;
- ``context.dictionaries``: Pyphen dictionaries built from the language and limits,
  which are style values.

Each caller gets its own shallow copy of the remembered ``Layout`` (drawing
re-activates a layout and an ellipsis may change its text).
"""

from __future__ import annotations

from typing import Any

from . import patch, store

#: Splits kept per render context (a few hundred bytes each); past it, memory starts
#: again empty.
MAX_LINES = 50_000
_LINES = "_letterforge_lines"
_original: Any = None


class _Reading:
    """A style as the split sees it, recording the name of every value read."""

    __slots__ = ("_style", "read", "font_config", "cache")

    def __init__(self, style: Any) -> None:
        self._style = style
        self.read: dict[str, Any] = {}
        self.font_config = style.font_config
        self.cache = style.cache

    def __getitem__(self, name: str) -> Any:
        value = self._style[name]
        self.read.setdefault(name, value)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        value = self._style.get(name, default)
        self.read.setdefault(name, value)
        return value

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the line split read style.{name}: not remembered")


def _copy(layout: Any) -> Any:
    new = object.__new__(type(layout))
    new.__dict__.update(layout.__dict__)
    return new


def split_first_line(text: str, style: Any, context: Any, max_width: Any,
                     justification_spacing: Any, is_line_start: bool = True,
                     minimum: bool = False) -> Any:
    """``split_first_line``, remembered (see the module)."""
    font_config = getattr(style, "font_config", None)
    key = (text, max_width, justification_spacing, is_line_start, minimum)
    try:
        hash(key)
    except TypeError:
        font_config = None
    if font_config is None:
        return _original(text, style, context, max_width, justification_spacing,
                         is_line_start, minimum)
    lines = store(font_config, _LINES)
    for names, values, result in lines.get(key, ()):
        try:
            if tuple([style[name] for name in names]) == values:
                return (_copy(result[0]), *result[1:])
        except (KeyError, TypeError):
            break
    reading = _Reading(style)
    try:
        result = _original(text, reading, context, max_width, justification_spacing,
                           is_line_start, minimum)
    except AttributeError:  # it wanted more of the style than values: not remembered
        return _original(text, style, context, max_width, justification_spacing,
                         is_line_start, minimum)
    layout = result[0]
    if getattr(layout, "style", None) is reading or getattr(layout, "layout", None):
        # still active (not a shape this module knows): give WeasyPrint its own result
        return _original(text, style, context, max_width, justification_spacing,
                         is_line_start, minimum)
    names = tuple(reading.read)
    values = tuple(reading.read.values())
    try:
        hash(values)
    except TypeError:
        return result
    if len(lines) >= MAX_LINES:
        lines.clear()
    lines.setdefault(key, []).append((names, values, (_copy(layout), *result[1:])))
    return result


def install(name: str) -> None:
    global _original
    import weasyprint.layout.inline as inline
    import weasyprint.layout.preferred as preferred
    import weasyprint.text.line_break as line_break

    _original = line_break.split_first_line
    for module in (inline, preferred):
        assert module.split_first_line is _original
        patch("lines", module, "split_first_line", split_first_line)
