"""The pipeline: load -> validate -> merge -> parse -> writers -> output, wired.

``prepare`` reads and checks everything up to a :class:`Plan` (it is all ``check``
runs); a :class:`Renderer` turns one candidate into the bytes of each of its files
(merged once, parsed once, each writer once); ``render_batch`` renders the letters the
manifest says are outdated, on the worker pool, and hands the bytes to output.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, parallel
from .config import Inputs, Options
from .document import Document, parse
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
    installed_font_families,
    read_assets,
    read_table,
    read_template,
    source_date_epoch,
)
from .manifest import LetterEntry, Manifest, intact, letter_key, unlisted
from .merge import Merger
from .models import Assets, Candidate, Settings, Signatory, Template
from .output import BatchWriter, mail_files
from .validate import (
    candidates_for_year,
    email_settings_problems,
    font_problems,
    reference_docx_problems,
    signatories_for_year,
    stylesheet_problems,
)
from .writers import WRITERS

#: check_letters reports at most this many different problems (a template mistake on
#: one line is the same problem for every candidate: it is reported once).
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Job:
    """Everything a renderer needs, as plain data: sent once to each worker process."""

    template: Template
    email_template: Template | None
    signatories: tuple[Signatory, ...]
    settings: Settings  # with the letter's date resolved
    assets: Assets
    formats: tuple[str, ...]


@dataclass(frozen=True)
class RenderedLetter:
    candidate: Candidate
    files: dict[str, bytes]  # path in the batch -> bytes


class Renderer:
    """Renders letters: the templates compiled once, each letter merged and parsed once
    for all its formats."""

    def __init__(self, job: Job, merger: Merger | None = None) -> None:
        self.job = job
        self.merger = merger or Merger(job.template, job.signatories, job.settings,
                                       job.email_template)

    def document(self, candidate: Candidate) -> Document:
        """One candidate's letter, merged and parsed: what every writer renders."""
        letter = self.merger.merge(candidate)
        return parse(letter, self.job.template, self.job.email_template)

    def __call__(self, candidate: Candidate) -> RenderedLetter:
        """Every format of one letter, in memory. Reads and writes nothing."""
        doc = self.document(candidate)
        rendered: dict[str, bytes] = {}

        def produce(fmt: str) -> bytes:
            if fmt not in rendered:
                writer = WRITERS[fmt]
                needed = {n: produce(n) for n in writer.requires(doc)}
                rendered[fmt] = writer.render(doc, self.job.assets, needed)
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
    merger: Merger
    candidates: tuple[Candidate, ...]  # selected (--only, --shard)
    all_candidates: tuple[Candidate, ...]  # every candidate of the year
    input_hashes: dict[str, str]
    shared: dict[str, Any]  # what every letter's key includes
    shard: dict[str, Any] | None = None
    letters_checked: bool = True  # every selected letter was merged and parsed once
    warnings: tuple[Problem, ...] = field(default=())

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
        shared = self.shared
        if formats is not None and tuple(formats) != self.job.formats:
            shared = {**shared, "formats": list(formats)}
        return letter_key(shared, candidate.fields)

    def renderer(self) -> Renderer:
        return Renderer(self.job, self.merger)

    def recorded(self) -> dict[str, Any]:
        """What the manifest records of the inputs and options (see Manifest.options)."""
        return {**self.inputs.record(),
                "date": self.options.date.isoformat() if self.options.date else None,
                "formats": list(self.job.formats)}


# ----- prepare ------------------------------------------------------------------------


def prepare(inputs: Inputs, options: Options, *, check_letters: bool = True) -> Plan:
    """Read and check everything; raise ValidationFailed with every problem found.

    With ``check_letters`` every selected letter is merged and parsed once here to catch
    template problems for each of them; ``render_batch`` does it for the letters it is
    about to render instead, so an up-to-date letter costs nothing."""
    problems: list[Problem] = []
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

    assets, found = read_assets(template)
    problems.extend(found)
    css_path = template.directory / assets.stylesheet_name
    problems.extend(stylesheet_problems(assets.stylesheet, css_path, template.directory))
    if "pdf" in options.formats and assets.stylesheet:
        problems.extend(font_problems(assets.stylesheet, css_path, installed_font_families()))
    if assets.reference_docx is not None:
        ref_problems = reference_docx_problems(
            assets.reference_docx,
            display_path(template.directory / str(template.front_matter.get(
                "reference_docx") or "reference.docx")))
        problems.extend(ref_problems)
        if ref_problems:
            assets = Assets(assets.template_dir, assets.stylesheet_name, assets.stylesheet,
                            None, assets.files)

    email_template: Template | None = None
    if "eml" in options.formats:
        email_template, found = _read_email_template(inputs)
        problems.extend(found)

    settings = Settings(year, options.date, source_date_epoch())
    try:
        merger = Merger(template, signatories, settings, email_template)
    except LetterforgeError as exc:
        problems.extend(exc.problems)
        raise ValidationFailed(problems) from None

    if merger.date.year != year and options.date is None:
        problems.append(Problem(display_path(template.path), None, "date",
                                f"the letter is dated {merger.date.isoformat()} but the batch "
                                f"is for {year}: update 'date:' in the front matter "
                                "or pass --date"))

    selected = select(candidates, options.only) if not problems else candidates
    shard_info = None
    if options.shard is not None:
        selected, shard_info = shard(selected, candidates, *options.shard)
    job = Job(template=template, email_template=email_template,
              signatories=tuple(signatories),
              settings=Settings(year, merger.date, settings.source_date_epoch),
              assets=assets, formats=tuple(options.formats))
    hashes = {
        "candidates": tables["candidates"].sha256 if "candidates" in tables else "",
        "signatories": tables["signatories"].sha256 if "signatories" in tables else "",
        "template": template.sha256,
        "stylesheet": hashlib.sha256(assets.stylesheet.encode()).hexdigest(),
    }
    if email_template is not None:
        hashes["email_template"] = email_template.sha256
    plan = Plan(inputs=inputs, options=options, job=job, merger=merger,
                candidates=tuple(selected), all_candidates=tuple(candidates),
                input_hashes=hashes, shared=_shared_key(job), shard=shard_info,
                letters_checked=check_letters)
    template_paths = {display_path(template.path)}
    if email_template is not None:
        template_paths.add(display_path(email_template.path))
    if check_letters and not any(p.path in template_paths for p in problems):
        problems.extend(check_letters_of(plan, plan.candidates))
    if problems:
        raise ValidationFailed(problems)
    return plan


def _read_email_template(inputs: Inputs) -> tuple[Template | None, list[Problem]]:
    path = inputs.email_template_path
    if not path.is_file():
        return None, [Problem(display_path(path), None, None,
                              "e-mail template not found: it is needed for the e-mails "
                              "(or leave eml out of --format)")]
    try:
        template = read_template(path, "e-mail template")
    except LetterforgeError as exc:
        return None, exc.problems
    return template, email_settings_problems(template.front_matter, display_path(path))


def _shared_key(job: Job) -> dict[str, Any]:
    """What every letter's key includes: the templates, everything they read, the
    signatories, the settings and the versions of the libraries that write the files."""

    def digest(data: bytes | str | None) -> str | None:
        if data is None:
            return None
        return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()

    def template_digest(t: Template | None) -> Any:
        if t is None:
            return None
        return {"file": t.sha256,
                "includes": {name: digest(text) for name, (_, text) in sorted(
                    t.includes.items())}}

    assets = job.assets
    return {
        "letterforge": __version__,
        "formats": list(job.formats),
        "template": template_digest(job.template),
        "email_template": template_digest(job.email_template)
        if "eml" in job.formats else None,
        "stylesheet": digest(assets.stylesheet),
        "stylesheet_files": {k: digest(v) for k, v in sorted(assets.files.items())},
        "reference_docx": digest(assets.reference_docx),
        "signatories": hashlib.sha256(json.dumps(
            [dict(sorted(s.fields.items())) for s in job.signatories]).encode()).hexdigest(),
        "libraries": _library_versions(),
        "date": job.settings.date.isoformat() if job.settings.date else None,
        "source_date_epoch": job.settings.source_date_epoch,
    }


@functools.lru_cache(maxsize=1)
def _library_versions() -> dict[str, str]:
    """Versions of the libraries whose output ends up in the files."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
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


def check_letters_of(plan: Plan, candidates: Iterable[Candidate]) -> list[Problem]:
    """Merge and parse each letter (and e-mail) once, before anything is written: catches
    unknown variables, unsupported Markdown and bad header values, with the template
    line. The same problem for many candidates is reported once."""
    renderer = plan.renderer()
    problems: dict[tuple[str, int | None, str | None], Problem] = {}
    for candidate in candidates:
        try:
            renderer.document(candidate)
        except InputError as exc:
            for p in exc.problems:
                # one problem per template line, whichever candidate showed it
                key = (p.path, p.line, p.message.split(" (letter to ")[0])
                problems.setdefault(key, p)
            if len(problems) >= MAX_PROBLEMS:
                break
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
) -> BatchResult:
    """Render the plan's letters into OUT/YEAR in one atomic step.

    A letter whose inputs have not changed since the batch on disk was rendered (same
    key in the manifest, files intact) is kept as it is, unless ``force``. With
    ``--only`` the letters not selected keep their files and manifest entries too.
    """
    formats = plan.job.formats
    partial = bool(plan.options.only)
    out_dir = out_root / str(plan.settings.year)
    old = _previous_manifest(out_dir, force)
    current = {c.slug: c for c in plan.all_candidates}
    keys = {c.slug: plan.key(c) for c in plan.candidates}
    outdated = old.outdated(out_dir, keys) if old is not None and not force else set(keys)
    todo = [c for c in plan.candidates if c.slug in outdated]
    kept: dict[str, LetterEntry] = {}
    if old is not None:
        for c in plan.candidates:
            entry = old.entry(c.slug)
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
                        c.short_name, c.name, entry.slug, f"{c.source.path}:{c.source.line}",
                        entry.key, files, stale=not fresh)
    problems: list[Problem] = []
    if old is not None and not force:
        problems.extend(old.edited(out_dir, keep={f.path for e in kept.values()
                                                  for f in e.files}))
    if not force:
        problems.extend(unlisted(out_dir, old, [WRITERS[fmt].path(c.slug) for c in todo
                                                for fmt in formats]))
    if problems:
        raise ValidationFailed(problems)
    if not plan.letters_checked:
        found = check_letters_of(plan, todo)
        if found:
            raise ValidationFailed(found)

    base = Manifest(letterforge=__version__, year=plan.settings.year, formats=formats,
                    inputs=plan.input_hashes, shard=plan.shard, options=plan.recorded())
    if not todo and old is not None:
        unchanged = base.with_letters(kept.values())
        unchanged.batch_files = old.batch_files
        if unchanged.to_bytes() == old.to_bytes() and intact(out_dir, old.batch_files) | (
                not old.batch_files):
            return BatchResult(out_dir, len(kept), 0, len(kept),
                               sum(len(e.files) for e in kept.values()) + len(old.batch_files),
                               0, old, changed=False)

    entries: dict[str, LetterEntry] = {}
    total_bytes = 0
    with BatchWriter(out_dir) as writer:
        for rendered in parallel.run(make_renderer, plan.job, todo,
                                     parallel.effective_jobs(jobs, len(todo))):
            c = rendered.candidate
            files = tuple(writer.write(rel, data) for rel, data in rendered.files.items())
            total_bytes += sum(len(d) for d in rendered.files.values())
            entries[c.slug] = LetterEntry(c.short_name, c.name, c.slug,
                                          f"{c.source.path}:{c.source.line}", keys[c.slug],
                                          files)
            if on_letter:
                on_letter(c)
        for slug, entry in kept.items():
            for f in entry.files:
                writer.keep(f.path)
            entries[slug] = entry
        manifest = base.with_letters(entries.values())
        manifest.batch_files = mail_files(manifest, writer)
        writer.commit(manifest, old)
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


def _refreshed(entry: LetterEntry, c: Candidate) -> LetterEntry:
    """A kept letter's entry with the candidate's current names and source line."""
    return LetterEntry(c.short_name, c.name, entry.slug, f"{c.source.path}:{c.source.line}",
                       entry.key, entry.files)
