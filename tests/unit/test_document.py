"""Parse: the one set of node types, checked with the template's line; nothing dropped."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import pytest

from letterforge.errors import RenderError
from letterforge.load import read_template
from letterforge.merge import Merger
from letterforge.models import Candidate, Settings, Signatory, Source
from letterforge.parse import (
    MAX_NESTING,
    NODE_TYPES,
    check_tree,
    parse_markdown,
    template_line_of,
)


@pytest.mark.parametrize("module", ["html", "text", "docx"])
def test_every_writer_has_a_rule_for_every_node_type_and_no_other(module: str) -> None:
    rules = importlib.import_module(f"letterforge.writers.{module}").RULES
    assert set(rules) == set(NODE_TYPES)


def _template(tmp_path: Path, body: str) -> object:
    path = tmp_path / "templates" / "letter.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\ndate: 2013-11-05\nlang: en\n---\n" + textwrap.dedent(body))
    return read_template(path)


CAND = Candidate(2013, "Mexico", "Mexico", ("m@example.org",), "mexico",
                 {"year": "2013", "name": "Mexico", "short_name": "Mexico",
                  "email": "m@example.org", "note": "![flag](flag.png)"}, Source("c.csv", 2))
SIGS = tuple(Signatory(2013, f"Org {i}", {"name": f"Org {i}"}, Source("s.csv", i + 1))
             for i in range(1, 4))


def _render_check(tmp_path: Path, body: str) -> RenderError:
    template = _template(tmp_path, body)
    letter = Merger(template, SIGS, Settings(2013)).merge(CAND)  # type: ignore[arg-type]
    with pytest.raises(RenderError) as info:
        check_tree(parse_markdown(letter.markdown), letter.markdown, template,  # type: ignore[arg-type]
                   CAND, images=())
    return info.value


def test_an_unsupported_construct_names_the_template_line(tmp_path: Path) -> None:
    error = _render_check(tmp_path, """\
        Dear {{ candidate.name }},

        {% for s in signatories %}
        {{ loop.index }}. {{ s.name }}
        {% endfor %}

        Our logo: ![](logo.png)
        """)
    (problem,) = error.problems
    assert problem.path.endswith("templates/letter.md")
    assert problem.line == 11  # 4 lines of front matter, then line 7 of the body
    assert "'logo.png' has no alt text" in problem.message


def test_markup_from_a_column_through_the_markdown_filter_names_its_line(tmp_path: Path) -> None:
    error = _render_check(tmp_path, """\
        Dear {{ candidate.name }},

        {{ candidate.note | markdown }}
        """)
    assert error.problem.line == 7
    assert "letter to Mexico" in error.problem.message


@pytest.mark.parametrize("nested", [
    "\n".join("  " * i + "- level" for i in range(10)),  # a list ten levels deep
    "> " * 21 + "quote",  # a block quote 21 deep: past markdown-it's own limit
])
def test_nesting_deeper_than_the_limit_is_an_error_not_dropped_content(
        tmp_path: Path, nested: str) -> None:
    error = _render_check(tmp_path, "Start\n\n" + nested + "\n\nThe signature.\n")
    assert f"{MAX_NESTING} levels at most" in error.problem.message
    assert error.problem.line is not None


def test_nesting_within_the_limit_keeps_every_line() -> None:
    text = "\n".join("  " * i + f"- level {i}" for i in range(MAX_NESTING)) + "\n\nEnd.\n"
    tree = parse_markdown(text)
    check_tree(tree, text, None)
    from letterforge.parse import plain_text

    assert "level 7" in plain_text(tree) and "End." in plain_text(tree)


def test_template_line_of_maps_through_loops_and_expressions() -> None:
    body = "Title\n\n{% for x in xs %}\n- {{ x }}\n{% endfor %}\n\nAfter {{ y }}\nEnd\n"
    merged = "Title\n\n- a\n- b\n- c\n\nAfter Y\nEnd\n"
    assert template_line_of(1, merged, body) == 1
    assert template_line_of(8, merged, body) == 8  # "End"
    assert template_line_of(7, merged, body) == 7  # "After Y" <- "After {{ y }}"


def test_a_line_of_a_thousand_stars_is_an_error_with_its_line(tmp_path: Path) -> None:
    from letterforge.parse import parse

    template = _template(tmp_path, "Dear {{ candidate.name }},\n\n" + "*" * 500 + "x"
                         + "*" * 500 + "\n")
    letter = Merger(template, SIGS, Settings(2013)).merge(CAND)  # type: ignore[arg-type]
    with pytest.raises(RenderError) as info:
        parse(letter, template)  # type: ignore[arg-type]
    assert info.value.problem.line == 7
    assert "nested 250 deep" in info.value.problem.message
