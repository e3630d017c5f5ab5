"""PDF writer: the HTML page laid out by WeasyPrint with the print stylesheet.

A4 and page numbers come from the stylesheet. The PDF is tagged (PDF/UA-1: language,
title, structure tree), fonts are embedded, links are clickable. WeasyPrint fetches
nothing from the network and reads no file outside the templates folder.

WeasyPrint is imported here only, on first use; one font configuration and one parsed
stylesheet are kept per process.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..document import Document
from ..errors import RenderError
from ..models import Assets
from .html import render_page

PDF_VARIANT = "pdf/ua-1"

_cache: dict[tuple[str, str], tuple[Any, Any]] = {}


def _fetcher_class() -> Any:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class TemplatesOnlyFetcher(URLFetcher):
        """Serves files under the templates folder and nothing else."""

        def __init__(self, root: Path) -> None:
            super().__init__(allowed_protocols={"file"})
            self.root = root.resolve()

        def fetch(self, url: str, headers: Any = None) -> Any:
            from urllib.parse import unquote, urlparse

            parsed = urlparse(url)
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
            return super().fetch(url, headers)

    return TemplatesOnlyFetcher


def _resources(assets: Assets) -> tuple[Any, Any]:
    """(font configuration, parsed stylesheet), built once per process and stylesheet."""
    key = (str(assets.template_dir), hashlib.sha256(assets.stylesheet.encode()).hexdigest())
    cached = _cache.get(key)
    if cached is not None:
        return cached
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    fetcher = _fetcher_class()(assets.template_dir)
    css = CSS(
        string=assets.stylesheet,
        base_url=str(assets.template_dir / assets.stylesheet_name),
        url_fetcher=fetcher,
        font_config=font_config,
    )
    _cache.clear()
    _cache[key] = (font_config, css)
    return font_config, css


def render(doc: Document, assets: Assets) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    page = render_page(doc)
    identifier = hashlib.sha256(page.encode() + assets.stylesheet.encode()).hexdigest()[:32]
    try:
        font_config, css = _resources(assets)
        html = HTML(
            string=page,
            base_url=str(assets.template_dir) + "/",
            url_fetcher=_fetcher_class()(assets.template_dir),
        )
        pdf = html.write_pdf(
            stylesheets=[css],
            font_config=font_config,
            pdf_variant=PDF_VARIANT,
            pdf_identifier=identifier.encode(),
        )
    except FatalURLFetchingError as exc:
        raise RenderError(f"{assets.stylesheet_name}: {exc}") from exc
    assert isinstance(pdf, bytes)
    return pdf
