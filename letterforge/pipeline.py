"""The pipeline: load -> validate -> merge -> parse -> writers -> output, wired.

``prepare`` reads and checks everything up to a :class:`Plan` (it is all ``check``
runs); a :class:`Renderer` turns one candidate into the bytes of each of its files
(merged once, parsed once, each writer once); ``render_batch`` renders the letters the
manifest says are outdated, on the worker pool, and hands the bytes to output.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, parallel
from .config import Inputs, Options
from .errors import (
    InputError,
    LetterforgeError,
    ManifestError,
    Problem,
    UsageError,
    ValidationFailed,
    display_path,
)
from .load import (
    Table,
    fonts_codepoints,
    front_matter_line,
    installed_font_families,
    read_assets,
    read_table,
    read_template,
    source_date_epoch,
)
from .manifest import LetterEntry, LetterKeys, Manifest, intact, unlisted
from .merge import Merger
from .models import Assets, Candidate, Settings, Signatory, Template
from .output import BatchWriter, StatCache, clean_leftovers, mail_files
from .validate import (
    GENERIC_FAMILIES,
    candidates_for_year,
    describe_character,
    email_settings_problems,
    font_families,
    font_problems,
    letterhead_problems,
    reference_docx_problems,
    signatories_for_year,
    stylesheet_problems,
    uncovered,
)
from .writers import WRITERS
from .writers import problems as writer_problems

if TYPE_CHECKING:  # markdown-it is imported when a letter is parsed, not by a re-run
    from .document import Document

    #: Starts one format of a letter elsewhere: (document, assets) -> something whose
    #: ``result()`` is the format's bytes.
    Elsewhere = Callable[[Document, Assets], Any]

#: check_letters reports at most this many different problems (a template mistake on
#: one line is the same problem for every candidate: it is reported once).
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Variant:
    """The templates (and what they read) of the letters in one language."""

    template: Template
    email_template: Template | None
    assets: Assets


@dataclass(frozen=True)
class Job:
    """Everything a renderer needs, as plain data: sent once to each worker process.

    ``variants[""]`` is the main template; ``variants[lang]`` the templates for the
    candidates whose ``lang`` column says ``lang`` (letter.<lang>.md, or a fallback)."""

    variants: Mapping[str, Variant]
    signatories: tuple[Signatory, ...]
    settings: Settings  # with the letter's date resolved
    formats: tuple[str, ...]

    def variant_key(self, candidate: Candidate) -> str:
        return candidate.lang if candidate.lang in self.variants else ""

    @property
    def main(self) -> Variant:
        return self.variants[""]

    @property
    def template(self) -> Template:
        return self.main.template

    @property
    def email_template(self) -> Template | None:
        return self.main.email_template

    @property
    def assets(self) -> Assets:
        return self.main.assets


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
        from .document import parse

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


# ----- prepare ------------------------------------------------------------------------


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
    main, found = _variant(inputs, options, template, None, fonts)
    problems.extend(found)
    variants: dict[str, Variant] = {"": main}
    mergers: dict[str, Merger] = {}
    try:
        mergers[""] = Merger(main.template, signatories, settings, main.email_template)
    except LetterforgeError as exc:
        problems.extend(exc.problems)
    if "" not in mergers:
        raise ValidationFailed(problems)
    found, found_warnings = _language_variants(inputs, options, candidates, variants, mergers,
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
                input_hashes=hashes, shared=_shared_key(job),
                variant_keys={k: _variant_key(v, job.formats) for k, v in variants.items()},
                shard=shard_info, letters_checked=check_letters, warnings=tuple(warnings),
                coverage=_LazyCoverage(variants) if "pdf" in options.formats else {})
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


class _LazyCoverage(Mapping[str, tuple[tuple[str, ...], frozenset[int]]]):
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
    import shutil

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


def _coverage_problems(plan: Plan, candidate: Candidate, merger: Merger,
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


def _variant(inputs: Inputs, options: Options, template: Template,
             email_path: Path | None, fonts: frozenset[str] | None
             ) -> tuple[Variant, list[Problem]]:
    """A template with its assets and e-mail template, checked."""
    problems: list[Problem] = []
    assets, found = read_assets(template)
    problems.extend(found)
    css_path = template.directory / assets.stylesheet_name
    problems.extend(stylesheet_problems(assets.stylesheet, css_path, template.directory))
    if "pdf" in options.formats and assets.stylesheet:
        problems.extend(font_problems(assets.stylesheet, css_path, fonts))
    if assets.reference_docx is not None:
        ref_problems = reference_docx_problems(
            assets.reference_docx,
            display_path(template.directory / str(template.front_matter.get(
                "reference_docx") or "reference.docx")))
        problems.extend(ref_problems)
        if ref_problems:
            assets = dataclasses.replace(assets, reference_docx=None)
    problems.extend(letterhead_problems(
        template.front_matter, assets.images, display_path(template.path), options.formats,
        functools.partial(front_matter_line, template)))
    email_template: Template | None = None
    if "eml" in options.formats:
        email_template, found = _read_email_template(email_path or inputs.email_template_path)
        problems.extend(found)
    return Variant(template, email_template, assets), problems


def _language_file(main: Path, lang: str) -> Path | None:
    """letter.<lang>.md, else letter.<base language>.md, beside ``main``; None if neither."""
    tags = [lang]
    base = lang.replace("_", "-").split("-")[0]
    if base.lower() != lang.lower():
        tags.append(base)
    for tag in tags:
        for name in (f"{main.stem}.{tag}{main.suffix}", f"{main.stem}.{tag.lower()}{main.suffix}"):
            path = main.with_name(name)
            if path.is_file():
                return path
    return None


def _language_variants(inputs: Inputs, options: Options, candidates: Sequence[Candidate],
                       variants: dict[str, Variant], mergers: dict[str, Merger],
                       signatories: Sequence[Signatory], settings: Settings,
                       fonts: frozenset[str] | None, table: Table | None
                       ) -> tuple[list[Problem], list[Problem]]:
    """The templates of every language the candidates ask for (their ``lang`` column):
    letter.<lang>.md, then letter.<base>.md, then the main template with a warning. The
    same for the e-mail. Also warns when the data has no name in a letter's language."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    main = variants[""]
    main_lang = str(main.template.front_matter.get("lang") or "en")
    by_path: dict[str, Variant] = {str(main.template.path): main}
    first_row: dict[str, Candidate] = {}
    for c in candidates:
        if c.lang:
            first_row.setdefault(c.lang, c)
    for lang, first in first_row.items():
        path = _language_file(inputs.template, lang)
        if path is None:
            if _base(lang) != _base(main_lang):
                warnings.append(Problem(
                    first.source.path, first.source.line, "lang",
                    f"there is no {display_path(_named(inputs.template, lang))}: "
                    f"the letters in {lang!r} are written from {display_path(inputs.template)} "
                    f"({main_lang}); add the template in that language", warning=True))
            continue
        if str(path) in by_path:
            variants[lang] = by_path[str(path)]
            continue
        try:
            template = read_template(path)
        except LetterforgeError as exc:
            problems.extend(exc.problems)
            continue
        email_path = None
        if "eml" in options.formats:
            email_path = _language_file(inputs.email_template_path, lang)
            if email_path is None:
                email_path = inputs.email_template_path
                warnings.append(Problem(
                    display_path(inputs.email_template_path), None, None,
                    f"there is no e-mail template in {lang!r}: the e-mails of the letters in "
                    f"{lang!r} are written from this one", warning=True))
        variant, found = _variant(inputs, options, template, email_path, fonts)
        problems.extend(found)
        try:
            mergers[lang] = Merger(variant.template, signatories, settings,
                                   variant.email_template)
        except LetterforgeError as exc:
            problems.extend(exc.problems)
            continue
        variants[lang] = by_path[str(path)] = variant
    # names in the letter's language
    headers = set(table.headers) if table is not None else set()
    for lang in sorted({c.lang for c in candidates if c.lang in variants}):
        letter_lang = str(variants[lang].template.front_matter.get("lang") or lang)
        if _base(letter_lang) == "en":
            continue
        tags = letter_lang.lower().replace("-", "_").split("_")
        columns = [f"name_{'_'.join(tags[:i])}" for i in range(len(tags), 0, -1)]
        if not any(col in headers for col in columns) and table is not None:
            warnings.append(Problem(
                table.display, 1, None,
                f"there is no {columns[-1]} column: the letters in {letter_lang!r} use the "
                "name column; add the names as they read in that language", warning=True))
    return problems, warnings


def _named(main: Path, lang: str) -> Path:
    return main.with_name(f"{main.stem}.{lang}{main.suffix}")


def _base(lang: str) -> str:
    return lang.replace("_", "-").split("-")[0].lower()


def _read_email_template(path: Path) -> tuple[Template | None, list[Problem]]:
    if not path.is_file():
        return None, [Problem(display_path(path), None, None,
                              "e-mail template not found: it is needed for the e-mails "
                              "(or leave eml out of --format)")]
    try:
        template = read_template(path, "e-mail template")
    except LetterforgeError as exc:
        return None, exc.problems
    return template, email_settings_problems(template.front_matter, display_path(path))


def _digest(data: bytes | str | None) -> str | None:
    if data is None:
        return None
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _template_digest(t: Template | None) -> Any:
    if t is None:
        return None
    return {"file": t.sha256,
            "includes": {name: _digest(text) for name, (_, text) in sorted(t.includes.items())}}


def _variant_key(v: Variant, formats: Sequence[str]) -> dict[str, Any]:
    """What the letters of one language's templates depend on: the templates, everything
    they read."""
    return {
        "template": _template_digest(v.template),
        "email_template": _template_digest(v.email_template) if "eml" in formats else None,
        "stylesheet": _digest(v.assets.stylesheet),
        "stylesheet_files": {k: _digest(d) for k, d in sorted(v.assets.files.items())},
        "reference_docx": _digest(v.assets.reference_docx),
        # only when there are images: the keys of letters without images stay as they were
        **({"images": {k: _digest(i.data) for k, i in sorted(v.assets.images.items())}}
           if v.assets.images else {}),
    }


def _shared_key(job: Job) -> dict[str, Any]:
    """What every letter's key includes besides its templates: the signatories, the
    settings and the versions of the libraries that write the files."""
    return {
        "letterforge": __version__,
        "formats": list(job.formats),
        "signatories": hashlib.sha256(json.dumps(
            [dict(sorted(s.fields.items())) for s in job.signatories]).encode()).hexdigest(),
        "libraries": _library_versions(),
        "date": job.settings.date.isoformat() if job.settings.date else None,
        "source_date_epoch": job.settings.source_date_epoch,
    }


def _code_digest() -> str:
    """letterforge's own code: a letter rendered by other code is rendered again, even
    when the version number did not change (a development checkout, a patched install)."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def _library_versions() -> dict[str, str]:
    """Versions of the libraries whose output ends up in the files."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"letterforge code": _code_digest()}
    for name in ("weasyprint", "pydyf", "fonttools", "python-docx", "babel", "jinja2",
                 "markdown-it-py", "mdit-py-plugins"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "?"
    return out


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
            found = _coverage_problems(plan, candidate, merger, seen_variants)
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


# ----- the batch ----------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    out_dir: Path
    letters: int  # letters in the batch
    rendered: int  # letters rendered this run
    reused: int  # letters whose inputs had not changed
    files: int
    bytes: int
    manifest: Manifest
    changed: bool  # False when the batch on disk was already up to date


def render_batch(
    plan: Plan,
    out_root: Path,
    *,
    force: bool = False,
    jobs: int | None = None,
    on_letter: Callable[[Candidate], None] | None = None,
    pdf_helper: parallel.Pool | None = None,
) -> BatchResult:
    """Render the plan's letters into OUT/YEAR in one atomic step.

    A letter whose inputs have not changed since the batch on disk was rendered (same
    key in the manifest, files intact) is kept as it is, unless ``force``. With
    ``--only`` the letters not selected keep their files and manifest entries too.
    ``pdf_helper`` (:func:`parallel.start_pdf_helper`) renders the PDF when one letter is
    to be rendered; the caller, who started it, stops it.
    """
    out_dir = out_root / str(plan.settings.year)
    old = _previous_manifest(out_dir, force)
    current = {c.slug: c for c in plan.all_candidates}
    keys = {c.slug: plan.key(c) for c in plan.candidates}
    # files whose stat is the one recorded when they were known intact are not read again
    check = StatCache.load(out_dir) if old is not None and not force else None
    try:
        return _render_batch(plan, out_dir, old, current, keys, check, force=force,
                             jobs=jobs, on_letter=on_letter, helper=pdf_helper)
    finally:
        if check is not None:
            check.close()


def _render_batch(plan: Plan, out_dir: Path, old: Manifest | None,
                  current: dict[str, Candidate], keys: dict[str, str],
                  check: StatCache | None, *, force: bool, jobs: int | None,
                  on_letter: Callable[[Candidate], None] | None,
                  helper: parallel.Pool | None = None) -> BatchResult:
    formats = plan.job.formats
    partial = bool(plan.options.only)
    outdated = (old.outdated(out_dir, keys, check) if old is not None and not force
                else set(keys))
    todo = [c for c in plan.candidates if c.slug in outdated]
    kept: dict[str, LetterEntry] = {}
    if old is not None:
        index = old.index()
        for c in plan.candidates:
            entry = index.get(c.slug)
            if c.slug not in outdated and entry is not None:
                kept[c.slug] = _refreshed(entry, c)
        if partial:
            # --only: the other letters stay, unless their candidate left the data; a letter
            # whose inputs changed since is marked stale (send refuses it) until rendered.
            for entry in old.letters:
                if entry.slug in keys or entry.slug not in current:
                    continue
                files = tuple(f for f in entry.files if (out_dir / f.path).is_file())
                if files:
                    c = current[entry.slug]
                    fresh = entry.key == plan.key(c, old.formats)
                    kept[entry.slug] = LetterEntry(
                        c.short_name, c.name, entry.slug, _source(c),
                        entry.key, files, stale=not fresh)
    base = Manifest(letterforge=__version__, year=plan.settings.year, formats=formats,
                    inputs=plan.input_hashes, shard=plan.shard, options=plan.recorded())
    if not todo and old is not None:
        unchanged = base.with_letters(kept.values())
        unchanged.batch_files = old.batch_files
        if unchanged.same_bytes(old) and (
                not old.batch_files or intact(out_dir, old.batch_files, check)):
            if check is not None:  # what this run hashed and found intact, for next time
                check.save(old.paths())
            clean_leftovers(out_dir)  # what a killed render left, even when nothing changed
            return BatchResult(out_dir, len(kept), 0, len(kept),
                               sum(len(e.files) for e in kept.values()) + len(old.batch_files),
                               0, old, changed=False)

    n_jobs = parallel.effective_jobs(jobs, len(todo)) if len(todo) > 1 else 1
    # in this process (one letter, --jobs 1), with the templates prepare compiled
    make: Callable[[Job], Callable[[Candidate], RenderedLetter]] = (
        make_renderer if n_jobs > 1 else lambda job: plan.renderer())
    if helper is not None:
        if len(todo) == 1 and "pdf" in formats:  # its PDF there, the rest here meanwhile
            # its stylesheets and fonts first, while the letter is checked, merged and parsed
            helper.submit(plan.job.variants[plan.job.variant_key(todo[0])].assets)

            def start(doc: Document, assets: Assets) -> Any:
                assert helper is not None
                return helper.submit((doc, assets))

            renderer = plan.renderer()
            make = lambda job: functools.partial(renderer, elsewhere={"pdf": start})  # noqa: E731
        else:
            helper.close(failed=True)  # not needed: its CPU is the pool's
    with parallel.Pool(make, plan.job, n_jobs) as pool:  # workers start now
        replaced = [WRITERS[fmt].path(c.slug) for c in todo for fmt in formats]
        kept_paths = {f.path for e in kept.values() for f in e.files}

        def would_lose_work() -> list[Problem]:
            """Letters edited by hand and the user's own files that this render would
            replace: checked before rendering, and again holding the lock right before
            the new batch is put in place (a DOCX saved from Word meanwhile)."""
            if force:
                return []
            problems = (old.edited(out_dir, keep=kept_paths, check=check)
                        if old is not None else [])
            return problems + unlisted(out_dir, old, replaced)

        problems = would_lose_work()
        if problems:
            raise ValidationFailed(problems)
        if not plan.letters_checked:
            # one letter: rendered here (its PDF by the helper), from the letter checked
            found = check_letters_of(plan, todo, keep=len(todo) == 1)
            if found:
                raise ValidationFailed(found)
        return _write_batch(plan, out_dir, old, base, todo, kept, keys, pool, on_letter,
                            would_lose_work)


def _write_batch(plan: Plan, out_dir: Path, old: Manifest | None, base: Manifest,
                 todo: Sequence[Candidate], kept: dict[str, LetterEntry],
                 keys: dict[str, str], pool: parallel.Pool,
                 on_letter: Callable[[Candidate], None] | None,
                 last_check: Callable[[], list[Problem]]) -> BatchResult:
    entries: dict[str, LetterEntry] = {}
    total_bytes = 0
    with BatchWriter(out_dir) as writer:
        for rendered in pool.map(todo):
            c = rendered.candidate
            files = tuple(writer.write(rel, data) for rel, data in rendered.files.items())
            total_bytes += sum(len(d) for d in rendered.files.values())
            entries[c.slug] = LetterEntry(c.short_name, c.name, c.slug,
                                          _source(c), keys[c.slug],
                                          files)
            if on_letter:
                on_letter(c)
        for slug, entry in kept.items():
            for f in entry.files:
                writer.keep(f.path)
            entries[slug] = entry
        manifest = base.with_letters(entries.values())
        manifest.batch_files = mail_files(manifest, writer)
        writer.commit(manifest, old, last_check)
    n_files = sum(len(e.files) for e in manifest.letters) + len(manifest.batch_files)
    return BatchResult(out_dir=out_dir, letters=len(manifest.letters), rendered=len(todo),
                       reused=len(kept), files=n_files, bytes=total_bytes,
                       manifest=manifest, changed=True)


def _previous_manifest(out_dir: Path, force: bool) -> Manifest | None:
    """The batch's manifest. A damaged one stops the render (unless ``force``): without
    it no one can tell which files were edited by hand."""
    try:
        return Manifest.read(out_dir)
    except ManifestError:
        if force:
            return None
        raise


def _source(c: Candidate) -> str:
    """Where the candidate's row is, as the manifest records it: the file's name and the
    line, the same from whatever folder letterforge runs in."""
    return f"{Path(c.source.path).name}:{c.source.line}"


def _refreshed(entry: LetterEntry, c: Candidate) -> LetterEntry:
    """A kept letter's entry with the candidate's current names and source line."""
    return LetterEntry(c.short_name, c.name, entry.slug, _source(c),
                       entry.key, entry.files)
