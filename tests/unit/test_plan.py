"""The plan: the selection and shard of candidates; a letter the check merged and parsed
is the one rendered, once; the check merges one letter per shape of the template yet
finds a problem of one row. (One merge and parse for every format, with the PDF:
e2e/test_letter.py; what a letter's key depends on: test_incremental.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

import letterforge.merge as merge
from conftest import ROOT
from letterforge.config import Inputs, Options
from letterforge.errors import UsageError
from letterforge.models import Candidate, Source
from letterforge.plan import prepare, select, shard

#: A 1 x 1 PNG (Pillow writes it: a real image the load stage accepts).
PNG = __import__("base64").b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==")


def _cands(*names: str) -> list[Candidate]:
    return [Candidate(2013, n, n, (f"{i}@example.org",), n.lower().replace(" ", "-"),
                      {"name": n}, Source("c.csv", i + 2)) for i, n in enumerate(names)]


def test_one_letter_checked_then_rendered_is_merged_and_parsed_once(
        monkeypatch: pytest.MonkeyPatch, calls: dict[str, int]) -> None:
    """render --only: the letter the check merged and parsed is the one rendered (the
    check keeps it for the render), once; a second render merges it again."""
    from letterforge.letter_checks import check_letters_of

    monkeypatch.chdir(ROOT)
    plan = prepare(Inputs(), Options(2013, only=("Mexico",)), check_letters=False)
    (mexico,) = plan.candidates
    assert check_letters_of(plan, [mexico], keep=True) == []
    renderer = plan.renderer()
    checked = renderer.document(mexico)
    assert calls == {"merge": 1, "parse": 2}
    again = renderer.document(mexico)  # taken once: the next one is made anew
    assert calls == {"merge": 2, "parse": 4} and again is not checked
    assert check_letters_of(plan, [mexico]) == []  # without keep: nothing kept
    plan.renderer().document(mexico)
    assert calls["merge"] == 4


def test_select_by_short_name_name_or_slug_in_data_order() -> None:
    cands = _cands("Mexico", "Viet Nam", "Cuba")
    assert [c.name for c in select(cands, ["cuba", "viet-nam"])] == ["Viet Nam", "Cuba"]
    with pytest.raises(UsageError, match="no candidate 'Atlantis'"):
        select(cands, ["Atlantis"])


def test_shards_cover_every_letter_once() -> None:
    cands = _cands(*[f"C{i}" for i in range(10)])
    parts = [shard(cands, cands, k, 3)[0] for k in (1, 2, 3)]
    slugs = [c.slug for part in parts for c in part]
    assert sorted(slugs) == sorted(c.slug for c in cands)


def _campaign(tmp_path: Path, body: str, rows: list[str]) -> Inputs:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "letter.md").write_text(
        "---\ndate: 2013-11-05\nlang: en\nsubject: To {{ candidate.short_name }}\n---\n" + body)
    (tmp_path / "templates" / "letter.css").write_text("p { margin: 0 }\n")
    (tmp_path / "c.csv").write_text("year,name,short_name,email,region\n" + "\n".join(rows) + "\n")
    (tmp_path / "s.csv").write_text("year,name\n2013,Org\n")
    return Inputs(tmp_path / "c.csv", tmp_path / "s.csv", tmp_path / "templates" / "letter.md")


def test_check_merges_one_letter_per_shape_yet_finds_a_problem_of_one_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from letterforge.errors import ValidationFailed

    rows = [f"2013,Country {i},Country {i},c{i}@example.org,North" for i in range(300)]
    rows.append("2013,Southland,Southland,s@example.org,South")
    body = ("Dear {{ candidate.name | capfirst }},\n\n"
            "{% if candidate.region == 'South' %}![](map.png){% endif %}\n")
    inputs = _campaign(tmp_path, body, rows)
    (tmp_path / "templates" / "map.png").write_bytes(PNG)
    renders = {"n": 0}
    real = merge.Merger.merge

    def counting(self, candidate):  # type: ignore[no-untyped-def]
        renders["n"] += 1
        return real(self, candidate)

    monkeypatch.setattr(merge.Merger, "merge", counting)
    with pytest.raises(ValidationFailed) as info:
        prepare(inputs, Options(2013, formats=("docx",)))
    assert renders["n"] == 2  # one letter per shape: North and South
    (problem,) = info.value.problems
    assert problem.line == 8 and "'map.png' has no alt text" in problem.message
    assert "letter to Southland" in problem.message


def test_check_checks_every_row_header_values(tmp_path: Path) -> None:
    from letterforge.errors import ValidationFailed

    rows = [f"2013,Country {i},Country {i},c{i}@example.org,North" for i in range(50)]
    rows.append("2013,Longland," + "Long " * 52 + ",l@example.org,North")
    inputs = _campaign(tmp_path, "Dear {{ candidate.name }},\n", rows)
    with pytest.raises(ValidationFailed, match=r"is 2[56]\d characters long.*letter to Long"):
        prepare(inputs, Options(2013, formats=("docx",)))


def test_without_fc_match_the_fonts_coverage_is_not_checked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """fontconfig's fc-match missing (fc-list there): no character is called missing
    from the fonts for that; the check of the letter finds nothing to say."""
    import shutil

    from letterforge.letter_checks import check_letters_of

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: (
        None if name == "fc-match" else real(name, *args, **kwargs)))
    monkeypatch.chdir(ROOT)
    plan = prepare(Inputs(), Options(2013, only=("Mexico",)), check_letters=False)
    assert dict(plan.coverage) == {}
    assert check_letters_of(plan, plan.candidates) == []
