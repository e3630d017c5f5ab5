"""The ``drawings`` speed override: a line's drawing recorded once and replayed (see the
table in ``engine/__init__.py``).

At draw time WeasyPrint re-activates each line's layout (shapes the line again with
Pango) and walks its glyphs in Python to write the PDF text operators
(``weasyprint.draw.text.draw_first_line``). What that function does to the document is
a short list of calls on the page's stream (``add_font``, ``set_font_size``,
``show_text``, ``set_text_rise``, after one ``set_text_matrix`` with the line's
position) and two kinds of entries in the document's ``Font`` objects: the glyph ->
text map (``to_unicode``) and the glyph widths (``widths``), each set only where absent.

All of it follows from the line's text and ``justification_spacing``, the Pango layout
that re-activation builds from the style, the style's ``font_size`` and the fonts
Pango picks. Which style values the re-activation reads is recorded, not listed by
hand (as for ``lines``): the first drawing of a line records its calls and every style
value read while it was drawn, and a later line with the same text is replayed only
when its style has the same value for each. Only plain lines are remembered: no
ellipsis, no unknown glyph, no colour or bitmap font, no emoji, a ``TextBox`` of the
HTML layout; a replay happens only when every font the line uses is in the document
already and every glyph width there equals the one recorded (a width shared by two
sizes of one font would otherwise differ by rounding); anything else runs WeasyPrint's
own code. Because a replayed line needs no Pango layout, ``Layout.reactivate`` is made
lazy: a layout is really re-activated only when WeasyPrint's own drawing code runs.
"""

from __future__ import annotations

from typing import Any

from . import patch, store
from .lines import MAX_LINES, _Reading

_DRAWINGS = "_letterforge_drawings"
_WIDTHS = "_letterforge_widths"
_PAIRS = "_letterforge_pairs"
_PENDING = "_letterforge_pending_style"
_MISSING = object()
_draw_original: Any = None
_reactivate_original: Any = None
_deactivate_original: Any = None
_text_box: Any = None  # weasyprint.formatting_structure.boxes.TextBox


def _reactivate(layout: Any, style: Any) -> None:
    """``Layout.reactivate``, deferred until WeasyPrint's own code needs the layout."""
    layout.__dict__[_PENDING] = style


def _deactivate(layout: Any) -> None:
    if layout.__dict__.pop(_PENDING, _MISSING) is _MISSING:
        _deactivate_original(layout)
    # else: never really re-activated, nothing to drop


def _activate(layout: Any, reading: _Reading | None = None) -> None:
    style = layout.__dict__.pop(_PENDING, _MISSING)
    if style is not _MISSING:
        _reactivate_original(layout, style if reading is None else reading)


class _Recorder:
    """A page stream that records the calls ``draw_first_line`` makes on it."""

    RECORDED = ("add_font", "set_font_size", "show_text", "set_text_rise")

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.unknown = False

    def __getattr__(self, name: str) -> Any:
        if name not in ("ink_rect", "logical_rect", "set_text_matrix"):
            self.unknown = True  # a call this module does not know how to replay
        return getattr(self.stream, name)

    def _call(self, name: str, *args: Any) -> Any:
        self.calls.append((name, args))
        return getattr(self.stream, name)(*args)

    def add_font(self, pango_font: Any) -> Any:
        return self._call("add_font", pango_font)

    def set_font_size(self, font: Any, size: Any) -> Any:
        return self._call("set_font_size", font, size)

    def show_text(self, text: Any) -> Any:
        return self._call("show_text", text)

    def set_text_rise(self, height: Any) -> Any:
        return self._call("set_text_rise", height)


# Complexity over 20, kept: mirrors WeasyPrint 70.0's loop over a line's glyphs, to compare with it.
def _glyph_entries(stream: Any, textbox: Any, fresh_widths: dict[Any, Any],
                   shared: dict[Any, Any]) -> list[Any] | None:
    """Per run of the drawn line: (the document's key of its font, its glyphs and their
    texts, its glyphs and their widths) as WeasyPrint 70.0's ``draw_first_line`` would
    set them in the document's fonts; None when the line is not a plain one (see the
    module)."""
    from weasyprint.text.ffi import FROM_UNITS, ffi, pango
    from weasyprint.text.fonts import get_pango_font_key

    layout = textbox.pango_layout
    first_line, _ = layout.get_first_line()
    utf8_text = layout.text.encode()
    runs = []
    run = first_line.runs[0]
    while run != ffi.NULL:
        glyph_item = run.data
        run = run.next
        glyph_string = glyph_item.glyphs
        glyphs_info = glyph_string.glyphs
        num_glyphs = glyph_string.num_glyphs
        clusters = glyph_string.log_clusters
        pango_font = glyph_item.item.analysis.font
        font, font_size = stream.add_font(pango_font)
        if font.png or font.svg or font.colr or font.bitmap:
            return None
        if pango.pango_version() < 14802:
            font_size = textbox.style["font_size"]
        key = get_pango_font_key(pango_font)[0]
        if stream._fonts.get(key) is not font:
            return None
        offset = glyph_item.item.offset
        rtl = glyph_item.item.analysis.level % 2
        texts: list[tuple[int, str]] = []
        widths: list[tuple[int, int]] = []
        for i, glyph_info in enumerate(glyphs_info[0:num_glyphs]):
            glyph_id = glyph_info.glyph
            if glyph_id == pango.PANGO_GLYPH_EMPTY:
                continue
            if glyph_id & pango.PANGO_GLYPH_UNKNOWN_FLAG:
                return None
            t1 = clusters[i]
            if rtl:
                t2 = glyph_item.item.length if i == 0 else clusters[i - 1]
            else:
                t2 = glyph_item.item.length if i == num_glyphs - 1 else clusters[i + 1]
            try:
                texts.append((glyph_id, utf8_text[offset + t1:offset + t2].decode()))
            except UnicodeDecodeError:
                return None
            # the width this line's glyph has (WeasyPrint's formula), once per process
            width = fresh_widths.get((key, font_size, glyph_id))
            if width is None:
                pango.pango_font_get_glyph_extents(
                    pango_font, glyph_id, stream.ink_rect, stream.logical_rect)
                width = round(stream.logical_rect.width * 1000 * FROM_UNITS / font_size)
                fresh_widths[key, font_size, glyph_id] = width
            if font.widths.get(glyph_id) != width:
                return None  # drawn with a width another size of the font left
            widths.append((glyph_id, width))
        # kept as four tuples (glyphs and texts, glyphs and widths) so that a replay
        # checks and fills them with C-level map and set operations; the same glyph
        # numbers and texts recur on most lines: each line keeps references to one
        # shared object per value (memory: ~1.5 KB a line)
        runs.append((key, tuple([shared.setdefault(g, g) for g, _ in texts]),
                     tuple([shared.setdefault(t, t) for _, t in texts]),
                     tuple([shared.setdefault(g, g) for g, _ in widths]),
                     tuple([shared.setdefault(w, w) for _, w in widths])))
    return runs


def _replay(stream: Any, entry: Any, matrix: Any) -> bool:
    """Draw a remembered line; False (and nothing done) when one of its fonts is not in
    the document yet (WeasyPrint's own code adds it) or a width there differs.

    The same as, for each run: every (glyph, width) with ``font.widths.get(glyph,
    width) == width``; after the calls, each (glyph, text) and (glyph, width) set in
    ``to_unicode`` and ``widths`` where the glyph is absent, in order (first wins).
    Done with ``map`` and set comparisons: most lines add no glyph the document does
    not have, and then nothing is set."""
    calls, runs = entry
    document_fonts = stream._fonts
    fonts = []
    for key, _, _, width_glyphs, width_values in runs:
        font = document_fonts.get(key)
        if font is None:
            return False
        if tuple(map(font.widths.get, width_glyphs, width_values)) != width_values:
            return False
        fonts.append(font)
    stream.set_text_matrix(*matrix.values)
    for name, args in calls:
        getattr(stream, name)(*args)
    for font, (_, text_glyphs, texts, width_glyphs, width_values) in zip(
            fonts, runs, strict=True):
        to_unicode = font.to_unicode
        if not to_unicode.keys() >= set(text_glyphs):
            for glyph_id, text in zip(text_glyphs, texts, strict=True):
                if glyph_id not in to_unicode:
                    to_unicode[glyph_id] = text
        known = font.widths
        if not known.keys() >= set(width_glyphs):
            for glyph_id, width in zip(width_glyphs, width_values, strict=True):
                if glyph_id not in known:
                    known[glyph_id] = width
    return True


# Complexity over 20, kept: every guard that keeps a replay exactly WeasyPrint's drawing.
def draw_first_line(stream: Any, textbox: Any, text_overflow: Any, block_ellipsis: Any,
                    matrix: Any) -> Any:
    """``draw_first_line``, remembered (see the module)."""
    layout = textbox.pango_layout
    style = textbox.style
    font_config = getattr(style, "font_config", None)
    key = None
    if (font_config is not None and type(textbox) is _text_box
            and text_overflow != "ellipsis" and block_ellipsis == "none"
            and layout.__dict__.get(_PENDING) is style and style["font_size"] >= 1e-6
            and textbox.text.strip()):
        key = (textbox.text, layout.text, layout.justification_spacing)
        try:
            hash(key)
        except TypeError:
            key = None
    if key is None:
        _activate(layout)
        return _draw_original(stream, textbox, text_overflow, block_ellipsis, matrix)
    drawings = store(font_config, _DRAWINGS)
    variants = drawings.get(key, [])
    for names, values, entry in variants:
        try:
            same = tuple([style[name] for name in names]) == values
        except (KeyError, TypeError):
            same = False
        if same and _replay(stream, entry, matrix):
            return []
    reading = _Reading(style)
    reading["font_size"]  # draw_first_line reads it on the box's style
    try:
        _activate(layout, reading)
    except AttributeError:  # the layout wanted more of the style than values
        layout.__dict__.pop(_PENDING, None)
        _reactivate_original(layout, style)
        return _draw_original(stream, textbox, text_overflow, block_ellipsis, matrix)
    recorder = _Recorder(stream)
    emojis = _draw_original(recorder, textbox, text_overflow, block_ellipsis, matrix)
    layout.style = style  # the rest of the drawing reads the style itself
    if emojis or recorder.unknown:
        return emojis
    names = tuple(reading.read)
    values = tuple(reading.read.values())
    if any(n == names and v == values for n, v, _ in variants):
        return emojis  # the same line, not replayed: its fonts are not all in yet
    runs = _glyph_entries(stream, textbox, store(font_config, _WIDTHS),
                          store(font_config, _PAIRS))
    if runs is not None:
        try:
            hash(values)
        except TypeError:
            return emojis
        if len(drawings) >= MAX_LINES:
            drawings.clear()
            store(font_config, _PAIRS).clear()
        calls = tuple(c for c in recorder.calls if c[0] != "add_font")
        drawings.setdefault(key, []).append((names, values, (calls, runs)))
    return emojis


def install(name: str) -> None:
    global _draw_original, _reactivate_original, _deactivate_original, _text_box
    import weasyprint.draw.text as draw_text
    import weasyprint.text.line_break as line_break
    from weasyprint.formatting_structure.boxes import TextBox

    _text_box = TextBox
    _draw_original = patch("drawings", draw_text, "draw_first_line", draw_first_line)
    _reactivate_original = patch("drawings", line_break.Layout, "reactivate", _reactivate)
    _deactivate_original = patch("drawings", line_break.Layout, "deactivate", _deactivate)
