"""``render_batch``: the letters a plan selects that are not up to date, rendered on the
worker pool and written into OUT/YEAR in one atomic step, with the manifest."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, parallel
from .batch import BatchWriter, clean_leftovers
from .errors import ManifestError, Problem, ValidationFailed
from .incremental import StatCache
from .job import Job
from .letter import RenderedLetter, make_renderer
from .letter_checks import check_letters_of
from .mailfiles import mail_files
from .manifest import LetterEntry, Manifest, intact, unlisted
from .models import Assets, Candidate
from .plan import Plan
from .writers import WRITERS

if TYPE_CHECKING:
    from .parse import Document


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


def _kept(plan: Plan, out_dir: Path, old: Manifest | None, current: dict[str, Candidate],
          keys: dict[str, str], outdated: set[str]) -> dict[str, LetterEntry]:
    """The letters of the batch on disk that this render keeps as they are: the selected
    ones that are up to date, and with ``--only`` the others, unless their candidate left
    the data (one whose inputs changed since is marked stale: send refuses it until it
    is rendered again)."""
    kept: dict[str, LetterEntry] = {}
    if old is None:
        return kept
    index = old.index()
    for c in plan.candidates:
        entry = index.get(c.slug)
        if c.slug not in outdated and entry is not None:
            kept[c.slug] = _refreshed(entry, c)
    if not plan.options.only:
        return kept
    for entry in old.letters:
        if entry.slug in keys or entry.slug not in current:
            continue
        files = tuple(f for f in entry.files if (out_dir / f.path).is_file())
        if files:
            c = current[entry.slug]
            fresh = entry.key == plan.key(c, old.formats)
            kept[entry.slug] = LetterEntry(c.short_name, c.name, entry.slug, _source(c),
                                           entry.key, files, stale=not fresh)
    return kept


def _up_to_date(out_dir: Path, old: Manifest, base: Manifest,
                kept: dict[str, LetterEntry], check: StatCache | None) -> BatchResult | None:
    """The result of a render with nothing to do, when the batch on disk is what it
    would write (its manifest the same, its batch files intact); None otherwise."""
    unchanged = base.with_letters(kept.values())
    unchanged.batch_files = old.batch_files
    if not unchanged.same_bytes(old) or (old.batch_files
                                          and not intact(out_dir, old.batch_files, check)):
        return None
    if check is not None:  # what this run hashed and found intact, for next time
        check.save(old.paths())
    clean_leftovers(out_dir)  # what a killed render left, even when nothing changed
    files = sum(len(e.files) for e in kept.values()) + len(old.batch_files)
    return BatchResult(out_dir, len(kept), 0, len(kept), files, 0, old, changed=False)


def _renderers(plan: Plan, todo: list[Candidate], jobs: int | None,
               helper: parallel.Pool | None
               ) -> tuple[Callable[[Job], Callable[[Candidate], RenderedLetter]], int]:
    """How the letters are rendered: on a pool of ``jobs`` processes, or here (one letter,
    --jobs 1) with the templates prepare compiled; one letter's PDF by the helper that
    ``render --only`` started, while this process makes the rest."""
    n_jobs = parallel.effective_jobs(jobs, len(todo)) if len(todo) > 1 else 1
    make: Callable[[Job], Callable[[Candidate], RenderedLetter]] = (
        make_renderer if n_jobs > 1 else lambda job: plan.renderer())
    if helper is None:
        return make, n_jobs
    if len(todo) != 1 or "pdf" not in plan.job.formats:
        helper.abandon()  # not needed: its CPU is the pool's
        return make, n_jobs
    # its stylesheets and fonts first, while the letter is checked, merged and parsed
    helper.submit(plan.job.variants[plan.job.variant_key(todo[0])].assets)

    def start(doc: Document, assets: Assets) -> Any:
        return helper.submit((doc, assets))

    renderer = plan.renderer()
    return (lambda job: functools.partial(renderer, elsewhere={"pdf": start})), n_jobs


def _render_batch(plan: Plan, out_dir: Path, old: Manifest | None,
                  current: dict[str, Candidate], keys: dict[str, str],
                  check: StatCache | None, *, force: bool, jobs: int | None,
                  on_letter: Callable[[Candidate], None] | None,
                  helper: parallel.Pool | None = None) -> BatchResult:
    formats = plan.job.formats
    outdated = (old.outdated(out_dir, keys, check) if old is not None and not force
                else set(keys))
    todo = [c for c in plan.candidates if c.slug in outdated]
    kept = _kept(plan, out_dir, old, current, keys, outdated)
    every = {c.slug for c in plan.all_candidates} <= {*kept, *(c.slug for c in todo)}
    base = Manifest(letterforge=__version__, year=plan.settings.year, formats=formats,
                    inputs=plan.input_hashes, shard=plan.shard,
                    options=plan.recorded(complete=every and plan.shard is None))
    if not todo and old is not None:
        done = _up_to_date(out_dir, old, base, kept, check)
        if done is not None:
            return done
    make, n_jobs = _renderers(plan, todo, jobs, helper)
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
