"""One letter, in memory: merged once, parsed once, each writer once (a
:class:`Renderer`); the bytes of every format of one candidate. Reads and writes
nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .job import Job
from .merge import Merger
from .models import Assets, Candidate
from .writers import WRITERS

if TYPE_CHECKING:  # markdown-it is imported when a letter is parsed, not by a re-run
    from .parse import Document

    #: Starts one format of a letter elsewhere: (document, assets) -> something whose
    #: ``result()`` is the format's bytes.
    Elsewhere = Callable[[Document, Assets], Any]


@dataclass(frozen=True)
class RenderedLetter:
    candidate: Candidate
    files: dict[str, bytes]  # path in the batch -> bytes


class Renderer:
    """Renders letters: the templates compiled once, each letter merged and parsed once
    for all its formats."""

    def __init__(self, job: Job, mergers: Mapping[str, Merger] | None = None,
                 checked: dict[str, tuple[Candidate, Document]] | None = None) -> None:
        self.job = job
        self.mergers: dict[str, Merger] = dict(mergers or {})
        # letters the check merged and parsed already (check_letters_of, keep=True): each
        # taken once, by the render that follows
        self.checked = checked if checked is not None else {}

    def merger_for(self, candidate: Candidate) -> Merger:
        key = self.job.variant_key(candidate)
        if key not in self.mergers:
            v = self.job.variants[key]
            self.mergers[key] = Merger(v.template, self.job.signatories, self.job.settings,
                                       v.email_template)
        return self.mergers[key]

    @property
    def merger(self) -> Merger:
        """The main template's merger."""
        if "" not in self.mergers:
            v = self.job.main
            self.mergers[""] = Merger(v.template, self.job.signatories, self.job.settings,
                                      v.email_template)
        return self.mergers[""]

    def document(self, candidate: Candidate) -> Document:
        """One candidate's letter, merged and parsed: what every writer renders."""
        from .parse import parse

        kept = self.checked.pop(candidate.slug, None)
        if kept is not None and kept[0] is candidate:
            return kept[1]
        letter = self.merger_for(candidate).merge(candidate)
        v = self.job.variants[self.job.variant_key(candidate)]
        return parse(letter, v.template, v.email_template, v.assets.images)

    def __call__(self, candidate: Candidate, elsewhere: Mapping[str, Elsewhere] | None = None
                 ) -> RenderedLetter:
        """Every format of one letter, in memory. Reads and writes nothing. A format in
        ``elsewhere`` is started there first (another process) and taken from it when
        needed, while this process renders the others."""
        doc = self.document(candidate)
        assets = self.job.variants[self.job.variant_key(candidate)].assets
        rendered: dict[str, bytes] = {}
        pending = {fmt: start(doc, assets) for fmt, start in (elsewhere or {}).items()
                   if fmt in self.job.formats}

        def produce(fmt: str) -> bytes:
            if fmt in pending:
                rendered[fmt] = pending.pop(fmt).result()
            if fmt not in rendered:
                writer = WRITERS[fmt]
                needed = {n: produce(n) for n in writer.requires(doc)}
                rendered[fmt] = writer.render(doc, assets, needed)
            return rendered[fmt]

        files = {WRITERS[fmt].path(candidate.slug): produce(fmt) for fmt in self.job.formats}
        return RenderedLetter(candidate, files)


def make_renderer(job: Job) -> Renderer:
    return Renderer(job)
