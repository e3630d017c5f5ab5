"""``prepare``: everything read and checked up to a :class:`Plan`, the letters selected
(``--only``, ``--shard``) and what they share; all that ``check`` runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import ARCHIVE, Inputs, Options
from .errors import LetterforgeError, Problem, UsageError, ValidationFailed, display_path
from .incremental import shared_key, variant_key
from .job import Job, Variant
from .letter import Renderer
from .letter_checks import LazyCoverage, check_letters_of
from .load import installed_font_families, read_input, read_template, source_date_epoch
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

    def recorded(self, complete: bool = False) -> dict[str, Any]:
        """What the manifest records of the inputs and options (see Manifest.options);
        ``complete``: the batch holds every letter of the year, whatever --only said."""
        out = {**self.inputs.record(),
               "date": self.options.date.isoformat() if self.options.date else None,
               "formats": list(self.job.formats)}
        if self.options.only and not complete:  # some letters of the year, not all
            out["only"] = True
        if self.settings.source_date_epoch is not None:  # verify renders with it again
            out["source_date_epoch"] = self.settings.source_date_epoch
        return out


@dataclass
class _Read:
    """What prepare read of the data and the main template, and the problems found."""

    problems: list[Problem]
    tables: dict[str, Table]
    candidates: list[Candidate]
    signatories: list[Signatory]
    template: Template | None


def _read(inputs: Inputs, options: Options) -> _Read:
    """The data files and the main template, read and their rows checked."""
    found = _Read(writer_problems(options.formats), {}, [], [], None)
    for key in ("candidates", "signatories"):
        try:
            found.tables[key] = read_input(inputs, key)
        except LetterforgeError as exc:
            found.problems.extend(exc.problems)
    try:
        found.template = read_template(inputs.template)
    except LetterforgeError as exc:
        found.problems.extend(exc.problems)
    if "candidates" in found.tables:
        found.candidates, more = candidates_for_year(found.tables["candidates"], options.year)
        found.problems.extend(more)
    if "signatories" in found.tables:
        found.signatories, more = signatories_for_year(found.tables["signatories"],
                                                       options.year)
        found.problems.extend(more)
    return found


def _letter_year(template: Template) -> int | None:
    """The year of the template's front matter date, when it has one it can read."""
    value = template.front_matter.get("date")
    if isinstance(value, dt.date):
        return value.year
    m = re.match(r"\s*(\d{4})-\d\d-\d\d", str(value or ""))
    return int(m.group(1)) if m else None


def _past_year(inputs: Inputs, options: Options, template: Template
               ) -> tuple[Inputs, Template, list[Problem]]:
    """A past year's letters are made from the templates its batch was made from: when the
    letter is dated after the year asked (new-year moved it on) and new-year kept that
    year's templates in templates/archive/<year>/, those are read instead, said as a
    warning. A template given on the command line, or a --date, is used as it is."""
    letter_year = _letter_year(template)
    if (inputs.template_given or options.date is not None or letter_year is None
            or letter_year <= options.year):
        return inputs, template, []
    archived = inputs.template.parent / ARCHIVE / str(options.year) / inputs.template.name
    if not archived.is_file():
        return inputs, template, []
    template = read_template(archived)
    email = inputs.email_template
    if email is not None and email.parent == inputs.template.parent \
            and (archived.parent / email.name).is_file():
        email = archived.parent / email.name  # the e-mail of that year too
    inputs = dataclasses.replace(inputs, template=archived, email_template=email,
                                 template_given=True)
    return inputs, template, [Problem(
        display_path(archived), None, None,
        f"the letter is dated {letter_year}, so the {options.year} letters are made from "
        f"the templates kept for {options.year} in {display_path(archived.parent)}/",
        warning=True)]


def _date_problems(mergers: Mapping[str, Merger], variants: Mapping[str, Variant],
                   options: Options) -> list[Problem]:
    """Each language's letter has its own date: it must be in the batch's year."""
    return [Problem(display_path(variants[key].template.path), None, "date",
                    f"the letter is dated {m.date.isoformat()} but the batch is for "
                    f"{options.year}: update 'date:' in the front matter or pass --date")
            for key, m in mergers.items()
            if m.date.year != options.year and options.date is None]


def _input_hashes(read: _Read, template: Template, variants: Mapping[str, Variant],
                  year: int) -> dict[str, str]:
    """What the manifest records of the inputs."""
    main = variants[""]
    hashes = {
        # the rows of the year: next year's rows do not change this year's batch
        **{name: read.tables[name].year_sha256(year) if name in read.tables else ""
           for name in ("candidates", "signatories")},
        "template": template.sha256,
        "stylesheet": hashlib.sha256(main.assets.stylesheet.encode()).hexdigest(),
    }
    if main.email_template is not None:
        hashes["email_template"] = main.email_template.sha256
    for lang, v in sorted(variants.items()):
        if lang and v is not main:
            hashes[f"template.{lang}"] = v.template.sha256
    return hashes


def prepare(inputs: Inputs, options: Options, *, check_letters: bool = True,
            progress: Callable[[int, int], None] | None = None) -> Plan:
    """Read and check everything; raise ValidationFailed with every problem found.

    With ``check_letters`` every selected letter is merged and parsed once here to catch
    template problems for each of them; ``render_batch`` does it for the letters it is
    about to render instead, so an up-to-date letter costs nothing."""
    read = _read(inputs, options)
    problems, candidates, signatories = read.problems, read.candidates, read.signatories
    template = read.template
    if template is None:
        raise ValidationFailed(problems)
    requested = inputs  # what the manifest records: the same request makes the same batch
    inputs, template, said = _past_year(inputs, options, template)

    epoch = source_date_epoch()
    settings = Settings(options.year, options.date,
                        epoch if epoch is not None else options.source_date_epoch)
    fonts = installed_font_families() if "pdf" in options.formats else None
    main, found = read_variant(inputs, options, template, None, fonts)
    problems.extend(found)
    variants: dict[str, Variant] = {"": main}
    mergers: dict[str, Merger] = {}
    try:
        mergers[""] = Merger(main.template, signatories, settings, main.email_template)
    except LetterforgeError as exc:
        problems.extend(exc.problems)
        raise ValidationFailed(problems) from None
    found, warnings = language_variants(inputs, options, candidates, variants, mergers,
                                        signatories, settings, fonts,
                                        read.tables.get("candidates"))
    warnings = [*said, *warnings]
    problems.extend(found)
    problems.extend(_date_problems(mergers, variants, options))

    selected = select(candidates, options.only) if not problems else candidates
    shard_info = None
    if options.shard is not None:
        selected, shard_info = shard(selected, candidates, *options.shard)
    # the date only when --date gives one: each template has its own
    job = Job(variants=variants, signatories=tuple(signatories), settings=settings,
              formats=tuple(options.formats))
    plan = Plan(inputs=requested, options=options, job=job, mergers=mergers,
                candidates=tuple(selected), all_candidates=tuple(candidates),
                input_hashes=_input_hashes(read, template, variants, options.year),
                shared=shared_key(job),
                variant_keys={k: variant_key(v, job.formats) for k, v in variants.items()},
                shard=shard_info, letters_checked=check_letters, warnings=tuple(warnings),
                coverage=LazyCoverage(variants) if "pdf" in options.formats else {})
    if check_letters and not _template_problems(problems, variants):
        problems.extend(_check_each_letter(plan, progress))
    if problems:
        raise ValidationFailed(problems)
    return plan


def _template_problems(problems: list[Problem], variants: Mapping[str, Variant]) -> bool:
    """Whether a template itself has a problem (then each letter is not checked: every
    letter would show it again)."""
    paths = {display_path(v.template.path) for v in variants.values()}
    paths |= {display_path(v.email_template.path) for v in variants.values()
              if v.email_template is not None}
    return any(p.path in paths for p in problems)


def _check_each_letter(plan: Plan, progress: Callable[[int, int], None] | None
                       ) -> list[Problem]:
    total = len(plan.candidates)
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    return check_letters_of(plan, plan.candidates, step)


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
    table = read_input(inputs, "candidates")
    rows, problems = candidates_for_year(table, year)
    if problems:
        raise ValidationFailed(problems)
    return rows
