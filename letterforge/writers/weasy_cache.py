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

Drawing, remembered too. At draw time WeasyPrint re-activates each line's layout
(shapes the line again with Pango) and walks its glyphs in Python to write the PDF text
operators (``weasyprint.draw.text.draw_first_line``). What that function does to the
document is a short list of calls on the page's stream (``add_font``,
``set_font_size``, ``show_text``, ``set_text_rise``, after one ``set_text_matrix`` with
the line's position) and two kinds of entries in the document's ``Font`` objects: the
glyph -> text map (``to_unicode``: set only when absent, first line wins) and the glyph
widths (``widths``: the same). All of it follows from the line's text, its
``justification_spacing``, the same style values and the fonts Pango picks, which is
the key. The first time a line is drawn the calls are recorded (the stream is wrapped)
and the glyph entries the line would make are collected from Pango; later it is
replayed: the same calls in the same order with the same arguments (the stream keeps
deciding, as before, whether a font change needs writing) and the same entries set
only where absent, in the same order. Only plain lines are remembered: no ellipsis,
no unknown glyph, no colour or bitmap font, no emoji, a ``TextBox`` of the HTML
layout (not SVG text), and only when every glyph's width already in the document
equals the width this line computes (a width shared by two sizes of one font would
otherwise differ by rounding); anything else runs WeasyPrint's own code. Because a
replayed line needs no Pango layout, ``Layout.reactivate`` is made lazy: the layout is
really re-activated only when WeasyPrint's own drawing code runs.

The patch is installed only on the version it was written and checked for
(:data:`CACHE_WEASYPRINT`, pinned in constraints.txt); on any other version
WeasyPrint runs unchanged.

Compressed streams, remembered. pydyf (WeasyPrint's PDF writer) deflates every stream
at level 9; most of a letter's compressed bytes are its embedded font subsets, which
are the same for most letters (the same glyphs), and pages that repeat (the
signatories). ``zlib`` output is a function of the input bytes and the level, so the
compressed bytes of an input already compressed in this process are taken from a
bounded cache (:data:`MAX_DEFLATED_BYTES`, least recently used first out) keyed on the
input bytes themselves. Installed on pydyf :data:`CACHE_PYDYF` only, by giving
pydyf's module a ``zlib`` whose ``compressobj`` remembers; everything else is zlib's.

The one change to the bytes: streams are deflated at zlib's default level
(:data:`DEFLATE_LEVEL`, 6) instead of pydyf's 9, with and without the caches. On a
letter's streams level 9 took 3.4 times as long for 3 % smaller streams (7.5 ms against
2.2 ms a letter, 15.6 KB against 16.1 KB); the files stay reproducible (the same level
and the same zlib give the same bytes).
"""

from __future__ import annotations

import types
import zlib
from collections import OrderedDict
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

#: The pydyf version whose ``Stream.data`` (one ``compressobj(level=9)``, one
#: ``compress``, one ``flush``) the compression cache was written for.
CACHE_PYDYF = "0.13.0"

#: The level streams are deflated at (pydyf asks for 9; see the module).
DEFLATE_LEVEL = 6

#: Compressed streams kept per process: input and output bytes together.
MAX_DEFLATED_BYTES = 48 * 1024 * 1024

#: At most this many lines are kept per font configuration (a few hundred bytes each);
#: past it the cache starts again empty.
MAX_LINES = 50_000

_ATTRIBUTE = "_letterforge_lines"
_DRAWINGS = "_letterforge_drawings"
_WIDTHS = "_letterforge_widths"
_PAIRS = "_letterforge_pairs"
_PENDING = "_letterforge_pending_style"
_MISSING = object()
_installed: bool | None = None  # None: not decided yet in this process
_deflate_installed: bool | None = None
_deflated: OrderedDict[tuple[int, bytes], bytes] = OrderedDict()
_deflated_size = 0
_original: Any = None
_draw_original: Any = None
_reactivate_original: Any = None
_deactivate_original: Any = None
_text_box: Any = None  # weasyprint.formatting_structure.boxes.TextBox
_active = True  # False inside :func:`disabled`


def store(font_config: Any, attribute: str) -> dict[Any, Any]:
    """The dict kept on one font configuration under ``attribute`` (created empty on
    first use): every per-process cache here and in weasy_fast lives on the font
    configuration, so a new configuration (other fonts) starts with none."""
    found: dict[Any, Any] | None = getattr(font_config, attribute, None)
    if found is None:
        found = {}
        setattr(font_config, attribute, found)
    return found


def lines(font_config: Any) -> dict[Any, Any]:
    """The remembered lines of one font configuration."""
    return store(font_config, _ATTRIBUTE)


def drawings(font_config: Any) -> dict[Any, Any]:
    """The remembered line drawings of one font configuration."""
    return store(font_config, _DRAWINGS)


def _widths(font_config: Any) -> dict[Any, int]:
    """(document font key, font size, glyph) -> the glyph's width as WeasyPrint 70.0's
    ``draw_first_line`` computes it, for the fonts of one font configuration."""
    return store(font_config, _WIDTHS)


def _pairs(font_config: Any) -> dict[Any, Any]:
    """One shared object per glyph number, text and width the drawings hold."""
    return store(font_config, _PAIRS)


def _forget(font_config: Any) -> None:
    lines(font_config).clear()
    drawings(font_config).clear()
    _widths(font_config).clear()
    _pairs(font_config).clear()


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


def _reactivate(layout: Any, style: Any) -> None:
    """``Layout.reactivate``, deferred until WeasyPrint's own code needs the layout."""
    layout.__dict__[_PENDING] = style


def _deactivate(layout: Any) -> None:
    if layout.__dict__.pop(_PENDING, _MISSING) is _MISSING:
        _deactivate_original(layout)
    # else: never really re-activated, nothing to drop


def _activate(layout: Any) -> None:
    style = layout.__dict__.pop(_PENDING, _MISSING)
    if style is not _MISSING:
        _reactivate_original(layout, style)


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


def draw_first_line(stream: Any, textbox: Any, text_overflow: Any, block_ellipsis: Any,
                    matrix: Any) -> Any:
    """``weasyprint.draw.text.draw_first_line``, remembered (see the module)."""
    layout = textbox.pango_layout
    style = textbox.style
    font_config = getattr(style, "font_config", None) if _active else None
    key = None
    if (font_config is not None and type(textbox) is _text_box
            and text_overflow != "ellipsis" and block_ellipsis == "none"
            and _PENDING in layout.__dict__ and style["font_size"] >= 1e-6
            and textbox.text.strip()):
        key = (textbox.text, layout.text, layout.justification_spacing,
               tuple([style[name] for name in LINE_STYLE_PROPERTIES]))
        try:
            hash(key)
        except TypeError:
            key = None
    if key is None:
        _activate(layout)
        return _draw_original(stream, textbox, text_overflow, block_ellipsis, matrix)
    store = drawings(font_config)
    entry = store.get(key)
    if entry is not None and _replay(stream, entry, matrix):
        return []
    _activate(layout)
    recorder = _Recorder(stream)
    emojis = _draw_original(recorder, textbox, text_overflow, block_ellipsis, matrix)
    if entry is None and not emojis and not recorder.unknown:
        runs = _glyph_entries(stream, textbox, _widths(font_config), _pairs(font_config))
        if runs is not None:
            if len(store) >= MAX_LINES:
                store.clear()
                _pairs(font_config).clear()
            store[key] = (tuple(c for c in recorder.calls if c[0] != "add_font"), runs)
    return emojis


def deflate(data: bytes, level: int) -> bytes:
    """``zlib.compressobj(level=level)``'s whole output for ``data``, remembered."""
    global _deflated_size
    key = (level, data)
    hit = _deflated.get(key) if _active else None
    if hit is not None:
        _deflated.move_to_end(key)
        return hit
    compressor = zlib.compressobj(level=level)
    out = compressor.compress(data) + compressor.flush()
    if _active and len(data) + len(out) <= MAX_DEFLATED_BYTES // 8:
        _deflated[key] = out
        _deflated_size += len(data) + len(out)
        while _deflated_size > MAX_DEFLATED_BYTES:
            (_, old), old_out = _deflated.popitem(last=False)
            _deflated_size -= len(old) + len(old_out)
    return out


class _Deflater:
    """A ``compressobj`` that compresses everything at ``flush`` through the cache (the
    output of ``compress`` + ``flush`` is the same bytes as zlib's)."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.parts: list[bytes] = []

    def compress(self, data: bytes) -> bytes:
        self.parts.append(bytes(data))
        return b""

    def flush(self, mode: int = zlib.Z_FINISH) -> bytes:
        if mode != zlib.Z_FINISH:
            raise ValueError("only a finishing flush is supported")
        data = b"".join(self.parts)
        self.parts = []
        return deflate(data, self.level)


class _Zlib:
    """zlib for pydyf: ``compressobj(level)`` remembers; everything else is zlib's."""

    def compressobj(self, level: int = -1, *args: Any, **kwargs: Any) -> Any:
        if level == 9:
            level = DEFLATE_LEVEL
        if args or kwargs:
            return zlib.compressobj(level, *args, **kwargs)
        return _Deflater(level)

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)


def install_deflate() -> bool:
    """Install the compression cache in pydyf once per process; whether it is on."""
    global _deflate_installed
    if _deflate_installed is None:
        import pydyf

        _deflate_installed = (getattr(pydyf, "__version__", None) == CACHE_PYDYF
                              and getattr(pydyf, "zlib", None) is zlib)
        if _deflate_installed:
            pydyf.zlib = _Zlib()
    return _deflate_installed


_CFFI_TYPE_SOURCE = "void __dummy(\n"
_cffi_patched = False


def quicker_cffi_types() -> bool:
    """Make cffi's parsing of a C type name (``ffi.new("PangoRectangle *")``) cost what
    the name costs.

    cffi parses a type name with pycparser after a line ``typedef int NAME;`` for every
    type the ffi knows, because whether an identifier names a type changes how C parses:
    for WeasyPrint's declarations, about 60 lines per type name, 10 ms a name, 0.15 s of
    the first letter of every process (17 names). An identifier that does not occur in
    the parsed text cannot change how it parses, so while a type name is parsed the
    typedefs are narrowed to the identifiers it contains. The types found are the same
    (tests/unit/test_pdf_speed.py compares both ways on every type name WeasyPrint
    uses). Installed once, only where cffi's parser has the shape this was read from
    (cffi 1.15 to 2.1); whether it is on."""
    global _cffi_patched
    if _cffi_patched:
        return True
    import inspect
    import re

    try:
        from cffi import cparser

        parser = cparser.Parser
        shaped = (_CFFI_TYPE_SOURCE.replace("\n", "\\n")
                  in inspect.getsource(parser.parse_type_and_quals)
                  and "for name in sorted(self._declarations)" in inspect.getsource(
                      parser._parse))
    except Exception:  # no cffi source to read, another cffi: leave cffi alone
        return False
    if not shaped:
        return False
    original = parser._parse
    word = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

    def _parse(self: Any, csource: str) -> Any:
        if not csource.startswith(_CFFI_TYPE_SOURCE):
            return original(self, csource)
        names = set(word.findall(csource))
        every = self._declarations
        # callers hold the ffi's lock, as for every use of the declarations
        self._declarations = {k: v for k, v in every.items()
                              if not k.startswith("typedef ") or k[8:] in names}
        try:
            return original(self, csource)
        finally:
            self._declarations = every

    _parse.__wrapped__ = original  # type: ignore[attr-defined]
    parser._parse = _parse
    _cffi_patched = True
    return True


def import_weasyprint() -> None:
    """Import WeasyPrint, finding its C libraries in the dynamic loader's cache first,
    and without the parts of fontTools a letter rarely needs.

    WeasyPrint tries several names per library (Windows and macOS ones too); for each
    name that is not a file, cffi asks ``ctypes.util.find_library``, which on Linux runs
    ``ldconfig -p`` and then, for a name ldconfig does not know, gcc and ld: about 20
    ms per miss, 0.3 s per process start. While WeasyPrint is imported here a name
    ldconfig does not know is taken as not found, unless ldconfig cannot be asked or
    LD_LIBRARY_PATH or LIBRARY_PATH is set (gcc and ld may look elsewhere then): the
    library loaded is the one the loader's cache names, as before. ``ldconfig -p`` runs
    once for the 23 names (3.5 ms each), not once per name (:func:`ldconfig_finder`).

    fontTools' subsetter and variable-font instancer are imported when WeasyPrint first
    uses them (:func:`_deferred_imports`), not with WeasyPrint."""
    import sys

    quicker_cffi_types()
    if "weasyprint" in sys.modules:
        return
    import ctypes.util
    import os

    with _deferred_imports(DEFERRED_MODULES):
        if (os.environ.get("LD_LIBRARY_PATH") or os.environ.get("LIBRARY_PATH")
                or sys.platform != "linux"):
            import weasyprint  # noqa: F401
            return
        ldconfig = ldconfig_finder()
        try:
            works = ldconfig is not None and ldconfig("c") is not None
        except Exception:
            works = False
        if not works:
            import weasyprint  # noqa: F401
            return
        assert ldconfig is not None
        original = ctypes.util.find_library
        ctypes.util.find_library = ldconfig
        try:
            import weasyprint  # noqa: F401
        finally:
            ctypes.util.find_library = original


def ldconfig_finder() -> Any:
    """``name -> soname or None``: what ``ctypes.util``'s ldconfig lookup
    (``_findSoname_ldconfig``, glibc) answers, with ``ldconfig -p`` run once for all the
    names asked (it runs once per name there). None where that lookup is not ctypes'
    way on this platform, or ldconfig cannot be run."""
    import ctypes.util
    import os
    import re
    import struct
    import subprocess

    if getattr(ctypes.util, "_findSoname_ldconfig", None) is None:
        return None
    # the same ABI names and pattern as ctypes.util._findSoname_ldconfig (CPython 3.11-3.13)
    machine = os.uname().machine + ("-32" if struct.calcsize("l") == 4 else "-64")
    abi_type = {"x86_64-64": "libc6,x86-64", "ppc64-64": "libc6,64bit",
                "sparc64-64": "libc6,64bit", "s390x-64": "libc6,64bit",
                "ia64-64": "libc6,IA-64"}.get(machine, "libc6")
    try:
        listing = subprocess.run(["/sbin/ldconfig", "-p"], stdin=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 env={"LC_ALL": "C", "LANG": "C"}, check=False).stdout
    except OSError:
        return None

    def find(name: str) -> str | None:
        pattern = os.fsencode(rf"\s+(lib{re.escape(name)}\.[^\s]+)\s+\({abi_type}")
        found = re.search(pattern, listing)
        return os.fsdecode(found.group(1)) if found else None

    return find


#: Modules WeasyPrint imports with its PDF writer that a letter needs only for a font
#: HarfBuzz cannot subset, a variable font or a colour font: 0.2 s of every process
#: start (fontTools' OpenType table classes). Each name: the names WeasyPrint takes
#: from it with ``from ... import`` (stand-ins that import the module when called).
DEFERRED_MODULES: dict[str, tuple[str, ...]] = {
    "fontTools.subset": (),
    "fontTools.varLib.instancer": ("instantiateVariableFont",),
}


class _Deferred(types.ModuleType):
    """Stands for a module not imported yet: the first name looked up on it imports the
    module and is looked up there. Only in ``sys.modules`` while WeasyPrint is imported
    (:func:`_deferred_imports`); later imports get the module itself. Its special names
    (``__path__``, ``__file__``) are not looked up there: the import system asks for
    ``__path__`` at every ``from ... import`` of it, which would import the module."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(_import_deferred(self.__name__), name)


def _import_deferred(module: str) -> Any:
    import importlib
    import sys

    if isinstance(sys.modules.get(module), _Deferred):
        del sys.modules[module]
    return importlib.import_module(module)


def _stand_in(module: str, name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(_import_deferred(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{module}.{name}, imported when first called."
    return call


@contextmanager
def _deferred_imports(modules: dict[str, tuple[str, ...]]) -> Iterator[None]:
    """While WeasyPrint is imported, each of ``modules`` not imported yet is a
    :class:`_Deferred` stand-in: ``from fontTools import subset`` binds the stand-in
    (its first use imports fontTools.subset), ``from fontTools.varLib.instancer import
    instantiateVariableFont`` a function that imports the module when called."""
    import sys

    placed = []
    for module, names in modules.items():
        if module in sys.modules:
            continue
        stand_in = _Deferred(module)
        for name in names:
            setattr(stand_in, name, _stand_in(module, name))
        sys.modules[module] = stand_in
        placed.append(module)
    try:
        yield
    finally:
        for module in placed:
            if isinstance(sys.modules.get(module), _Deferred):
                del sys.modules[module]
            parent, _, child = module.rpartition(".")
            if isinstance(getattr(sys.modules.get(parent), child, None), _Deferred):
                delattr(sys.modules[parent], child)


@contextmanager
def disabled() -> Iterator[None]:
    """Plain WeasyPrint and pydyf inside the block: nothing remembered or taken from
    the caches (tests compare the bytes)."""
    global _active
    _active = False
    try:
        yield
    finally:
        _active = True


def install() -> bool:
    """Install the remembered line splitting once per process; whether it is on (False
    on a WeasyPrint version it was not checked for: nothing is patched)."""
    global _installed, _original, _draw_original, _reactivate_original
    global _deactivate_original, _text_box
    if _installed is None:
        import weasyprint
        import weasyprint.draw.text as draw_text
        import weasyprint.layout.inline as inline
        import weasyprint.layout.preferred as preferred
        import weasyprint.text.line_break as line_break
        from weasyprint.formatting_structure.boxes import TextBox
        from weasyprint.text.fonts import FontConfiguration

        original = getattr(line_break, "split_first_line", None)
        _installed = (
            weasyprint.__version__ == CACHE_WEASYPRINT
            and callable(getattr(draw_text, "draw_first_line", None))
            and callable(getattr(line_break.Layout, "reactivate", None))
            and callable(getattr(line_break.Layout, "deactivate", None))
            and callable(original)
            and getattr(inline, "split_first_line", None) is original
            and getattr(preferred, "split_first_line", None) is original
            and callable(getattr(FontConfiguration, "add_font_face", None))
        )
        if _installed:
            _original = original
            _text_box = TextBox
            _draw_original = draw_text.draw_first_line
            _reactivate_original = line_break.Layout.reactivate
            _deactivate_original = line_break.Layout.deactivate
            draw_text.draw_first_line = draw_first_line
            line_break.Layout.reactivate = _reactivate
            line_break.Layout.deactivate = _deactivate
            inline.split_first_line = split_first_line
            preferred.split_first_line = split_first_line
            add_font_face = FontConfiguration.add_font_face

            def add_font_face_and_forget(self: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return add_font_face(self, *args, **kwargs)
                finally:
                    _forget(self)  # a new font may change how any line is set

            FontConfiguration.add_font_face = add_font_face_and_forget
    return _installed
