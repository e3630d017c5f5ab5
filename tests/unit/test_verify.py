"""verify's check of published files (letterforge/verify.py: verify_files): each file is
found in a batch's manifest by its content and named as the batch's file of its
candidate, or reported as changed (a file of the batch's name, other bytes) or unknown.
Against a manifest written in tmp_path, nothing rendered (verify_batch renders the batch
again: e2e/test_reproducible.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from letterforge.errors import VerifyError
from letterforge.manifest import MANIFEST, FileEntry, LetterEntry, Manifest
from letterforge.verify import Difference, VerifyReport, verify_files

FILES = {"pdf/mexico.pdf": b"%PDF of the letter to Mexico",
         "docx/mexico.docx": b"the DOCX of the letter to Mexico",
         "pdf/cuba.pdf": b"%PDF of the letter to Cuba"}
OUTBOX = b"candidate,to\nMexico,mx@example.org\n"


@pytest.fixture
def batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """out/2013 holding only its manifest (verify_files reads the published copies and
    the manifest, not the batch's files), with tmp_path as the working folder."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "out" / "2013"
    folder.mkdir(parents=True)
    entry = {rel: FileEntry.of(rel, data) for rel, data in FILES.items()}
    manifest = Manifest("0.1.0", 2013, ("docx", "pdf"), {}, [
        LetterEntry("Mexico", "Mexico", "mexico", "c.csv:2", "k1",
                    (entry["docx/mexico.docx"], entry["pdf/mexico.pdf"])),
        LetterEntry("Cuba", "Cuba", "cuba", "c.csv:3", "k2", (entry["pdf/cuba.pdf"],))],
        [FileEntry.of("outbox.csv", OUTBOX)])
    (folder / MANIFEST).write_bytes(manifest.to_bytes())
    return folder


def _published(name: str, data: bytes) -> Path:
    path = Path("published") / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_published_copy_is_found_by_its_content_whatever_its_name(batch: Path) -> None:
    files = [_published("Open letter 2013 - Mexico.pdf", FILES["pdf/mexico.pdf"]),
             _published("cuba.pdf", FILES["pdf/cuba.pdf"]),
             _published("outbox (1).csv", OUTBOX)]
    report = verify_files(files, batch / MANIFEST)
    assert report.identical and report.checked == 3
    assert report.matched == [
        ("published/Open letter 2013 - Mexico.pdf", "pdf/mexico.pdf", "Mexico"),
        ("published/cuba.pdf", "pdf/cuba.pdf", "Cuba"),
        ("published/outbox (1).csv", "outbox.csv", None)]  # a batch file: no candidate
    assert report.batch == batch


def test_a_changed_copy_and_an_unknown_file_are_differences(batch: Path) -> None:
    files = [_published("mexico.docx", b"the DOCX of the letter to Mexico, edited"),
             _published("notes.pdf", b"%PDF of something else"),
             _published("mexico.pdf", FILES["pdf/mexico.pdf"])]
    report = verify_files(files, batch / MANIFEST)
    assert not report.identical and report.checked == 3
    assert [str(d) for d in report.differences] == [
        "published/mexico.docx (Mexico): differs from docx/mexico.docx in "
        "out/2013/manifest.json",
        "published/notes.pdf: not in out/2013/manifest.json"]
    assert [m[1] for m in report.matched] == ["pdf/mexico.pdf"]
    doc = report.as_json()
    assert doc["identical"] is False and doc["files_checked"] == 3
    assert doc["differences"][1] == {"path": "published/notes.pdf", "candidate": None,
                                     "problem": "not in out/2013/manifest.json"}
    assert doc["matched"] == [{"file": "published/mexico.pdf", "path": "pdf/mexico.pdf",
                               "candidate": "Mexico"}]


def test_a_file_that_cannot_be_read_stops_the_check(batch: Path) -> None:
    with pytest.raises(VerifyError, match=r"^published/gone\.pdf: cannot be read: check "
                                          r"the path$"):
        verify_files([Path("published") / "gone.pdf"], batch / MANIFEST)


def test_only_a_batchs_manifest_json_is_checked_against(batch: Path) -> None:
    other = _published("manifest-2013.json", (batch / MANIFEST).read_bytes())
    with pytest.raises(VerifyError, match=r"published/manifest-2013\.json: not a "
                                          r"manifest\.json"):
        verify_files([other], other)
    (batch.parent / "2014").mkdir()
    with pytest.raises(VerifyError) as caught:
        verify_files([other], batch.parent / "2014" / MANIFEST)
    assert str(caught.value) == ("out/2014/manifest.json: no manifest: not a rendered batch "
                                 "(run 'letterforge render --year 2014' first, or give --out)")


def test_a_report_says_each_difference_with_its_candidate() -> None:
    report = VerifyReport(Path("out/2013"), checked=2,
                          differences=[Difference("pdf/x.pdf", "X", "missing from the batch"),
                                       Difference("manifest.json", None, "differs")])
    assert not report.identical
    assert [str(d) for d in report.differences] == [
        "pdf/x.pdf (X): missing from the batch", "manifest.json: differs"]
    assert VerifyReport(Path("out/2013")).identical


def test_the_command_s_words_agree_with_the_count(batch: Path) -> None:
    """"1 file matches", "2 files match", "1 of 1 file differs", "1 of 2 files differs":
    read aloud, each is a sentence."""
    from typer.testing import CliRunner

    from letterforge.cli import app

    runner = CliRunner()
    one = _published("a.pdf", FILES["pdf/mexico.pdf"])
    two = _published("b.pdf", FILES["pdf/cuba.pdf"])
    changed = _published("mexico.pdf", b"%PDF changed")
    said = {}
    for name, files in {"one": [one], "two": [one, two], "changed": [changed],
                        "one of two": [one, changed]}.items():
        result = runner.invoke(app, ["verify", "--year", "2013", *map(str, files)])
        said[name] = result.stderr.splitlines()[-1]
    assert said == {"one": "Verified: 1 file matches the manifest",
                    "two": "Verified: 2 files match the manifest",
                    "changed": "1 of 1 file differs",
                    "one of two": "1 of 2 files differs"}
