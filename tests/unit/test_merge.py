"""Merge: template + candidate -> Markdown, with values escaped."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letterforge.errors import RenderError
from letterforge.load import read_template
from letterforge.merge import Merger, md_escape
from letterforge.models import Candidate, Settings, Signatory, Source
from letterforge.parse import parse, parse_markdown, plain_text, walk
from letterforge.writers.html import render_page


def cand(name: str, short: str | None = None, **extra: str) -> Candidate:
    short = short or name
    fields = {"year": "2013", "name": name, "short_name": short, "email": "a@example.org",
              **extra}
    return Candidate(2013, name, short, ("a@example.org",), "slug", fields, Source("c.csv", 2))


SIGS = [Signatory(2013, "Org A", {"name": "Org A"}, Source("s.csv", 2)),
        Signatory(2013, "Org B", {"name": "Org B"}, Source("s.csv", 3))]


def merger(write, body: str, front: str = "date: 2013-11-05\nlang: en-GB\n") -> Merger:
    path = write("templates/letter.md", f"---\n{front}---\n{body}")
    return Merger(read_template(path), SIGS, Settings(2013))


@pytest.mark.parametrize(
    "text",
    ["A*B*C", "_x_", "<b>bold</b>", "R&D &amp; co", "[link](http://x)", "back\\slash",
     "# not a heading", "1. not a list", "- not a bullet", "`code`", "~~no~~", "a|b",
     "{.class}", "== x", "+ plus", "!", "trailing\\", "Côte d'Ivoire", "Türkiye"],
)
def test_values_print_literally(write, text: str) -> None:
    m = merger(write, "{{ candidate.name }}\n")
    letter = m.merge(cand(text))
    doc = parse(letter)
    assert plain_text(doc.tree) == text
    # and in the HTML, as text
    html = render_page(doc.tree, doc.meta)
    assert "<b>" not in html and "<a " not in html and "<h1" not in html


def test_line_breaks_in_a_value_are_hard_breaks_not_new_blocks(write) -> None:
    m = merger(write, "{{ candidate.note }}\n")
    letter = m.merge(cand("X", note="line one\n\n# two\n- three"))
    doc = parse(letter)
    assert [n.type for n in doc.tree.children] == ["paragraph"]
    assert plain_text(doc.tree) == "line one  # two - three"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn"),
                                      blacklist_characters="\u2028\u2029"), max_size=40))
def test_md_escape_round_trips_through_the_parser(text: str) -> None:
    """Whatever the text, once escaped the parser gives it back as text, not markup."""
    text = " ".join(text.split())  # a value's inner spaces collapse, as in any paragraph
    if not text:
        return
    tree = parse_markdown(md_escape(text) + "\n")
    assert plain_text(tree) == text
    assert {n.type for n in walk(tree)} <= {"root", "paragraph", "inline", "text"}


def test_markdown_filter_opts_out(write) -> None:
    m = merger(write, "{{ candidate.note | markdown }}\n")
    doc = parse(m.merge(cand("X", note="*really*")))
    assert doc.tree.children[0].children[0].children[0].type == "em"


def test_name_in_sentence_with_filters(write) -> None:
    body = ("It is incumbent on {{ candidate.name }}. "
            "{{ candidate.name | capfirst }} stands. "
            "In the pursuit of {{ candidate.name | possessive }} candidacy.\n")
    m = merger(write, body)
    out = plain_text(parse(m.merge(cand("the Russian Federation"))).tree)
    assert out == ("It is incumbent on the Russian Federation. The Russian Federation stands. "
                   "In the pursuit of the Russian Federation’s candidacy.")
    out = plain_text(parse(m.merge(cand("Maldives"))).tree)
    assert "pursuit of Maldives’ candidacy" in out


def test_front_matter_values_use_the_candidate(write) -> None:
    m = merger(write, "{{ subject }}\n",
               front="date: 2013-11-05\nsubject: 'Letter to {{ candidate.short_name }}'\n")
    letter = m.merge(cand("the Russian Federation", "Russian Federation"))
    assert letter.subject == "Letter to Russian Federation"
    assert letter.markdown.strip() == "Letter to Russian Federation"


def test_date_is_formatted_in_the_locale(write) -> None:
    m = merger(write, "{{ date | format_date }}\n", front="date: 2013-11-05\nlang: fr\n")
    assert m.merge(cand("X")).markdown.strip() == "5 novembre 2013"


def test_date_override(write) -> None:
    path = write("templates/letter.md",
                 "---\ndate: 2013-11-05\nlang: en-GB\n---\n{{ date | format_date }}\n")
    m = Merger(read_template(path), SIGS, Settings(2013, dt.date(2013, 10, 1)))
    assert m.merge(cand("X")).markdown.strip() == "1 October 2013"


def test_unknown_column_names_the_variable_line_and_columns(write) -> None:
    m = merger(write, "Hello\n\n{{ candidate.ambassador }}\n")
    with pytest.raises(RenderError) as info:
        m.merge(cand("X"))
    msg = str(info.value)
    assert "templates/letter.md:7:" in msg.replace("\\", "/")
    assert "'ambassador'" in msg and "columns: email, name, short_name, year" in msg


def test_unknown_variable(write) -> None:
    m = merger(write, "{{ ambassador }}\n")
    with pytest.raises(RenderError, match="'ambassador', which is not defined"):
        m.merge(cand("X"))



def test_undefined_front_matter_value_is_not_called_a_column(write) -> None:
    path = write("templates/letter.md", "---\ndate: 2013-11-05\nsigner:\n  name: P\n---\n"
                 "Hi\n\n{{ signer.nmae }}\n")
    merger = Merger(read_template(path), (Signatory(2013, "A", {"name": "A"},
                                                    Source("s.csv", 2)),), Settings(2013))
    candidate = Candidate(2013, "X", "X", ("a@example.org",), "x",
                          {"year": "2013", "name": "X", "short_name": "X",
                           "email": "a@example.org"}, Source("c.csv", 2))
    with pytest.raises(RenderError) as info:
        merger.merge(candidate)
    message = info.value.problem.message
    assert "not a column" not in message
    assert "'nmae' of 'signer'" in message and "front matter" in message
    assert info.value.problem.line == 8


def test_signatories_loop_numbers_every_signatory(write) -> None:
    m = merger(write, "{% for s in signatories %}\n{{ loop.index }}. {{ s.name }}\n{% endfor %}\n")
    doc = parse(m.merge(cand("X")))
    (lst,) = doc.tree.children
    assert lst.type == "ordered_list"
    assert [plain_text(li) for li in lst.children] == ["Org A", "Org B"]


def test_missing_date_is_an_error(write) -> None:
    path = write("templates/letter.md", "---\nlang: en\n---\nx\n")
    with pytest.raises(RenderError, match="no date"):
        Merger(read_template(path), SIGS, Settings(2013))


def test_unknown_language_is_an_error(write) -> None:
    path = write("templates/letter.md", "---\nlang: xx-YY\ndate: 2013-01-01\n---\nx\n")
    with pytest.raises(RenderError, match="unknown language"):
        Merger(read_template(path), SIGS, Settings(2013))


def test_template_cannot_reach_python_internals(write) -> None:
    m = merger(write, "{{ candidate.__class__.__mro__ }}\n")
    with pytest.raises(RenderError):
        m.merge(cand("X"))


def test_front_matter_keeps_line_numbers(tmp_path: Path, write) -> None:
    path = write("t.md", "---\na: 1\nb: 2\n---\nline five\n")
    t = read_template(path)
    assert t.body.split("\n")[4] == "line five"
    assert t.front_matter == {"a": 1, "b": 2}
