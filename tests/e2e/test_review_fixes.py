"""Cases found in review: never two letters to one mission, never a stale or hand-edited
letter lost or sent, and a clear message instead of a traceback for template mistakes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from letterforge.cli import app

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
SMALL = ("year,name,short_name,email\n"
         "2013,Viet Nam,Viet Nam,vn@example.org\n"
         "2013,Cuba,Cuba,cuba@example.org\n"
         "2013,Mexico,Mexico,mx@example.org\n")


def invoke(*args: str):
    # a wide terminal: send's table wraps its cells to fit COLUMNS
    return CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args))


def _manifest(small: Path) -> dict:
    return json.loads((small / "out" / "2013" / "manifest.json").read_text())


def test_a_renamed_candidate_is_not_mailed_twice(small_rendered: Path) -> None:
    small = small_rendered  # rendered with -j 1
    assert invoke("send", "--year", "2013", "--mark-sent", "Viet Nam", "--send",
                  "--security", "none", "--port", "1", "--limit", "0").exit_code == 0
    csv = small / "candidates.csv"
    csv.write_text(csv.read_text().replace("Viet Nam,Viet Nam", "Viet Nam,Vietnam"))
    assert invoke("render", "--year", "2013", "-j", "1").exit_code == 0
    dry = invoke("send", "--year", "2013")
    assert "sent as email/viet-nam.eml" in dry.stdout
    line = next(ln for ln in dry.stdout.splitlines() if ln.startswith("Vietnam"))
    assert " changed " in line


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


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("it is incumbent on {{ candidate.name }}", "it is incumbent on {{ candidate.name + 1 }}"),
         "templates/letter.md:61: the template cannot compute an expression here"),
        (("Yours sincerely,", "{% include '../candidates.csv' %}"),
         "templates are read from templates only"),
        (('subject: "Open letter to {{ candidate.short_name }}',
          'subject: "Open letter to {{ candidate.country }}'),
         "the template uses 'country', which is not a column of the data"),
    ],
)
def test_template_mistakes_are_messages_not_tracebacks(small: Path, edit, message) -> None:
    letter = small / "templates" / "letter.md"
    letter.write_text(letter.read_text().replace(*edit))
    for command in ("check", "render"):
        result = invoke(command, "--year", "2013")
        assert result.exit_code == 1, result.output
        assert message in result.stderr
        assert "Traceback" not in result.output


def test_bad_option_values_are_usage_errors(small: Path) -> None:
    for argv in (["check", "--year", "2013", "--date", "2013-13-01"],
                 ["send", "--year", "2013", "--security", "ssl"]):
        result = invoke(*argv)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output


def test_non_ascii_addresses_are_refused_at_check(small: Path) -> None:
    csv = small / "candidates.csv"
    csv.write_text(SMALL.replace("mx@example.org", "josé@example.org")
                   .replace("cuba@example.org", "cuba@exämple.org"))
    result = invoke("check", "--year", "2013")
    assert result.exit_code == 1
    assert "candidates.csv:4: email: 'josé@example.org' is not a valid e-mail address" in \
        result.stderr
    assert "write it in its ASCII form, cuba@xn--exmple-cua.org" in result.stderr


def test_nested_lists_number_the_same_in_the_docx(small: Path) -> None:
    letter = small / "templates" / "letter.md"
    letter.write_text(letter.read_text().replace(
        "We expand on each of these areas of concern below.",
        "1. Outer\n\n   3. three\n   4. four\n"))
    assert invoke("render", "--year", "2013", "--only", "Cuba", "-f", "docx").exit_code == 0
    with zipfile.ZipFile(small / "out" / "2013" / "docx" / "cuba.docx") as z:
        doc = etree.fromstring(z.read("word/document.xml"))
        numbering = etree.fromstring(z.read("word/numbering.xml"))
    ns = {"w": W}
    p = next(p for p in doc.iter(f"{{{W}}}p")
             if "".join(t.text or "" for t in p.iter(f"{{{W}}}t")) == "three")
    num_id = p.find("w:pPr/w:numPr/w:numId", ns).get(f"{{{W}}}val")
    ilvl = p.find("w:pPr/w:numPr/w:ilvl", ns).get(f"{{{W}}}val")
    num = next(n for n in numbering.findall("w:num", ns) if n.get(f"{{{W}}}numId") == num_id)
    override = num.find("w:lvlOverride", ns)
    assert override.get(f"{{{W}}}ilvl") == ilvl == "1"
    assert override.find("w:startOverride", ns).get(f"{{{W}}}val") == "3"
    abstract_id = num.find("w:abstractNumId", ns).get(f"{{{W}}}val")
    abstract = next(a for a in numbering.findall("w:abstractNum", ns)
                    if a.get(f"{{{W}}}abstractNumId") == abstract_id)
    lvl = abstract.find(f"w:lvl[@w:ilvl='{ilvl}']", ns)
    assert lvl.find("w:numFmt", ns).get(f"{{{W}}}val") == "decimal"


def test_a_ledger_line_cut_mid_character_is_survived(small_rendered: Path) -> None:
    small = small_rendered  # rendered with -j 1
    ledger = small / "out" / "2013" / "send-ledger.jsonl"
    ledger.write_bytes('{"slug": "cuba", "state": "sent", "candidate": "Côte'.encode()[:-1])
    result = invoke("send", "--year", "2013", "--mark-sent", "Cuba", "--send",
                    "--security", "none", "--port", "1", "--limit", "0")
    assert result.exit_code == 0, result.output
    lines = ledger.read_bytes().split(b"\n")
    assert json.loads(lines[1])["cut_short"] == 1  # send says which line it ended
    assert json.loads(lines[2])["state"] == "marked-sent"
    assert "1 sent" in invoke("send", "--year", "2013").stderr
