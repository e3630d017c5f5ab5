"""Writers are a table: format name -> :class:`Writer`.

Each writer turns a parsed :class:`~letterforge.parse.Document` (plus the assets and
the bytes of the formats it needs) into the bytes of one file, and never touches the
disk. Its module has ``render(document, assets, needed) -> bytes`` and walks the tree
with a mapping ``node type -> rule`` that covers :data:`letterforge.parse.NODE_TYPES`
exactly. The HTML and plain-text renderers (``html``, ``text``) are shared: the PDF and
the preview lay out the HTML; the e-mail carries both.

Modules are imported only when a format is used, so ``letterforge --help`` and
``letterforge list`` never import WeasyPrint. To add a format, add one entry here and a
module beside this one.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..errors import Problem
    from ..models import Assets
    from ..parse import Document


@dataclass(frozen=True)
class Writer:
    name: str  # the format, as --format names it
    extension: str
    folder: str  # sub-folder of the batch
    module: str
    needs: tuple[str, ...] = ()  # formats whose bytes this writer takes
    wants: tuple[str, ...] = ()  # formats it takes when the document asks for them
    #: a light module whose ``problems()`` says what stops this writer on this
    #: installation (asked before any letter is made; it imports nothing heavy)
    checks: str | None = None

    def render(self, document: Document, assets: Assets,
               needed: Mapping[str, bytes] | None = None) -> bytes:
        module = importlib.import_module(self.module)
        data: bytes = module.render(document, assets, needed or {})
        return data

    def requires(self, document: Document) -> tuple[str, ...]:
        """The formats this writer needs for this document."""
        extra = tuple(w for w in self.wants if _asked(document, w))
        return self.needs + extra

    def path(self, slug: str) -> str:
        """The file's path in the batch."""
        return f"{self.folder}/{slug}.{self.extension}"


def _asked(document: Document, fmt: str) -> bool:
    return fmt == "docx" and document.email is not None and document.email.attach_docx


WRITERS: dict[str, Writer] = {
    w.name: w
    for w in (
        Writer("docx", "docx", "docx", "letterforge.writers.docx"),
        Writer("pdf", "pdf", "pdf", "letterforge.writers.pdf.render",
               checks="letterforge.writers.pdf.engine"),
        # The e-mail carries the PDF (and the DOCX when the e-mail template asks).
        Writer("eml", "eml", "email", "letterforge.writers.eml", needs=("pdf",),
               wants=("docx",)),
    )
}

NEEDS = {name: w.needs for name, w in WRITERS.items()}


def problems(formats: tuple[str, ...] | list[str]) -> list[Problem]:
    """What stops the writers of ``formats`` (and those they need) on this installation:
    a PDF engine made for other library versions, say."""
    found: list[Problem] = []
    wanted = {f for f in formats if f in WRITERS}
    wanted |= {n for f in wanted for n in WRITERS[f].needs}
    for name in sorted(wanted):
        checks = WRITERS[name].checks
        if checks is not None:
            found.extend(importlib.import_module(checks).problems())
    return found
