"""Rendering again over a batch that has a history: a letter edited by hand (or saved
from Word during the render) is never overwritten silently; --only drops the letters of
candidates who left and marks the changed ones it keeps stale; reused letters take the
current source line; a change in any file of the templates folder renders again."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from conftest import THREE, invoke_wide

SMALL = THREE
invoke = invoke_wide


def _manifest(small: Path) -> dict:
    return json.loads((small / "out" / "2013" / "manifest.json").read_text())


def test_only_drops_removed_candidates_and_marks_changed_ones_stale(small_rendered: Path) -> None:
    small = small_rendered  # rendered with -j 1
    csv = small / "candidates.csv"
    csv.write_text(SMALL.replace("2013,Viet Nam,Viet Nam,vn@example.org\n", "")
                   .replace("cuba@example.org", "mission.cuba@example.org"))
    assert invoke("render", "--year", "2013", "--only", "Mexico").exit_code == 0
    letters = {e["slug"]: e for e in _manifest(small)["letters"]}
    assert set(letters) == {"cuba", "mexico"}
    assert not (small / "out" / "2013" / "pdf" / "viet-nam.pdf").exists()
    assert letters["cuba"].get("stale") is True and "stale" not in letters["mexico"]
    dry = invoke("send", "--year", "2013")
    assert "1 stale" in dry.stderr and "render the batch again" in dry.stdout
    assert invoke("render", "--year", "2013").exit_code == 0
    assert all("stale" not in e for e in _manifest(small)["letters"])


def test_a_hand_edited_docx_is_never_overwritten_silently(small: Path) -> None:
    assert invoke("render", "--year", "2013", "-j", "1", "-f", "docx").exit_code == 0
    docx = small / "out" / "2013" / "docx" / "cuba.docx"
    docx.write_bytes(docx.read_bytes() + b"edited in Word")
    letter = small / "templates" / "letter.md"
    letter.write_text(letter.read_text().replace("Excellency,", "Your Excellency,"))
    result = invoke("render", "--year", "2013", "-j", "1", "-f", "docx")
    assert result.exit_code == 1
    assert "out/2013/docx/cuba.docx: was changed after it was rendered" in result.stderr
    assert docx.read_bytes().endswith(b"edited in Word")
    assert invoke("render", "--year", "2013", "-j", "1", "-f", "docx", "--force").exit_code == 0
    assert not docx.read_bytes().endswith(b"edited in Word")


def test_a_docx_saved_from_word_during_a_render_is_not_lost(small: Path) -> None:
    """The edited-letter check runs again, holding the lock, right before the swap: a
    letter saved from Word while the new batch was being rendered stops the render."""
    from letterforge.config import Inputs, Options
    from letterforge.errors import ValidationFailed
    from letterforge.plan import prepare
    from letterforge.render import render_batch

    assert invoke("render", "--year", "2013", "-j", "1", "-f", "docx").exit_code == 0
    docx = small / "out" / "2013" / "docx" / "cuba.docx"
    letter = small / "templates" / "letter.md"
    letter.write_text(letter.read_text().replace("Excellency,", "Your Excellency,"))
    before = {p: p.read_bytes() for p in (small / "out" / "2013").rglob("*") if p.is_file()}

    def save_from_word(candidate: object) -> None:  # after the first letter is rendered
        if not docx.read_bytes().endswith(b"edited in Word"):
            docx.write_bytes(docx.read_bytes() + b"edited in Word")

    plan = prepare(Inputs(), Options(2013, formats=("docx",)))
    with pytest.raises(ValidationFailed) as caught:
        render_batch(plan, small / "out", jobs=1, on_letter=save_from_word)
    assert "cuba.docx: was changed after it was rendered" in str(caught.value.problems[0])
    after = {p: p.read_bytes() for p in (small / "out" / "2013").rglob("*") if p.is_file()}
    before[docx] += b"edited in Word"
    assert after == before  # the edit kept, nothing of the new batch swapped in
    assert sorted(p.name for p in (small / "out").iterdir()) == [".2013.lock", "2013"]


def test_reused_letters_take_the_current_source_line(small: Path) -> None:
    assert invoke("render", "--year", "2013", "-j", "1", "-f", "docx").exit_code == 0
    csv = small / "candidates.csv"
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text(lines[0] + "2014,Chile,Chile,cl@example.org\n" + "".join(lines[1:]))
    assert "Nothing to do" not in invoke("render", "--year", "2013", "-f", "docx").stderr
    assert invoke("verify", "--year", "2013", "-j", "1").exit_code == 0


def test_a_change_in_any_templates_file_rerenders(small: Path) -> None:
    assert invoke("render", "--year", "2013", "-j", "1", "-f", "docx").exit_code == 0
    (small / "templates" / "closing.md").write_text("Kind regards,\n")
    letter = small / "templates" / "letter.md"
    letter.write_text(letter.read_text().replace("Yours sincerely,",
                                                 "{% include 'closing.md' %}"))
    assert "Rendered 3 letters" in invoke("render", "--year", "2013", "-j", "1", "-f",
                                          "docx").stderr
    (small / "templates" / "closing.md").write_text("With regards,\n")
    assert "Rendered 3 letters" in invoke("render", "--year", "2013", "-j", "1", "-f",
                                          "docx").stderr
    with zipfile.ZipFile(small / "out" / "2013" / "docx" / "cuba.docx") as z:
        assert b"With regards," in z.read("word/document.xml")


def test_only_with_nothing_to_do_names_the_letters_it_looked_at(small_rendered: Path
                                                                ) -> None:
    """``render --only Mexico`` on an up-to-date batch says Mexico's letter is up to
    date, in the words of a full re-run; and starts no PDF helper it does not need
    (the helper of a one-letter render is stopped unused: nothing is left running)."""
    import psutil

    def running() -> set[int]:
        return {p.pid for p in psutil.Process().children(recursive=True)
                if p.status() != psutil.STATUS_ZOMBIE}

    before = running()  # what earlier tests in this process left (not ours to judge)
    everything = invoke("render", "--year", "2013")
    assert everything.exit_code == 0, everything.output
    assert "Nothing to do: the 3 letters in out/2013/ are up to date" in everything.stderr
    one = invoke("render", "--year", "2013", "--only", "Mexico")
    assert one.exit_code == 0, one.output
    assert one.stderr == ("Nothing to do: the letter to Mexico in out/2013/ is up to date "
                          "(--force renders it again)\n")
    two = invoke("render", "--year", "2013", "--only", "Mexico", "--only", "cuba")
    # in the order of the candidates file
    assert "the letters to Cuba and Mexico in out/2013/ are up to date" in two.stderr
    assert not running() - before
