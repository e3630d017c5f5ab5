"""diff: what changed from one campaign year to the next, for sign-off.

Candidates added, removed and renamed (the same file name, another name), signatories
added and removed (a change of order is not a change), and the letter's words: the
letter merged for one candidate of each year (one the two years share when there is
one), with the candidate's names replaced by «candidate», compared word by word
(:mod:`difflib`). The older year's letter is ``templates/archive/<year>/letter.md``
when new-year kept one there, else the current template.

Pure apart from the reading in :func:`diff_years`; three views of the result: the
terminal (colour optional), JSON, and one self-contained HTML page.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ARCHIVE, Inputs
from .errors import ValidationFailed, display_path
from .models import Candidate, Settings, Signatory

PLACEHOLDER = "«candidate»"
PARAGRAPH = "¶"


@dataclass(frozen=True)
class Change:
    op: str  # equal, insert, delete, replace
    old: str
    new: str

    def as_json(self) -> dict[str, str]:
        return {"op": self.op, "old": self.old, "new": self.new}


@dataclass
class YearDiff:
    old_year: int
    new_year: int
    added: list[Candidate] = field(default_factory=list)
    removed: list[Candidate] = field(default_factory=list)
    renamed: list[tuple[Candidate, Candidate]] = field(default_factory=list)
    signatories_added: list[str] = field(default_factory=list)
    signatories_removed: list[str] = field(default_factory=list)
    old_template: str = ""
    new_template: str = ""
    old_candidate: str = ""
    new_candidate: str = ""
    words: list[Change] = field(default_factory=list)  # the whole letter, equal runs too

    @property
    def letter_changed(self) -> bool:
        return any(c.op != "equal" for c in self.words)

    def as_json(self) -> dict[str, Any]:
        def cand(c: Candidate) -> dict[str, str]:
            return {"short_name": c.short_name, "name": c.name, "slug": c.slug}

        return {
            "old_year": self.old_year, "new_year": self.new_year,
            "candidates": {
                "added": [cand(c) for c in self.added],
                "removed": [cand(c) for c in self.removed],
                "renamed": [{"slug": a.slug, "old": cand(a), "new": cand(b)}
                            for a, b in self.renamed]},
            "signatories": {"added": self.signatories_added,
                            "removed": self.signatories_removed},
            "letter": {"old_template": self.old_template, "new_template": self.new_template,
                       "old_candidate": self.old_candidate,
                       "new_candidate": self.new_candidate, "placeholder": PLACEHOLDER,
                       "changed": self.letter_changed,
                       "changes": [c.as_json() for c in self.words if c.op != "equal"]},
        }


# ----- comparing (pure) ----------------------------------------------------------------


def compare_candidates(old: list[Candidate], new: list[Candidate]
                       ) -> tuple[list[Candidate], list[Candidate],
                                  list[tuple[Candidate, Candidate]]]:
    """(added, removed, renamed): by file name (slug), in the order of the data."""
    before = {c.slug: c for c in old}
    after = {c.slug: c for c in new}
    added = [c for c in new if c.slug not in before]
    removed = [c for c in old if c.slug not in after]
    renamed = [(before[c.slug], c) for c in new if c.slug in before
               and (before[c.slug].name, before[c.slug].short_name) != (c.name, c.short_name)]
    return added, removed, renamed


def compare_signatories(old: list[Signatory], new: list[Signatory]
                        ) -> tuple[list[str], list[str]]:
    """(added, removed) names; the same organisation in another place is no change."""

    def key(name: str) -> str:
        return " ".join(name.casefold().split())

    before = {key(s.name) for s in old}
    after = {key(s.name) for s in new}
    return ([s.name for s in new if key(s.name) not in before],
            [s.name for s in old if key(s.name) not in after])


def neutralise(text: str, candidate: Candidate) -> str:
    """The candidate's names (longest first) replaced by the placeholder."""
    for name in sorted({candidate.name, candidate.short_name}, key=len, reverse=True):
        if name:
            text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", PLACEHOLDER, text)
    return text


def tokens(text: str) -> list[str]:
    """The words of a text, with a ¶ between paragraphs."""
    out: list[str] = []
    for i, paragraph in enumerate(p for p in re.split(r"\n\s*\n", text) if p.strip()):
        if i:
            out.append(PARAGRAPH)
        out.extend(paragraph.split())
    return out


def compare_words(old: str, new: str) -> list[Change]:
    """The texts as runs of equal, inserted, deleted and replaced words."""
    a, b = tokens(old), tokens(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [Change(op, " ".join(a[i1:i2]), " ".join(b[j1:j2]))
            for op, i1, i2, j1, j2 in matcher.get_opcodes()]


# ----- reading and merging -------------------------------------------------------------


def _template_for(inputs: Inputs, year: int, newest: bool) -> Path:
    if not newest:
        archived = inputs.template.parent / ARCHIVE / str(year) / inputs.template.name
        if archived.is_file():
            return archived
    return inputs.template


def _letter_text(template_path: Path, signatories: list[Signatory], candidate: Candidate,
                 year: int) -> str:
    from .errors import LetterforgeError
    from .load import read_template
    from .merge import Merger
    from .parse import parse
    from .writers.text import render_text

    template = read_template(template_path)
    try:
        merger = Merger(template, tuple(signatories), Settings(year))
        doc = parse(merger.merge(candidate), template)
    except LetterforgeError as exc:
        raise ValidationFailed(exc.problems) from None
    # list numbers follow from the items: one organisation more renumbers every one after
    text = re.sub(r"(?m)^(\s*)\d+\.(?=\s)", r"\1•", render_text(doc.tree))
    return neutralise(text, candidate)


def diff_years(inputs: Inputs, old_year: int, new_year: int) -> YearDiff:
    from .load import read_input
    from .validate.rows import candidates_for_year, signatories_for_year

    cand_table = read_input(inputs, "candidates")
    sig_table = read_input(inputs, "signatories")
    problems = []
    cands: dict[int, list[Candidate]] = {}
    sigs: dict[int, list[Signatory]] = {}
    for year in (old_year, new_year):
        # a year without rows yet (new-year was just run) is a year with none
        cands[year], found = (candidates_for_year(cand_table, year)
                              if year in cand_table.years else ([], []))
        problems.extend(found)
        sigs[year], found = (signatories_for_year(sig_table, year)
                             if year in sig_table.years else ([], []))
        problems.extend(found)
    if problems:
        raise ValidationFailed(problems)
    result = YearDiff(old_year, new_year)
    result.added, result.removed, result.renamed = compare_candidates(
        cands[old_year], cands[new_year])
    result.signatories_added, result.signatories_removed = compare_signatories(
        sigs[old_year], sigs[new_year])

    shared = {c.slug for c in cands[new_year]}
    either = cands[old_year] or cands[new_year]
    if not either:
        raise ValidationFailed([])  # pragma: no cover - both years empty: nothing to merge
    old_c = next((c for c in cands[old_year] if c.slug in shared), either[0])
    new_c = next((c for c in cands[new_year] if c.slug == old_c.slug),
                 cands[new_year][0] if cands[new_year] else old_c)
    old_t = _template_for(inputs, old_year, newest=False)
    new_t = _template_for(inputs, new_year, newest=True)
    result.old_template, result.new_template = display_path(old_t), display_path(new_t)
    result.old_candidate, result.new_candidate = old_c.short_name, new_c.short_name
    old_text = _letter_text(old_t, sigs[old_year], old_c, old_year)
    new_text = _letter_text(new_t, sigs[new_year], new_c, new_year)
    result.words = compare_words(old_text, new_text)
    return result


# ----- views ---------------------------------------------------------------------------

_RED, _GREEN, _BOLD, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[0m"
CONTEXT = 8  # words shown around a change in the terminal


def _summary_lines(d: YearDiff) -> list[tuple[str, str]]:
    """(kind, text) lines: kind is '+', '-', '~' or '' (a heading or a note)."""
    lines: list[tuple[str, str]] = [("", f"Candidates {d.old_year} -> {d.new_year}:")]
    for c in d.added:
        lines.append(("+", f"{c.short_name} ({c.slug})"))
    for c in d.removed:
        lines.append(("-", f"{c.short_name} ({c.slug})"))
    for a, b in d.renamed:
        lines.append(("~", f"{a.short_name} / {a.name} -> {b.short_name} / {b.name} "
                      f"({b.slug})"))
    if not (d.added or d.removed or d.renamed):
        lines.append(("", "  no change"))
    lines.append(("", f"Signatories {d.old_year} -> {d.new_year}:"))
    lines += [("+", n) for n in d.signatories_added]
    lines += [("-", n) for n in d.signatories_removed]
    if not (d.signatories_added or d.signatories_removed):
        lines.append(("", "  no change (apart from order, if any)"))
    return lines


def terminal_text(d: YearDiff, *, colour: bool) -> str:
    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    out = []
    for kind, text in _summary_lines(d):
        if not kind:
            out.append(paint(_BOLD, text) if not text.startswith(" ") else text)
        else:
            code = {"+": _GREEN, "-": _RED, "~": ""}[kind]
            out.append(paint(code, f"  {kind} {text}") if code else f"  {kind} {text}")
    out.append(paint(_BOLD, f"Letter ({d.old_template}, {d.old_candidate} -> "
                            f"{d.new_template}, {d.new_candidate}; names as {PLACEHOLDER}):"))
    if not d.letter_changed:
        out.append("  no change in its words")
        return "\n".join(out) + "\n"
    for i, change in enumerate(d.words):
        if change.op == "equal":
            continue
        before = d.words[i - 1].new.split() if i and d.words[i - 1].op == "equal" else []
        after = (d.words[i + 1].new.split()
                 if i + 1 < len(d.words) and d.words[i + 1].op == "equal" else [])
        parts = []
        if before:
            parts.append(("… " if len(before) > CONTEXT else "") + " ".join(before[-CONTEXT:]))
        if change.old:
            parts.append(paint(_RED, f"[-{change.old}-]"))
        if change.new:
            parts.append(paint(_GREEN, f"{{+{change.new}+}}"))
        if after:
            parts.append(" ".join(after[:CONTEXT]) + (" …" if len(after) > CONTEXT else ""))
        out.append("  " + " ".join(parts))
    return "\n".join(out) + "\n"


_CSS = """
body { font: 16px/1.5 Georgia, 'Liberation Serif', serif; max-width: 46em; margin: 2em auto;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
ul { padding-left: 1.2em; } li.added { color: #064; } li.removed { color: #a00; }
ins { background: #d8f5d8; color: #064; text-decoration: none; }
del { background: #fadada; color: #a00; }
.letter p { margin: 0 0 .8em; } .note { color: #666; font-size: .9em; }
"""


def html_page(d: YearDiff) -> str:
    """One HTML page, styles inline, no external resource: safe to e-mail."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>Changes {d.old_year} to {d.new_year}</title>", f"<style>{_CSS}</style>",
        "</head>", "<body>", f"<h1>What changed from {d.old_year} to {d.new_year}</h1>",
        "<h2>Candidates</h2>", "<ul>"]
    for c in d.added:
        parts.append(f'<li class="added">added: {e(c.short_name)} ({e(c.name)})</li>')
    for c in d.removed:
        parts.append(f'<li class="removed">removed: {e(c.short_name)} ({e(c.name)})</li>')
    for a, b in d.renamed:
        parts.append(f"<li>renamed: {e(a.short_name)} / {e(a.name)} → {e(b.short_name)} / "
                     f"{e(b.name)}</li>")
    if not (d.added or d.removed or d.renamed):
        parts.append("<li>no change</li>")
    parts += ["</ul>", "<h2>Signatories</h2>", "<ul>"]
    parts += [f'<li class="added">added: {e(n)}</li>' for n in d.signatories_added]
    parts += [f'<li class="removed">removed: {e(n)}</li>' for n in d.signatories_removed]
    if not (d.signatories_added or d.signatories_removed):
        parts.append("<li>no change</li>")
    parts += ["</ul>", "<h2>The letter</h2>",
              f'<p class="note">{e(d.old_template)} for {e(d.old_candidate)} ({d.old_year}) '
              f"compared with {e(d.new_template)} for {e(d.new_candidate)} ({d.new_year}); "
              f"the candidate's name is shown as {e(PLACEHOLDER)}. "
              "<del>Struck out</del>: removed; <ins>marked</ins>: added.</p>",
              '<div class="letter"><p>']
    for change in d.words:
        for side, tag in ((change.old, "del"), (change.new, "ins")):
            if change.op == "equal" and tag == "del":
                continue
            if not side:
                continue
            chunks = side.split(PARAGRAPH)
            for j, chunk in enumerate(chunks):
                if j:
                    parts.append("</p><p>")
                if chunk.strip():
                    text = e(chunk.strip())
                    parts.append(text + " " if change.op == "equal"
                                 else f"<{tag}>{text}</{tag}> ")
    parts += ["</p></div>", "</body>", "</html>", ""]
    return "\n".join(parts)
