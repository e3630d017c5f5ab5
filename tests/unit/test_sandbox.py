"""What a template may cost: a hostile or careless expression is refused with the
template's line and the limit it met, quickly and without exhausting memory; a real
letter is far inside every limit."""

from __future__ import annotations

import time

import pytest
from test_merge import cand, merger

from letterforge.errors import RenderError
from letterforge.sandbox import MAX_ITERATIONS, MAX_LETTER, MAX_VALUE


@pytest.mark.parametrize(("body", "says"), [
    ("{{ 'x' * 10**10 }}", "characters or items"),
    ("{{ 10**10 * 'x' }}", "characters or items"),
    ("{{ [0] * 10**9 }}", "characters or items"),
    ("{% set a = 'x' * 150000 %}{{ a + a }}", "characters or items"),
    ("{{ 9 ** 9999999 }}", "too large for a letter"),
    ("{{ '%0999999999d' | format(1) }}", "width of 999999999"),
    ("{{ '%*d' | format(10**9, 1) }}", "width may not come from its arguments"),
    ("{{ '%0999999999d' % 1 }}", "width of 999999999"),
    ("{{ '{:>999999999}'.format(1) }}", "width of 999999999"),
    ("{{ '{:{}}'.format(1, 10**9) }}", "width may not come from its arguments"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     f"more than {MAX_ITERATIONS:,} times"),
    ("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
     f"more than {MAX_LETTER:,} characters"),
])
def test_an_expression_too_costly_for_a_letter_is_refused(write, body: str,
                                                          says: str) -> None:
    m = merger(write, f"Dear friends,\n\n{body}\n")
    started = time.monotonic()
    with pytest.raises(RenderError, match=says) as info:
        m.merge(cand("Mexico"))
    assert time.monotonic() - started < 10
    assert "letter.md:" in str(info.value) or info.value.problems[0].line is not None


def test_a_real_letter_is_far_inside_every_limit(write) -> None:
    body = ("{% for i in range(40) %}{{ loop.index }}. {{ candidate.name | possessive }} "
            "{{ '%05d' | format(i) }} {{ '{:>8}'.format(i) }} {{ 'ab' * 50 }} "
            "{{ 2 ** 64 }}\n{% endfor %}")
    letter = merger(write, body).merge(cand("Mexico")).markdown
    assert "40. Mexico’s 00039" in letter and str(2 ** 64) in letter
    assert len("x" * MAX_VALUE) == MAX_VALUE  # the bound is not below what Python makes


def test_the_loop_budget_is_per_letter(write) -> None:
    """Two letters, each just inside the budget: the second is not refused for the
    first's loops."""
    outer = MAX_ITERATIONS // 1000 - 2
    m = merger(write, f"{{% for i in range({outer}) %}}{{% for j in range(999) %}}"
                      "{% endfor %}{% endfor %}\n")
    m.merge(cand("Mexico"))
    m.merge(cand("Cuba"))


@pytest.mark.parametrize("body", [
    "{{ " + "(" * 400 + "1" + ")" * 400 + " }}",
    "{% if true %}" * 300 + "x" + "{% endif %}" * 300,
    "{{ " + "[" * 400 + "]" * 400 + " }}",
])
def test_a_template_nested_too_deeply_is_refused_not_a_crash(write, body: str) -> None:
    from test_merge import SIGS

    from letterforge.load import read_template
    from letterforge.merge import Merger
    from letterforge.models import Settings

    path = write("templates/letter.md", f"---\ndate: 2013-11-05\nlang: en\n---\n{body}\n")
    with pytest.raises(RenderError, match="nested too deeply"):
        Merger(read_template(path), SIGS, Settings(2013)).merge(cand("Mexico"))


@pytest.mark.parametrize(("front", "says"), [
    ("date: 2108-01-01\n", "past 2107-12-31"),
    ("date: 9999-12-31\n", "past 2107-12-31"),
])
def test_a_date_a_docx_cannot_record_is_refused(write, front: str, says: str) -> None:
    from test_merge import SIGS

    from letterforge.load import read_template
    from letterforge.merge import Merger
    from letterforge.models import Settings

    path = write("templates/letter.md", f"---\n{front}lang: en\n---\nx\n")
    with pytest.raises(RenderError, match=says):
        Merger(read_template(path), SIGS, Settings(2013)).merge(cand("Mexico"))


def test_a_source_date_epoch_past_2107_is_refused(write) -> None:
    from test_merge import SIGS

    from letterforge.load import read_template
    from letterforge.merge import Merger
    from letterforge.models import Settings

    path = write("templates/letter.md", "---\ndate: 2013-11-05\nlang: en\n---\nx\n")
    with pytest.raises(RenderError, match="SOURCE_DATE_EPOCH.*past 2107-12-31"):
        Merger(read_template(path), SIGS, Settings(2013, source_date_epoch=2 ** 33))


def test_a_date_option_past_2107_is_a_usage_error() -> None:
    from letterforge.config import parse_date
    from letterforge.errors import UsageError

    assert str(parse_date("2107-12-31")) == "2107-12-31"
    with pytest.raises(UsageError, match="--date: 2108-01-01 is past 2107-12-31"):
        parse_date("2108-01-01")
