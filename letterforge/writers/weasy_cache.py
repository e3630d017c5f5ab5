"""Line splitting remembered across letters (WeasyPrint 70.0 only).

Letters of one batch share almost all their lines: the same text in the same style at
the same width. WeasyPrint shapes every line with Pango each time it lays one out
(``weasyprint.text.line_break.split_first_line``: about a third of a letter's layout
time). This module keeps the result of that function per process and hands it back for
the same arguments.

Why a remembered result equals a fresh one. ``split_first_line(text, style, context,
max_width, justification_spacing, is_line_start, minimum)`` returns ``(layout,
length, resume_index, width, height, baseline)``; every return path goes through
``first_line_metrics``, which *deactivates* the layout: the Pango objects and the style
are dropped and what stays on the ``Layout`` object is plain Python data (the line's
text, ``max_width``, ``justification_spacing``, ``first_line_direction`` and the
decoration metrics). The result depends only on

- the arguments ``text``, ``max_width``, ``justification_spacing``, ``is_line_start``
  and ``minimum`` (all in the key);
- the style values the function and the ``Layout`` it builds read
  (:data:`LINE_STYLE_PROPERTIES`, read from WeasyPrint 70.0's source:
  ``split_first_line``, ``create_layout``, ``Layout.setup/set_text/set_tabs``,
  ``get_font_description``, ``font_features``, ``first_line_metrics``,
  ``line_size``); a test records every property the function really reads on real
  letters and fails if one is missing from the key;
- the font configuration (``style.font_config``: its Pango font map and the fonts its
  ``@font-face`` rules added): the cache lives on the font configuration object, and
  ``FontConfiguration.add_font_face`` empties it;
- ``context.dictionaries``: a cache of Pyphen hyphenation dictionaries, built from the
  language and limits that are in the key.

Pango's shaping is deterministic for these inputs, so the same key gives the same
numbers and the same text. Each caller gets its own shallow copy of the stored
``Layout`` (drawing re-activates a layout and an ellipsis may change its text; the
copy keeps that from reaching the cache). A style value that cannot be hashed, or a
style without a font configuration, is passed straight to WeasyPrint.

The patch is installed only on the version it was written and checked for
(:data:`CACHE_WEASYPRINT`, pinned in constraints.txt); on any other version
WeasyPrint runs unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: The WeasyPrint version whose ``split_first_line`` was read for the key.
CACHE_WEASYPRINT = "70.0"

#: Every computed style value ``split_first_line`` reads, directly or through the
#: ``Layout`` it builds (WeasyPrint 70.0).
LINE_STYLE_PROPERTIES = (
    "white_space", "font_size", "hyphens", "lang", "hyphenate_limit_chars",
    "hyphenate_limit_zone", "hyphenate_character", "overflow_wrap", "word_break",
    "letter_spacing", "word_spacing", "tab_size", "direction", "font_language_override",
    "font_family", "font_style", "font_stretch", "font_weight", "font_variant_caps",
    "font_variation_settings", "text_decoration_line", "font_kerning",
    "font_variant_ligatures", "font_variant_position", "font_variant_numeric",
    "font_variant_alternates", "font_variant_east_asian", "font_feature_settings",
)

#: At most this many lines are kept per font configuration (a few hundred bytes each);
#: past it the cache starts again empty.
MAX_LINES = 50_000

_ATTRIBUTE = "_letterforge_lines"
_installed: bool | None = None  # None: not decided yet in this process
_original: Any = None
_active = True  # False inside :func:`disabled`


def lines(font_config: Any) -> dict[Any, Any]:
    """The remembered lines of one font configuration (created empty on first use)."""
    store: dict[Any, Any] | None = getattr(font_config, _ATTRIBUTE, None)
    if store is None:
        store = {}
        setattr(font_config, _ATTRIBUTE, store)
    return store


def _copy(layout: Any) -> Any:
    new = object.__new__(type(layout))
    new.__dict__.update(layout.__dict__)
    return new


def line_key(text: str, style: Any, max_width: Any, justification_spacing: Any,
             is_line_start: bool, minimum: bool) -> tuple[Any, ...] | None:
    """Everything a line's split depends on besides the font configuration, or None
    when a value cannot be a key."""
    key = (text, max_width, justification_spacing, is_line_start, minimum,
           tuple([style[name] for name in LINE_STYLE_PROPERTIES]))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def split_first_line(text: str, style: Any, context: Any, max_width: Any,
                     justification_spacing: Any, is_line_start: bool = True,
                     minimum: bool = False) -> Any:
    """``weasyprint.text.line_break.split_first_line``, remembered (see the module)."""
    font_config = getattr(style, "font_config", None) if _active else None
    key = line_key(text, style, max_width, justification_spacing, is_line_start, minimum)
    if key is None or font_config is None:
        return _original(text, style, context, max_width, justification_spacing,
                         is_line_start, minimum)
    store = lines(font_config)
    hit = store.get(key)
    if hit is None:
        result = _original(text, style, context, max_width, justification_spacing,
                           is_line_start, minimum)
        if len(store) >= MAX_LINES:
            store.clear()
        hit = store[key] = (_copy(result[0]), *result[1:])
        return result
    return (_copy(hit[0]), *hit[1:])


@contextmanager
def disabled() -> Iterator[None]:
    """Plain WeasyPrint line splitting inside the block (tests compare the bytes)."""
    global _active
    _active = False
    try:
        yield
    finally:
        _active = True


def install() -> bool:
    """Install the remembered line splitting once per process; whether it is on (False
    on a WeasyPrint version it was not checked for: nothing is patched)."""
    global _installed, _original
    if _installed is None:
        import weasyprint
        import weasyprint.layout.inline as inline
        import weasyprint.layout.preferred as preferred
        import weasyprint.text.line_break as line_break
        from weasyprint.text.fonts import FontConfiguration

        original = getattr(line_break, "split_first_line", None)
        _installed = (
            weasyprint.__version__ == CACHE_WEASYPRINT
            and callable(original)
            and getattr(inline, "split_first_line", None) is original
            and getattr(preferred, "split_first_line", None) is original
            and callable(getattr(FontConfiguration, "add_font_face", None))
        )
        if _installed:
            _original = original
            inline.split_first_line = split_first_line
            preferred.split_first_line = split_first_line
            add_font_face = FontConfiguration.add_font_face

            def add_font_face_and_forget(self: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return add_font_face(self, *args, **kwargs)
                finally:
                    lines(self).clear()  # a new font may change how any line is set

            FontConfiguration.add_font_face = add_font_face_and_forget
    return _installed
