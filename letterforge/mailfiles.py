"""The batch files made from the e-mails: ``batch.mbox`` (every message, for a mail
client) and ``outbox.csv`` (who gets what, for a spreadsheet)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from .batch import BatchWriter
from .manifest import FileEntry, Manifest, sha256

MBOX = "batch.mbox"


OUTBOX = "outbox.csv"


def mail_files(manifest: Manifest, writer: BatchWriter) -> list[FileEntry]:
    """batch.mbox and outbox.csv over every e-mail of the batch, read back one by one."""
    emails = [(e.candidate, f.path) for e in manifest.letters for f in e.files
              if f.path.endswith(".eml")]
    if not emails:
        return []
    mbox = writer.write_chunks(MBOX, mbox_chunks(writer.read(p) for _, p in emails))
    outbox = writer.write(OUTBOX, outbox_rows((c, p, writer.read(p)) for c, p in emails))
    return [mbox, outbox]


def mbox_chunks(messages: Iterable[bytes]) -> Iterator[bytes]:
    """The messages as one mboxrd file (LF line ends, '>From ' quoting) a client imports,
    one message at a time, so a large batch is never held whole."""
    for data in messages:
        out = bytearray()
        parsed = headers(data)
        sender = parseaddr(str(parsed["From"] or ""))[1] or "MAILER-DAEMON"
        date = parsed["Date"]
        when = date.datetime if date is not None and hasattr(date, "datetime") else None
        stamp = time.asctime(when.utctimetuple()) if when else "Thu Jan  1 00:00:00 1970"
        out += f"From {sender} {stamp}\n".encode()
        body = without_bcc(data).replace(b"\r\n", b"\n")
        # every line (each piece between two LF) that starts with ">*From " gets one
        # more ">"; each piece ends with LF, and a body without a final LF gets two
        out += _FROM_LINE.sub(b">", body) + b"\n"
        if not body.endswith(b"\n"):
            out += b"\n"
        yield bytes(out)


_FROM_LINE = re.compile(rb"^(?=>*From )", re.M)


_BCC = re.compile(rb"^Bcc:.*(?:\r\n[ \t].*)*\r\n", re.I | re.M)


def without_bcc(data: bytes) -> bytes:
    """A message as its recipients see it: without its Bcc header. The batch's shared
    files (batch.mbox, outbox.csv) never show who was copied in secret."""
    head, sep, body = data.partition(b"\r\n\r\n")
    return _BCC.sub(b"", head + b"\r\n").rstrip(b"\r\n") + sep + body


def _head(data: bytes) -> bytes:
    """The message up to its first empty line (CRLF or LF), which ends the headers for
    the parser too: parsing the rest was most of the time of a 40 KB message."""
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := data.find(sep)) >= 0]
    return data[:min(ends)] if ends else data


def headers(data: bytes) -> EmailMessage:
    """A message's headers only: the attached PDF is neither decoded nor read line by
    line."""
    from email.parser import BytesHeaderParser

    parsed = BytesHeaderParser(policy=policy.default).parsebytes(_head(data))
    assert isinstance(parsed, EmailMessage)
    return parsed


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_cell(value: object) -> str:
    """A value that a spreadsheet shows as text, never runs as a formula (OWASP's
    CSV-injection advice: a leading ``=``, ``+``, ``-``, ``@``, tab or CR gets a ``'``)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_bytes(header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    """A CSV file letterforge writes: UTF-8 with BOM (Excel reads it as UTF-8), CRLF,
    every cell safe to open in a spreadsheet."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([spreadsheet_cell(h) for h in header])
    for row in rows:
        writer.writerow([spreadsheet_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def outbox_rows(entries: Iterable[tuple[str, str, bytes]]) -> bytes:
    """outbox.csv: one row per message (candidate, rel path, bytes); no Bcc column."""
    rows = []
    for candidate, rel, data in entries:
        msg = headers(data)
        rows.append([
            candidate,
            ", ".join(a for _, a in getaddresses([str(msg["To"] or "")])),
            ", ".join(a for _, a in getaddresses([str(msg["Cc"] or "")])),
            str(msg["Subject"] or ""),
            rel,
            len(data),
            sha256(data),
        ])
    return csv_bytes(["candidate", "to", "cc", "subject", "file", "size", "sha256"], rows)
