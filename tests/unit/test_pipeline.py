"""The pipeline's wiring: one merge and one parse per letter for all its formats; the
selection and shard of candidates; what a letter's key depends on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import letterforge.document as document
import letterforge.merge as merge
from conftest import ROOT
from letterforge.config import Inputs, Options
from letterforge.errors import UsageError
from letterforge.models import Candidate, Source
from letterforge.pipeline import prepare, select, shard


def _cands(*names: str) -> list[Candidate]:
    return [Candidate(2013, n, n, (f"{i}@example.org",), n.lower().replace(" ", "-"),
                      {"name": n}, Source("c.csv", i + 2)) for i, n in enumerate(names)]


def test_one_merge_and_one_parse_per_letter_for_every_format(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    plan = prepare(Inputs(), Options(2013, only=("Mexico",)), check_letters=False)
    calls = {"merge": 0, "parse": 0}
    real_merge, real_parse = merge.Merger.merge, document.parse_markdown

    def counting_merge(self, candidate):  # type: ignore[no-untyped-def]
        calls["merge"] += 1
        return real_merge(self, candidate)

    def counting_parse(text):  # type: ignore[no-untyped-def]
        calls["parse"] += 1
        return real_parse(text)

    monkeypatch.setattr(merge.Merger, "merge", counting_merge)
    monkeypatch.setattr(document, "parse_markdown", counting_parse)
    (mexico,) = plan.candidates
    files = plan.renderer()(mexico).files
    assert sorted(files) == ["docx/mexico.docx", "email/mexico.eml", "pdf/mexico.pdf"]
    assert calls == {"merge": 1, "parse": 2}  # the letter and its e-mail, once each


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


def test_the_key_changes_with_what_the_letter_depends_on(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    for name in ("candidates.csv", "signatories.csv"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    options = Options(2013, only=("Mexico",))

    def key() -> str:
        plan = prepare(Inputs(), options, check_letters=False)
        return plan.key(plan.candidates[0])

    first = key()
    assert key() == first
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "anything.pdf").write_bytes(b"output is not an input")
    (tmp_path / "templates" / "notes.txt").write_text("a file no template reads")
    assert key() == first
    css = tmp_path / "templates" / "letter.css"
    css.write_text(css.read_text() + "\n.x { color: red }\n")
    assert key() != first
    os.environ.pop("SOURCE_DATE_EPOCH", None)
