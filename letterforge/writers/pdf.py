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

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..document import Document
from ..errors import Problem, RenderError, display_path
from ..models import Assets
from . import weasy_cache
from .html import render_page

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

_cache: dict[tuple[str, str], tuple[Any, list[Any]]] = {}
_hanging_lists: bool | None = None  # None: not decided yet in this process


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

            weasy_pdf.add_tags = add_tags
    return _hanging_lists


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
    weasy_cache.install()
    weasy_cache.install_deflate()
    _cache.clear()
    _cache[key] = (font_config, css)
    return font_config, css


def render(doc: Document, assets: Assets, needed: Mapping[str, bytes] | None = None) -> bytes:
    weasy_cache.import_weasyprint()
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    page = render_page(doc.tree, doc.meta)
    identifier = hashlib.sha256(page.encode() + assets.stylesheet.encode()).hexdigest()[:32]
    try:
        font_config, css = _resources(assets)
        html = HTML(
            string=page,
            base_url=str(assets.template_dir) + "/",
            url_fetcher=_fetcher_class()(assets.template_dir, assets.files),
        )
        pdf = html.write_pdf(
            stylesheets=css,
            presentational_hints=True,  # <ol start="9">: WeasyPrint reads it as a hint
            font_config=font_config,
            pdf_variant=PDF_VARIANT,
            pdf_identifier=identifier.encode(),
        )
    except FatalURLFetchingError as exc:
        shown = display_path(assets.template_dir / assets.stylesheet_name)
        raise RenderError(Problem(shown, None, None, str(exc))) from exc
    assert isinstance(pdf, bytes)
    return pdf
