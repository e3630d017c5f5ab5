"""The pipeline's wiring: one merge and one parse per letter for all its formats; the
selection and shard of candidates; what a letter's key depends on."""

from __future__ import annotations

from pathlib import Path

import pytest

import letterforge.merge as merge
import letterforge.parse as document
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


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many letters were merged and Markdown texts parsed since the test began."""
    counted = {"merge": 0, "parse": 0}
    real_merge, real_parse = merge.Merger.merge, document._checked_tree

    def counting_merge(self, candidate):  # type: ignore[no-untyped-def]
        counted["merge"] += 1
        return real_merge(self, candidate)

    def counting_parse(*args):  # type: ignore[no-untyped-def]
        counted["parse"] += 1
        return real_parse(*args)

    monkeypatch.setattr(merge.Merger, "merge", counting_merge)
    monkeypatch.setattr(document, "_checked_tree", counting_parse)
    return counted


def test_one_merge_and_one_parse_per_letter_for_every_format(
        monkeypatch: pytest.MonkeyPatch, calls: dict[str, int]) -> None:
    monkeypatch.chdir(ROOT)
    plan = prepare(Inputs(), Options(2013, only=("Mexico",)), check_letters=False)
    (mexico,) = plan.candidates
    files = plan.renderer()(mexico).files
    assert sorted(files) == ["docx/mexico.docx", "email/mexico.eml", "pdf/mexico.pdf"]
    assert calls == {"merge": 1, "parse": 2}  # the letter and its e-mail, once each


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


def test_a_letter_unpickled_in_a_helper_does_not_import_the_merge_stage() -> None:
    """A PDF helper process unpickles the letter: its front matter values are models'
    types, so jinja2 and the merge stage (0.1 s) are not imported for them."""
    import pickle
    import subprocess
    import sys

    plan = prepare(Inputs(candidates=ROOT / "candidates.csv",
                          signatories=ROOT / "signatories.csv",
                          template=ROOT / "templates" / "letter.md"),
                   Options(2013, only=("Mexico",)), check_letters=False)
    (mexico,) = plan.candidates
    data = pickle.dumps(plan.renderer().document(mexico))
    assert b"letterforge.merge" not in data
    code = ("import pickle, sys\n"
            "doc = pickle.loads(sys.stdin.buffer.read())\n"
            "print(doc.candidate.short_name, 'jinja2' in sys.modules,\n"
            "      'letterforge.merge' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["Mexico", "False", "False"]


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


CHANGES = {
    "template": ("templates/letter.md", "Excellency,", "Your Excellency,"),
    "stylesheet": ("templates/letter.css", "font-size: 11pt;", "font-size: 10.5pt;"),
    "signatories": ("signatories.csv", "2013,Amnesty International",
                    "2013,Amnesty International\n2013,One More"),
    "e-mail template": ("templates/email.md", "Excellency,", "Dear Excellency,"),
}


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import shutil

    for name in ("candidates.csv", "signatories.csv"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return tmp_path


def _key(options: Options | None = None) -> str:
    plan = prepare(Inputs(), options or Options(2013, only=("Mexico",)), check_letters=False)
    return plan.key(plan.candidates[0])


@pytest.mark.parametrize("change", [*CHANGES, "version", "date", "SOURCE_DATE_EPOCH",
                                    "included file", "stylesheet image", "reference.docx",
                                    "letterhead logo", "logo for the DOCX", "body image"])
def test_the_key_changes_with_every_input_the_letter_depends_on(
        copy: Path, change: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    (copy / "templates" / "css.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (copy / "templates" / "closing.md").write_text("Yours sincerely,\n")
    (copy / "templates" / "chart.png").write_bytes(PNG)
    letter = copy / "templates" / "letter.md"
    letter.write_text(letter.read_text().replace("Yours sincerely,\n",
                                                 "{% include 'closing.md' %}\n")
                      + "\n![A chart](chart.png)\n")
    css = copy / "templates" / "letter.css"
    css.write_text(css.read_text() + "\n.logo { background: url(css.svg) }\n")
    options = Options(2013, only=("Mexico",))
    before = _key(options)
    assert _key(options) == before
    if change in CHANGES:
        rel, old, new = CHANGES[change]
        text = (copy / rel).read_text()
        assert old in text
        (copy / rel).write_text(text.replace(old, new, 1))
    elif change == "version":
        monkeypatch.setattr("letterforge.incremental.__version__", "99.0")
    elif change == "date":
        options = Options(2013, date=dt.date(2013, 11, 6), only=("Mexico",))
    elif change == "SOURCE_DATE_EPOCH":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1383609600")
    elif change == "included file":
        (copy / "templates" / "closing.md").write_text("Yours faithfully,\n")
    elif change == "letterhead logo":
        logo = copy / "templates" / "logo.svg"
        logo.write_text(logo.read_text().replace("#1d4e89", "#000000"))
    elif change == "logo for the DOCX":
        (copy / "templates" / "logo.png").write_bytes(PNG)
    elif change == "body image":
        from PIL import Image

        Image.new("L", (2, 1), 0).save(copy / "templates" / "chart.png")
    elif change == "stylesheet image":
        (copy / "templates" / "css.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'>"
                                                     "<rect width='1' height='1'/></svg>")
    elif change == "reference.docx":
        import docx

        docx.Document().save(copy / "templates" / "reference.docx")
    assert _key(options) != before


def test_the_key_ignores_what_no_template_reads(copy: Path) -> None:
    before = _key()
    (copy / "out").mkdir()
    (copy / "out" / "anything.pdf").write_bytes(b"output is not an input")
    (copy / "templates" / "notes.txt").write_text("a file no template reads")
    other = copy / "candidates.csv"
    other.write_text(other.read_text().replace("Cuba,Cuba", "Kuba,Kuba"))  # another row
    assert _key() == before


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
    rows.append("2013,Longland," + "L" * 260 + ",l@example.org,North")
    inputs = _campaign(tmp_path, "Dear {{ candidate.name }},\n", rows)
    with pytest.raises(ValidationFailed, match=r"is 26\d characters long.*letter to L{39}…"):
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
