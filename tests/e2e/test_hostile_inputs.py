"""Careless and hostile inputs: a one-line message naming the file, exit 1 or 2, valid
--json, never a traceback, and nothing lost or leaked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from letterforge.cli import app


def _run(*argv: str) -> object:
    return CliRunner().invoke(app, list(argv))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def campaign(sample: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(sample)
    (sample / "candidates.csv").write_text(
        "year,name,short_name,email\n2013,Mexico,Mexico,mission.mexico@example.org\n"
        "2013,Cuba,Cuba,mission.cuba@example.org\n", encoding="utf-8")
    return sample


def _fails_cleanly(result: object, *, code: int = 1, says: str = "") -> dict:
    assert result.exit_code == code, result.output  # type: ignore[attr-defined]
    output = result.output  # type: ignore[attr-defined]
    assert "Traceback" not in output and "internal error" not in output, output
    assert says in result.stderr, result.stderr  # type: ignore[attr-defined]
    doc: dict = json.loads(result.stdout) if result.stdout.strip() else {}  # type: ignore[attr-defined]
    return doc


CASES = {
    "short name of 200 characters": (
        "candidates.csv", "2013,Cuba,Cuba,", "2013,Cuba," + "C" * 200 + ",",
        "subject is 2"),
    "a date that does not exist": (
        "templates/letter.md", "date: 2013-11-05", "date: 2013-02-30",
        "2013-02-30 is not a real date"),
    "an hour that does not exist": (
        "templates/letter.md", "date: 2013-11-05", "date: 2013-11-05T25:00:00",
        "is not a real date"),
    "a line separator in the subject": (
        "templates/letter.md", 'subject: "Open letter to', 'subject: "Open\\u2028letter to',
        "subject contains the control character U+2028"),
    "a next-line character in the subject": (
        "templates/letter.md", 'subject: "Open letter to', 'subject: "Open\\x85letter to',
        "subject contains the control character U+0085"),
    "an escaped url() in the stylesheet": (
        "templates/letter.css", "body { margin: 0; }",
        "body { margin: 0; background: u\\72l(https://tracker.example.org/x.png); }",
        "fetches nothing from the network"),
    "an inline SVG naming a remote image": (
        "templates/letter.css", "body { margin: 0; }",
        "body { background: url(\"data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'>"
        "<image href='https://tracker.example.org/x.png'/></svg>\"); }",
        "an inline data: image refers to 'https://tracker.example.org/x.png'"),
    "a stylesheet name with a NUL": (
        "templates/letter.md", "stylesheet: letter.css", 'stylesheet: "letter\\0.css"',
        "is not a file name"),
    "a YAML alias bomb": (
        "templates/letter.md", "place: New York",
        "place: New York\nbomb: &a [x, x, x, x, x, x, x, x, x]\nb2: &b [*a, *a, *a, *a, *a, *a]\n"
        "b3: [*b, *b, *b, *b, *b, *b, *b]", "aliases (*name) are not allowed"),
    "the template changes the signatories": (
        "templates/letter.md", "{.signatories}", "{% set _ = signatories.pop() %}\n{.signatories}",
        "may not change the data"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_check_reports_it_and_json_stays_valid(campaign: Path, case: str) -> None:
    path, old, new, says = CASES[case]
    _edit(campaign / path, old, new)
    for command in ("check", "render"):
        doc = _fails_cleanly(_run(command, "--year", "2013", "--json"), says=says)
        assert doc["ok"] is False and doc["problems"], doc
        assert all(p["message"] for p in doc["problems"])
    assert not (campaign / "out" / "2013").exists()


def test_encoding_that_is_not_a_character_encoding(campaign: Path) -> None:
    _fails_cleanly(_run("check", "--year", "2013", "--encoding", "rot13"),
                   says="is not a character encoding")


@pytest.mark.parametrize("out", ["/proc/1", "candidates.csv/out"])
def test_an_output_folder_that_cannot_be_written(campaign: Path, out: str) -> None:
    _fails_cleanly(_run("render", "--year", "2013", "--out", out, "--format", "docx", "-j", "1"),
                   says="error:")


def test_a_huge_cell_says_what_it_is(campaign: Path) -> None:
    (campaign / "candidates.csv").write_text(
        'year,name,short_name,email\n2013,"' + "x" * 140_000 + '",X,x@example.org\n')
    _fails_cleanly(_run("check", "--year", "2013"), says="candidates.csv:2: a cell starting "
                   "on this line is longer than 131072 characters")


def test_a_lone_carriage_return_in_a_cell_keeps_line_numbers(campaign: Path) -> None:
    (campaign / "candidates.csv").write_bytes(
        b'year,name,short_name,email\n2013,"Mex\rico",Mexico,m@example.org\n'
        b"2013,,Cuba,c@example.org\n")
    _fails_cleanly(_run("check", "--year", "2013"), says="candidates.csv:3: name: empty cell")


def test_a_reference_document_that_expands_too_far(campaign: Path) -> None:
    import zipfile

    with zipfile.ZipFile(campaign / "templates" / "reference.docx", "w",
                         zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/media/big.bin", "w", force_zip64=True) as fh:
            chunk = b"\0" * (1 << 20)
            for _ in range(80):
                fh.write(chunk)
    _fails_cleanly(_run("check", "--year", "2013"), says="a reference document may expand to")


# ----- lose a person's work -----------------------------------------------------------


def _render(*extra: str) -> object:
    # the DOCX only: what is kept or refused here is the batch's files, whatever their
    # format (a DOCX renders many times faster than a PDF)
    return _run("render", "--year", "2013", "-j", "1", "-f", "docx", *extra)


def test_a_damaged_manifest_stops_the_render_and_keeps_the_edits(campaign: Path) -> None:
    assert _render().exit_code == 0
    batch = campaign / "out" / "2013"
    (batch / "docx" / "cuba.docx").write_bytes(b"edited in Word")
    (batch / "manifest.json").write_text("{")
    _fails_cleanly(_render(), says="manifest.json:1: is damaged")
    assert (batch / "docx" / "cuba.docx").read_bytes() == b"edited in Word"
    (batch / "manifest.json").unlink()  # missing altogether: the same
    _fails_cleanly(_render(), says="the batch has no manifest.json")
    assert (batch / "docx" / "cuba.docx").read_bytes() == b"edited in Word"
    assert _render("--force").exit_code == 0
    assert (batch / "docx" / "cuba.docx").read_bytes() != b"edited in Word"


def test_a_file_the_user_added_is_never_replaced(campaign: Path) -> None:
    assert _render().exit_code == 0
    batch = campaign / "out" / "2013"
    (batch / "docx" / "annex.docx").write_bytes(b"the user's annex")
    with (campaign / "candidates.csv").open("a") as fh:
        fh.write("2013,Annex,Annex,annex@example.org\n")
    _fails_cleanly(_render(), says="not a file letterforge rendered")
    assert (batch / "docx" / "annex.docx").read_bytes() == b"the user's annex"


def test_combine_never_replaces_an_edited_letter(campaign: Path) -> None:
    for k in (1, 2):
        assert _render("--shard", f"{k}/2", "--out", f"part{k}").exit_code == 0
    assert _run("combine", "part1/2013", "part2/2013").exit_code == 0
    edited = campaign / "out" / "2013" / "docx" / "mexico.docx"
    edited.write_bytes(b"finished in Word")
    _fails_cleanly(_run("combine", "part1/2013", "part2/2013"), says="was changed after it "
                   "was rendered")
    assert edited.read_bytes() == b"finished in Word"
    assert _run("combine", "part1/2013", "part2/2013", "--force").exit_code == 0
    shutil.rmtree(campaign / "part1")


def test_more_jobs_than_cpus_is_capped_and_said(campaign: Path) -> None:
    from letterforge.parallel import cpu_count, effective_jobs

    result = _run("render", "--year", "2013", "--jobs", "64", "--format", "docx")
    assert result.exit_code == 0, result.output
    assert f"this machine has {cpu_count()} CPUs" in result.stderr
    assert effective_jobs(64, 1000) == cpu_count()
