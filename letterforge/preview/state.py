"""The preview's state: one letter, rendered through the same pipeline as ``render``.

:meth:`Preview.refresh` runs ``prepare`` again (it reads the inputs again) and renders
the chosen candidate only, in memory. A mistake in the inputs becomes the current
problems (as ``check`` prints them) and the last good rendering stays; the next good
rendering clears them. Every change bumps :attr:`Preview.revision`, which the page
follows over server-sent events. Nothing is written to disk.
"""

from __future__ import annotations

import datetime as dt
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from ..config import Inputs, Options
from ..errors import LetterforgeError, UsageError
from ..models import Candidate
from ..writers.eml import attachment_names
from . import compare
from .pages import ConversionFailed, PageImage, docx_to_pdf, page_images, soffice

#: headers the e-mail view shows, in this order
EMAIL_HEADERS = ("From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date")

PAGE_WIDTH = 900  # pixels


@dataclass(frozen=True)
class EmailView:
    headers: tuple[tuple[str, str], ...]
    text: str
    attachments: tuple[str, ...]

    @classmethod
    def of(cls, data: bytes) -> EmailView:
        msg = BytesParser(policy=policy.default).parsebytes(data)
        assert isinstance(msg, EmailMessage)
        headers = tuple((h, str(msg[h])) for h in EMAIL_HEADERS if msg[h] is not None)
        body = msg.get_body(("plain",))
        text = body.get_content() if isinstance(body, EmailMessage) else ""
        text = text.replace("\r\n", "\n")
        names = attachment_names(data)
        return cls(headers, text, names)


@dataclass
class View:
    """One good rendering of one letter."""

    id: int  # changes with every rendering: the page's image URLs carry it
    slug: str
    candidate: str
    files: dict[str, bytes]
    pdf_pages: list[PageImage]
    email: EmailView | None
    words: int
    sentences: list[tuple[str, bool]]  # (sentence, varies from the other letter)
    compared_with: str | None
    rendered_at: str
    docx_pages: list[PageImage] | None = None  # laid out by LibreOffice on demand
    docx_note: str | None = None
    docx_lock: threading.Lock = field(default_factory=threading.Lock)

    def file(self, ext: str) -> bytes | None:
        return next((d for p, d in self.files.items() if p.endswith("." + ext)), None)


class Preview:
    def __init__(self, inputs: Inputs, year: int, date: dt.date | None = None,
                 candidate: str | None = None,
                 after_sending: Callable[[], Mapping[str, Sequence[tuple[str, str]]]]
                 | None = None) -> None:
        self.inputs = inputs
        #: what became of each letter of the year's batch once sent (slug -> rows), read
        #: afresh for each state (the command gives it: letterforge replies' status)
        self.after_sending = after_sending
        self.year = year
        self.date = date
        self.wanted = candidate  # what --candidate asked for, until it is resolved
        self.slug: str | None = None
        self.candidates: list[Candidate] = []
        self.view: View | None = None
        self.problems: list[str] = []
        self.revision = 0
        self.renders = 0
        self.lock = threading.RLock()

    # ----- rendering -----------------------------------------------------------------

    def refresh(self, strict: bool = False) -> None:
        """Render the chosen letter again from the inputs as they are now. With
        ``strict``, a ``--candidate`` that names no candidate raises its UsageError
        (the command stops with exit 2) instead of showing in the page."""
        with self.lock:
            try:
                self.view = self._render()
                self.problems = []
            except UsageError as exc:
                if strict and self.wanted is not None and self.candidates:
                    raise
                self.problems = [str(p) for p in exc.problems]
            except LetterforgeError as exc:
                self.problems = [str(p) for p in exc.problems] or [str(exc)]
            except Exception as exc:  # a bug: say so in the page, keep the traceback
                traceback.print_exc()
                self.problems = [f"internal error ({type(exc).__name__}: {exc}): this is a "
                                 "bug in letterforge, please report it with the traceback "
                                 "printed by the preview"]
            self.revision += 1

    def select(self, slug: str) -> None:
        with self.lock:
            if slug != self.slug:
                self.slug = slug
                self.refresh()

    def _render(self) -> View:
        from ..plan import prepare

        plan = prepare(self.inputs, Options(self.year, self.date), check_letters=False)
        everyone = list(plan.all_candidates)
        self.candidates = everyone
        if not everyone:
            raise UsageError(f"{self.inputs.candidates}: no candidates for {self.year}")
        chosen = self._chosen(everyone)
        renderer = plan.renderer()
        doc = renderer.document(chosen)
        rendered = renderer(chosen)
        other = _neighbour(everyone, chosen)
        other_text = _text(renderer.document(other)) if other is not None else None
        ours = _text(doc)
        files = rendered.files
        pdf = next(d for p, d in files.items() if p.endswith(".pdf"))
        eml = next((d for p, d in files.items() if p.endswith(".eml")), None)
        self.renders += 1
        return View(
            id=self.renders, slug=chosen.slug, candidate=chosen.short_name, files=files,
            pdf_pages=page_images(pdf, PAGE_WIDTH),
            email=EmailView.of(eml) if eml is not None else None,
            words=len(compare.words(ours)),
            sentences=compare.varying_sentences(ours, other_text),
            compared_with=other.short_name if other is not None else None,
            rendered_at=dt.datetime.now().strftime("%H:%M:%S"),
        )

    def _chosen(self, everyone: list[Candidate]) -> Candidate:
        if self.wanted is not None:
            self.slug = resolve(everyone, self.wanted, "--candidate").slug
            self.wanted = None
        if self.slug is None:
            self.slug = everyone[0].slug
        for c in everyone:
            if c.slug == self.slug:
                return c
        names = ", ".join(c.short_name for c in everyone)
        raise UsageError(f"{self.inputs.candidates}: the letter shown ({self.slug}) has no "
                         f"candidate for {self.year} any more; choose one of: {names}")

    # ----- the DOCX as LibreOffice lays it out, on demand ----------------------------

    def docx_view(self, view: View) -> tuple[list[PageImage], str | None]:
        with view.docx_lock:
            if view.docx_pages is None and view.docx_note is None:
                docx = view.file("docx")
                if docx is None:
                    view.docx_note = "This preview renders no DOCX."
                elif soffice() is None:
                    view.docx_note = ("LibreOffice is not installed, so the DOCX cannot be "
                                      "shown as it lays it out (Debian: apt-get install "
                                      "libreoffice-writer-nogui).")
                else:
                    try:
                        view.docx_pages = page_images(docx_to_pdf(docx), PAGE_WIDTH)
                    except ConversionFailed as exc:
                        view.docx_note = f"The DOCX could not be laid out: {exc}."
            return view.docx_pages or [], view.docx_note

    # ----- what the page reads ---------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self.lock:
            view = self.view
            sent: list[list[str]] = []
            if view is not None and self.after_sending is not None:
                try:
                    sent = [list(r) for r in self.after_sending().get(view.slug, ())]
                except Exception as exc:  # noqa: BLE001 - a damaged ledger: said, not fatal
                    sent = [["Sent", f"cannot be read: {exc}"]]
            return {
                "revision": self.revision,
                "year": self.year,
                "candidates": [{"slug": c.slug, "name": c.short_name}
                               for c in self.candidates],
                "selected": self.slug,
                "problems": list(self.problems),
                "view": None if view is None else {
                    "id": view.id,
                    "slug": view.slug,
                    "candidate": view.candidate,
                    "rendered_at": view.rendered_at,
                    "sent": sent,
                    "pages": [{"src": f"/img/pdf/{view.id}/{i + 1}.png", "width": p.width,
                               "height": p.height} for i, p in enumerate(view.pdf_pages)],
                    "email": None if view.email is None else {
                        "headers": [list(h) for h in view.email.headers],
                        "text": view.email.text,
                        "attachments": list(view.email.attachments),
                    },
                    "facts": {
                        "pages": len(view.pdf_pages),
                        "words": view.words,
                        "compared_with": view.compared_with,
                        "sentences": [{"text": s, "varies": v} for s, v in view.sentences],
                    },
                },
            }


def resolve(candidates: list[Candidate], wanted: str, option: str) -> Candidate:
    """A candidate by short name, name or slug."""
    key = wanted.strip().casefold()
    for c in candidates:
        if key in (c.short_name.casefold(), c.name.casefold(), c.slug):
            return c
    names = ", ".join(c.short_name for c in candidates)
    raise UsageError(f"{option}: no candidate {wanted!r} this year (candidates: {names})")


def _neighbour(everyone: list[Candidate], chosen: Candidate) -> Candidate | None:
    """Another candidate to compare with: the next one (the previous for the last)."""
    if len(everyone) < 2:
        return None
    i = everyone.index(chosen)
    return everyone[i + 1] if i + 1 < len(everyone) else everyone[i - 1]


def _text(doc: Any) -> str:
    from ..writers.text import render_text

    return render_text(doc.tree)
