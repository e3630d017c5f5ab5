"""The batch's mail files (letterforge/mailfiles.py): outbox.csv and the CSV cells
letterforge writes (never run as formulas, read back by our own reader), batch.mbox
(From_ lines quoted), outbox rows read from the headers only."""

from __future__ import annotations

from pathlib import Path

import pytest


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
