"""What varies between letters: sentences (the preview's facts) and words (the proof
sheet). Plain difflib over normalised text; nothing clever."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

# a sentence ends at . ! ? followed by space and a capital, a digit or an opening mark
_SENTENCE_END = re.compile(r"(?<=[.!?;])[\"”’)]?\s+(?=[\"“‘(\[A-Z0-9])")


def paragraphs(text: str) -> list[str]:
    """Blocks separated by blank lines, each on one line."""
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", text) if block.strip()]


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for para in paragraphs(text):
        out.extend(s.strip() for s in _SENTENCE_END.split(para) if s.strip())
    return out


def varying_sentences(ours: str, other: str | None) -> list[tuple[str, bool]]:
    """Our sentences, each with True when the other letter has no such sentence."""
    mine = sentences(ours)
    if other is None:
        return [(s, False) for s in mine]
    theirs = set(sentences(other))
    return [(s, s not in theirs) for s in mine]


def words(text: str) -> list[str]:
    return text.split()


def differing_words(ours: Sequence[str], reference: Sequence[str]) -> list[bool]:
    """For each of our words: True where it is not in the reference letter (replaced or
    inserted, as difflib aligns the two)."""
    marks = [False] * len(ours)
    matcher = difflib.SequenceMatcher(None, list(reference), list(ours), autojunk=False)
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            for j in range(j1, j2):
                marks[j] = True
    return marks


@dataclass(frozen=True)
class Snippet:
    """A few words around a difference: (word, differs) pairs, and whether words were
    left out before and after."""

    words: tuple[tuple[str, bool], ...]
    cut_before: bool
    cut_after: bool


def snippets(ours: Sequence[str], marks: Sequence[bool], context: int = 5
             ) -> list[Snippet]:
    """The differing words with ``context`` words either side; overlapping ones joined."""
    spans: list[list[int]] = []
    for i, differs in enumerate(marks):
        if not differs:
            continue
        lo, hi = max(0, i - context), min(len(ours), i + context + 1)
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi])
    return [Snippet(tuple((ours[i], marks[i]) for i in range(lo, hi)), lo > 0,
                    hi < len(ours)) for lo, hi in spans]
