"""The pipeline: load -> validate -> merge -> parse -> writers -> output.

``prepare`` does everything up to a checked plan (and is all ``check`` runs);
``render_batch`` renders each letter with the writers and hands the bytes to output.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Callable, Sequence
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
from .output import commit_batch, read_manifest, sha256
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
    merger: Merger
    formats: tuple[str, ...] = DEFAULT_FORMATS
    mailer: Any = None  # letterforge.mail.Mailer when e-mails are made
    input_hashes: dict[str, str] = field(default_factory=dict)


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
    ref_path = template.directory / str(ref_name or "reference.docx")
    if ref_path.is_file():
        reference = ref_path.read_bytes()
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
) -> Plan:
    """Load and validate everything; raise ValidationFailed with every problem found."""
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
    try:
        merger = Merger(template, signatories, settings)
    except RenderError as exc:
        problems.append(Problem(display_path(template.path), None, None, str(exc))
                        if ":" not in str(exc) else _as_problem(str(exc)))
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

    if not any(p.path == display_path(template.path) for p in problems):
        problems.extend(_check_letters(candidates, merger, mailer, template))
    if problems:
        raise ValidationFailed(problems)

    hashes = {
        "candidates": tables["candidates"].sha256,
        "signatories": tables["signatories"].sha256,
        "template": hashlib.sha256(template.path.read_bytes()).hexdigest(),
        "stylesheet": hashlib.sha256(assets.stylesheet.encode()).hexdigest(),
    }
    if mailer is not None:
        hashes["email_template"] = hashlib.sha256(
            inputs.email_template_path.read_bytes()).hexdigest()
    return Plan(
        settings=settings,
        inputs=inputs,
        candidates=_select(candidates, only),
        signatories=signatories,
        template=template,
        assets=assets,
        merger=merger,
        formats=tuple(formats),
        mailer=mailer,
        input_hashes=hashes,
    )


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
            problem = _as_problem(str(exc))
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
        return None, [getattr(exc, "problem", None) or _as_problem(str(exc))]
    except Exception as exc:  # jinja2.TemplateSyntaxError
        import jinja2

        if isinstance(exc, jinja2.TemplateSyntaxError):
            return None, [Problem(shown, exc.lineno, None,
                                  f"template syntax error: {exc.message}")]
        raise
    return mailer, mailer.problems()


def _as_problem(message: str) -> Problem:
    """Turn 'path:line: rest' back into a Problem (messages from the merge stage)."""
    import re

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


def render_letter(plan: Plan, candidate: Candidate, formats: Sequence[str]) -> RenderedLetter:
    """Every format of one letter, in memory. Pure: reads and writes nothing."""
    letter = _letter_meta(plan.merger.merge(candidate))
    document = parse(letter)
    files: dict[str, bytes] = {}
    paths = letter_paths(candidate, formats)
    needed = [f for f in formats if f != EMAIL_FORMAT]
    if EMAIL_FORMAT in formats and plan.mailer is not None and plan.mailer.attach_docx:
        needed += [] if "docx" in needed else ["docx"]
    rendered: dict[str, bytes] = {}
    for fmt in needed:
        try:
            rendered[fmt] = get_writer(fmt)(document, plan.assets)
        except UnsupportedNode as exc:
            raise RenderError(f"{display_path(plan.template.path)}: {exc}") from exc
        if fmt in paths:
            files[paths[fmt]] = rendered[fmt]
    if EMAIL_FORMAT in formats:
        from .mail import Attachment

        mailer = plan.mailer
        name = mailer.headers(candidate, letter)["attachment"]
        attachments = [Attachment(f"{name}.pdf", rendered["pdf"], "application", "pdf")]
        if mailer.attach_docx:
            attachments.append(Attachment(
                f"{name}.docx", rendered["docx"], "application",
                "vnd.openxmlformats-officedocument.wordprocessingml.document"))
        files[paths[EMAIL_FORMAT]] = mailer.message(
            candidate, letter, attachments, letter.meta["timestamp"])
    return RenderedLetter(candidate, files)


@dataclass(frozen=True)
class BatchResult:
    out_dir: Path
    letters: int
    files: int
    bytes: int
    manifest: dict[str, Any]


def _file_entry(rel: str, data: bytes) -> dict[str, Any]:
    return {"path": rel, "format": rel.rsplit(".", 1)[-1], "size": len(data),
            "sha256": sha256(data)}


def _letter_entry(candidate: Candidate, files: dict[str, bytes]) -> dict[str, Any]:
    return {
        "candidate": candidate.short_name,
        "name": candidate.name,
        "slug": candidate.slug,
        "source": f"{candidate.source.path}:{candidate.source.line}",
        "files": [_file_entry(rel, data) for rel, data in files.items()],
    }


def _batch_mail_files(
    letters: Sequence[dict[str, Any]], new_files: dict[str, bytes], out_dir: Path
) -> dict[str, bytes]:
    """batch.mbox and outbox.csv over every e-mail of the batch (carried ones included)."""
    from .load import read_batch_file
    from .mail import mbox_bytes, outbox_rows

    messages: list[tuple[str, str, bytes]] = []
    for entry in letters:
        for f in entry["files"]:
            if f["path"].endswith(".eml"):
                data = new_files.get(f["path"])
                if data is None:
                    data = read_batch_file(out_dir, f["path"])
                messages.append((entry["candidate"], f["path"], data))
    if not messages:
        return {}
    return {MBOX: mbox_bytes(m for _, _, m in messages), OUTBOX: outbox_rows(messages)}


def render_batch(
    plan: Plan,
    formats: Sequence[str],
    out_root: Path,
    *,
    partial: bool = False,
    on_letter: Callable[[Candidate], None] | None = None,
) -> BatchResult:
    """Render every selected letter, then write the batch in one atomic step.

    ``partial`` (``--only``): letters not selected keep their files and manifest entries
    from the existing batch.
    """
    out_dir = out_root / str(plan.settings.year)
    all_files: dict[str, bytes] = {}
    entries: dict[str, dict[str, Any]] = {}
    for candidate in plan.candidates:
        rendered = render_letter(plan, candidate, formats)
        all_files.update(rendered.files)
        entries[candidate.slug] = _letter_entry(candidate, rendered.files)
        if on_letter:
            on_letter(candidate)

    carry: list[str] = []
    if partial:
        old = read_manifest(out_dir) or {}
        for entry in old.get("letters", []):
            slug = entry.get("slug")
            if slug in entries or not isinstance(slug, str):
                continue
            files = [f for f in entry.get("files", []) if (out_dir / f["path"]).is_file()]
            if files:
                carry.extend(f["path"] for f in files)
                entries[slug] = {**entry, "files": files}
    letters = sorted(entries.values(), key=lambda e: e["slug"])
    batch_files = _batch_mail_files(letters, all_files, out_dir)
    all_files.update(batch_files)
    manifest: dict[str, Any] = {
        "letterforge": __version__,
        "year": plan.settings.year,
        "formats": list(formats),
        "inputs": plan.input_hashes,
        "letters": letters,
        "batch_files": [_file_entry(rel, data) for rel, data in batch_files.items()],
    }
    commit_batch(out_dir, all_files, manifest, carry)
    return BatchResult(
        out_dir=out_dir,
        letters=len(plan.candidates),
        files=len(all_files),
        bytes=sum(len(b) for b in all_files.values()),
        manifest=manifest,
    )
