"""The templates of each language a year's candidates ask for: the main template and
letter.<lang>.md (else letter.<base language>.md, else the main one with a warning),
each with its stylesheet, images, reference document and e-mail template, read and
checked."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path

from .config import Inputs, Options
from .errors import LetterforgeError, Problem, display_path
from .job import Variant
from .load import front_matter_line, read_assets, read_template
from .merge import Merger
from .models import Candidate, Settings, Signatory, Table, Template
from .validate.front_matter import email_settings_problems, letterhead_problems
from .validate.reference import reference_docx_problems
from .validate.stylesheet import font_problems, stylesheet_problems


def read_variant(inputs: Inputs, options: Options, template: Template,
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
        email_template, found = read_email_template(email_path or inputs.email_template_path)
        problems.extend(found)
    return Variant(template, email_template, assets), problems


def language_file(main: Path, lang: str) -> Path | None:
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


# Complexity over 20, kept: the fallbacks of one language (its file, its base,
# the main one) read in one place.
def language_variants(inputs: Inputs, options: Options, candidates: Sequence[Candidate],
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
        path = language_file(inputs.template, lang)
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
            email_path = language_file(inputs.email_template_path, lang)
            if email_path is None:
                email_path = inputs.email_template_path
                warnings.append(Problem(
                    display_path(inputs.email_template_path), None, None,
                    f"there is no e-mail template in {lang!r}: the e-mails of the letters in "
                    f"{lang!r} are written from this one", warning=True))
        variant, found = read_variant(inputs, options, template, email_path, fonts)
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


def read_email_template(path: Path) -> tuple[Template | None, list[Problem]]:
    if not path.is_file():
        return None, [Problem(display_path(path), None, None,
                              "e-mail template not found: it is needed for the e-mails "
                              "(or leave eml out of --format)")]
    try:
        template = read_template(path, "e-mail template")
    except LetterforgeError as exc:
        return None, exc.problems
    return template, email_settings_problems(template.front_matter, display_path(path))
