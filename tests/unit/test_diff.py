"""diff: what changed from one campaign year to the next. Candidates added, removed and
renamed (by file name), signatories added and removed (not reordered), the letter's
words with the candidate's names neutralised; the terminal, JSON and HTML views of it.
Two years inline in tmp_path, nothing rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CHILE_TEMPLATE
from letterforge.config import Inputs
from letterforge.diff import (
    PLACEHOLDER,
    compare_candidates,
    compare_signatories,
    compare_words,
    diff_years,
    html_page,
    neutralise,
    terminal_text,
)
from letterforge.errors import ValidationFailed
from letterforge.models import Candidate, Signatory, Source


def _cand(name: str, short: str, slug: str) -> Candidate:
    return Candidate(2013, name, short, ("a@example.org",), slug, {}, Source("c.csv", 2))


def _sig(name: str) -> Signatory:
    return Signatory(2013, name, {"name": name}, Source("s.csv", 2))


def test_candidates_added_removed_renamed_by_slug() -> None:
    old = [_cand("Chile", "Chile", "chile"), _cand("Peru", "Peru", "peru")]
    new = [_cand("the Republic of Chile", "Chile", "chile"), _cand("Mali", "Mali", "mali")]
    added, removed, renamed = compare_candidates(old, new)
    assert [c.slug for c in added] == ["mali"]
    assert [c.slug for c in removed] == ["peru"]
    assert [(a.name, b.name) for a, b in renamed] == [("Chile", "the Republic of Chile")]


def test_signatories_order_is_not_a_change() -> None:
    added, removed = compare_signatories([_sig("A"), _sig("B"), _sig("C")],
                                         [_sig("C"), _sig("a"), _sig("D")])
    assert (added, removed) == (["D"], ["B"])


def test_words_compare_with_the_name_neutralised() -> None:
    old = neutralise("We write to Chile.\n\nChile must act.", _cand("Chile", "Chile", "c"))
    new = neutralise("We write to the Republic of Peru.\n\nPeru must act now.",
                     _cand("the Republic of Peru", "Peru", "p"))
    changes = [c for c in compare_words(old, new) if c.op != "equal"]
    assert [(c.op, c.old, c.new) for c in changes] == [("replace", "act.", "act now.")]
    assert PLACEHOLDER in old


TEMPLATE = CHILE_TEMPLATE


@pytest.fixture
def campaign(chile: Path) -> Path:
    return chile


def test_diff_of_two_years_in_three_views(campaign: Path, write, monkeypatch) -> None:
    write("candidates.csv", "year,name,short_name,email\n2013,Chile,Chile,c@example.org\n"
          "2013,Peru,Peru,p@example.org\n2014,Mali,Mali,m@example.org\n"
          "2014,the Republic of Chile,Chile,c@example.org\n")
    write("signatories.csv", "year,name\n2013,Org A\n2013,Org B\n2014,Org B\n2014,Org C\n")
    write("templates/letter.md", "---\ndate: 2014-11-05\n---\nDear {{ candidate.name }}, "
          "we urge you to act now.\n")
    write("templates/archive/2013/letter.md", "---\ndate: 2013-11-05\n---\nDear "
          "{{ candidate.name }}, we ask you to act.\n")
    monkeypatch.chdir(campaign)
    inputs = Inputs(Path("candidates.csv"), Path("signatories.csv"),
                    Path("templates/letter.md"))
    d = diff_years(inputs, 2013, 2014)
    doc = d.as_json()
    assert [c["slug"] for c in doc["candidates"]["added"]] == ["mali"]
    assert [c["slug"] for c in doc["candidates"]["removed"]] == ["peru"]
    assert doc["candidates"]["renamed"][0]["new"]["name"] == "the Republic of Chile"
    assert doc["signatories"] == {"added": ["Org C"], "removed": ["Org A"]}
    assert d.old_template == "templates/archive/2013/letter.md"
    assert {"op": "replace", "old": "ask", "new": "urge"} in doc["letter"]["changes"]
    assert not any("Chile" in c["old"] + c["new"] for c in doc["letter"]["changes"])
    plain = terminal_text(d, colour=False)
    assert "[-ask-] {+urge+}" in plain and "\x1b[" not in plain
    assert "\x1b[31m" in terminal_text(d, colour=True)
    page = html_page(d)
    assert "<del>ask</del>" in page and "<ins>urge</ins>" in page
    for external in ("http://", "https://", "<link", "<script", "src="):
        assert external not in page


def _years(write, monkeypatch: pytest.MonkeyPatch, candidates: str, signatories: str,
           letter: str, archived: str | None = None) -> Inputs:
    """Two years of a campaign in the working folder: the CSV files' rows, the current
    letter and, if given, the older year's letter as new-year archives it."""
    write("candidates.csv", "year,name,short_name,email\n" + candidates)
    write("signatories.csv", "year,name\n" + signatories)
    folder = write("templates/letter.md", letter).parent.parent
    if archived is not None:
        write("templates/archive/2013/letter.md", archived)
    monkeypatch.chdir(folder)
    return Inputs(Path("candidates.csv"), Path("signatories.csv"),
                  Path("templates/letter.md"))


LETTER = "---\ndate: {year}-11-05\n---\nDear {{{{ candidate.name }}}}, we ask you to act.\n"


def test_no_change_is_said_in_every_view(write, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = _years(write, monkeypatch,
                    "2013,Chile,Chile,c@example.org\n2014,Chile,Chile,c@example.org\n",
                    "2013,Org A\n2013,Org B\n2014,Org B\n2014,Org A\n",
                    LETTER.format(year=2014), archived=LETTER.format(year=2013))
    d = diff_years(inputs, 2013, 2014)
    assert not d.letter_changed
    doc = d.as_json()
    assert doc["candidates"] == {"added": [], "removed": [], "renamed": []}
    assert doc["signatories"] == {"added": [], "removed": []}
    assert doc["letter"]["changes"] == [] and doc["letter"]["changed"] is False
    plain = terminal_text(d, colour=False)
    assert "Candidates 2013 -> 2014:\n  no change\n" in plain
    assert "Signatories 2013 -> 2014:\n  no change (apart from order, if any)\n" in plain
    assert plain.endswith("  no change in its words\n")
    assert html_page(d).count("<li>no change</li>") == 2


def test_without_an_archive_the_older_year_is_merged_from_the_current_letter(
        write, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chile's letter of 2013 and Peru's of 2014 (no candidate in both years): the same
    words once their names are the placeholder."""
    inputs = _years(write, monkeypatch,
                    "2013,Chile,Chile,c@example.org\n2014,Peru,Peru,p@example.org\n",
                    "2013,Org A\n2014,Org A\n", LETTER.format(year=2014))
    d = diff_years(inputs, 2013, 2014)
    assert d.old_template == d.new_template == "templates/letter.md"
    assert (d.old_candidate, d.new_candidate) == ("Chile", "Peru")
    assert [c.slug for c in d.added] == ["peru"] and [c.slug for c in d.removed] == ["chile"]
    assert not d.letter_changed
    assert f"Dear {PLACEHOLDER}, we ask you to act." in " ".join(c.new for c in d.words)


def test_a_year_without_rows_yet_has_no_candidates(write,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after new-year: the signatories are there, the candidates not yet."""
    inputs = _years(write, monkeypatch, "2013,Chile,Chile,c@example.org\n",
                    "2013,Org A\n2014,Org A\n2014,Org C\n", LETTER.format(year=2014))
    d = diff_years(inputs, 2013, 2014)
    assert [c.slug for c in d.removed] == ["chile"] and d.added == [] and d.renamed == []
    assert (d.signatories_added, d.signatories_removed) == (["Org C"], [])
    assert "  - Chile (chile)\n" in terminal_text(d, colour=False)
    assert '<li class="removed">removed: Chile (Chile)</li>' in html_page(d)


def test_the_terminal_shows_a_change_with_eight_words_around_it(
        write, monkeypatch: pytest.MonkeyPatch) -> None:
    words = " ".join(f"w{i}" for i in range(20))
    inputs = _years(write, monkeypatch,
                    "2013,Chile,Chile,c@example.org\n2014,Chile,Chile,c@example.org\n",
                    "2013,Org A\n2014,Org A\n",
                    f"---\ndate: 2014-11-05\n---\n{words} now {words}\n",
                    archived=f"---\ndate: 2013-11-05\n---\n{words} {words}\n")
    d = diff_years(inputs, 2013, 2014)
    assert [(c.op, c.old, c.new) for c in d.words if c.op != "equal"] == [
        ("insert", "", "now")]
    line = terminal_text(d, colour=False).splitlines()[-1]
    assert line == "  … w12 w13 w14 w15 w16 w17 w18 w19 {+now+} w0 w1 w2 w3 w4 w5 w6 w7 …"
    assert "\x1b[32m{+now+}\x1b[0m" in terminal_text(d, colour=True)
    assert "<ins>now</ins>" in html_page(d)


def test_the_html_page_escapes_what_the_data_says(write,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = _years(write, monkeypatch,
                    "2013,Chile,Chile,c@example.org\n"
                    "2014,Chile & <b>Friends</b>,Chile,c@example.org\n",
                    "2013,Org A\n2014,Org <script>\n", LETTER.format(year=2014))
    page = html_page(diff_years(inputs, 2013, 2014))
    assert "renamed: Chile / Chile → Chile / Chile &amp; &lt;b&gt;Friends&lt;/b&gt;" in page
    assert '<li class="added">added: Org &lt;script&gt;</li>' in page
    assert "<b>" not in page and "<script>" not in page


def test_a_mistake_in_either_year_is_a_validation_failure(
        write, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = _years(write, monkeypatch,
                    "2013,Chile,Chile,c@example.org\n2014,Peru,Peru,not an address\n",
                    "2013,Org A\n2014,Org A\n", LETTER.format(year=2014))
    with pytest.raises(ValidationFailed) as caught:
        diff_years(inputs, 2013, 2014)
    (problem,) = caught.value.problems
    assert (problem.path, problem.line, problem.column) == ("candidates.csv", 3, "email")
    inputs = _years(write, monkeypatch,
                    "2013,Chile,Chile,c@example.org\n2014,Chile,Chile,c@example.org\n",
                    "2013,Org A\n2014,Org A\n", LETTER.format(year=2014),
                    archived="---\ndate: 2013-11-05\n---\nDear {{ candidate.nmae }},\n")
    with pytest.raises(ValidationFailed) as caught:
        diff_years(inputs, 2013, 2014)
    (problem,) = caught.value.problems
    assert problem.path.endswith("templates/archive/2013/letter.md")
    assert "'nmae'" in problem.message
