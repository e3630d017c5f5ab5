"""The pipeline: load -> validate -> merge -> parse -> writers -> output.

``prepare`` does everything up to a checked plan (and is all ``check`` runs);
``render_batch`` renders each letter with the writers and hands the bytes to output.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .document import parse
from .errors import (
    LetterforgeError,
    Problem,
    RenderError,
    UsageError,
    ValidationFailed,
    display_path,
)
from .load import Table, read_table, read_template
from .merge import Merger
from .models import Assets, Candidate, Letter, Settings, Signatory, TemplateSource
from .output import BatchWriter, dump_manifest, read_manifest, sha256
from .validate import candidates_for_year, signatories_for_year
from .writers import DEFAULT_FORMATS, EMAIL_FORMAT, FORMATS, WRITERS, UnsupportedNode, get_writer


@dataclass(frozen=True)
class Inputs:
    candidates: Path = Path("candidates.csv")
    signatories: Path = Path("signatories.csv")
    template: Path = Path("templates/letter.md")
    encoding: str | None = None
    email_template: Path | None = None  # default: email.md beside the letter template

    @property
    def email_template_path(self) -> Path:
        return self.email_template or self.template.parent / "email.md"


@dataclass
class Plan:
    settings: Settings
    inputs: Inputs
    candidates: list[Candidate]
    signatories: list[Signatory]
    template: TemplateSource
    assets: Assets
    renderer: Renderer
    formats: tuple[str, ...] = DEFAULT_FORMATS
    input_hashes: dict[str, str] = field(default_factory=dict)
    signatories_sha256: str = ""
    shard: dict[str, Any] | None = None
    letters_checked: bool = True  # prepare merged every selected letter once already
    templates_sha256: str = ""
    all_candidates: list[Candidate] = field(default_factory=list)  # of the year, unselected

    @property
    def merger(self) -> Merger:
        return self.renderer.merger

    @property
    def mailer(self) -> Any:
        return self.renderer.mailer

    @property
    def spec(self) -> RenderSpec:
        return self.renderer.spec


def parse_formats(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_FORMATS
    parts = value.split(",") if isinstance(value, str) else list(value)
    formats: list[str] = []
    for part in parts:
        name = part.strip().lower()
        if not name:
            continue
        if name not in FORMATS:
            raise UsageError(
                f"--format: unknown format {name!r}; choose from {', '.join(FORMATS)}"
            )
        if name not in formats:
            formats.append(name)
    if not formats:
        raise UsageError(f"--format: give at least one of {', '.join(FORMATS)}")
    if EMAIL_FORMAT in formats and "pdf" not in formats:
        formats.insert(formats.index(EMAIL_FORMAT), "pdf")  # the e-mail carries the PDF
    return tuple(formats)


def _read_assets(template: TemplateSource) -> tuple[Assets, list[Problem]]:
    problems: list[Problem] = []
    shown = display_path(template.path)
    name = str(template.front_matter.get("stylesheet") or "letter.css")
    css_path = (template.directory / name).resolve()
    css = ""
    if not css_path.is_relative_to(template.directory.resolve()):
        problems.append(Problem(shown, None, "stylesheet",
                                f"{name!r} is outside the templates folder: keep the "
                                "stylesheet beside the template"))
    else:
        try:
            css = css_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            problems.append(Problem(shown, None, "stylesheet",
                                    f"stylesheet {display_path(css_path)} not found"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(display_path(css_path), None, None,
                                    f"cannot be read as UTF-8 text: {exc}"))
    problems.extend(stylesheet_problems(css, css_path, template.directory))
    reference: bytes | None = None
    ref_name = template.front_matter.get("reference_docx")
    ref_path = (template.directory / str(ref_name or "reference.docx")).resolve()
    if not ref_path.is_relative_to(template.directory.resolve()):
        problems.append(Problem(shown, None, "reference_docx",
                                f"{ref_name!r} is outside the templates folder: keep the "
                                "reference document beside the template"))
    elif ref_path.is_file():
        reference = ref_path.read_bytes()
        import io

        import docx

        try:
            docx.Document(io.BytesIO(reference))
        except Exception as exc:  # python-docx raises several kinds on a broken package
            problems.append(Problem(display_path(ref_path), None, None,
                                    f"is not a Word document python-docx can open ({exc}); "
                                    "save it again from Word or LibreOffice as .docx"))
            reference = None
    elif ref_name:
        problems.append(Problem(shown, None, "reference_docx",
                                f"{display_path(ref_path)} not found"))
    return Assets(template.directory, name, css, reference), problems


_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)|@import\s+(['"])([^'"]*)\3""", re.I)


def stylesheet_problems(css: str, css_path: Path, root: Path) -> list[Problem]:
    """Every resource the stylesheet names must be a file in the templates folder."""
    from urllib.parse import unquote, urlparse

    problems = []
    root = root.resolve()
    for m in _CSS_URL.finditer(css):
        ref = (m.group(2) or m.group(4) or "").strip()
        if not ref or ref.startswith("data:"):
            continue
        line = css.count("\n", 0, m.start()) + 1
        parsed = urlparse(ref)
        if parsed.scheme and parsed.scheme != "file":
            problems.append(Problem(display_path(css_path), line, None,
                                    f"{ref!r}: letterforge fetches nothing from the network; "
                                    "put the file in the templates folder and name it there"))
            continue
        target = (css_path.parent / unquote(parsed.path)).resolve()
        if not target.is_relative_to(root):
            problems.append(Problem(display_path(css_path), line, None,
                                    f"{ref!r} is outside the templates folder "
                                    f"({display_path(root)}): only files in it can be used"))
        elif not target.is_file():
            problems.append(Problem(display_path(css_path), line, None,
                                    f"{ref!r} not found in {display_path(root)}"))
    return problems


GENERIC_FAMILIES = {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui",
                    "emoji", "math", "fangsong", "ui-serif", "ui-sans-serif", "ui-monospace",
                    "ui-rounded", "inherit", "initial", "unset", "revert"}
_FONT_FAMILY = re.compile(r"font-family\s*:\s*([^;}]+)", re.I)
_FONT_FACE = re.compile(r"@font-face\s*{[^}]*}", re.I | re.S)


def font_problems(css: str, css_path: Path, installed: frozenset[str] | None) -> list[Problem]:
    """Every font the stylesheet names must be installed or given by an @font-face rule:
    a missing font is an error, never a silent fallback to another one."""
    shown = display_path(css_path)
    if installed is None:
        return [Problem(shown, None, None, "cannot check the fonts the stylesheet names: "
                        "fontconfig's fc-list is not installed (Debian: fontconfig)")]
    provided = set()
    for face in _FONT_FACE.finditer(css):
        for m in _FONT_FAMILY.finditer(face.group(0)):
            provided.add(m.group(1).strip().strip("'\"").lower())
    problems: list[Problem] = []
    seen: set[str] = set()
    for m in _FONT_FAMILY.finditer(_FONT_FACE.sub(lambda f: " " * len(f.group(0)), css)):
        line = css.count("\n", 0, m.start()) + 1
        for family in m.group(1).split(","):
            name = family.strip().strip("'\"")
            key = name.lower()
            if not name or key in GENERIC_FAMILIES or key in provided or key in seen:
                continue
            seen.add(key)
            if key not in installed:
                problems.append(Problem(shown, line, None,
                                        f"the font {name!r} is not installed: install it "
                                        "(./setup.sh installs the sample's fonts) or name "
                                        "another; letterforge does not fall back to another "
                                        "font silently"))
    return problems


def _select(candidates: list[Candidate], only: Sequence[str]) -> list[Candidate]:
    if not only:
        return candidates
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


def _letter_meta(letter: Letter) -> Letter:
    """Add the time values writers embed: SOURCE_DATE_EPOCH when set, else the letter's date."""
    meta = dict(letter.meta)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when: dt.datetime
    if epoch and epoch.strip().isdigit():
        when = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    else:
        date: dt.date = meta["date"]
        when = dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)
    meta["timestamp"] = when
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    meta["dcterms.created"] = stamp
    meta["dcterms.modified"] = stamp
    return Letter(candidate=letter.candidate, markdown=letter.markdown, meta=meta)


def prepare(
    inputs: Inputs,
    settings: Settings,
    only: Sequence[str] = (),
    formats: Sequence[str] = DEFAULT_FORMATS,
    shard: tuple[int, int] | None = None,
    check_letters: bool = True,
) -> Plan:
    """Load and validate everything; raise ValidationFailed with every problem found.

    With ``check_letters`` the letters selected (``only``, ``shard``) are merged once
    here to catch template problems for each of them; ``render_batch`` does it for the
    letters it is about to render instead, so an up-to-date letter costs nothing."""
    problems: list[Problem] = []
    tables: dict[str, Table] = {}
    for key, path in (("candidates", inputs.candidates), ("signatories", inputs.signatories)):
        try:
            tables[key] = read_table(path, encoding=inputs.encoding)
        except LetterforgeError as exc:
            problems.extend(getattr(exc, "problems", None) or [getattr(exc, "problem", None)
                                                             or Problem("", None, None, str(exc))])
    template: TemplateSource | None = None
    try:
        template = read_template(inputs.template)
    except LetterforgeError as exc:
        problems.append(getattr(exc, "problem", None) or Problem("", None, None, str(exc)))

    candidates: list[Candidate] = []
    signatories: list[Signatory] = []
    if "candidates" in tables:
        candidates, found = candidates_for_year(tables["candidates"], settings.year)
        problems.extend(found)
    if "signatories" in tables:
        signatories, found = signatories_for_year(tables["signatories"], settings.year)
        problems.extend(found)
    if template is None:
        raise ValidationFailed(problems)

    assets, found = _read_assets(template)
    problems.extend(found)
    if "pdf" in formats and assets.stylesheet:
        from .load import installed_font_families

        problems.extend(font_problems(assets.stylesheet,
                                      template.directory / assets.stylesheet_name,
                                      installed_font_families()))
    try:
        merger = Merger(template, signatories, settings)
    except RenderError as exc:
        problems.append(_as_problem(exc))
        raise ValidationFailed(problems) from None
    except LetterforgeError as exc:
        problems.append(Problem(display_path(template.path), None, None, str(exc)))
        raise ValidationFailed(problems) from None
    except Exception as exc:  # jinja2.TemplateSyntaxError and friends
        problems.append(_template_problem(exc, template))
        raise ValidationFailed(problems) from None

    mailer = None
    if EMAIL_FORMAT in formats:
        mailer, found = _prepare_mailer(inputs, template, signatories, settings, merger)
        problems.extend(found)

    if merger.date.year != settings.year and settings.date is None:
        problems.append(Problem(display_path(template.path), None, "date",
                                f"the letter is dated {merger.date.isoformat()} but the batch "
                                f"is for {settings.year}: update 'date:' in the front matter "
                                "or pass --date"))

    selected = _select(candidates, only) if not problems else candidates
    shard_info = None
    if shard is not None:
        selected, shard_info = _shard(selected, candidates, *shard)
    if check_letters and not any(p.path == display_path(template.path) for p in problems):
        problems.extend(_check_letters(selected, merger, mailer, template))
    if problems:
        raise ValidationFailed(problems)

    hashes = {
        "candidates": tables["candidates"].sha256,
        "signatories": tables["signatories"].sha256,
        "template": template.sha256,
        "stylesheet": hashlib.sha256(assets.stylesheet.encode()).hexdigest(),
    }
    if mailer is not None:
        hashes["email_template"] = mailer.template.sha256
    spec = RenderSpec(
        template=template,
        email_template=mailer.template if mailer is not None else None,
        signatories=tuple(signatories),
        settings=Settings(settings.year, merger.date),
        assets=assets,
    )
    return Plan(
        settings=settings,
        inputs=inputs,
        candidates=selected,
        signatories=signatories,
        template=template,
        assets=assets,
        renderer=Renderer(spec, merger, mailer),
        formats=tuple(formats),
        input_hashes=hashes,
        signatories_sha256=hashlib.sha256(json.dumps(
            [dict(sorted(s.fields.items())) for s in signatories]).encode()).hexdigest(),
        shard=shard_info,
        letters_checked=check_letters,
        all_candidates=candidates,
        templates_sha256=_folder_sha256(template.directory),
    )


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """'2/4' -> (2, 4)."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise UsageError(f"--shard: {value!r} is not K/N with 1 <= K <= N (e.g. 2/4)")
    return int(m.group(1)), int(m.group(2))


def _shard(
    selected: list[Candidate], everyone: list[Candidate], k: int, n: int
) -> tuple[list[Candidate], dict[str, Any]]:
    """A deterministic 1/N of the batch: the K-th of every N letters in slug order."""
    order = sorted(everyone, key=lambda c: c.slug)
    mine = {c.slug for i, c in enumerate(order) if i % n == k - 1}
    slugs = [c.slug for c in order]
    info = {"index": k, "count": n, "letters_total": len(order),
            "letters_sha256": hashlib.sha256("\n".join(slugs).encode()).hexdigest()}
    return [c for c in selected if c.slug in mine], info


def _check_letters(
    candidates: Sequence[Candidate], merger: Merger, mailer: Any, template: TemplateSource
) -> list[Problem]:
    """Merge and parse every letter (and e-mail) once, before anything is written: catches
    unknown variables, unsupported Markdown and bad header values, with the template line.
    The same problem for many candidates is reported once."""
    from .writers.html import render_node
    from .writers.text import render_text

    problems: dict[str, Problem] = {}

    def record(exc: Exception, path: Path) -> None:
        if isinstance(exc, UnsupportedNode):
            problem = Problem(display_path(path), None, None, str(exc))
        else:
            problem = _as_problem(exc)
        problems.setdefault(str(problem), problem)

    for candidate in candidates:
        try:
            letter = merger.merge(candidate)
            render_node(parse(letter).tree)
        except (RenderError, UnsupportedNode) as exc:
            record(exc, template.path)
            continue
        if mailer is None:
            continue
        try:
            mailer.headers(candidate, letter)
            render_text(parse(mailer.merger.merge(candidate)).tree)
        except (RenderError, UnsupportedNode) as exc:
            record(exc, mailer.template.path)
    return list(problems.values())


def _prepare_mailer(
    inputs: Inputs,
    template: TemplateSource,
    signatories: list[Signatory],
    settings: Settings,
    merger: Merger,
) -> tuple[Any, list[Problem]]:
    from .mail import Mailer

    path = inputs.email_template_path
    shown = display_path(path)
    if not path.is_file():
        return None, [Problem(shown, None, None,
                              "e-mail template not found: it is needed for the e-mails "
                              "(or leave eml out of --format)")]
    try:
        email_template = read_template(path)
        mailer = Mailer(email_template, template, signatories,
                        Settings(settings.year, merger.date))
    except LetterforgeError as exc:
        return None, [_as_problem(exc)]
    except Exception as exc:  # jinja2.TemplateSyntaxError
        import jinja2

        if isinstance(exc, jinja2.TemplateSyntaxError):
            return None, [Problem(shown, exc.lineno, None,
                                  f"template syntax error: {exc.message}")]
        raise
    return mailer, mailer.problems()


def _as_problem(exc: Exception | str) -> Problem:
    """The Problem an error carries, or one made from its 'path:line: rest' message."""
    problem = getattr(exc, "problem", None)
    if isinstance(problem, Problem):
        return problem
    message = str(exc)
    m = re.match(r"^(.*?):(\d+): (.*)$", message, re.S)
    if m:
        return Problem(m.group(1), int(m.group(2)), None, m.group(3))
    path, _, rest = message.partition(": ")
    return Problem(path, None, None, rest or message)


def _template_problem(exc: Exception, template: TemplateSource) -> Problem:
    import jinja2

    shown = display_path(template.path)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = exc.filename or str(template.path)
        shown_where = display_path(where) if where != str(template.path) else shown
        return Problem(shown_where, exc.lineno, None,
                       f"template syntax error: {exc.message} (check the {{{{ }}}} and "
                       "{% %} tags on this line)")
    raise exc


@dataclass(frozen=True)
class RenderedLetter:
    candidate: Candidate
    files: dict[str, bytes]  # relative path -> bytes


EMAIL_FOLDER = "email"
MBOX = "batch.mbox"
OUTBOX = "outbox.csv"
RECYCLE_AFTER = 100  # letters per worker process before a fresh one takes over


def letter_paths(candidate: Candidate, formats: Sequence[str]) -> dict[str, str]:
    """format -> relative path of that letter in the batch."""
    out = {}
    for fmt in formats:
        if fmt == EMAIL_FORMAT:
            out[fmt] = f"{EMAIL_FOLDER}/{candidate.slug}.eml"
            continue
        _, ext, folder = WRITERS[fmt]
        out[fmt] = f"{folder}/{candidate.slug}.{ext}"
    return out


@dataclass(frozen=True)
class RenderSpec:
    """Everything a renderer needs, as plain data: sent once to each worker process."""

    template: TemplateSource
    email_template: TemplateSource | None
    signatories: tuple[Signatory, ...]
    settings: Settings  # with the letter's date resolved
    assets: Assets


class Renderer:
    """Renders letters: the template compiled once, the writers' resources made once."""

    def __init__(self, spec: RenderSpec, merger: Merger | None = None,
                 mailer: Any = None) -> None:
        self.spec = spec
        self.merger = merger or Merger(spec.template, spec.signatories, spec.settings)
        if mailer is None and spec.email_template is not None:
            from .mail import Mailer

            mailer = Mailer(spec.email_template, spec.template, spec.signatories,
                            spec.settings)
        self.mailer = mailer

    def render(self, candidate: Candidate, formats: Sequence[str]) -> RenderedLetter:
        """Every format of one letter, in memory. Reads and writes nothing."""
        letter = _letter_meta(self.merger.merge(candidate))
        document = parse(letter)
        files: dict[str, bytes] = {}
        paths = letter_paths(candidate, formats)
        mailer = self.mailer if EMAIL_FORMAT in formats else None
        needed = [f for f in formats if f != EMAIL_FORMAT]
        if mailer is not None and mailer.attach_docx and "docx" not in needed:
            needed.append("docx")
        rendered: dict[str, bytes] = {}
        for fmt in needed:
            try:
                rendered[fmt] = get_writer(fmt)(document, self.spec.assets)
            except UnsupportedNode as exc:
                raise RenderError(f"{display_path(self.spec.template.path)}: {exc}") from exc
            if fmt in paths:
                files[paths[fmt]] = rendered[fmt]
        if mailer is not None:
            from .mail import Attachment

            name = mailer.headers(candidate, letter)["attachment"]
            attachments = [Attachment(f"{name}.pdf", rendered["pdf"], "application", "pdf")]
            if mailer.attach_docx:
                attachments.append(Attachment(
                    f"{name}.docx", rendered["docx"], "application",
                    "vnd.openxmlformats-officedocument.wordprocessingml.document"))
            files[paths[EMAIL_FORMAT]] = mailer.message(
                candidate, letter, attachments, letter.meta["timestamp"])
        return RenderedLetter(candidate, files)


def render_letter(plan: Plan, candidate: Candidate, formats: Sequence[str]) -> RenderedLetter:
    return plan.renderer.render(candidate, formats)


# ----- worker processes --------------------------------------------------------------

_WORKER: Renderer | None = None


def _worker_init(spec: RenderSpec) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    global _WORKER
    _WORKER = Renderer(spec)


def _worker_render(task: tuple[Candidate, tuple[str, ...]]) -> RenderedLetter:
    assert _WORKER is not None
    try:
        return _WORKER.render(*task)
    except RenderError:
        raise
    except LetterforgeError as exc:
        raise RenderError(str(exc)) from None  # a plain message crosses the process boundary


def render_many(
    plan: Plan, candidates: Sequence[Candidate], formats: Sequence[str], jobs: int
) -> Iterator[RenderedLetter]:
    """Rendered letters in the order given, on ``jobs`` processes (a spawn pool: WeasyPrint
    is not fork-safe). One letter or one job renders here, without a pool."""
    jobs = max(1, min(jobs, len(candidates)))
    if jobs == 1:
        for candidate in candidates:
            yield plan.renderer.render(candidate, formats)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init, initargs=(plan.spec,),
                               max_tasks_per_child=RECYCLE_AFTER)
    try:
        yield from pool.map(_worker_render, [(c, tuple(formats)) for c in candidates])
    except BrokenProcessPool as exc:
        raise RenderError("a rendering process died (out of memory? try --jobs 1): "
                          f"{exc}; nothing was written") from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ----- the batch ---------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    out_dir: Path
    letters: int  # letters in the batch
    rendered: int  # letters rendered this run
    reused: int  # letters whose inputs had not changed
    files: int
    bytes: int
    manifest: dict[str, Any]
    changed: bool  # False when the batch on disk was already up to date


def letter_key(plan: Plan, candidate: Candidate, formats: Sequence[str]) -> str:
    """A hash of everything one letter's files depend on, recorded in the manifest: equal
    keys mean the letter need not be rendered again."""
    spec = plan.spec
    doc = {
        "letterforge": __version__,
        "formats": list(formats),
        "template": spec.template.sha256,
        "email_template": spec.email_template.sha256
        if spec.email_template is not None and EMAIL_FORMAT in formats else None,
        "stylesheet": hashlib.sha256(spec.assets.stylesheet.encode()).hexdigest(),
        "reference_docx": hashlib.sha256(spec.assets.reference_docx).hexdigest()
        if spec.assets.reference_docx else None,
        "signatories": plan.signatories_sha256,
        "templates_folder": plan.templates_sha256,
        "libraries": _library_versions(),
        "candidate": dict(sorted(candidate.fields.items())),
        "date": spec.settings.date.isoformat() if spec.settings.date else None,
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH"),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


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


def _folder_sha256(folder: Path) -> str:
    """Every file under the templates folder (includes, images, fonts, reference.docx)."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        h.update(rel.as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _intact(out_dir: Path, entry: Mapping[str, Any]) -> bool:
    """Every file of a manifest entry is there with the recorded content."""
    for f in entry.get("files", []):
        try:
            if sha256((out_dir / f["path"]).read_bytes()) != f.get("sha256"):
                return False
        except (OSError, KeyError, TypeError):
            return False
    return bool(entry.get("files"))


def _mail_files(letters: Sequence[dict[str, Any]], writer: BatchWriter) -> list[dict]:
    """batch.mbox and outbox.csv over every e-mail of the batch, read back one by one."""
    from .mail import mbox_chunks, outbox_rows

    emails = [(e["candidate"], f["path"]) for e in letters for f in e["files"]
              if f["path"].endswith(".eml")]
    if not emails:
        return []
    mbox = writer.write_chunks(MBOX, mbox_chunks(writer.read(p) for _, p in emails))
    outbox = writer.write(OUTBOX, outbox_rows((c, p, writer.read(p)) for c, p in emails))
    return [mbox, outbox]


def render_batch(
    plan: Plan,
    formats: Sequence[str],
    out_root: Path,
    *,
    partial: bool = False,
    force: bool = False,
    jobs: int = 1,
    on_letter: Callable[[Candidate], None] | None = None,
) -> BatchResult:
    """Render the plan's letters into OUT/YEAR in one atomic step.

    A letter whose inputs have not changed since the batch on disk was rendered (same
    key in the manifest, files intact) is kept as it is, unless ``force``. ``partial``
    (``--only``): letters not selected keep their files and manifest entries too.
    """
    out_dir = out_root / str(plan.settings.year)
    old = read_manifest(out_dir) or {}
    old_entries = {e.get("slug"): e for e in old.get("letters", []) if isinstance(e, dict)}
    old_formats = old.get("formats") or list(formats)
    current = {c.slug: c for c in plan.all_candidates or plan.candidates}
    keys = {c.slug: letter_key(plan, c, formats) for c in plan.candidates}
    todo: list[Candidate] = []
    kept: dict[str, dict[str, Any]] = {}  # letters taken over from the batch on disk
    for c in plan.candidates:
        entry = old_entries.get(c.slug)
        if (not force and entry is not None and entry.get("key") == keys[c.slug]
                and _intact(out_dir, entry)):
            kept[c.slug] = _refreshed(entry, c)
        else:
            todo.append(c)
    if partial:
        # --only: the other letters stay, unless their candidate left the data; a letter
        # whose inputs changed since is marked stale (send refuses it) until rendered.
        for slug, entry in old_entries.items():
            if slug in keys or slug not in current:
                continue
            files = [f for f in entry.get("files", []) if (out_dir / f["path"]).is_file()]
            if files:
                c = current[slug]
                fresh = entry.get("key") == letter_key(plan, c, old_formats)
                kept[slug] = {**_refreshed(entry, c), "files": files}
                if not fresh:
                    kept[slug]["stale"] = True
    if not force:
        edited = _edited_files(out_dir, old_entries, kept)
        if edited:
            raise ValidationFailed(edited)
    if not plan.letters_checked:
        problems = _check_letters(todo, plan.merger, plan.mailer, plan.template)
        if problems:
            raise ValidationFailed(problems)

    entries: dict[str, dict[str, Any]] = {}
    total_bytes = 0
    with BatchWriter(out_dir) as writer:
        for rendered in render_many(plan, todo, formats, jobs):
            c = rendered.candidate
            files = [writer.write(rel, data) for rel, data in rendered.files.items()]
            total_bytes += sum(len(d) for d in rendered.files.values())
            entries[c.slug] = {
                "candidate": c.short_name,
                "name": c.name,
                "slug": c.slug,
                "source": f"{c.source.path}:{c.source.line}",
                "key": keys[c.slug],
                "files": files,
            }
            if on_letter:
                on_letter(c)
        for slug, entry in kept.items():
            for f in entry["files"]:
                writer.keep(f["path"])
            entries[slug] = entry
        letters = sorted(entries.values(), key=lambda e: e["slug"])
        manifest: dict[str, Any] = {
            "letterforge": __version__,
            "year": plan.settings.year,
            "formats": list(formats),
            "inputs": plan.input_hashes,
        }
        if plan.shard is not None:
            manifest["shard"] = plan.shard
        manifest["letters"] = letters
        manifest["batch_files"] = _mail_files(letters, writer)
        changed = bool(todo) or dump_manifest(manifest) != dump_manifest(old) or not all(
            _intact(out_dir, {"files": [f]}) for f in manifest["batch_files"])
        if changed:
            writer.commit(manifest)
        else:
            writer.abort()  # the batch on disk is already exactly this
    n_files = sum(len(e["files"]) for e in letters) + len(manifest["batch_files"])
    return BatchResult(out_dir=out_dir, letters=len(letters), rendered=len(todo),
                       reused=len(kept), files=n_files, bytes=total_bytes,
                       manifest=manifest, changed=changed)


def _refreshed(entry: Mapping[str, Any], c: Candidate) -> dict[str, Any]:
    """A kept letter's entry with the candidate's current names and source line."""
    out = {**entry, "candidate": c.short_name, "name": c.name,
           "source": f"{c.source.path}:{c.source.line}"}
    out.pop("stale", None)
    return out


def _edited_files(out_dir: Path, old_entries: Mapping[Any, Mapping[str, Any]],
                  kept: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
    """Letter files this render would replace or remove that were changed by hand since
    they were rendered (a DOCX finished in Word, say): never overwritten silently."""
    keep = {f["path"] for e in kept.values() for f in e["files"]}
    problems = []
    for entry in old_entries.values():
        for f in entry.get("files", []):
            path = out_dir / str(f.get("path", ""))
            if f.get("path") in keep or not path.is_file():
                continue
            if sha256(path.read_bytes()) != f.get("sha256"):
                problems.append(Problem(
                    display_path(path), None, None,
                    "was changed after it was rendered (edited by hand?) and this render "
                    "would replace it: move it out of the batch folder to keep the edits, "
                    "or pass --force to replace it"))
    return problems
