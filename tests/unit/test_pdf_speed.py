"""The PDF writer's per-process caches of WeasyPrint work (writers/weasy_cache.py): the
bytes are the same with and without them, and their keys hold what the result
depends on."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from letterforge.config import Inputs, Options
from letterforge.document import Document
from letterforge.pipeline import Renderer, prepare
from letterforge.writers import WRITERS, weasy_cache, weasy_fast

MULTILINGUAL = ROOT / "examples" / "multilingual"


def _letters(folder: Path, count: int) -> tuple[list[Document], Renderer]:
    old = Path.cwd()
    os.chdir(folder)
    try:
        plan = prepare(Inputs(), Options(2013), check_letters=False)
    finally:
        os.chdir(old)
    renderer = plan.renderer()
    return [renderer.document(c) for c in list(plan.candidates)[:count]], renderer


@pytest.fixture(scope="module")
def letters() -> list[tuple[Document, Renderer]]:
    """Letters of the sample (English), of the multilingual example (Spanish, French,
    Arabic, Chinese, Russian) and of the full-letter example, with the assets each is
    rendered with."""
    sample, r1 = _letters(ROOT, 2)
    other, r2 = _letters(MULTILINGUAL, 9)
    other = [other[i] for i in (0, 1, 6, 7, 8)]  # one letter in each language
    # tables, footnotes, images, a letterhead and footer in the page margins, a signature
    full, r3 = _letters(ROOT / "examples" / "full-letter", 2)
    return [(d, r1) for d in sample] + [(d, r2) for d in other] + [(d, r3) for d in full]


def _render(doc: Document, renderer: Renderer) -> bytes:
    return WRITERS["pdf"].render(doc, renderer.job.assets, {})


def _font_config(renderer: Renderer) -> Any:
    from letterforge.writers import pdf

    return pdf._resources(renderer.job.assets)[0]


def test_cache_is_checked_for_the_pinned_weasyprint() -> None:
    import weasyprint

    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    pinned = re.search(r"^weasyprint==(\S+)$", pins, re.M | re.I)
    assert pinned and pinned.group(1) == weasy_cache.CACHE_WEASYPRINT
    assert weasy_cache.install() is (weasyprint.__version__ == weasy_cache.CACHE_WEASYPRINT)


def test_pdf_is_the_same_bytes_with_and_without_the_cache(
        letters: list[tuple[Document, Renderer]]) -> None:
    """Every letter, rendered after the others filled the cache, is byte for byte the
    PDF plain WeasyPrint makes; and the cache was used (lines remembered and found)."""
    if not weasy_cache.install():
        pytest.skip("another WeasyPrint version: nothing is cached")
    with weasy_cache.disabled():
        plain = [_render(d, r) for d, r in letters]
    # each letter after the first of its template is drawn mostly from what the ones
    # before it left in the cache
    cached = [_render(d, r) for d, r in letters]
    for (doc, _), a, b in zip(letters, plain, cached, strict=True):
        assert a == b, doc.meta
    languages = {str(d.meta.get("lang")) for d, _ in letters}
    assert {"es", "fr", "ar", "zh", "ru"} <= languages, languages
    font_config = _font_config(letters[0][1])  # of the last one rendered
    assert weasy_cache.lines(font_config)
    assert weasy_cache.drawings(font_config)
    assert weasy_cache._deflated  # compressed streams remembered
    # the page margins of the letters with a letterhead and a footer were laid out once
    # per page kind and number, and taken from the store for the next letter
    margins = weasy_fast._margin_store(_font_config(letters[-1][1]))
    assert margins and len(margins) < 2 * 4
    # and their element styles started with the values the letters before computed
    styles = weasy_fast._style_store(_font_config(letters[-1][1]))
    assert styles.templates and any(t.values for t in styles.templates.values())
    # and their selector matches were those of the letter before, of the same shape
    shapes = getattr(_font_config(letters[0][1]), weasy_fast._SHAPES)
    assert 1 <= len([k for k in shapes if k[0] != "content seen"]) < len(letters)


def test_fast_paths_are_installed_on_the_pinned_versions() -> None:
    import pydyf
    import weasyprint
    import weasyprint.layout as layout
    import weasyprint.layout.block as block

    pinned = (weasyprint.__version__ == weasy_fast.FAST_WEASYPRINT
              and pydyf.__version__ == weasy_fast.FAST_PYDYF)
    assert weasy_fast.install() is pinned
    if pinned:
        assert layout.make_margin_boxes is weasy_fast.make_margin_boxes
        assert block.resolve_percentages.__code__.co_filename.endswith(
            "weasy_fast.py:resolve_percentages")


def _weasy(rule: str) -> tuple[Any, Any]:
    """``pdf(html)`` for HTML strings, with one stylesheet and its own font
    configuration (where the fast paths keep what they remember), and that
    configuration; skips on a WeasyPrint version the fast paths are not installed on."""
    if not weasy_fast.install():
        pytest.skip("another WeasyPrint version: nothing is remembered")
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    css = [CSS(string=rule, font_config=font_config)]

    def pdf(html: str) -> bytes:
        data = HTML(string=html).write_pdf(stylesheets=css, font_config=font_config,
                                           pdf_identifier=b"0" * 32)
        assert isinstance(data, bytes)
        return data

    return pdf, font_config


def test_margin_boxes_with_text_from_the_letter_are_laid_out_every_time() -> None:
    """A margin box whose content comes from the letter's text (``string()``: the
    last heading, say) is not remembered: each letter gets its own, the same bytes as
    plain WeasyPrint, and nothing is stored for it."""
    render, font_config = _weasy("h1 { string-set: topic content() } "
                                 "@page { @top-center { content: string(topic) } "
                                 "@bottom-center { content: 'page ' counter(page) } }")

    def pdf(topic: str) -> bytes:
        return render(f"<html lang=en><body><h1>{topic}</h1><p>Text.</p></body></html>")

    first, second = pdf("Mexico"), pdf("Cuba")
    with weasy_cache.disabled():
        assert pdf("Mexico") == first and pdf("Cuba") == second
    assert not weasy_fast._margin_store(font_config)  # string(): nothing kept


def test_remembered_compression_is_zlibs() -> None:
    """pydyf's compressobj, remembered: the same bytes as zlib's at letterforge's level
    (pydyf's 9 becomes zlib's default, 6), taken from the cache the second time."""
    import zlib

    import pydyf

    if not weasy_cache.install_deflate():
        pytest.skip("another pydyf version: nothing is cached")
    data = b"BT /F1 11 Tf (the same page of every letter) Tj ET\n" * 500
    expected = zlib.compress(data, weasy_cache.DEFLATE_LEVEL)
    assert weasy_cache.DEFLATE_LEVEL == 6 and expected != zlib.compress(data, 9)
    for _ in range(2):
        compressor = pydyf.zlib.compressobj(level=9)
        assert compressor.compress(data) + compressor.flush() == expected
    assert weasy_cache._deflated[(6, data)] == expected
    stream = pydyf.Stream([data], compress=True)
    assert zlib.decompress(stream.data.split(b"stream\n", 1)[1].rsplit(b"\nendstream", 1)[0]
                           ) == data


def test_pdf_ua_passes_with_remembered_lines(
        letters: list[tuple[Document, Renderer]]) -> None:
    """A letter drawn mostly from remembered lines (the others drawn first) is still
    valid PDF/UA-1 for an independent validator."""
    import page

    for doc, renderer in letters[:2] + letters[-2:]:
        data = _render(doc, renderer)
        report = page.validate_pdf_bytes(data, profile="ua1")
        assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]


def test_line_key_changes_with_the_style(letters: list[tuple[Document, Renderer]]) -> None:
    """The same text at the same width in another style is another line: a change of any
    style value the split reads gives another key and another result."""
    if not weasy_cache.install():
        pytest.skip("another WeasyPrint version: nothing is cached")
    from weasyprint.css.properties import INITIAL_VALUES

    _, renderer = letters[0]
    font_config = _font_config(renderer)

    class Style(dict[str, Any]):
        pass

    def style(**changes: Any) -> Style:
        s = Style(INITIAL_VALUES)
        s.update({"font_family": ("Liberation Serif",), "font_size": 14.0, "lang": "en",
                  **changes})
        s.font_config = font_config  # type: ignore[attr-defined]
        return s

    text = "The same words on one line, at the same width, in another style"
    base = weasy_cache.line_key(text, style(), 300.0, 0, True, False)
    for name, value in [("font_size", 15.0), ("font_weight", 700), ("lang", "fr"),
                        ("letter_spacing", 1.0), ("font_style", "italic")]:
        assert weasy_cache.line_key(text, style(**{name: value}), 300.0, 0, True, False) != base
    assert weasy_cache.line_key(text, style(), 200.0, 0, True, False) != base

    weasy_cache.lines(font_config).clear()
    plain = weasy_cache.split_first_line(text, style(), None, 300.0, 0)
    bold = weasy_cache.split_first_line(text, style(font_weight=700), None, 300.0, 0)
    assert len(weasy_cache.lines(font_config)) == 2
    assert plain[3] != bold[3]  # widths differ
    assert weasy_cache.split_first_line(text, style(), None, 300.0, 0)[1:] == plain[1:]
    assert len(weasy_cache.lines(font_config)) == 2


def test_key_holds_every_style_value_the_split_reads(
        letters: list[tuple[Document, Renderer]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Record every style value WeasyPrint's own split_first_line reads while it lays out
    real letters (every language): each is in LINE_STYLE_PROPERTIES, so a remembered
    line cannot come from a style that differs in something the split looks at."""
    if not weasy_cache.install():
        pytest.skip("another WeasyPrint version: nothing is cached")
    seen: set[str] = set()
    original = weasy_cache._original

    class Recording(dict[str, Any]):
        def __init__(self, style: Any) -> None:
            super().__init__()
            self.style = style
            self.font_config = style.font_config
            self.cache = style.cache

        def __getitem__(self, name: str) -> Any:
            seen.add(name)
            return self.style[name]

        def get(self, name: str, default: Any = None) -> Any:
            seen.add(name)
            return self.style.get(name, default)

    def recording(text: str, style: Any, *args: Any) -> Any:
        return original(text, Recording(style), *args)

    monkeypatch.setattr(weasy_cache, "_original", recording)
    for doc, renderer in letters[::2]:
        weasy_cache.lines(_font_config(renderer)).clear()
        _render(doc, renderer)
    assert {"font_family", "font_size", "lang", "white_space"} <= seen
    assert seen <= set(weasy_cache.LINE_STYLE_PROPERTIES), seen - set(
        weasy_cache.LINE_STYLE_PROPERTIES)


def test_weasyprint_is_imported_with_the_loaders_libraries() -> None:
    """A fresh process imports WeasyPrint through import_weasyprint: the libraries load,
    find_library is given back, and a library name the loader's cache does not know is
    not searched for with gcc (the slow part) while WeasyPrint is imported."""
    import subprocess
    import sys

    code = (
        "import ctypes.util, time\n"
        "original = ctypes.util.find_library\n"
        "seen = []\n"
        "ctypes.util._findLib_gcc = lambda name: seen.append(name)\n"
        "from letterforge.writers import weasy_cache\n"
        "weasy_cache.import_weasyprint()\n"
        "from weasyprint.text.ffi import pango\n"
        "assert pango.pango_version() > 0\n"
        "assert ctypes.util.find_library is original\n"
        "print(len(seen))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items()
                               if k not in ("LD_LIBRARY_PATH", "LIBRARY_PATH")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"


@pytest.mark.skipif(weasy_cache.ldconfig_finder() is None, reason="no ldconfig here")
def test_ldconfig_is_read_once_and_answers_as_ctypes_does() -> None:
    import ctypes.util

    find = weasy_cache.ldconfig_finder()
    names = ["c", "m", "z", "pango-1.0", "gobject-2.0", "gobject-2.0-0", "harfbuzz",
             "harfbuzz-subset", "harfbuzz-vector", "fontconfig", "pangoft2-1.0",
             "libpango-1.0-0", "no-such-library", "c++", "stdc++", "a.b"]
    for name in names:
        assert find(name) == ctypes.util._findSoname_ldconfig(name), name  # type: ignore[attr-defined]


def test_fonttools_subsetter_and_instancer_are_imported_when_first_used() -> None:
    """WeasyPrint imported through import_weasyprint does not import fontTools'
    subsetter and variable-font instancer (0.2 s); WeasyPrint's names for them import
    them when used, and are then the real ones; a later import gets the real modules."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from letterforge.writers import weasy_cache\n"
        "weasy_cache.import_weasyprint()\n"
        "heavy = ('fontTools.subset', 'fontTools.varLib.instancer',\n"
        "         'fontTools.ttLib.tables.otTables')\n"
        "assert not any(m in sys.modules for m in heavy), [m for m in heavy if m in sys.modules]\n"
        "import weasyprint.pdf.fonts as fonts\n"
        "options = fonts.subset.Options\n"
        "import fontTools.subset, fontTools\n"
        "assert options is fontTools.subset.Options\n"
        "assert fontTools.subset is sys.modules['fontTools.subset']\n"
        "assert type(fontTools.subset).__name__ == 'module'\n"
        "import fontTools.varLib.instancer as instancer\n"
        "real, seen = instancer.instantiateVariableFont, []\n"
        "instancer.instantiateVariableFont = lambda *a, **k: seen.append((a, k)) or 'made'\n"
        "assert fonts.instantiateVariableFont(1, {'wght': 400}, static=True) == 'made'\n"
        "assert seen == [((1, {'wght': 400}), {'static': True})]\n"
        "from fontTools.subset import Subsetter\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_font_harfbuzz_cannot_subset_is_subset_by_fonttools_imported_then() -> None:
    """The deferred subsetter works where WeasyPrint needs it: without HarfBuzz's
    subsetter, the PDF's fonts are subset with fontTools, its text intact."""
    import io
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from letterforge.writers import weasy_cache\n"
        "weasy_cache.import_weasyprint()\n"
        "import weasyprint.pdf.fonts as fonts\n"
        "fonts.harfbuzz_subset = None\n"
        "from weasyprint import HTML\n"
        "pdf = HTML(string='<p style=\"font-family: Liberation Serif\">Subset me</p>')"
        ".write_pdf()\n"
        "assert 'fontTools.subset' in sys.modules\n"
        "sys.stdout.buffer.write(pdf)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    from pypdf import PdfReader

    assert "Subset me" in PdfReader(io.BytesIO(done.stdout)).pages[0].extract_text()


#: Every C type name WeasyPrint 70.0 hands cffi (ffi.new, ffi.cast), and a few harder ones.
WEASYPRINT_TYPE_NAMES = (
    "PangoFcFontMap *", "FcChar8 **", "FcResult *", "PangoLogAttr[]", "PangoRectangle *",
    "char[4]", "char[]", "hb_tag_t[100]", "unsigned int *", "hb_codepoint_t[75]",
    "PangoLayout **", "const char *", "gboolean (*)(PangoFontMap *)", "PangoGlyphInfo[3]",
    "FcPattern *", "struct _PangoRectangle *", "hb_blob_t *",
)


def test_cffi_parses_a_type_name_without_every_typedef_it_knows() -> None:
    """A type name is parsed with the typedefs it names only (quicker_cffi_types), and
    comes out the same type as with all of them."""
    import pycparser
    from cffi import cparser

    weasy_cache.import_weasyprint()
    assert weasy_cache.quicker_cffi_types()
    from weasyprint.text.ffi import ffi

    parser = ffi._parser
    sources: list[str] = []
    parse = pycparser.CParser.parse

    def seen(self: Any, text: str, *args: Any, **kwargs: Any) -> Any:
        sources.append(text)
        return parse(self, text, *args, **kwargs)

    pycparser.CParser.parse = seen  # type: ignore[method-assign]
    try:
        narrowed = [parser.parse_type_and_quals(name) for name in WEASYPRINT_TYPE_NAMES]
    finally:
        pycparser.CParser.parse = parse  # type: ignore[method-assign]
    every = sum(name.startswith("typedef ") for name in parser._declarations)
    assert every > 40
    assert len(sources) == len(WEASYPRINT_TYPE_NAMES)
    assert max(text.count("typedef int ") for text in sources) < 10
    plain = cparser.Parser._parse.__wrapped__  # cffi's own
    with ffi._lock:
        parser._parse = plain.__get__(parser)
        try:
            full = [parser.parse_type_and_quals(name) for name in WEASYPRINT_TYPE_NAMES]
        finally:
            del parser._parse
    assert narrowed == full


def test_selectors_that_read_the_description_match_each_letter_afresh() -> None:
    """The description's ``content`` (it names the candidate) is left out of a
    document's shape only while no selector names that attribute: a stylesheet that
    colours the text by it gets each letter's own matches (the same bytes as plain
    WeasyPrint), and letters of the same shape without such a selector share them."""
    def letter(country: str) -> str:
        return (f'<html lang="en"><head><meta name="description" content="Letter to '
                f'{country}"></head><body><p>Excellency,</p></body></html>')

    def shapes(font_config: Any) -> list[Any]:
        return [k for k in getattr(font_config, weasy_fast._SHAPES) if k[0] != "content seen"]

    pdf, font_config = _weasy('html:has(meta[content*="Cuba"]) p { color: red }')
    mexico, cuba = pdf(letter("Mexico")), pdf(letter("Cuba"))
    with weasy_cache.disabled():
        assert pdf(letter("Mexico")) == mexico and pdf(letter("Cuba")) == cuba
    assert len(shapes(font_config)) == 2  # the description is in the shape: two shapes

    pdf, font_config = _weasy("p { color: navy }")
    pdf(letter("Mexico")), pdf(letter("Cuba"))
    assert len(shapes(font_config)) == 1  # no selector reads it: one shape, matched once


def test_running_element_styled_by_the_rest_of_the_letter_is_laid_out_afresh() -> None:
    """The running footer's markup is the same in both letters, but a selector that
    looks elsewhere in the letter (``body:has(.urgent) footer``) styles it red in one
    of them only: each letter's footer is its own, the same bytes as plain WeasyPrint
    (the remembered margin boxes must not hand the first letter's red footer on)."""
    render, _ = _weasy("footer { position: running(foot) } "
                       "body:has(.urgent) footer { color: red } "
                       "@page { @bottom-center { content: element(foot) } }")

    def pdf(urgent: bool) -> bytes:
        extra = '<p class="urgent">Urgent.</p>' if urgent else ""
        return render("<html lang=en><body><footer>Open Letters Network</footer>"
                      f"<p>Excellency,</p>{extra}</body></html>")

    urgent, calm = pdf(True), pdf(False)
    with weasy_cache.disabled():
        assert pdf(True) == urgent
        assert pdf(False) == calm


def test_viewport_units_follow_each_letters_first_page() -> None:
    """``vw`` is a share of the *first page's* width (WeasyPrint 70.0:
    ``initial_page_sizes``, set when page 1 is laid out), and a letter that opens with a
    named landscape page has a wider first page than one that does not: the same
    cascaded ``padding-left: 10vw`` gives another value in each. A paragraph's style
    must not start with the value computed for the other letter."""
    render, _ = _weasy(".wide { page: wide } @page wide { size: A4 landscape } "
                       "p { padding-left: 10vw }")

    def pdf(wide: bool) -> bytes:
        first = '<div class="wide">Wide first page.</div>' if wide else ""
        return render(f"<html lang=en><body>{first}<p>Excellency,</p>"
                      "<p>We write to you.</p></body></html>")

    wide, narrow = pdf(True), pdf(False)
    with weasy_cache.disabled():
        assert pdf(True) == wide
        assert pdf(False) == narrow


def test_page_number_box_inherits_from_a_root_styled_by_the_letter() -> None:
    """A margin box holding only ``counter(page)`` inherits from the page and so from
    the root element, whose style a selector can make depend on the rest of the letter
    (``html:has(.urgent)``) while the root's attributes stay the same: the page
    number of each letter is drawn in its own root's style, as plain WeasyPrint does."""
    render, _ = _weasy("html:has(.urgent) { letter-spacing: 3pt; color: red } "
                       "@page { @bottom-center { content: 'page ' counter(page) } }")

    def pdf(urgent: bool) -> bytes:
        extra = '<p class="urgent">Urgent.</p>' if urgent else ""
        return render(f"<html lang=en><body><p>Excellency,</p>{extra}</body></html>")

    urgent, calm = pdf(True), pdf(False)
    with weasy_cache.disabled():
        assert pdf(True) == urgent
        assert pdf(False) == calm


def test_lines_beside_floats_and_right_to_left_lines_are_placed_as_weasyprint_does(
        ) -> None:
    """Line boxes and blocks are placed by a shortcut only on a page with no float and
    in left-to-right text; lines that flow around a float, right-to-left lines and a
    floated box with no height are the same bytes as WeasyPrint alone makes them."""
    render, _ = _weasy(".side { float: left; width: 30mm; height: 20mm; margin: 2mm; "
                       "background: #ccc } .end { float: right; width: 20mm; height: 0 } "
                       "table { width: 50% } .box { overflow: hidden }")
    words = "The candidate pledged to cooperate with the special procedures. " * 6
    html = (f"<html lang=en><body><div class=side></div><div class=end></div><p>{words}</p>"
            f"<table><tr><td>{words}</td></tr></table><div class=box>{words}</div>"
            f"<p dir=rtl lang=ar>نحن نكتب إليكم بشأن ترشيحكم. {words}</p>"
            f"<div dir=rtl><table><tr><td>{words}</td></tr></table></div></body></html>")
    fast = render(html)
    assert render(html) == fast
    with weasy_cache.disabled():
        assert render(html) == fast


def test_normal_flow_is_weasyprints_for_every_positioning() -> None:
    """The one-read test of normal flow says what WeasyPrint's five tests say, for
    every float and position a box can have."""
    if not weasy_fast.install():
        pytest.skip("another WeasyPrint version: nothing is patched")
    from weasyprint.formatting_structure.boxes import Box

    class Styled(Box):
        def __init__(self, float_: str, position: Any) -> None:  # just a style
            self.style = {"float": float_, "position": position}

    floats = ("none", "left", "right", "inline-start", "inline-end", "footnote")
    positions = ("static", "relative", "absolute", "fixed", "sticky",
                 ("running()", "header"), ("note()", "n"))
    for float_ in floats:
        for position in positions:
            box = Styled(float_, position)
            assert weasy_fast._is_in_normal_flow(box) is weasy_fast._original_in_normal_flow(
                box), (float_, position)
    assert Box.is_in_normal_flow is weasy_fast._is_in_normal_flow


def _tree(element: Any) -> Any:
    return (element.tag, dict(element.attrib), element.text, element.tail,
            [_tree(child) for child in element])


def test_each_letters_page_parses_to_the_tree_tinyhtml5_builds(
        letters: list[tuple[Document, Renderer]]) -> None:
    """Letters are parsed from their skeleton's tree (the same page with markers for
    its words): the tree is tinyhtml5's own, for every letter of the sample, of the
    multilingual and of the full-letter example, the first time and from the cache."""
    if not weasy_fast.install():
        pytest.skip("another WeasyPrint version: nothing is patched")
    from letterforge.writers.html import render_page

    for _ in range(2):
        for doc, renderer in letters:
            page = render_page(doc.tree, doc.meta, footnotes="float",
                               images=renderer.job.assets.images)
            assert weasy_fast._skeleton(page) is not None
            assert _tree(weasy_fast._parse(page, False)) == _tree(
                weasy_fast._original_parse(page, False))


PAGE = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<title>{t}</title>\n<meta name="description" content="{a}">\n</head>\n<body>\n'
        '<main>\n<p class="x">{t}</p>\n<p>  {t}<br>{t}  </p>\n<pre><code>\n{t}</code></pre>\n'
        '<table><tr><td>{t}</td></tr>{t}</table>\n<ol reversed><li>{t}</li></ol>\n'
        '<p><a href="{a}" title="{a}">{t}</a></p></p>{t}\n</main>\n</body>\n</html>\n{t}\n')


@pytest.mark.parametrize("words", [
    "Mexico", "Côte d&#x27;Ivoire &amp; &lt;Friends&gt;", "\xa0nbsp at the edges\xa0",
    "&nbsp;named", "&amp", "a &copy b", "tab\there", "cr\rhere", "nul\x00here",
    "bell\x07", "\ue000" "0\ue001", "non\ufffecharacter", "\u202eright-to-left\u202c",
    "   ", "", "中文 العربية", "quote &quot;x&quot;", "form\ffeed",
])
def test_pages_parse_as_tinyhtml5_parses_them(words: str) -> None:
    """Whatever the words (entities letterforge never writes, control characters, CR,
    NUL, the marker characters themselves, white space only), in text and attribute
    values and in the places the HTML5 tree builder treats specially (a table, after
    the body, after <pre>): the tree is tinyhtml5's, the first time and from the cache."""
    if not weasy_fast.install():
        pytest.skip("another WeasyPrint version: nothing is patched")
    for filler in ("Mexico", words, words + " again"):
        page = PAGE.format(t=filler, a=filler)
        assert _tree(weasy_fast._parse(page, False)) == _tree(
            weasy_fast._original_parse(page, False)), repr(filler)


@pytest.mark.parametrize("tag", [
    "<br/>", "<p class='single'>x</p>", "<P CLASS=\"upper\">x</P>", "<!-- note -->",
    "<script>var a = '<p>';</script>", "<style>p { color: red }</style>",
    "<textarea>\n<b>x</b></textarea>", "<svg><title>x</title></svg>", "<my-tag>x</my-tag>",
    "<p data-x=\"1\" hidden>x</p>", "<select><option>x</select>", "<form><p>x</form>",
    "<title><b x=\"1\" ></title>", "<title>a</title >", "<title>unclosed",
    "<title><title>x</title>",
])
def test_other_markup_parses_as_tinyhtml5_parses_it(tag: str) -> None:
    if not weasy_fast.install():
        pytest.skip("another WeasyPrint version: nothing is patched")
    page = f"<!DOCTYPE html><html><body><p>Before</p>{tag}<p>After</p></body></html>"
    assert _tree(weasy_fast._parse(page, False)) == _tree(
        weasy_fast._original_parse(page, False))


def test_the_helper_loads_the_stylesheets_given_before_the_letter(
        letters: list[tuple[Document, Renderer]]) -> None:
    """A helper given a letter's assets first parses its stylesheets and loads its
    fonts (the letter's PDF then finds them ready); assets whose stylesheets fail are
    left for the letter's render to report, with the letter's name."""
    import dataclasses

    from letterforge.writers import pdf

    doc, renderer = letters[-1]
    assets = renderer.job.assets
    render = pdf.helper()
    pdf._cache.clear()
    assert render(assets) is None
    ready = pdf._resources(assets)
    assert len(pdf._cache) == 1
    assert render((doc, assets)) == _render(doc, renderer)
    assert pdf._resources(assets) is ready
    broken = dataclasses.replace(assets, template_dir=Path("/nonexistent"), files={},
                                 stylesheet="@import url(missing.css);")
    assert render(broken) is None
