"""Merge: one candidate + the signatories + the template's front matter -> Markdown.

Values from the data are text, never markup: every ``{{ expression }}`` in the body is
escaped for Markdown when it is printed (Jinja's ``finalize`` hook), so a name with
``*``, ``_``, ``<``, ``&``, ``[`` or a backslash prints literally. The ``markdown``
filter is the one way to opt out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .errors import Problem, RenderError, display_path
from .filters import FILTERS, Markdown
from .models import Candidate, Letter, Settings, Signatory, TemplateSource

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the
# ones that can start or end markup inline or at the start of a line.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|&~=:\"'^$])")


def md_escape(text: str) -> str:
    """Escape text so Markdown prints it literally. Line breaks become hard breaks."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    if "\n" in escaped:
        lines = [ln.strip() for ln in escaped.split("\n")]
        escaped = "\\\n".join(lines)
    return escaped


def _finalize(value: Any) -> str:
    if isinstance(value, Markdown):
        return str(value)
    if value is None:
        return ""
    return md_escape(str(value))


# Front matter keys with a meaning of their own; any other key is a template variable too.
KNOWN_META = ("lang", "title", "subject", "author", "date", "stylesheet", "reference_docx")


def _locale_for(lang: str) -> str:
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(lang.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown language {lang!r}: use a tag such as en-GB or fr") from exc


def template_line(exc: BaseException, template: TemplateSource) -> int | None:
    """The line of the master template where a Jinja error happened, from its traceback."""
    lineno = getattr(exc, "lineno", None)
    if isinstance(exc, jinja2.TemplateSyntaxError) and lineno:
        return int(lineno)
    filename = str(template.path)
    tb = exc.__traceback__
    found = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            found = tb.tb_lineno
        tb = tb.tb_next
    return found


class Merger:
    """Compiles the template once; merges it with one candidate at a time."""

    def __init__(
        self,
        template: TemplateSource,
        signatories: Sequence[Signatory],
        settings: Settings,
    ) -> None:
        self.template = template
        self.settings = settings
        self.shown = display_path(template.path)
        fm = dict(template.front_matter)
        lang = str(fm.get("lang") or "en")
        try:
            self.locale = _locale_for(lang)
        except ValueError as exc:
            raise RenderError(Problem(self.shown, None, "lang", str(exc))) from exc
        self.lang = lang
        date = settings.date or fm.get("date")
        if isinstance(date, str):
            try:
                date = dt.date.fromisoformat(date.strip())
            except ValueError as exc:
                raise RenderError(Problem(self.shown, None, "date",
                                          f"{date!r} is not a date: write it as YYYY-MM-DD")
                                  ) from exc
        if isinstance(date, dt.datetime):
            date = date.date()
        if not isinstance(date, dt.date):
            raise RenderError(Problem(
                self.shown, None, "date",
                "the letter has no date: add 'date: YYYY-MM-DD' to the front matter"))
        self.date: dt.date = date
        self.env = self._environment(markdown=True)
        self.text_env = self._environment(markdown=False)
        self.body = self.env.get_template("__letter__")
        self.front = {k: self._compile_value(v) for k, v in fm.items()}
        self.signatories = [s.context() for s in signatories]

    def _load(self, name: str) -> tuple[str, str, Any]:
        if name == "__letter__":
            return self.template.body, str(self.template.path), lambda: True
        # Other templates (includes) come from the templates folder only.
        root = self.template.directory.resolve()
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise jinja2.TemplateNotFound(
                f"{name} (templates are read from {display_path(root)} only)")
        try:
            return path.read_text(encoding="utf-8"), str(path), lambda: True
        except (OSError, UnicodeDecodeError) as exc:
            raise jinja2.TemplateNotFound(f"{name} (cannot be read as UTF-8: {exc})") from exc

    def _environment(self, *, markdown: bool) -> jinja2.Environment:
        env = SandboxedEnvironment(
            loader=jinja2.FunctionLoader(self._load),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_finalize if markdown else None,
        )
        env.filters.update(FILTERS)
        return env

    def _compile_value(self, value: Any) -> Any:
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            return self.text_env.from_string(value)
        if isinstance(value, dict):
            return {k: self._compile_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._compile_value(v) for v in value]
        return value

    def _render_value(self, value: Any, ctx: Mapping[str, Any]) -> Any:
        if isinstance(value, jinja2.Template):
            return value.render(ctx)
        if isinstance(value, dict):
            return {k: self._render_value(v, ctx) for k, v in value.items()}
        if isinstance(value, list):
            return [self._render_value(v, ctx) for v in value]
        return value

    def context(self, candidate: Candidate) -> dict[str, Any]:
        base: dict[str, Any] = {
            "candidate": candidate.context(),
            "signatories": self.signatories,
            "year": self.settings.year,
            "lang": self.lang,
            "locale": self.locale,
        }
        meta: dict[str, Any] = {}
        for key, value in self.front.items():
            meta[key] = self._render_value(value, {**base, **meta})
        meta["date"] = self.date
        meta["lang"] = self.lang
        return {**meta, **base}

    def checked_context(self, candidate: Candidate) -> dict[str, Any]:
        """``context``, with a template mistake in the front matter as a RenderError."""
        try:
            return self.context(candidate)
        except jinja2.UndefinedError as exc:
            raise RenderError(self._undefined_message(exc, candidate)) from exc
        except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
                AttributeError) as exc:
            raise RenderError(Problem(self.shown, None, None,
                                      f"a front matter value cannot be computed: {exc}")) from exc

    def merge(self, candidate: Candidate) -> Letter:
        ctx = self.checked_context(candidate)
        try:
            text = self.body.render(ctx)
        except jinja2.UndefinedError as exc:
            raise RenderError(self._undefined_message(exc, candidate)) from exc
        except jinja2.TemplateError as exc:
            line = template_line(exc, self.template)
            raise RenderError(Problem(self.shown, line, None, f"template error: {exc}")) from exc
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
            # what an expression such as {{ candidate.name + 1 }} raises
            line = template_line(exc, self.template)
            raise RenderError(Problem(
                self.shown, line, None,
                f"the template cannot compute an expression here: {exc}")) from exc
        meta = {k: ctx[k] for k in self.front}
        meta.update(
            lang=self.lang,
            locale=self.locale,
            date=self.date,
            title=str(ctx.get("title") or candidate.short_name),
            subject=str(ctx.get("subject") or ctx.get("title") or ""),
            author=_author(ctx),
        )
        return Letter(candidate=candidate, markdown=text, meta=meta)

    def _undefined_message(self, exc: jinja2.UndefinedError, candidate: Candidate) -> Problem:
        line = template_line(exc, self.template)
        m = re.search(r"has no attribute '([^']+)'", str(exc))
        m2 = re.search(r"'([^']+)' is undefined", str(exc))
        if m and "dict object" in str(exc):
            name = m.group(1)
            columns = ", ".join(sorted(candidate.fields))
            msg = (f"the template uses '{name}', which is not a column of the data "
                   f"(columns: {columns}); add the column or fix the name")
        elif m2:
            name = m2.group(1)
            known = ", ".join(sorted({*self.front, "candidate", "signatories", "year",
                                      "lang", "locale", "date"}))
            msg = f"the template uses '{name}', which is not defined (variables: {known})"
        else:
            msg = str(exc)
        return Problem(self.shown, line, None, msg)


def _author(ctx: Mapping[str, Any]) -> str:
    author = ctx.get("author")
    if author:
        return str(author)
    signer = ctx.get("signer")
    if isinstance(signer, dict) and signer.get("name"):
        return str(signer["name"])
    return ""
