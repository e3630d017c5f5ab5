"""What a template may cost: Jinja2's immutable sandbox, with bounds on what one letter
can make the computer do.

The sandbox already keeps a template from changing the data or reaching Python's
internals, and ``range()`` to 100,000 items. On top of that, per letter:

- a text or a list an expression makes holds at most :data:`MAX_VALUE` items
  (``'x' * 10**10`` is refused before it is made);
- an integer power holds at most :data:`MAX_POWER_BITS` bits;
- a format's width or precision is at most :data:`MAX_FORMAT_WIDTH`
  (``'%0999999999d' | format(1)``), and a width taken from the arguments is refused;
- all ``range()`` calls of one letter together yield at most :data:`MAX_ITERATIONS`
  items (nested loops multiply);
- a merged letter holds at most :data:`MAX_LETTER` characters.

Each limit says which it is and where; a real letter is far inside every one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_VALUE = 200_000
MAX_POWER_BITS = 100_000
MAX_FORMAT_WIDTH = 1_000
MAX_ITERATIONS = 1_000_000
MAX_LETTER = 2_000_000


class TemplateLimit(jinja2.TemplateRuntimeError):
    """A template asked for more than a letter may cost."""


#: range() items left for the letter being merged
_BUDGET: ContextVar[list[int]] = ContextVar("letterforge_range_budget")

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z%]")
_BRACE_SPEC = re.compile(r"\{[^{}]*:([^{}]*)\}|\{[^{}]*:[^{}]*\{")


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _check_format(text: str, style: str) -> None:
    """Refuse a format whose width or precision is huge, or taken from the arguments."""
    if style == "%":
        for width, precision in _PERCENT_SPEC.findall(text):
            for number in (width, precision):
                if number == "*":
                    raise TemplateLimit("a format's width may not come from its arguments "
                                        "('%*d'): write the width in the format")
                if number and int(number) > MAX_FORMAT_WIDTH:
                    raise TemplateLimit(f"a format's width of {number} is more than a "
                                        f"letter holds: {MAX_FORMAT_WIDTH} at most")
        return
    for match in _BRACE_SPEC.finditer(text):
        spec = match.group(1)
        if spec is None:
            raise TemplateLimit("a format's width may not come from its arguments "
                                "('{:{}}'): write the width in the format")
        for number in re.findall(r"\d+", spec):
            if int(number) > MAX_FORMAT_WIDTH:
                raise TemplateLimit(f"a format's width of {number} is more than a letter "
                                    f"holds: {MAX_FORMAT_WIDTH} at most")


def _budgeted_range(*args: int) -> range:
    from jinja2.sandbox import safe_range

    result = safe_range(*args)
    budget = _BUDGET.get(None)
    if budget is not None:
        budget[0] -= len(result)
        if budget[0] < 0:
            raise TemplateLimit(f"the template's loops go round more than {MAX_ITERATIONS:,} "
                                "times for one letter: loop over less")
    return result


def checked_format(value: Any, *args: Any, **kwargs: Any) -> str:
    """Jinja2's ``format`` filter (``value % args``), its widths bounded."""
    if isinstance(value, str):
        _check_format(value, "%")
    return jinja2.filters.do_format(value, *args, **kwargs)


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the bounds of this module."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _budgeted_range
        self.filters.update(self.checked_filters())

    @staticmethod
    def checked_filters() -> dict[str, Callable[..., Any]]:
        """The filters this module bounds (set again after the project's own filters)."""
        return {"format": checked_format}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                size = _sized(seq)
                if size is not None and isinstance(times, int) and size * times > MAX_VALUE:
                    raise TemplateLimit(f"this expression would make a value of "
                                        f"{size * times:,} characters or items: a letter's "
                                        f"value holds {MAX_VALUE:,} at most")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) \
                and right > 0 and abs(left) > 1 and left.bit_length() * right > MAX_POWER_BITS:
            raise TemplateLimit(f"{left} ** {right} is a number too large for a letter")
        elif operator == "+":
            a, b = _sized(left), _sized(right)
            if a is not None and b is not None and a + b > MAX_VALUE:
                raise TemplateLimit(f"this expression would make a value of {a + b:,} "
                                    f"characters or items: a letter's value holds "
                                    f"{MAX_VALUE:,} at most")
        elif operator == "%" and isinstance(left, str):
            _check_format(left, "%")
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        text = getattr(value, "__self__", "")

        def checked(*args: Any, **kwargs: Any) -> str:
            if isinstance(text, str):
                _check_format(text, "{")
            return wrapped(*args, **kwargs)

        return checked


def render_bounded(template: jinja2.Template, context: Any) -> str:
    """The template rendered, its loops and its length bounded for one letter."""
    token = _BUDGET.set([MAX_ITERATIONS])
    try:
        parts: list[str] = []
        size = 0
        for piece in _pieces(template, context):
            size += len(piece)
            if size > MAX_LETTER:
                raise TemplateLimit(f"the merged letter is more than {MAX_LETTER:,} "
                                    "characters: a letter is a few thousand")
            parts.append(piece)
        return "".join(parts)
    finally:
        _BUDGET.reset(token)


def _pieces(template: jinja2.Template, context: Any) -> Iterable[str]:
    return template.generate(context)
