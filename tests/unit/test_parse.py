"""Parse: the one set of node types, checked with the template's line; nothing dropped.
What the parse stage refuses (raw HTML, math, stray footnote and table markup, nesting
past the limit) names the template's line; what it keeps as text (a "<" in prose, markup
characters in the data) prints as written."""

from __future__ import annotations

import datetime as dt
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
    Document,
    check_tree,
    parse,
    parse_markdown,
    template_line_of,
)
from letterforge.writers.html import render_page
from letterforge.writers.text import render_text


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


# ----- refused with the template's line, or kept as text ------------------------------


META = {"lang": "en", "title": "T", "timestamp": dt.datetime(2013, 11, 5, tzinfo=dt.UTC)}


def _parse(tmp_path: Path, body: str, note: str = "") -> Document:
    path = tmp_path / "templates" / "letter.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\ndate: 2013-11-05\nlang: en\n---\n" + textwrap.dedent(body))
    template = read_template(path)
    candidate = Candidate(2013, "Mexico", "Mexico", ("m@example.org",), "mexico",
                          {"name": "Mexico", "short_name": "Mexico", "note": note},
                          Source("c.csv", 2))
    signatories = (Signatory(2013, "Org", {"name": "Org"}, Source("s.csv", 2)),)
    letter = Merger(template, signatories, Settings(2013)).merge(candidate)
    return parse(letter, template)


@pytest.mark.parametrize(("markdown", "says", "at"), [
    ("<div>x</div>", "raw HTML is not supported", 0),
    ("Yours,<br>Ann", "raw HTML is not supported", 0),
    ("<!-- draft -->", "raw HTML is not supported", 0),
    ("The cost is $x^2$.", "math ($...$) is not supported", 0),
    ("$$\nx\n$$", "math ($$...$$) is not supported", 0),
    ("Term\n: its meaning", "a definition list is not supported", 0),
    ("As said[^1].", "the footnote [^1] has no definition", 0),
    ("[^1]: Never referenced.", "the footnote [^1] is defined here but never used", 0),
    ("Text.[^1]\n\n[^1]: A note[^2].\n\n[^2]: Another.", "a footnote inside a footnote",
     2),
    ("Text.[^1]\n\n[^1]: A note.\n\n    - a list in it", "a footnote may hold paragraphs",
     4),
    ("| A | B |\n| 1 | 2 |", "looks like a table row", 0),
    ("| A | B |\n|---|---|\n| 1 | 2 | three |", "this table row has 3 cells but its "
     "header has 2: the cells past the first 2 ('three') would be dropped", 2),
    ("A | B\n--|--\n1 | 2 | 3", "has 3 cells but its header has 2", 2),
    ("> | A | B |\n> |---|---|\n> | 1 | 2 | 3 |", "has 3 cells", 2),
    ("| A | B |\n|---|---|\n| 1 {{ candidate.note }} | 2 |", "a line break in this "
     "table row would split it in two", 2),
    ("## About {{ candidate.note }}", "a line break in this heading", 0),
    ("Dup.[^d]\n\n[^d]: First.\n\n[^d]: Second.", "[^d] is defined twice", 4),
    ("Empty.[^e]\n\n[^e]:", "the footnote [^e] is empty", 2),
    ("Spaced.[^a b]\n\n[^a b]: Note.", "[^a b] has a space", 2),  # a link definition
    ("Spaced.[^a b]\n\n[^a b]: Two words.", "[^a b] has a space", 0),
    ("| " + " | ".join("H" * 21) + " |\n|" + "---|" * 21, "this table has 21 columns; a "
     "letter's table may have 20 at most", 0),
    ("Evil &#x202e;txet desrever", "the direction control U+202E", 0),
    ("Evil \u2066txet", "the direction control U+2066", 0),
    ("[click](javascript:alert(1))", "this looks like a link but is not one", 0),
    ("[the file](file:///etc/passwd)", "this looks like a link but is not one", 0),
    ("See the resolution.\n\n[1]: A/RES/60/251", "a link definition ([1]: ...) that no "
     "text uses: it would not print", 2),
    ("Text first.\n| A | B |", "looks like a table row", 1),
])
def test_unsupported_markup_is_refused_with_its_template_line(
        tmp_path: Path, markdown: str, says: str, at: int) -> None:
    body = "Dear {{ candidate.name }},\n\n" + markdown + "\n"
    with pytest.raises(RenderError) as info:
        _parse(tmp_path, body, note="two\nlines")
    problem = info.value.problem
    assert says in problem.message, problem.message
    assert problem.path.endswith("templates/letter.md")
    assert problem.line == 7 + at  # 4 lines of front matter, "Dear", a blank line


def test_a_link_definition_that_is_used_is_fine(tmp_path: Path) -> None:
    doc = _parse(tmp_path, "See [the resolution][1].\n\n[1]: https://undocs.org/A/RES/60/251\n")
    assert "the resolution" in render_text(doc.tree)


def test_table_rows_with_fewer_cells_escaped_pipes_and_backslashes_are_fine(
        tmp_path: Path) -> None:
    doc = _parse(tmp_path, "| A | B | C |\n|---|---|---|\n| a \\| b | {{ candidate.note }} |\n"
                           "| c |\n\n## On {{ candidate.note }}\n", note="x\\")
    text = render_text(doc.tree)
    assert "a | b" in text and "x\\" in text and "On x\\" in text


def test_a_less_than_sign_and_dollars_in_prose_are_text(tmp_path: Path) -> None:
    doc = _parse(tmp_path, "Since 3 < 4 and a <= b, we pay $5 and $10.\n")
    assert "3 &lt; 4 and a &lt;= b, we pay $5 and $10." in render_page(doc.tree, META)


@pytest.mark.parametrize("value", ["<div>x</div>", "[^1]", "| a | b |", "~~no~~",
                                   "$x$", "<!-- c -->"])
def test_markup_characters_in_the_data_print_as_written(tmp_path: Path, value: str) -> None:
    doc = _parse(tmp_path, "Note: {{ candidate.note }}\n", note=value)
    assert f"Note: {value}" in render_text(doc.tree)


#: The five unclosed code fences of the held-out corpus: CommonMark runs each to the end
#: of its container, so the signatories, {.signature} markers and the closing lines
#: would print as code; each is refused with the line where it opens.
UNCLOSED_FENCES = {
    "a fence with no end": ("```\nsome code\n\nYours,\n\n{.signature}\nAnn", 0),
    "a long fence, its end too short": ("~~~~~~\ncode\n~~~\n\nafter", 0),
    "closed by a fence with a space inside": ("~~~~~~\ncode\n~~~ ~~\n\nafter", 0),
    "opened on the last line of a block quote": ("> A quote.\n> ```\n\nAfter.", 1),
    "opened in a list item that ends": ("1. An item\n\n   ```\n   code\n\nAfter.", 2),
}


@pytest.mark.parametrize("name", UNCLOSED_FENCES)
def test_an_unclosed_code_fence_is_refused_with_its_line(tmp_path: Path, name: str) -> None:
    markdown, at = UNCLOSED_FENCES[name]
    body = "Dear {{ candidate.name }},\n\n" + markdown + "\n"
    with pytest.raises(RenderError) as info:
        _parse(tmp_path, body)
    problem = info.value.problem
    assert "is never closed" in problem.message, problem.message
    assert problem.line == 7 + at


@pytest.mark.parametrize("markdown", [
    "```\ncode\n```\n\nAfter.", "~~~~\ncode\n~~~~~~\n\nAfter.", "> ```\n> code\n> ```",
    "1. An item\n\n   ```\n   code\n   ```\n\nAfter.", "```\n```", "    ``` indented: code"])
def test_a_closed_code_fence_is_fine(tmp_path: Path, markdown: str) -> None:
    """(A fenced block prints as code in every writer; an indented one is text.)"""
    _parse(tmp_path, "Dear {{ candidate.name }},\n\n" + markdown + "\n")


@pytest.mark.parametrize(("markdown", "says", "at"), [
    ("- [x] Ratify the Convention\n- [ ] Invite the rapporteur", "a task list item", 0),
    ("1. Done:\n2. [X] Ratified", "a task list item", 1),
    ("We ~regret~ note the delay.", "~text~ strikes text through on GitHub", 0),
    ("The cost: ~~~~~one~~~~~ figure.", "a run of three or more tildes", 0),
    ("First line.\nA second ~~~line~~~ too.", "a run of three or more tildes", 0),
])
def test_gfm_constructs_a_letter_cannot_show_are_refused_with_their_line(
        tmp_path: Path, markdown: str, says: str, at: int) -> None:
    body = "Dear {{ candidate.name }},\n\n" + markdown + "\n"
    with pytest.raises(RenderError) as info:
        _parse(tmp_path, body)
    problem = info.value.problem
    assert says in problem.message, problem.message
    assert problem.line == 7 + at


@pytest.mark.parametrize("markdown", [
    "About ~50 organisations and ~ 3 states.", "We ~~regret~~ note it.",
    "- \\[x\\] printed with its brackets", "- an item that mentions [x] later",
    "Escaped \\~one\\~ tildes.", "a~b~c", "- [link](https://example.org) first"])
def test_tildes_and_brackets_that_are_text_stay_text(tmp_path: Path, markdown: str) -> None:
    doc = _parse(tmp_path, "Dear {{ candidate.name }},\n\n" + markdown + "\n")
    assert "Dear Mexico" in render_text(doc.tree)


@pytest.mark.parametrize(("markdown", "says", "at"), [
    ("123456789. A big number", "this list starts at 123456789; a numbered list may "
     "start at 32767 at most", 0),
    ("1. Fine\n\n40000. Too far", "", -1),  # (a later item's number is not a start)
    ("1. ```\n   code first\n   ```\n2. text", "this list item begins with a code block", 0),
    ("1. - 2. foo", "this list item begins with a list", 0),
    ("- > quoted first", "this list item begins with a quote", 0),
    ("1. Text first\n2.     indented code", "this list item begins with a code block", 1),
])
def test_a_list_the_pdf_and_the_docx_would_number_differently_is_refused(
        tmp_path: Path, markdown: str, says: str, at: int) -> None:
    body = "Dear {{ candidate.name }},\n\n" + markdown + "\n"
    if not says:
        _parse(tmp_path, body)
        return
    with pytest.raises(RenderError) as info:
        _parse(tmp_path, body)
    problem = info.value.problem
    assert says in problem.message, problem.message
    assert problem.line == 7 + at


def test_a_list_from_zero_or_32767_is_fine_in_every_writer(tmp_path: Path) -> None:
    doc = _parse(tmp_path, "Dear {{ candidate.name }},\n\n0. zero\n1. one\n\n"
                           "Next:\n\n32767. last\n")
    text = render_text(doc.tree)
    assert "0. zero" in text and "1. one" in text and "32767. last" in text
    assert 'start="0"' in render_page(doc.tree, doc.meta)
