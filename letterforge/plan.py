"""``prepare``: everything read and checked up to a :class:`Plan`, the letters selected
(``--only``, ``--shard``) and what they share; all that ``check`` runs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import Inputs, Options
from .errors import LetterforgeError, Problem, UsageError, ValidationFailed, display_path
from .incremental import shared_key, variant_key
from .job import Job, Variant
from .letter import Renderer
from .letter_checks import LazyCoverage, check_letters_of
from .load import installed_font_families, read_table, read_template, source_date_epoch
from .manifest import LetterKeys
from .merge import Merger
from .models import Candidate, Settings, Signatory, Table, Template
from .validate.rows import candidates_for_year, signatories_for_year
from .variants import language_variants, read_variant
from .writers import problems as writer_problems

if TYPE_CHECKING:
    from .parse import Document


@dataclass(frozen=True)
class Plan:
    """Everything checked, ready to render: the letters selected and what they share."""

    inputs: Inputs
    options: Options
    job: Job
    mergers: Mapping[str, Merger]
    candidates: tuple[Candidate, ...]  # selected (--only, --shard)
    all_candidates: tuple[Candidate, ...]  # every candidate of the year
    input_hashes: dict[str, str]
    shared: dict[str, Any]  # what every letter's key includes
    variant_keys: Mapping[str, Any]  # variant -> what its letters' keys include
    shard: dict[str, Any] | None = None
    letters_checked: bool = True  # every selected letter was merged and parsed once
    warnings: tuple[Problem, ...] = field(default=())
    # variant -> (the font families its stylesheet names, the characters they draw);
    # empty when no PDF is rendered
    coverage: Mapping[str, tuple[tuple[str, ...], frozenset[int]]] = field(default_factory=dict)
    # (variant, other formats) -> its letters' keys (see key)
    _keys: dict[tuple[str, tuple[str, ...] | None], LetterKeys] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    # slug -> (candidate, its letter) the check kept for the render (Renderer.checked)
    _checked: dict[str, tuple[Candidate, Document]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    @property
    def merger(self) -> Merger:
        return self.mergers[""]

    @property
    def settings(self) -> Settings:
        return self.job.settings

    @property
    def signatories(self) -> tuple[Signatory, ...]:
        return self.job.signatories

    @property
    def template(self) -> Template:
        return self.job.template

    def key(self, candidate: Candidate, formats: Sequence[str] | None = None) -> str:
        variant = self.job.variant_key(candidate)
        other = formats is not None and tuple(formats) != self.job.formats
        which = (variant, tuple(formats) if formats is not None and other else None)
        keys = self._keys.get(which)
        if keys is None:
            shared = {**self.shared, "variant": self.variant_keys[variant]}
            if formats is not None and other:
                shared["formats"] = list(formats)
            keys = self._keys[which] = LetterKeys(shared)
        return keys(candidate.fields)

    def renderer(self) -> Renderer:
        return Renderer(self.job, self.mergers, self._checked)

    def recorded(self) -> dict[str, Any]:
        """What the manifest records of the inputs and options (see Manifest.options)."""
        out = {**self.inputs.record(),
               "date": self.options.date.isoformat() if self.options.date else None,
               "formats": list(self.job.formats)}
        if self.options.only:  # the batch holds some letters of the year, not all
            out["only"] = True
        return out


def prepare(inputs: Inputs, options: Options, *, check_letters: bool = True,
            progress: Callable[[int, int], None] | None = None) -> Plan:
    """Read and check everything; raise ValidationFailed with every problem found.

    With ``check_letters`` every selected letter is merged and parsed once here to catch
    template problems for each of them; ``render_batch`` does it for the letters it is
    about to render instead, so an up-to-date letter costs nothing."""
    problems: list[Problem] = writer_problems(options.formats)
    year = options.year
    tables: dict[str, Table] = {}
    for key, path in (("candidates", inputs.candidates), ("signatories", inputs.signatories)):
        try:
            tables[key] = read_table(path, encoding=inputs.encoding_of(key))
        except LetterforgeError as exc:
            problems.extend(exc.problems)
    template: Template | None = None
    try:
        template = read_template(inputs.template)
    except LetterforgeError as exc:
        problems.extend(exc.problems)

    candidates: list[Candidate] = []
    signatories: list[Signatory] = []
    if "candidates" in tables:
        candidates, found = candidates_for_year(tables["candidates"], year)
        problems.extend(found)
    if "signatories" in tables:
        signatories, found = signatories_for_year(tables["signatories"], year)
        problems.extend(found)
    if template is None:
        raise ValidationFailed(problems)

    settings = Settings(year, options.date, source_date_epoch())
    fonts = installed_font_families() if "pdf" in options.formats else None
    warnings: list[Problem] = []
    main, found = read_variant(inputs, options, template, None, fonts)
    problems.extend(found)
    variants: dict[str, Variant] = {"": main}
    mergers: dict[str, Merger] = {}
    try:
        mergers[""] = Merger(main.template, signatories, settings, main.email_template)
    except LetterforgeError as exc:
        problems.extend(exc.problems)
    if "" not in mergers:
        raise ValidationFailed(problems)
    found, found_warnings = language_variants(inputs, options, candidates, variants, mergers,
                                               signatories, settings, fonts,
                                               tables.get("candidates"))
    problems.extend(found)
    warnings.extend(found_warnings)
    for key, m in mergers.items():  # each language's letter has its own date
        if m.date.year != year and options.date is None:
            problems.append(Problem(display_path(variants[key].template.path), None, "date",
                                    f"the letter is dated {m.date.isoformat()} but the batch "
                                    f"is for {year}: update 'date:' in the front matter "
                                    "or pass --date"))

    selected = select(candidates, options.only) if not problems else candidates
    shard_info = None
    if options.shard is not None:
        selected, shard_info = shard(selected, candidates, *options.shard)
    job = Job(variants=variants, signatories=tuple(signatories),
              # the date only when --date gives one: each template has its own
              settings=settings,
              formats=tuple(options.formats))
    hashes = {
        "candidates": tables["candidates"].sha256 if "candidates" in tables else "",
        "signatories": tables["signatories"].sha256 if "signatories" in tables else "",
        "template": template.sha256,
        "stylesheet": hashlib.sha256(main.assets.stylesheet.encode()).hexdigest(),
    }
    if main.email_template is not None:
        hashes["email_template"] = main.email_template.sha256
    for lang, v in sorted(variants.items()):
        if lang and v is not main:
            hashes[f"template.{lang}"] = v.template.sha256
    plan = Plan(inputs=inputs, options=options, job=job, mergers=mergers,
                candidates=tuple(selected), all_candidates=tuple(candidates),
                input_hashes=hashes, shared=shared_key(job),
                variant_keys={k: variant_key(v, job.formats) for k, v in variants.items()},
                shard=shard_info, letters_checked=check_letters, warnings=tuple(warnings),
                coverage=LazyCoverage(variants) if "pdf" in options.formats else {})
    template_paths = {display_path(v.template.path) for v in variants.values()}
    template_paths |= {display_path(v.email_template.path) for v in variants.values()
                       if v.email_template is not None}
    if check_letters and not any(p.path in template_paths for p in problems):
        total = len(plan.candidates)
        done = [0]

        def step(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(done[0], total)

        problems.extend(check_letters_of(plan, plan.candidates, step))
    if problems:
        raise ValidationFailed(problems)
    return plan


def select(candidates: Sequence[Candidate], only: Sequence[str]) -> list[Candidate]:
    """The candidates ``--only`` names (short name, name or slug), in the data's order."""
    if not only:
        return list(candidates)
    chosen: list[Candidate] = []
    for wanted in only:
        key = wanted.strip().casefold()
        match = [c for c in candidates
                 if key in (c.short_name.casefold(), c.name.casefold(), c.slug)]
        if not match:
            names = ", ".join(c.short_name for c in candidates)
            raise UsageError(f"--only: no candidate {wanted!r} this year (candidates: {names})")
        for c in match:
            if c not in chosen:
                chosen.append(c)
    return [c for c in candidates if c in chosen]


def shard(selected: Sequence[Candidate], everyone: Sequence[Candidate], k: int, n: int
          ) -> tuple[list[Candidate], dict[str, Any]]:
    """A deterministic 1/N of the batch: the K-th of every N letters in slug order."""
    order = sorted(everyone, key=lambda c: c.slug)
    mine = {c.slug for i, c in enumerate(order) if i % n == k - 1}
    slugs = [c.slug for c in order]
    info = {"index": k, "count": n, "letters_total": len(order),
            "letters_sha256": hashlib.sha256("\n".join(slugs).encode()).hexdigest()}
    return [c for c in selected if c.slug in mine], info


def candidates_of(inputs: Inputs, year: int) -> list[Candidate]:
    """The candidates of ``year`` as ``render`` would write them, checked (``list``)."""
    table = read_table(inputs.candidates, encoding=inputs.encoding_of("candidates"))
    rows, problems = candidates_for_year(table, year)
    if problems:
        raise ValidationFailed(problems)
    return rows
