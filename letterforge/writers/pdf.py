"""PDF writer: the HTML page laid out by WeasyPrint with the print stylesheet.

A4 and page numbers come from the stylesheet. The PDF is tagged (PDF/UA-1: language,
title, structure tree), fonts are embedded, links are clickable. WeasyPrint fetches
nothing from the network and reads no file: the files the stylesheet names were read by
the load stage and are served from memory.

WeasyPrint is imported here only, on first use; one font configuration and one parsed
stylesheet are kept per process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..document import Document
from ..errors import Problem, RenderError, display_path
from ..models import Assets
from .html import render_page

PDF_VARIANT = "pdf/ua-1"

_cache: dict[tuple[str, str], tuple[Any, Any]] = {}


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


def _resources(assets: Assets) -> tuple[Any, Any]:
    """(font configuration, parsed stylesheet), built once per process and stylesheet."""
    key = (str(assets.template_dir), hashlib.sha256(assets.stylesheet.encode()).hexdigest())
    cached = _cache.get(key)
    if cached is not None:
        return cached
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    fetcher = _fetcher_class()(assets.template_dir, assets.files)
    css = CSS(
        string=assets.stylesheet,
        base_url=str(assets.template_dir / assets.stylesheet_name),
        url_fetcher=fetcher,
        font_config=font_config,
    )
    _cache.clear()
    _cache[key] = (font_config, css)
    return font_config, css


def render(doc: Document, assets: Assets, needed: Mapping[str, bytes] | None = None) -> bytes:
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
            stylesheets=[css],
            font_config=font_config,
            pdf_variant=PDF_VARIANT,
            pdf_identifier=identifier.encode(),
        )
    except FatalURLFetchingError as exc:
        shown = display_path(assets.template_dir / assets.stylesheet_name)
        raise RenderError(Problem(shown, None, None, str(exc))) from exc
    assert isinstance(pdf, bytes)
    return pdf
