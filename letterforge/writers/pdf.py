"""PDF writer: the HTML page laid out by WeasyPrint with the print stylesheet.

A4 and page numbers come from the stylesheet. The PDF is tagged (PDF/UA-1: language,
title, structure tree), fonts are embedded, links are clickable. WeasyPrint fetches
nothing from the network and reads no file: the files the stylesheet names were read by
the load stage and are served from memory.

WeasyPrint is imported here only, on first use; one font configuration and one parsed
stylesheet are kept per process.

Hanging list numbers, fast. WeasyPrint lays out an outside ``::marker`` as an absolutely
positioned box with a shrink-to-fit width, which cost about a third of the layout time
of a letter with 58 numbered items. For a tight ordered list (the HTML writer's
``lf-tight`` class: each item one line of text) the numbers are set ``inside`` the first
line and hung into the margin by a negative ``text-indent`` of the number's width, so
they stand exactly where outside markers stood. WeasyPrint tags an inside marker as
``Lbl`` but leaves the item's text directly in the ``LI``; PDF/UA-1 wants ``LI > Lbl,
LBody``, so a post-pass over the structure tree wraps an item's other children in one
``LBody`` (:func:`_wrap_list_bodies`). That pass replaces WeasyPrint's private
``weasyprint.pdf.add_tags`` and is installed only on the WeasyPrint version it was
written and checked for (:data:`HANGING_LISTS_WEASYPRINT`); on any other version lists
keep their outside markers and nothing is patched.
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from ..document import Document
from ..errors import Problem, RenderError, display_path
from ..models import Assets
from . import weasy_cache, weasy_fast
from .html import footer_of, letterhead_of, render_page

PDF_VARIANT = "pdf/ua-1"

#: The WeasyPrint version whose private tagging function the list post-pass wraps
#: (constraints.txt pins it). Any other version: outside markers, no patch.
HANGING_LISTS_WEASYPRINT = "70.0"

#: Inside numbers hung into the margin by their own width. In the fonts letters use
#: (Liberation Serif and Sans, DejaVu, Times, Arial metrics) a digit is 1ch and ". " is
#: 1ch too, so "N. " with d digits is (d + 1)ch: the text starts where it did with an
#: outside marker, whose right edge is the start of the text. The HTML writer marks an
#: item whose number has d >= 2 digits ``lf-n<d>``. The number is set without kerning
#: (an outside "11." is kerned 0.4 pt narrower): the text stays exactly in place.
HANGING_LISTS_CSS = (
    "ol.lf-tight > li { list-style-position: inside; text-indent: -2ch; }\n"
    "ol.lf-tight > li::marker { font-kerning: none; }\n"
    + "".join(f"ol.lf-tight > li.lf-n{d} {{ text-indent: -{d + 1}ch; }}\n" for d in range(2, 11))
)

#: What makes a footnote a footnote, whatever the letter's stylesheet says: the HTML
#: writer puts each note's text at its reference in a ``span.lf-footnote`` (see
#: writers/html.py), floated here to the foot of its page; WeasyPrint numbers the notes
#: (``counter(footnote)``), and a note referenced again shows the same number. Its look
#: (size, rule above the notes) is the stylesheet's (templates/letter.css).
FOOTNOTES_CSS = (
    ".lf-footnote { float: footnote; }\n"
    ".lf-footnote-again { vertical-align: super; }\n"
)
#: The letterhead, the running footer and images, laid out when a letter has them (see
#: writers/html.py ``furniture``). FURNITURE_CSS comes before the template's stylesheet,
#: so ``letter.css`` restyles any of it (fonts, sizes, the first page's top margin); the
#: placement of the running elements in the margin boxes comes after it. The contents of
#: margin boxes stay out of the structure tree: they are page furniture, not the letter.
FURNITURE_CSS = """
img { max-width: 100%; height: auto; }
p.signature-image { margin: 0 0 2pt 0; break-after: avoid; }
p.signature-image img { max-height: 25mm; width: auto; }
header.letterhead { position: running(letterhead); font-size: 9pt; line-height: 1.3; }
header.letterhead p { margin: 0 0 2pt 0; }
header.letterhead .letterhead-name { font-size: 12pt; font-weight: bold; margin-top: 3pt; }
img.letterhead-logo { max-height: 18mm; width: auto; display: block; }
footer.page-footer { position: running(page-footer); font-size: 9pt; color: #555; }
.page-number::before { content: counter(page); }
.page-count::before { content: counter(pages); }
@page :first { margin-top: 55mm; @top-left { vertical-align: bottom; padding-bottom: 6mm; } }
"""
PLACEMENT_CSS = {
    "letterhead": "@page :first { @top-left { content: element(letterhead); } }\n",
    "footer": "@page { @bottom-center { content: element(page-footer); } }\n",
}

_cache: dict[tuple[str, str], tuple[Any, list[Any]]] = {}
_hanging_lists: bool | None = None  # None: not decided yet in this process
_footnotes_patched = False

#: Footnotes on the page of their reference. WeasyPrint 70 decides that the footnote area
#: overflows when its last note's bottom is greater than the area's bottom, two sums of
#: the same lengths added in different orders: with a border or padding on ``@footnote``
#: (0.5pt = 0.666... px) rounding makes the note "overflow" by 1e-14 px and moves every
#: note of the page to the next one. :func:`footnotes_on_their_page` gives that one
#: comparison a tolerance of a thousandth of a pixel, on the version it was checked for.
#: It also tags the notes as PDF/UA wants (:func:`_tag_notes`): WeasyPrint 70 tags the
#: footnote area and its notes as NonStruct and Span; each note becomes a ``Note`` with
#: the ``ID`` PDF/UA-1 requires of one, its number a ``Lbl``, and the number in the text
#: a ``Reference``.
FOOTNOTES_WEASYPRINT = "70.0"


def _fetcher_class() -> Any:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class AssetsFetcher(URLFetcher):
        """Serves the files the load stage read from the templates folder, and nothing
        else: no network, no other file."""

        def __init__(self, root: Path, files: Mapping[str, bytes]) -> None:
            super().__init__(allowed_protocols={"file", "data"})
            self.root = root.resolve()
            self.files = files

        def fetch(self, url: str, headers: Any = None) -> Any:
            import mimetypes
            from urllib.parse import unquote, urlparse

            parsed = urlparse(url)
            if parsed.scheme == "data":
                return super().fetch(url, headers)
            if parsed.scheme != "file":
                raise FatalURLFetchingError(
                    f"the letter or stylesheet asks for {url!r}: letterforge fetches nothing "
                    "from the network; put the file in the templates folder"
                )
            path = Path(unquote(parsed.path)).resolve()
            if not path.is_relative_to(self.root):
                raise FatalURLFetchingError(
                    f"the letter or stylesheet asks for {str(path)!r}, outside the templates "
                    f"folder {str(self.root)!r}: only files in that folder can be used"
                )
            rel = path.relative_to(self.root).as_posix()
            data = self.files.get(rel)
            if data is None:
                raise FatalURLFetchingError(
                    f"the letter or stylesheet asks for {rel!r}, which is not a file the "
                    "stylesheet names in the templates folder"
                )
            kind = mimetypes.guess_type(rel)[0] or "application/octet-stream"
            return URLFetcherResponse(url, data, {"Content-Type": kind})

    return AssetsFetcher


def _wrap_list_bodies(pdf: Any) -> None:
    """In the structure tree WeasyPrint built, give every ``LI`` the kids PDF/UA-1 wants:
    an optional ``Lbl`` followed by one ``LBody`` holding everything else (an inside
    marker leaves the item's text spans directly in the ``LI``; a loose item's
    paragraphs are ``P`` elements in the ``LI``). Only references to structure elements
    move; marked content keeps its element, so the parent tree stays right."""
    import pydyf

    def element(ref: Any) -> Any:
        if isinstance(ref, bytes) and ref.endswith(b" R"):
            obj = pdf.objects[int(ref.split()[0])]
            return obj if isinstance(obj, pydyf.Dictionary) else None
        return None

    for li in list(pdf.objects):
        if not isinstance(li, pydyf.Dictionary) or li.get("S") != "/LI":
            continue
        refs = list(li["K"])
        kids = [element(ref) for ref in refs]
        if any(kid is None for kid in kids):
            continue  # marked content or an annotation directly in the LI: leave it
        tags = [kid.get("S") for kid in kids]
        label = 1 if tags[:1] == ["/Lbl"] else 0
        rest = tags[label:]
        if rest == ["/LBody"] or not rest or "/Lbl" in rest or "/LBody" in rest:
            continue  # already right, or a shape this pass does not know
        body = pydyf.Dictionary({
            "Type": "/StructElem",
            "S": "/LBody",
            "K": pydyf.Array(refs[label:]),
            "Pg": li["Pg"],
            "P": li.reference,
        })
        pdf.add_object(body)
        for kid in kids[label:]:
            kid["P"] = body.reference
        li["K"] = pydyf.Array([*refs[:label], body.reference])


#: True while a letter with a letterhead or a running footer is written: its margin
#: boxes' content becomes pagination artifacts (see :func:`_margin_artifacts`).
_FURNISHED: ContextVar[bool] = ContextVar("letterforge_furnished", default=False)


def _margin_artifacts(pdf: Any, page_streams: Any) -> None:
    """Mark what the page margins hold (the letterhead, the running footer, the page
    numbers) as pagination artifacts, as PDF/UA-1 asks of page furniture. WeasyPrint 70
    tags it as marked content whose structure elements it keeps out of the structure
    tree; here each such sequence becomes ``/Artifact <</Type /Pagination>> BDC`` and its
    entry in the parent tree ``null``, so no reader finds it as content."""
    import pydyf

    def obj(ref: Any) -> Any:
        if isinstance(ref, bytes) and ref.endswith(b" R"):
            return pdf.objects[int(ref.split()[0])]
        return ref

    root = obj(pdf.catalog["StructTreeRoot"])
    reachable: set[int] = set()
    todo = [obj(ref) for ref in root["K"]]
    while todo:
        element = todo.pop()
        if not isinstance(element, pydyf.Dictionary) or id(element) in reachable:
            continue
        reachable.add(id(element))
        kids = element.get("K")
        if isinstance(kids, pydyf.Array):
            todo.extend(obj(k) for k in kids)
    nums = obj(root["ParentTree"])["Nums"]
    for page_number, stream in enumerate(page_streams):
        mapping = nums[2 * page_number + 1] if 2 * page_number + 1 < len(nums) else None
        if not isinstance(mapping, pydyf.Array) or nums[2 * page_number] != page_number:
            continue
        outside = {mcid for mcid, ref in enumerate(mapping) if id(obj(ref)) not in reachable}
        if not outside:
            continue
        ops = stream.stream
        # every "<tag> <properties> BDC" of the page (list.index finds each BDC: a
        # page's stream holds thousands of operators, a few hundred of them BDC)
        start = 2
        while True:
            try:
                bdc = ops.index(b"BDC", start)
            except ValueError:
                break
            start = bdc + 1
            props = ops[bdc - 1]
            if (isinstance(props, pydyf.Dictionary) and props.get("MCID") in outside
                    and isinstance(ops[bdc - 2], str)):
                ops[bdc - 2] = "/Artifact"
                ops[bdc - 1] = pydyf.Dictionary({"Type": "/Pagination"})
        for mcid in outside:
            mapping[mcid] = b"null"


def hanging_lists() -> bool:
    """Install the list post-pass once per process; whether tight lists may hang inside
    numbers (False on a WeasyPrint version the pass was not checked for)."""
    global _hanging_lists
    if _hanging_lists is None:
        import weasyprint
        import weasyprint.pdf as weasy_pdf

        _hanging_lists = (weasyprint.__version__ == HANGING_LISTS_WEASYPRINT
                          and callable(getattr(weasy_pdf, "add_tags", None)))
        if _hanging_lists:
            original = weasy_pdf.add_tags

            def add_tags(pdf: Any, document: Any, pdf_version: Any, page_streams: Any
                         ) -> None:
                original(pdf, document, pdf_version, page_streams)
                _wrap_list_bodies(pdf)
                if _FURNISHED.get():
                    _margin_artifacts(pdf, page_streams)

            weasy_pdf.add_tags = add_tags
    return _hanging_lists


def footnotes_on_their_page() -> bool:
    """Install the footnote-area comparison with a tolerance, once per process (only on
    :data:`FOOTNOTES_WEASYPRINT`); whether it is installed."""
    global _footnotes_patched
    if _footnotes_patched:
        return True
    import weasyprint
    from weasyprint.layout import LayoutContext

    if weasyprint.__version__ != FOOTNOTES_WEASYPRINT or not callable(
            getattr(LayoutContext, "_update_footnote_area", None)):
        return False
    from math import inf

    from weasyprint.formatting_structure import build
    from weasyprint.layout.block import block_level_layout

    def _update_footnote_area(self: Any) -> bool:
        # WeasyPrint 70.0's LayoutContext._update_footnote_area, with "+ 1e-3" below.
        if self.current_footnote_area.height != "auto" and not self.in_column:
            self.page_bottom += self.current_footnote_area.margin_height()
        self.current_footnote_area.children = self.current_page_footnotes
        if self.current_footnote_area.children:
            footnote_area = build.create_anonymous_boxes(
                self.current_footnote_area.deepcopy())
            footnote_area = block_level_layout(
                self, footnote_area, -inf, None, self.current_footnote_area.page)[0]
            self.current_footnote_area.height = footnote_area.height
            if not self.in_column:
                self.page_bottom -= footnote_area.margin_height()
            last_child = footnote_area.children[-1]
            last_child_bottom = (last_child.position_y + last_child.margin_height()
                                 - last_child.margin_bottom)
            footnote_area_bottom = (footnote_area.position_y + footnote_area.margin_height()
                                    - footnote_area.margin_bottom)
            return bool(last_child_bottom > footnote_area_bottom + 1e-3)
        self.current_footnote_area.height = 0
        if not self.in_column:
            self.page_bottom -= self.current_footnote_area.margin_height()
        return False

    LayoutContext._update_footnote_area = _update_footnote_area
    import weasyprint.pdf.tags as tags

    tags._build_box_tree = _tag_notes(tags._build_box_tree)
    _footnotes_patched = True
    return True


def _tag_notes(build: Any) -> Any:
    """Wrap WeasyPrint 70's structure-tree builder (which calls itself through the
    module, so every level is wrapped): notes become ``Note`` elements with an ``ID``."""
    import pydyf
    from weasyprint.formatting_structure import boxes

    def build_box_tree(box: Any, parent: Any, pdf: Any, *args: Any) -> Any:
        tag = str(getattr(box, "element_tag", "") or "")
        for element in build(box, parent, pdf, *args):
            if tag.endswith("::footnote-call"):
                element["S"] = "/Reference"
            elif tag.endswith("::footnote-marker"):
                element["S"] = "/Lbl"
            elif isinstance(box, boxes.FootnoteAreaBox):
                for ref in element["K"]:
                    note = pdf.objects[int(ref.split()[0])] if isinstance(ref, bytes) \
                        else None
                    if isinstance(note, pydyf.Dictionary) and note.get("S") == "/Span":
                        note["S"] = "/Note"
                        note["ID"] = pydyf.String(f"lf-note-{note.number}")
            yield element

    return build_box_tree


def _resources(assets: Assets) -> tuple[Any, list[Any]]:
    """(font configuration, parsed stylesheets), built once per process and stylesheet."""
    key = (str(assets.template_dir), hashlib.sha256(assets.stylesheet.encode()).hexdigest())
    cached = _cache.get(key)
    if cached is not None:
        return cached
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    fetcher = _fetcher_class()(assets.template_dir, assets.files)
    css = [CSS(
        string=assets.stylesheet,
        base_url=str(assets.template_dir / assets.stylesheet_name),
        url_fetcher=fetcher,
        font_config=font_config,
    )]
    if hanging_lists():
        css.append(CSS(string=HANGING_LISTS_CSS, font_config=font_config))
    css.append(CSS(string=FOOTNOTES_CSS, font_config=font_config))
    footnotes_on_their_page()
    fonts_keep_their_dates()
    weasy_cache.install()
    weasy_cache.install_deflate()
    weasy_fast.install()
    _cache.clear()
    _cache[key] = (font_config, css)
    return font_config, css


_DATED: type | None = None


def fonts_keep_their_dates() -> bool:
    """A font WeasyPrint rewrites with fontTools (a variable font made static, a colour
    font's images dropped, a font HarfBuzz cannot subset) keeps its own ``head.modified``
    date: fontTools stamps the time of the save by default, and the PDF differed at
    every render (reproducible files are how a re-run knows a letter is unchanged).
    Installed once, where WeasyPrint's PDF font module names fontTools' TTFont; whether
    it is on."""
    global _DATED
    import weasyprint.pdf.fonts as pdf_fonts
    from fontTools.ttLib import TTFont

    current = getattr(pdf_fonts, "TTFont", None)
    if _DATED is not None and current is _DATED:
        return True
    if current is not TTFont:
        return False

    class DatedTTFont(TTFont):
        """fontTools' TTFont, saved with the date the font has."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("recalcTimestamp", False)
            super().__init__(*args, **kwargs)

    _DATED = pdf_fonts.TTFont = DatedTTFont
    return True


_furniture: dict[tuple[int, str], Any] = {}


def _with_furniture(css: list[Any], font_config: Any, meta: Mapping[str, Any],
                    has_images: bool) -> list[Any]:
    """The stylesheets with the furniture's: nothing added to a letter without a
    letterhead, a footer or an image (it lays out exactly as before)."""
    placed = [k for k, present in (("letterhead", letterhead_of(meta) is not None),
                                   ("footer", footer_of(meta) is not None)) if present]
    if not placed and not has_images:
        return css
    from weasyprint import CSS

    def sheet(text: str) -> Any:
        key = (id(font_config), text)
        if key not in _furniture:
            if len(_furniture) > 16:
                _furniture.clear()
            _furniture[key] = CSS(string=text, font_config=font_config)
        return _furniture[key]

    after = "".join(PLACEMENT_CSS[k] for k in placed)
    return [sheet(FURNITURE_CSS), *css, *([sheet(after)] if after else [])]


#: The page furniture's elements (html.furniture): front-matter key, what it is, where.
_FURNITURE_BOXES = {"letterhead": ("letterhead", "the letterhead", "top"),
                    "page-footer": ("footer", "the running footer", "bottom")}


def furniture_overflow(document: Any) -> tuple[str, str] | None:
    """(front-matter key, message) when the letterhead or the running footer is taller
    than the page margin that holds it: WeasyPrint would draw it past the page's edge
    (lines of the letterhead lost) or over the text and the footnotes. None when both
    fit."""
    for page in document.pages:
        for margin_box in page._page_box.children:
            if not getattr(margin_box, "at_keyword", None) or not margin_box.children:
                continue
            kids = margin_box.children
            css_class = (getattr(kids[0], "element", None) is not None
                         and kids[0].element.get("class")) or ""
            found = next((v for k, v in _FURNITURE_BOXES.items()
                          if k in str(css_class).split()), None)
            if found is None:
                continue
            top = min(k.position_y for k in kids)
            bottom = max(k.position_y + k.margin_height() for k in kids)
            box_top = margin_box.position_y
            box_bottom = box_top + margin_box.margin_height()
            if top < box_top - 0.5 or bottom > box_bottom + 0.5:
                key, what, where = found
                need = (bottom - top) * 0.75
                room = margin_box.margin_height() * 0.75
                return key, (f"{what} is {need:.0f} pt tall, but the page's {where} margin "
                             f"holds {room:.0f} pt: it would be cut at the page's edge or "
                             f"cover the text; shorten it (front matter '{key}:'), or give "
                             f"@page{' :first' if where == 'top' else ''} a larger "
                             f"margin-{where} in the stylesheet")
    return None


def footnote_overflow(document: Any) -> tuple[str, str] | None:
    """(None, message) when a page's footnotes are taller than the page: WeasyPrint draws
    them upwards from the page's foot, past its top, and the first lines are lost (a
    note of 3,000 words printed half its words). None when every page's notes fit."""
    from weasyprint.formatting_structure.boxes import FootnoteAreaBox

    for number, page in enumerate(document.pages, 1):
        page_box = page._page_box
        for area in page_box.children:
            if isinstance(area, FootnoteAreaBox) and area.children \
                    and area.position_y < page_box.content_box_y() - 0.5:
                words = " ".join(" ".join(_box_text(area).split()).split(" ")[:8])
                return "", (f"the footnotes of page {number} are taller than the page and "
                            f"would be cut (the note beginning {words!r}): shorten the "
                            "note, or split it into several")
    return None


def _box_text(box: Any) -> str:
    text = getattr(box, "text", None)
    if isinstance(text, str):
        return text
    return " ".join(_box_text(child) for child in getattr(box, "children", ()))


def helper() -> Callable[[tuple[Document, Assets] | Assets], bytes | None]:
    """In a helper process (parallel.start_pdf_helper): WeasyPrint imported and patched
    now, before the letter comes; then, given the letter's assets, its stylesheets
    parsed and fonts loaded (what the letter's PDF needs first) while that letter is
    made; then, given the letter and its assets, its PDF."""
    weasy_cache.import_weasyprint()
    weasy_cache.install()
    weasy_fast.install()

    def render_task(task: tuple[Document, Assets] | Assets) -> bytes | None:
        if isinstance(task, Assets):
            from weasyprint.urls import FatalURLFetchingError  # not an Exception

            # an error: the letter's render says what is wrong, with the letter's name
            with contextlib.suppress(Exception, FatalURLFetchingError):
                _resources(task)
            return None
        doc, assets = task
        return render(doc, assets, {})

    return render_task


def render(doc: Document, assets: Assets, needed: Mapping[str, bytes] | None = None) -> bytes:
    weasy_cache.import_weasyprint()
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    page = render_page(doc.tree, doc.meta, footnotes="float", images=assets.images)
    furnished = _FURNISHED.set(letterhead_of(doc.meta) is not None
                               or footer_of(doc.meta) is not None)
    identifier = hashlib.sha256(page.encode() + assets.stylesheet.encode()).hexdigest()[:32]
    try:
        font_config, css = _resources(assets)
        css = _with_furniture(css, font_config, doc.meta, "<img " in page)
        files = dict(assets.files)
        files.update({posixpath.normpath(k): i.data for k, i in assets.images.items()})
        html = HTML(
            string=page,
            base_url=str(assets.template_dir) + "/",
            url_fetcher=_fetcher_class()(assets.template_dir, files),
        )
        options: dict[str, Any] = {
            "stylesheets": css,
            "presentational_hints": True,  # <ol start="9">: WeasyPrint reads it as a hint
            "pdf_variant": PDF_VARIANT,
            "pdf_identifier": identifier.encode(),
        }
        document = html.render(font_config=font_config, **options)
        overflow = furniture_overflow(document) or footnote_overflow(document)
        if overflow is not None:
            shown = display_path(assets.template_dir / assets.stylesheet_name)
            raise RenderError(Problem(shown, None, overflow[0] or None,
                                      f"{overflow[1]} (letter to {doc.candidate.label})"))
        pdf = document.write_pdf(**options)
    except FatalURLFetchingError as exc:
        shown = display_path(assets.template_dir / assets.stylesheet_name)
        raise RenderError(Problem(shown, None, None, str(exc))) from exc
    finally:
        _FURNISHED.reset(furnished)
    assert isinstance(pdf, bytes)
    return pdf
