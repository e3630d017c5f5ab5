"""Each letter checked before anything is written: unknown variables, unsupported
Markdown, bad header values, characters no font of the stylesheet draws, each with
the template's line, and the same problem for many candidates reported once."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .errors import InputError, Problem, ValidationFailed, display_path
from .job import Variant
from .load import fonts_codepoints
from .merge import Merger
from .models import Candidate
from .validate.stylesheet import GENERIC_FAMILIES, describe_character, font_families, uncovered

if TYPE_CHECKING:
    from .plan import Plan


#: check_letters reports at most this many different problems (a template mistake on
#: one line is the same problem for every candidate: it is reported once).
MAX_PROBLEMS = 50


class LazyCoverage(Mapping[str, tuple[tuple[str, ...], frozenset[int]]]):
    """:func:`_coverage` of the variants, worked out when a letter is first checked:
    reading every character of the fonts is 40-60 ms a re-run with nothing to render
    does not need."""

    def __init__(self, variants: Mapping[str, Variant]) -> None:
        self._variants = variants
        self._found: dict[str, tuple[tuple[str, ...], frozenset[int]]] | None = None

    def _data(self) -> dict[str, tuple[tuple[str, ...], frozenset[int]]]:
        if self._found is None:
            self._found = _coverage(self._variants)
        return self._found

    def __getitem__(self, key: str) -> tuple[tuple[str, ...], frozenset[int]]:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


def _coverage(variants: Mapping[str, Variant]
              ) -> dict[str, tuple[tuple[str, ...], frozenset[int]]]:
    """For each variant, the families its stylesheet names and every character they draw
    (a family that is not installed is reported by font_problems)."""

    if shutil.which("fc-match") is None:  # fontconfig cannot be asked: no check
        return {}
    named = {}
    for key, v in variants.items():
        asked, _ = font_families(v.assets.stylesheet)
        named[key] = tuple(dict.fromkeys(f for f, _ in asked
                                         if f.lower() not in GENERIC_FAMILIES))
    found = fonts_codepoints(f for families in named.values() for f in families)
    out = {}
    for key, families in named.items():
        covered: set[int] = set()
        for family in families:
            covered |= found[family] or frozenset()
        out[key] = (families, frozenset(covered))
    return out


def coverage_problems(plan: Plan, candidate: Candidate, merger: Merger,
                       seen_variants: set[str]) -> list[Problem]:
    """Characters of this letter that no font of its stylesheet draws: the PDF would show
    a box. The template's own text is checked once per variant, the candidate's columns
    for every candidate."""
    key = plan.job.variant_key(candidate)
    if key not in plan.coverage:
        return []
    families, covered = plan.coverage[key]
    fonts = ", ".join(families) or "none"
    variant = plan.job.variants[key]
    css = display_path(variant.template.directory / variant.assets.stylesheet_name)

    def problem(path: str, line: int | None, column: str | None, chars: list[str]) -> Problem:
        shown = ", ".join(describe_character(ch) for ch in chars[:5])
        if len(chars) > 5:
            shown += f" and {len(chars) - 5} more"
        verb, it = ("is", "it") if len(chars) == 1 else ("are", "them")
        return Problem(path, line, column,
                       f"{shown} {verb} in none of the fonts the letter uses ({fonts}): the "
                       f"PDF would show a box. Name a font that has {it} in {css} (Debian's "
                       "fonts-noto-core and fonts-noto-cjk cover most scripts), or write "
                       "the text without it")

    problems = []
    if key not in seen_variants:
        seen_variants.add(key)
        t = variant.template
        for i, line in enumerate(t.body.split("\n"), 1):
            chars = uncovered(line, covered)
            if chars:
                problems.append(problem(display_path(t.path), i, None, chars))
        for s in plan.signatories:
            chars = uncovered(s.name, covered)
            if chars:
                problems.append(problem(s.source.path, s.source.line, "name", chars))
    usage = merger._usage
    columns = (set(usage[0]) | set(usage[1])) if usage is not None else set(candidate.fields)
    ctx = candidate.context(merger.lang)
    for column in sorted(columns):
        value = ctx.get(column)
        if not isinstance(value, str):
            continue
        chars = uncovered(value, covered)
        if not chars:
            continue
        source = column
        if column in ("name", "short_name") and candidate.localized(column, merger.lang):
            tags = merger.lang.lower().replace("-", "_").split("_")
            source = next((f"{column}_{'_'.join(tags[:i])}" for i in range(len(tags), 0, -1)
                           if candidate.fields.get(f"{column}_{'_'.join(tags[:i])}")), column)
        problems.append(problem(candidate.source.path, candidate.source.line, source, chars))
    return problems


def check_letters_of(plan: Plan, candidates: Iterable[Candidate],
                     progress: Callable[[int], None] | None = None, *,
                     keep: bool = False) -> list[Problem]:
    """Check each letter (and e-mail) before anything is written: unknown variables,
    unsupported Markdown, bad header values, with the template line. The same problem
    for many candidates is reported once.

    Scales with the rows: every candidate's front matter and header values are checked
    (cheap), but a letter is merged and parsed in full only for the first candidate of
    each :meth:`~letterforge.merge.Merger.signature` (the others differ from it in
    printed words only). ``keep``: the letters parsed are kept for the render that
    follows in this process (:meth:`Plan.renderer`), which would parse them again."""
    renderer = plan.renderer()
    problems: dict[tuple[str, int | None, str], Problem] = {}
    checked: set[Any] = set()
    seen_variants: set[str] = set()
    n = 0
    for n, candidate in enumerate(candidates, 1):
        try:
            merger = renderer.merger_for(candidate)
            found = coverage_problems(plan, candidate, merger, seen_variants)
            if found:
                raise ValidationFailed(found)
            shape = merger.signature(candidate)
            signature = None if shape is None else (plan.job.variant_key(candidate), shape)
            if signature is None or signature not in checked:
                doc = renderer.document(candidate)
                if keep:
                    plan._checked[candidate.slug] = (candidate, doc)
                if signature is not None:
                    checked.add(signature)
            else:
                merger.check_headers(candidate)
        except InputError as exc:
            for p in exc.problems:
                # one problem per template line, whichever candidate showed it
                key = (p.path, p.line, p.message.split(" (letter to ")[0])
                problems.setdefault(key, p)
            if len(problems) >= MAX_PROBLEMS:
                break
        if progress is not None and n % 100 == 0:
            progress(100)
    else:
        if progress is not None and n % 100:
            progress(n % 100)
    return list(problems.values())
