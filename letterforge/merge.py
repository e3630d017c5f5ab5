"""Merge: one candidate + the signatories + the templates' front matter -> one Letter
(the letter's Markdown, its metadata, and the e-mail that carries it), made once.

Values from the data are text, never markup: every ``{{ expression }}`` in a body is
escaped for Markdown when it is printed (Jinja's ``finalize`` hook), so a name with
``*``, ``_``, ``<``, ``&``, ``[`` or a backslash prints literally. The ``markdown``
filter is the one way to opt out.

Templates run in Jinja's immutable sandbox: they cannot reach Python internals and
cannot change the data (``signatories.pop()`` is an error), so every letter gets the
same inputs whatever the order or the process it is rendered in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
from jinja2.sandbox import SecurityError

from .errors import Problem, RenderError, display_path
from .filters import FILTERS, Markdown

# front matter values (in a letter's meta): in models, so that a process that unpickles a
# letter (a PDF helper) does not import jinja2 and this module for them
from .models import (
    Candidate,
    Email,
    FrontMatterMap,
    Letter,
    Settings,
    Signatory,
    Template,
    TemplateText,
)
from .sandbox import LimitedEnvironment, render_bounded
from .validate.rows import bad_character, split_emails

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the
# ones that can start or end markup inline or at the start of a line.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|&~=:\"'^$])")

# Front matter keys with a meaning of their own; any other key is a template variable too.
KNOWN_META = ("lang", "title", "subject", "author", "date", "stylesheet", "reference_docx")
# Header values are refused above this length: Word's subject property holds 255
# characters, and a subject longer than a line is a mistake in the data.
MAX_HEADER_CHARS = 250


# The same without quotes and apostrophes, which are not markup where the others are
# escaped: the template's own words (its front matter) get the letter's typography.
_MD_SPECIAL_TEXT = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|&~=:^$])")


def md_escape(text: str, pattern: re.Pattern[str] = _MD_SPECIAL) -> str:
    """Escape text so Markdown prints it literally. Line breaks become hard breaks."""
    escaped = pattern.sub(r"\\\1", text)
    if "\n" in escaped:
        lines = [ln.strip() for ln in escaped.split("\n")]
        escaped = "\\\n".join(lines)
    return escaped


def _finalize(value: Any) -> str:
    if isinstance(value, Markdown):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, TemplateText):
        return md_escape(value, _MD_SPECIAL_TEXT)
    return md_escape(str(value))


class Columns(dict[str, Any]):
    """A candidate's or signatory's columns as the template sees them."""


class UndefinedName(jinja2.UndefinedError):
    """What StrictUndefined raises, with the name and the object it was looked up on."""

    def __init__(self, message: str | None, name: str | None, obj: Any) -> None:
        super().__init__(message)
        self.name = name
        self.obj = obj


class _Undefined(jinja2.StrictUndefined):
    """StrictUndefined whose error says which name was looked up on what."""

    __slots__ = ()

    def __init__(self, hint: str | None = None, obj: Any = jinja2.utils.missing,
                 name: str | None = None, exc: Any = jinja2.UndefinedError) -> None:
        def make(message: str | None = None) -> UndefinedName:
            return UndefinedName(message, name, obj)

        super().__init__(hint, obj, name, make)  # type: ignore[arg-type]


def _locale_for(lang: str) -> str:
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(lang.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown language {lang!r}: use a tag such as en-GB or fr") from exc


def template_line(exc: BaseException, template: Template) -> int | None:
    """The line of the template where a Jinja error happened, from its traceback."""
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


def _frozen(value: Any, key: str = "") -> Any:
    """Front matter and rows as the template sees them: mappings it can read, not change."""
    if isinstance(value, dict):
        out = FrontMatterMap({k: _frozen(v, f"{key}.{k}" if key else str(k))
                              for k, v in value.items()})
        out.key = key
        return out
    if isinstance(value, list):
        return tuple(_frozen(v, key) for v in value)
    if isinstance(value, str) and not isinstance(value, Markdown):
        return TemplateText(value)
    return value


class _Body:
    """One template compiled in its own environment (letter or e-mail)."""

    def __init__(self, template: Template, markdown: bool) -> None:
        self.template = template
        self.shown = display_path(template.path)
        self.env = self._environment(markdown)
        self.text_env = self._environment(False)
        self.compiled = self.env.get_template("\x00body")
        self.front = {k: self._compile_value(v) for k, v in template.front_matter.items()}
        # values with no {{ }} are the same for every letter: made once
        self.static = {k: _frozen(v, k) for k, v in template.front_matter.items()
                       if not _strings(v)}

    def _load(self, name: str) -> tuple[str, str, Any]:
        if name == "\x00body":
            return self.template.body, str(self.template.path), lambda: True
        found = self.template.includes.get(name)
        if found is None:
            raise jinja2.TemplateNotFound(
                f"{name} (templates are read from {display_path(self.template.directory)} "
                "only, and must be named in quotes)")
        path, text = found
        return text, path, lambda: True

    def _environment(self, markdown: bool) -> jinja2.Environment:
        env = LimitedEnvironment(
            loader=jinja2.FunctionLoader(self._load),
            undefined=_Undefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_finalize if markdown else None,
        )
        env.filters.update(FILTERS)
        env.filters.update(LimitedEnvironment.checked_filters())
        return env

    def _compile_value(self, value: Any) -> Any:
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            return self.text_env.from_string(value)
        if isinstance(value, dict):
            return {k: self._compile_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._compile_value(v) for v in value]
        return value


def _render_value(value: Any, ctx: Mapping[str, Any]) -> Any:
    if isinstance(value, jinja2.Template):
        return render_bounded(value, ctx)
    if isinstance(value, dict):
        return {k: _render_value(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_value(v, ctx) for v in value]
    return value


class Merger:
    """Compiles the templates once; merges them with one candidate at a time."""

    def __init__(
        self,
        template: Template,
        signatories: Sequence[Signatory],
        settings: Settings,
        email_template: Template | None = None,
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
        if date > LATEST_DATE:
            raise RenderError(Problem(
                self.shown, None, "date",
                f"{date.isoformat()} is past {LATEST_DATE.isoformat()}, the last day a DOCX "
                "(a zip file) can record: date the letter earlier"))
        self.date: dt.date = date
        self.timestamp = _timestamp(date, settings.source_date_epoch)
        try:
            self.letter = _Body(template, markdown=True)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(_syntax_problem(exc, template)) from exc
        except RecursionError:
            raise RenderError(_too_deep(template)) from None
        self.email: _Body | None = None
        self.email_own: dict[str, Any] = {}
        if email_template is not None:
            # The e-mail sees the letter's front matter too (title, subject, signer ...).
            combined = Template(email_template.path,
                                {**template.front_matter, **email_template.front_matter},
                                email_template.body, email_template.body_first_line,
                                email_template.sha256, email_template.includes)
            self.email_own = dict(email_template.front_matter)
            try:
                self.email = _Body(combined, markdown=True)
            except jinja2.TemplateSyntaxError as exc:
                raise RenderError(_syntax_problem(exc, email_template)) from exc
            except RecursionError:
                raise RenderError(_too_deep(email_template)) from None
        self.signatories = tuple(Columns(s.context()) for s in signatories)
        sources = [template.body, *(text for _, text in template.includes.values())]
        sources += [v for v in _strings(template.front_matter)]
        if email_template is not None:
            sources += [email_template.body,
                        *(text for _, text in email_template.includes.values())]
            sources += [v for v in _strings(email_template.front_matter)]
        self._usage = candidate_usage(sources)

    @property
    def attach_docx(self) -> bool:
        return bool(self.email_own.get("attach_docx", False))

    def variables(self) -> list[str]:
        return sorted({*self.template.front_matter, "candidate", "signatories", "year",
                       "lang", "locale", "date"})

    def _context(self, body: _Body, candidate: Candidate) -> dict[str, Any]:
        base: dict[str, Any] = {
            "candidate": Columns(candidate.context(self.lang)),
            "signatories": self.signatories,
            "year": self.settings.year,
            "lang": self.lang,
            "locale": self.locale,
        }
        meta: dict[str, Any] = {}
        try:
            for key, value in body.front.items():
                if key in body.static:
                    meta[key] = body.static[key]
                else:
                    meta[key] = _frozen(_render_value(value, {**base, **meta}), key)
        except jinja2.UndefinedError as exc:
            raise RenderError(self._undefined(exc, body, candidate, front=True)) from exc
        except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
                AttributeError) as exc:
            raise RenderError(Problem(body.shown, None, None,
                                      f"a front matter value cannot be computed: {exc}")
                              ) from exc
        meta["date"] = self.date
        meta["lang"] = self.lang
        return {**meta, **base}

    def _render(self, body: _Body, ctx: Mapping[str, Any], candidate: Candidate) -> str:
        try:
            return render_bounded(body.compiled, ctx)
        except jinja2.UndefinedError as exc:
            raise RenderError(self._undefined(exc, body, candidate)) from exc
        except SecurityError as exc:
            line = template_line(exc, body.template)
            raise RenderError(Problem(
                body.shown, line, None,
                f"the template may not change the data or reach Python internals ({exc}): "
                "use a filter such as 'reject' or 'selectattr' to pick values instead")
            ) from exc
        except jinja2.TemplateError as exc:
            line = template_line(exc, body.template)
            raise RenderError(Problem(body.shown, line, None, f"template error: {exc}")
                              ) from exc
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError,
                RecursionError) as exc:
            # what an expression such as {{ candidate.name + 1 }} raises
            line = template_line(exc, body.template)
            raise RenderError(Problem(
                body.shown, line, None,
                f"the template cannot compute an expression here: {exc}")) from exc

    def merge(self, candidate: Candidate) -> Letter:
        """The letter (and its e-mail) for one candidate. Pure: reads and writes nothing."""
        return self._merge(candidate, bodies=True)

    def check_headers(self, candidate: Candidate) -> None:
        """What ``merge`` checks of the front matter and the header values (subject,
        title, sender...) without rendering the bodies: cheap, for every candidate."""
        self._merge(candidate, bodies=False)

    def _merge(self, candidate: Candidate, bodies: bool) -> Letter:
        ctx = self._context(self.letter, candidate)
        text = self._render(self.letter, ctx, candidate) if bodies else ""
        meta: dict[str, Any] = {k: ctx[k] for k in self.letter.front}
        meta.update(
            lang=self.lang,
            locale=self.locale,
            date=self.date,
            title=str(ctx.get("title") or candidate.short_name),
            subject=str(ctx.get("subject") or ctx.get("title") or ""),
            author=_author(ctx),
            timestamp=self.timestamp,
        )
        stamp = self.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        meta["dcterms.created"] = meta["dcterms.modified"] = stamp
        for key in ("title", "subject", "author"):
            self._check_header_value(self.letter, key, meta[key], candidate)
        email = (self._merge_email(candidate, meta, bodies) if self.email is not None
                 else None)
        return Letter(candidate=candidate, markdown=text, meta=meta, email=email)

    def _merge_email(self, candidate: Candidate, letter_meta: Mapping[str, Any],
                     bodies: bool = True) -> Email:
        assert self.email is not None
        body = self.email
        ctx = self._context(body, candidate)
        text = self._render(body, ctx, candidate) if bodies else ""
        own = self.email_own
        headers: dict[str, Any] = {
            "from": str(ctx.get("from") or ""),
            "to": tuple(candidate.emails),
            "cc": tuple(split_emails(candidate.fields.get("cc", ""))),
            "bcc": tuple(split_emails(candidate.fields.get("bcc", ""))
                         + split_emails(str(ctx.get("bcc") or ""))),
            "reply_to": str(ctx.get("reply_to") or ""),
            "subject": str(own.get("subject") and ctx["subject"] or letter_meta["subject"]),
            "attachment": str(ctx.get("attachment") or candidate.slug),
        }
        for key in ("from", "reply_to", "subject", "attachment"):
            self._check_header_value(body, key, headers[key], candidate)
        if not headers["subject"].strip():
            raise RenderError(Problem(body.shown, None, "subject",
                                      "the e-mail has no subject: give the letter a "
                                      "'subject:' in its front matter"))
        headers["attachment"] = _safe_filename(headers["attachment"]) or candidate.slug
        return Email(markdown=text, headers=headers, attach_docx=self.attach_docx)

    def signature(self, candidate: Candidate) -> tuple[Any, ...] | None:
        """What decides the shape of this candidate's letter: the values of the columns
        the templates test, loop over or pass to a filter that can fail or add markup,
        and whether each column they only print is empty. Two candidates with the same
        signature get letters that differ in printed words only, so checking one of
        them checks both. None when the templates use ``candidate`` in a way this
        cannot follow: then every letter must be checked."""
        if self._usage is None:
            return None
        decisive, printed = self._usage
        ctx = candidate.context(self.lang)
        return (tuple((f, str(ctx.get(f))) for f in decisive),
                tuple((f, bool(ctx.get(f))) for f in printed))

    def _check_header_value(self, body: _Body, key: str, value: str,
                            candidate: Candidate) -> None:
        """A value that ends up in an e-mail header or a document property: one line,
        no control characters, not longer than those fields hold."""
        bad = bad_character(value, allow_newline=False)
        if bad == "a line break":
            problem = (f"{key} contains a line break, which would let it add e-mail "
                       "headers: remove it")
        elif bad:
            problem = f"{key} contains {bad}: remove it"
        elif len(value) > MAX_HEADER_CHARS:
            problem = (f"{key} is {len(value)} characters long; at most {MAX_HEADER_CHARS} "
                       "fit in an e-mail subject and the documents' properties: shorten it "
                       "(or the short_name it uses)")
        else:
            return
        raise RenderError(Problem(body.shown, None, key,
                                  f"{problem} (letter to {candidate.label})"))

    def _undefined(self, exc: jinja2.UndefinedError, body: _Body, candidate: Candidate,
                   front: bool = False) -> Problem:
        line = None if front else template_line(exc, body.template)
        name = getattr(exc, "name", None)
        obj = getattr(exc, "obj", None)
        if isinstance(obj, Columns) and obj is not None and name:
            columns = ", ".join(sorted(candidate.fields))
            if "short_name" in obj and "slug" in obj:
                msg = (f"the template uses '{name}', which is not a column of the data "
                       f"(columns: {columns}); add the column or fix the name")
            else:
                keys = ", ".join(sorted(obj))
                msg = (f"the template uses '{name}' of a signatory, which is not a column "
                       f"of the signatories (columns: {keys}); add the column or fix the name")
        elif isinstance(obj, FrontMatterMap) and name:
            keys = ", ".join(sorted(obj)) or "none"
            where = f"'{obj.key}'" if obj.key else "a value"
            msg = (f"the template uses '{name}' of {where}, which the front matter does not "
                   f"give ({where} has: {keys}); add it to the front matter or fix the name")
        elif name in _CHANGING and isinstance(obj, (tuple, dict)):
            msg = (f"the template may not change the data ('{name}'): every letter gets "
                   "the same inputs; use a filter such as 'reject' or 'selectattr' to pick "
                   "values instead")
        elif name and obj is jinja2.utils.missing:
            known = ", ".join(self.variables())
            msg = f"the template uses '{name}', which is not defined (variables: {known})"
        elif name:
            msg = f"the template uses '{name}' of a value that has no such attribute ({exc})"
        else:
            msg = str(exc)
        return Problem(body.shown, line, None, msg)


# Filters that only change how a value prints: they cannot fail or add markup.
PRINTING_FILTERS = frozenset({"possessive", "capfirst", "upper", "lower", "title", "trim",
                              "string", "e", "escape", "default", "d", "de", "a"})


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if ("{{" in value or "{%" in value) else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def candidate_usage(sources: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(decisive, printed): the columns of ``candidate`` the templates use to decide
    something (a test, a loop, a filter that can fail or add markup) and those they only
    print. None when ``candidate`` is used in another way (passed whole, aliased...)."""
    from jinja2 import nodes

    decisive: set[str] = set()
    printed: set[str] = set()
    env = jinja2.Environment()

    def visit(node: nodes.Node, parents: list[nodes.Node]) -> bool:
        if isinstance(node, nodes.Name) and node.name == "candidate":
            parent = parents[-1] if parents else None
            if isinstance(parent, nodes.Getattr) and parent.node is node:
                field = parent.attr
            elif (isinstance(parent, nodes.Getitem) and parent.node is node
                  and isinstance(parent.arg, nodes.Const) and isinstance(parent.arg.value, str)):
                field = parent.arg.value
            else:
                return False
            chain = parents[:-1]
            current: nodes.Node = parent
            while chain and isinstance(chain[-1], nodes.Filter) and chain[-1].node is current \
                    and chain[-1].name in PRINTING_FILTERS:
                current = chain.pop()
            if chain and isinstance(chain[-1], nodes.Output):
                printed.add(field)
            else:
                decisive.add(field)
            return True
        return all(visit(child, [*parents, node]) for child in node.iter_child_nodes())

    for source in sources:
        try:
            ast = env.parse(source)
        except jinja2.TemplateSyntaxError:
            return None
        if not visit(ast, []):
            return None
    return tuple(sorted(decisive)), tuple(sorted(printed - decisive))


_CHANGING = frozenset({"pop", "append", "extend", "insert", "remove", "clear", "sort",
                       "reverse", "update", "setdefault", "popitem", "add", "discard"})


def _syntax_problem(exc: jinja2.TemplateSyntaxError, template: Template) -> Problem:
    where = exc.filename or str(template.path)
    shown = display_path(where)
    return Problem(shown, exc.lineno, None,
                   f"template syntax error: {exc.message} (check the {{{{ }}}} and "
                   "{% %} tags on this line)")


def _too_deep(template: Template) -> Problem:
    return Problem(display_path(template.path), None, None,
                   "the template's {{ }} or {% %} are nested too deeply to read (brackets "
                   "or {% if %} blocks inside each other dozens of times): write them "
                   "flatter")


#: The last day a zip file (a DOCX) can record: its dates hold years 1980 to 2107.
LATEST_DATE = dt.date(2107, 12, 31)


def _timestamp(date: dt.date, epoch: int | None) -> dt.datetime:
    """The time values writers embed: SOURCE_DATE_EPOCH when set, else the letter's date."""
    if epoch is not None:
        latest = dt.datetime(2107, 12, 31, 23, 59, 58, tzinfo=dt.UTC)
        if epoch > latest.timestamp():
            raise RenderError(Problem(
                "", None, "SOURCE_DATE_EPOCH",
                f"{epoch} is past {latest:%Y-%m-%d}, the last day a DOCX (a zip file) can "
                "record: set it to the time of the letter (seconds since 1970), or unset it"))
        return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    return dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)


def _safe_filename(name: str) -> str:
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", name)
    return " ".join(name.split()).strip(" .")[:120]


def _author(ctx: Mapping[str, Any]) -> str:
    author = ctx.get("author")
    if author:
        return str(author)
    signer = ctx.get("signer")
    if isinstance(signer, Mapping) and signer.get("name"):
        return str(signer["name"])
    return ""
