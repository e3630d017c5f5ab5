"""The PDF: the letter's HTML page laid out by WeasyPrint with the print stylesheets,
through WeasyPrint's public API (``HTML``, ``CSS``, ``FontConfiguration``,
``URLFetcher``, ``Document.write_pdf`` with a ``finisher``).

A4 and page numbers come from the stylesheet. The PDF is PDF/UA-1: language, title,
structure tree (with :mod:`.conformance`'s fixes), fonts embedded, links clickable.
WeasyPrint fetches nothing from the network and reads no file: the files the stylesheet
and the letter name were read by the load stage and are served from memory.

One render context per process: the font configuration and the parsed stylesheets,
kept while every input they follow from is the same *content* (:func:`_context`: the
stylesheet's text, its folder, every file it or the letter may fetch). Whatever the
engine's speed overrides remember lives on that context, so an edited logo, font or
stylesheet starts anew with nothing remembered.
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import Problem, RenderError, display_path
from ...models import Assets
from ...parse import Document
from ..html import (
    FOOTNOTES_CSS,
    FURNITURE_CSS,
    HANGING_LISTS_CSS,
    PLACEMENT_CSS,
    footer_of,
    letterhead_of,
    render_page,
)
from . import conformance, engine

PDF_VARIANT = "pdf/ua-1"


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


@dataclass
class _Context:
    """What every letter of one set of inputs shares in this process."""

    digest: str
    font_config: Any
    stylesheets: list[Any]
    files: dict[str, bytes]
    sheets: dict[str, Any] = field(default_factory=dict)  # furniture CSS by text


def assets_digest(assets: Assets) -> str:
    """A hash of everything a render reads besides the letter's page: the stylesheet's
    text, name and folder (its base URL), and every file it or the letter may fetch."""
    h = hashlib.sha256()

    def part(data: bytes) -> None:
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)

    part(str(assets.template_dir.resolve()).encode())
    part(assets.stylesheet_name.encode())
    part(assets.stylesheet.encode())
    for name, data in sorted(_served(assets).items()):
        part(name.encode())
        part(data)
    return h.hexdigest()


def _served(assets: Assets) -> dict[str, bytes]:
    files = dict(assets.files)
    files.update({posixpath.normpath(k): i.data for k, i in assets.images.items()})
    return files


_contexts: dict[str, _Context] = {}
_contexts_lock = threading.Lock()
_digests: dict[int, tuple[Assets, str]] = {}  # id -> (the assets, kept alive; digest)


def _context(assets: Assets) -> _Context:
    """The render context of these assets, made once per process and content."""
    with _contexts_lock:
        known = _digests.get(id(assets))
        digest = known[1] if known is not None and known[0] is assets else None
    if digest is None:
        digest = assets_digest(assets)  # once per Assets: every letter of a run shares it
        with _contexts_lock:
            _digests.clear()
            _digests[id(assets)] = (assets, digest)
    with _contexts_lock:
        found = _contexts.get(digest)
        if found is not None:
            return found
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    files = _served(assets)
    fetcher = _fetcher_class()(assets.template_dir, files)
    stylesheets = [
        CSS(string=assets.stylesheet,
            base_url=str(assets.template_dir / assets.stylesheet_name),
            url_fetcher=fetcher, font_config=font_config),
        CSS(string=HANGING_LISTS_CSS, font_config=font_config),
        CSS(string=FOOTNOTES_CSS, font_config=font_config),
    ]
    context = _Context(digest, font_config, stylesheets, files)
    with _contexts_lock:
        _contexts.clear()  # one context: the inputs of one campaign as they are now
        _contexts[digest] = context
    return context


def _stylesheets(context: _Context, meta: Mapping[str, Any], has_images: bool
                 ) -> list[Any]:
    """The stylesheets with the furniture's: nothing added to a letter without a
    letterhead, a footer or an image (it lays out exactly as before)."""
    placed = [k for k, present in (("letterhead", letterhead_of(meta) is not None),
                                   ("footer", footer_of(meta) is not None)) if present]
    if not placed and not has_images:
        return context.stylesheets
    from weasyprint import CSS

    def sheet(text: str) -> Any:
        if text not in context.sheets:
            context.sheets[text] = CSS(string=text, font_config=context.font_config)
        return context.sheets[text]

    after = "".join(PLACEMENT_CSS[k] for k in placed)
    return [sheet(FURNITURE_CSS), *context.stylesheets, *([sheet(after)] if after else [])]


def problems() -> list[Problem]:
    """What stops this installation from writing PDFs (said before any letter is made)."""
    return engine.problems()


def helper() -> Callable[[tuple[Document, Assets] | Assets], bytes | None]:
    """In a helper process (parallel.start_pdf_helper): WeasyPrint imported and the engine
    installed now, before the letter comes; then, given the letter's assets, its
    stylesheets parsed and fonts loaded while that letter is made; then, given the
    letter and its assets, its PDF."""
    with contextlib.suppress(RenderError):  # the letter's render reports it
        engine.install()

    def render_task(task: tuple[Document, Assets] | Assets) -> bytes | None:
        if isinstance(task, Assets):
            from weasyprint.urls import FatalURLFetchingError  # not an Exception

            # an error: the letter's render says what is wrong, with the letter's name
            with contextlib.suppress(Exception, FatalURLFetchingError):
                engine.install()
                _context(task)
            return None
        doc, assets = task
        return render(doc, assets, {})

    return render_task


def render(doc: Document, assets: Assets, needed: Mapping[str, bytes] | None = None) -> bytes:
    engine.install()
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    from .engine.reads import footnote_overflow, furniture_overflow

    page = render_page(doc.tree, doc.meta, footnotes="float", images=assets.images)
    try:
        context = _context(assets)
        html = HTML(
            string=page,
            base_url=str(assets.template_dir) + "/",
            url_fetcher=_fetcher_class()(assets.template_dir, context.files),
        )
        options: dict[str, Any] = {
            "stylesheets": _stylesheets(context, doc.meta, "<img " in page),
            "presentational_hints": True,  # <ol start="9">: WeasyPrint reads it as a hint
            "pdf_variant": PDF_VARIANT,
            # no file identifier: pydyf would serialise every object a second time to
            # hash it (7 % of a letter), and nothing reads it (PDF/UA-1 does not ask
            # for one; the file is the same bytes at every render without it)
        }
        document = html.render(font_config=context.font_config, **options)
        overflow = furniture_overflow(document) or footnote_overflow(document)
        if overflow is not None:
            shown = display_path(assets.template_dir / assets.stylesheet_name)
            raise RenderError(Problem(shown, None, overflow[0] or None,
                                      f"{overflow[1]} (letter to {doc.candidate.label})"))
        pdf = document.write_pdf(finisher=conformance.finish, **options)
    except FatalURLFetchingError as exc:
        shown = display_path(assets.template_dir / assets.stylesheet_name)
        raise RenderError(Problem(shown, None, None, str(exc))) from exc
    assert isinstance(pdf, bytes)
    return pdf
