"""The manifest (letterforge/manifest.py): written and read back the same, a damaged one
an error naming the file, and the questions a render asks it on real files: which
letters are outdated, which files were edited by hand, which files are not the batch's.
What a re-run with nothing to do computes faster gives what the long way gives: the
letters' keys (LetterKeys), and whether the manifest would change (same_bytes)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest

from letterforge.config import batch_inputs, load_campaign
from letterforge.errors import ManifestError
from letterforge.manifest import (
    MANIFEST,
    FileEntry,
    LetterEntry,
    LetterKeys,
    Manifest,
    intact,
    letter_key,
    sha256,
    unlisted,
)

# ----- written and read back ---------------------------------------------------------

FILES = {"docx/x.docx": b"the DOCX of X", "pdf/x.pdf": b"%PDF of X", "pdf/y.pdf": b"%PDF of Y"}


def _batch(folder: Path, files: dict[str, bytes] = FILES) -> Manifest:
    """A batch on disk: its files and the manifest listing them (X: a DOCX and a PDF,
    Y: a PDF, and outbox.csv)."""
    for rel, data in [*files.items(), ("outbox.csv", b"name,email\n")]:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    entries = {rel: FileEntry.of(rel, data) for rel, data in files.items()}
    manifest = Manifest(
        "0.1.0", 2013, ("docx", "pdf"), {"candidates": "ab" * 32, "template": "cd" * 32},
        [LetterEntry("X", "the X", "x", "c.csv:2", "kx",
                     (entries["docx/x.docx"], entries["pdf/x.pdf"])),
         LetterEntry("Y", "Y", "y", "c.csv:3", "ky", (entries["pdf/y.pdf"],), stale=True)],
        [FileEntry.of("outbox.csv", b"name,email\n")], shard={"index": 1, "count": 2},
        options={"date": "2013-11-05", "formats": ["docx", "pdf"]})
    (folder / MANIFEST).write_bytes(manifest.to_bytes())
    return manifest


def test_a_manifest_reads_back_as_it_was_written(tmp_path: Path) -> None:
    written = _batch(tmp_path)
    read = Manifest.read(tmp_path)
    assert read == written
    assert read.to_bytes() == (tmp_path / MANIFEST).read_bytes()
    doc = json.loads((tmp_path / MANIFEST).read_text())
    assert [e["slug"] for e in doc["letters"]] == ["x", "y"]
    assert "stale" not in doc["letters"][0] and doc["letters"][1]["stale"] is True
    assert doc["letters"][0]["files"][1] == {"path": "pdf/x.pdf", "format": "pdf", "size": 9,
                                            "sha256": sha256(b"%PDF of X")}
    assert doc["shard"] == {"index": 1, "count": 2}
    assert Manifest.read(tmp_path / "no-batch-here") is None


def test_what_the_manifest_lists(tmp_path: Path) -> None:
    manifest = _batch(tmp_path)
    assert manifest.paths() == {*FILES, "outbox.csv"}
    assert manifest.owners() == {"docx/x.docx": "X", "pdf/x.pdf": "X", "pdf/y.pdf": "Y"}
    assert manifest.digests()["outbox.csv"] == sha256(b"name,email\n")
    assert manifest.entry("y") is manifest.letters[1] and manifest.entry("z") is None
    shuffled = manifest.with_letters(reversed(manifest.letters))
    assert [e.slug for e in shuffled.letters] == ["x", "y"]  # by file name, always
    assert FileEntry.of("email/x.eml", b"abc") == FileEntry("email/x.eml", "eml", 3,
                                                            sha256(b"abc"))


def test_manifest_records_options_and_reads_them_back(tmp_path: Path) -> None:
    m = Manifest("0.1", 2014, ("pdf",), {"candidates": "ab"},
                 options={"candidates": "work/c.csv", "date": "2014-10-01",
                          "candidates_encoding": "cp1252"})
    again = Manifest.from_bytes(m.to_bytes(), "manifest.json")
    assert again.options == m.options
    assert json.loads(m.to_bytes())["options"]["date"] == "2014-10-01"
    inputs, date = batch_inputs(load_campaign(tmp_path), again.options)
    assert date == dt.date(2014, 10, 1)
    assert inputs.candidates == Path.cwd() / "work" / "c.csv"
    assert inputs.encoding_of("candidates") == "cp1252"
    assert inputs.encoding_of("signatories") is None
    # the command line wins over the manifest
    inputs, date = batch_inputs(load_campaign(tmp_path), again.options,
                                candidates=Path("other.csv"), date=dt.date(2014, 1, 2))
    assert (inputs.candidates, date) == (Path("other.csv"), dt.date(2014, 1, 2))


@pytest.mark.parametrize(("data", "line", "says"), [
    (b"{not json", 1, "is damaged (Expecting property name"),
    (b'{\n  "letters": [\n}', 3, "is damaged ("),
    (b"\xff\xfe", None, "is not UTF-8 text"),
    (b"[]", None, "is damaged (TypeError: it is not a JSON object"),
    (b'{"letterforge": "0.1.0", "year": 2013}', None, "is damaged (KeyError: 'letters')"),
    (b'{"letterforge": "0.1.0", "year": "MMXIII", "formats": [], "inputs": {}, '
     b'"letters": []}', None, "is damaged (ValueError"),
], ids=["not-json", "cut-short", "not-utf8", "a-list", "no-letters", "a-bad-year"])
def test_a_damaged_manifest_is_an_error_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, line: int | None,
        says: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "2013").mkdir()
    (tmp_path / "2013" / MANIFEST).write_bytes(data)
    with pytest.raises(ManifestError) as caught:
        Manifest.read(tmp_path / "2013")
    (problem,) = caught.value.problems
    assert (problem.path, problem.line) == ("2013/manifest.json", line)
    assert says in problem.message
    assert "restore manifest.json" in problem.message  # and what to do about it


def test_a_manifest_that_cannot_be_read_is_an_error(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / MANIFEST).mkdir()  # a folder where the file should be
    with pytest.raises(ManifestError, match=r"^manifest\.json: cannot be read \(Is a "
                                            r"directory\)"):
        Manifest.read(tmp_path)


# ----- outdated, edited, intact, unlisted: on the files ------------------------------


def test_outdated_letters_are_new_rekeyed_or_missing_a_file(tmp_path: Path) -> None:
    manifest = _batch(tmp_path)
    keys = {"x": "kx", "y": "ky"}
    assert manifest.outdated(tmp_path, keys) == set()
    assert manifest.outdated(tmp_path, {**keys, "y": "ky2", "z": "kz"}) == {"y", "z"}
    (tmp_path / "pdf" / "x.pdf").write_bytes(b"%PDF of Z")  # the same size, other bytes
    assert manifest.outdated(tmp_path, keys) == {"x"}
    (tmp_path / "pdf" / "y.pdf").unlink()
    assert manifest.outdated(tmp_path, keys) == {"x", "y"}
    # what the check says goes: one that trusts every file finds nothing to render
    assert manifest.outdated(tmp_path, keys, lambda rel, digest: True) == set()


def test_intact_needs_every_file_and_at_least_one(tmp_path: Path) -> None:
    manifest = _batch(tmp_path)
    x = manifest.letters[0]
    assert intact(tmp_path, x.files)
    assert not intact(tmp_path, ())  # a letter without files is not there
    seen: list[str] = []
    assert not intact(tmp_path, x.files, lambda rel, digest: seen.append(rel) or False)
    assert seen == ["docx/x.docx"]  # the first file that is not there decides


def test_files_edited_by_hand_are_named_unless_kept(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    manifest = _batch(tmp_path)
    assert manifest.edited(tmp_path) == []
    (tmp_path / "docx" / "x.docx").write_bytes(b"the DOCX of X, finished in Word")
    (tmp_path / "pdf" / "y.pdf").unlink()  # a missing file is outdated, not edited
    (problem,) = manifest.edited(tmp_path)
    assert problem.path == "docx/x.docx"
    assert "was changed after it was rendered" in problem.message
    assert "--force" in problem.message
    assert manifest.edited(tmp_path, keep=["docx/x.docx"]) == []


def test_files_the_manifest_does_not_list_are_never_replaced_silently(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    manifest = _batch(tmp_path)
    (tmp_path / "pdf" / "z.pdf").write_bytes(b"the user's own PDF")
    paths = ["pdf/x.pdf", "pdf/z.pdf", "pdf/new.pdf"]
    (problem,) = unlisted(tmp_path, manifest, paths)
    assert problem.path == "pdf/z.pdf"
    assert "it is not a file letterforge rendered" in problem.message
    without = unlisted(tmp_path, None, paths)  # no manifest: no file can be told apart
    assert [p.path for p in without] == ["pdf/x.pdf", "pdf/z.pdf"]
    assert "the batch has no manifest.json" in without[0].message
    assert unlisted(tmp_path / "no-batch-here", None, paths) == []


# ----- what a re-run computes faster -----------------------------------------------------


SHARED = {"letterforge": "0.1.0", "formats": ["docx", "pdf"], "date": None,
          "libraries": {"weasyprint": "70.0", "letterforge code": "ab" * 32},
          "variant": {"template": {"file": "cd" * 32, "includes": {}}, "images": {}},
          "zzz": ["after the candidate"], "aaa": 1.5}

FIELDS = [
    {"name": "Mexico", "short_name": "Mexico", "email": "mx@example.org", "year": "2013"},
    {"name": "Côte d'Ivoire", "short_name": 'Say "hi"\n', "email": "", "year": "2013"},
    {"z": "\x00", "a": "\u2028", "candidate": "a field named like the key"},
    {},
]


@pytest.mark.parametrize("fields", FIELDS)
def test_letter_keys_are_letter_key(fields: dict[str, str]) -> None:
    assert LetterKeys(SHARED)(fields) == letter_key(SHARED, fields)


def test_letter_keys_with_the_mark_in_the_shared_values() -> None:
    shared = {**SHARED, "x": LetterKeys._MARK}
    assert LetterKeys(shared)(FIELDS[0]) == letter_key(shared, FIELDS[0])


def test_letter_keys_change_with_every_field() -> None:
    keys = LetterKeys(SHARED)
    base = keys(FIELDS[0])
    for name in FIELDS[0]:
        assert keys({**FIELDS[0], name: FIELDS[0][name] + " "}) != base
    assert keys({**FIELDS[0], "lang": "fr"}) != base
    assert LetterKeys({**SHARED, "date": "2013-11-06"})(FIELDS[0]) != base


def _manifest(**changes: object) -> Manifest:
    files = (FileEntry("pdf/x.pdf", "pdf", 3, "ab" * 32),)
    m = Manifest("0.1.0", 2013, ("pdf",), {"candidates": "c", "template": "t"},
                 [LetterEntry("X", "X", "x", "c.csv:2", "k", files)],
                 [FileEntry("outbox.csv", "csv", 9, "cd" * 32)],
                 options={"date": None, "formats": ["pdf"]})
    return replace(m, **changes)


@pytest.mark.parametrize("other", [
    _manifest(),
    _manifest(inputs={"template": "t", "candidates": "c"}),  # another order
    _manifest(options={"date": None, "formats": ["pdf"], "only": True}),
    _manifest(shard={"index": 1, "count": 2}),
    _manifest(letters=[LetterEntry("X", "X", "x", "c.csv:3", "k",
                                   (FileEntry("pdf/x.pdf", "pdf", 3, "ab" * 32),))]),
    _manifest(letters=[LetterEntry("X", "X", "x", "c.csv:2", "k",
                                   (FileEntry("pdf/x.pdf", "pdf", 3, "ab" * 32),),
                                   stale=True)]),
    _manifest(batch_files=[]),
    _manifest(letterforge="0.2.0"),
], ids=["same", "inputs-order", "options", "shard", "source", "stale", "batch-files",
        "version"])
def test_same_bytes_is_comparing_the_bytes(other: Manifest) -> None:
    one = _manifest()
    assert one.same_bytes(other) == (one.to_bytes() == other.to_bytes())


def test_a_letters_key_is_the_same_whatever_the_order_of_its_fields() -> None:
    one = letter_key(SHARED, {"name": "Mexico", "email": "mx@example.org"})
    assert one == letter_key(dict(reversed(list(SHARED.items()))),
                             {"email": "mx@example.org", "name": "Mexico"})
    assert len(one) == 64 and one != letter_key(SHARED, {"name": "Mexico"})
