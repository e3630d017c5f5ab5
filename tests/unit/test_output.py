"""Output: a batch appears whole or not at all; the previous batch survives a failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from letterforge.batch import BatchWriter
from letterforge.errors import OutputError
from letterforge.manifest import LetterEntry, Manifest


def commit_batch(target: Path, files: dict[str, bytes], manifest: Manifest) -> None:
    """Write a whole batch the way render does, through one BatchWriter."""
    previous = Manifest.read(target)
    with BatchWriter(target) as writer:
        entries = [writer.write(rel, data) for rel, data in files.items()]
        manifest.letters = [LetterEntry("X", "X", "x", "c.csv:2", "k", tuple(entries))]
        writer.commit(manifest, previous)


def _names(folder: Path) -> list[str]:
    """What a folder holds, besides the batches' lock files."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def _manifest(paths: list[str]) -> Manifest:
    return Manifest("0", 2013, ("pdf",), {})


def test_commit_replaces_the_batch_and_keeps_unlisted_files(tmp_path: Path) -> None:
    target = tmp_path / "out" / "2013"
    commit_batch(target, {"pdf/a.pdf": b"A1", "pdf/b.pdf": b"B1"},
                 _manifest(["pdf/a.pdf", "pdf/b.pdf"]))
    (target / "ledger.csv").write_text("sent")
    commit_batch(target, {"pdf/a.pdf": b"A2"}, _manifest(["pdf/a.pdf"]))
    assert (target / "pdf" / "a.pdf").read_bytes() == b"A2"
    assert not (target / "pdf" / "b.pdf").exists()  # listed before, gone from the batch now
    assert (target / "ledger.csv").read_text() == "sent"
    listed = json.loads((target / "manifest.json").read_text())["letters"][0]["files"]
    assert [f["path"] for f in listed] == ["pdf/a.pdf"]
    assert _names(tmp_path / "out") == ["2013"]  # no temp folders left


def test_failure_part_way_leaves_the_previous_batch(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "2013"
    commit_batch(target, {"pdf/a.pdf": b"OLD"}, _manifest(["pdf/a.pdf"]))
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}

    import letterforge.batch as batch

    real = batch.write_synced
    calls = {"n": 0}

    def failing(path: Path, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(batch, "write_synced", failing)
    with pytest.raises(OutputError, match="No space left on device.*previous batch is unchanged"):
        commit_batch(target, {"pdf/a.pdf": b"NEW", "pdf/b.pdf": b"NEW"},
                     _manifest(["pdf/a.pdf", "pdf/b.pdf"]))
    after = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert after == before
    assert _names(tmp_path) == ["2013"]


def test_interrupt_leaves_the_previous_batch(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "2013"
    commit_batch(target, {"pdf/a.pdf": b"OLD"}, _manifest(["pdf/a.pdf"]))
    import letterforge.batch as batch

    def interrupt(path: Path, data: bytes) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "write_synced", interrupt)
    with pytest.raises(KeyboardInterrupt):
        commit_batch(target, {"pdf/a.pdf": b"NEW"}, _manifest(["pdf/a.pdf"]))
    assert (target / "pdf" / "a.pdf").read_bytes() == b"OLD"
    assert _names(tmp_path) == ["2013"]


def test_paths_cannot_escape_the_batch(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="outside the batch"):
        commit_batch(tmp_path / "2013", {"../evil.pdf": b"x"}, _manifest([]))
    assert not (tmp_path / "evil.pdf").exists()


@pytest.mark.parametrize(
    ("value", "shown"),
    [("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-2", "'-2"),
     ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("Mexico", "Mexico"), ("a=b", "a=b"),
     (12, "12"), (None, "")],
)
def test_cells_letterforge_writes_never_run_as_formulas(value: object, shown: str) -> None:
    from letterforge.mailfiles import spreadsheet_cell

    assert spreadsheet_cell(value) == shown


def test_csv_bytes_round_trip_through_our_own_reader(tmp_path: Path) -> None:
    from letterforge.load import read_table
    from letterforge.mailfiles import csv_bytes

    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes(["name", "note"], [["=cmd", "a,b\nc"], ["Côte d'Ivoire", ""]]))
    table = read_table(path)
    assert [dict(r.cells) for r in table.rows] == [
        {"name": "'=cmd", "note": "a,b\nc"}, {"name": "Côte d'Ivoire", "note": ""}]


def _mbox_reference(data: bytes) -> bytes:
    """mbox_chunks' body quoting as first written: line by line."""
    import re

    from letterforge.mailfiles import without_bcc

    out = bytearray()
    body = without_bcc(data).replace(b"\r\n", b"\n")
    for line in body.split(b"\n"):
        if re.match(rb"^>*From ", line):
            line = b">" + line
        out += line + b"\n"
    if not body.endswith(b"\n"):
        out += b"\n"
    return bytes(out)


@pytest.mark.parametrize("body", [
    b"From here\r\n>From there\r\n>>From x\r\nnot From \r\nFrom", b"", b"From ",
    b"a\r\n\r\nFrom b\r\n", b"x\ry\nFrom z\n", b"tail without newline",
])
def test_mbox_quotes_from_lines_as_line_by_line(body: bytes) -> None:
    """The mbox chunk of a message: its From_ line, then the body quoted exactly as the
    line-by-line quoting did (one regular expression over the whole message now)."""
    from letterforge.mailfiles import mbox_chunks

    data = (b"From: a@example.org\r\nTo: b@example.org\r\nBcc: c@example.org\r\n"
            b"Date: Thu, 01 Jan 2026 10:00:00 +0000\r\nSubject: s\r\n\r\n" + body)
    (chunk,) = mbox_chunks([data])
    head, rest = chunk.split(b"\n", 1)
    assert head == b"From a@example.org Thu Jan  1 10:00:00 2026"
    assert rest == _mbox_reference(data)


def test_outbox_reads_the_headers_only() -> None:
    """outbox.csv rows come from the headers: a body that looks like headers is not
    read as such, LF-only messages work too."""
    from letterforge.mailfiles import outbox_rows

    msg = (b"To: A <a@example.org>\r\nCc: c@example.org\r\nSubject: Hello\r\n\r\n"
           b"To: not@example.org\r\nSubject: no\r\n")
    lf = msg.replace(b"\r\n", b"\n")
    rows = outbox_rows([("A", "email/a.eml", msg), ("B", "email/b.eml", lf)]).decode()
    lines = rows.splitlines()
    assert lines[1].startswith("A,a@example.org,c@example.org,Hello,email/a.eml,")
    assert lines[2].startswith("B,a@example.org,c@example.org,Hello,email/b.eml,")
    assert "not@example.org" not in rows
