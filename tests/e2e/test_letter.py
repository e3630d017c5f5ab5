"""One letter in memory, every format (letterforge/letter.py): merged once and parsed
once (the letter and its e-mail) for its DOCX, PDF and e-mail; and the parsed letter a
PDF helper process unpickles, without the merge stage."""

from __future__ import annotations

import pytest

from conftest import ROOT
from letterforge.config import Inputs, Options
from letterforge.plan import prepare


def test_one_merge_and_one_parse_per_letter_for_every_format(
        monkeypatch: pytest.MonkeyPatch, calls: dict[str, int]) -> None:
    monkeypatch.chdir(ROOT)
    plan = prepare(Inputs(), Options(2013, only=("Mexico",)), check_letters=False)
    (mexico,) = plan.candidates
    files = plan.renderer()(mexico).files
    assert sorted(files) == ["docx/mexico.docx", "email/mexico.eml", "pdf/mexico.pdf"]
    assert calls == {"merge": 1, "parse": 2}  # the letter and its e-mail, once each


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
