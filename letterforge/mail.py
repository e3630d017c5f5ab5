"""E-mail: each candidate's letter as a message ready to send, and the batch files.

The message is built with the standard library (``EmailMessage``, ``policy.default``):
From, To (the candidate's addresses), Cc/Bcc (the CSV's ``cc``/``bcc`` columns and the
e-mail template's ``bcc``), a Subject, a plain-text body and an HTML alternative from
``templates/email.md`` (through the same merge and parse stages as the letter), and the
letter's PDF attached (the DOCX too with ``attach_docx: true``).

Everything in it comes from the data: the Date is the letter's date (or
``SOURCE_DATE_EPOCH``), the Message-ID is derived from the year and the candidate, and
the MIME boundaries from the content, so the same inputs give the same bytes.
A CR or LF in any value that reaches a header is refused before anything is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Any

from .document import parse
from .errors import Problem, RenderError, display_path
from .merge import Merger
from .models import Candidate, Letter, Settings, Signatory, TemplateSource
from .output import csv_bytes, sha256
from .validate import check_email, split_emails
from .writers.html import render_page
from .writers.text import render_text

# CRLF on disk, as on the wire: what mail clients and munpack expect of an .eml file.
EML_POLICY = policy.default.clone(linesep="\r\n")


def header_problem(field: str, value: str) -> str | None:
    if "\r" in value or "\n" in value:
        return f"{field} contains a line break, which would let it add e-mail headers: remove it"
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value):
        return f"{field} contains a control character: remove it"
    return None


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str
    subtype: str


class Mailer:
    """Merges ``templates/email.md`` for each candidate and builds the message bytes."""

    def __init__(
        self,
        email_template: TemplateSource,
        letter_template: TemplateSource,
        signatories: Sequence[Signatory],
        settings: Settings,
    ) -> None:
        self.template = email_template
        self.shown = display_path(email_template.path)
        own = dict(email_template.front_matter)
        # The e-mail sees the letter's front matter too (title, subject, signer ...).
        combined = {**letter_template.front_matter, **own}
        source = TemplateSource(email_template.path, combined, email_template.body,
                                email_template.body_first_line)
        self.merger = Merger(source, signatories, settings)
        self.own = own
        self.attach_docx = bool(own.get("attach_docx", False))

    def problems(self) -> list[Problem]:
        """What is wrong with the e-mail template's settings, candidate-independent."""
        out: list[Problem] = []
        sender = self.own.get("from")
        if not sender or not isinstance(sender, str):
            out.append(Problem(self.shown, None, "from",
                               "no sender: add 'from: Name <address>' to the front matter"))
            return out
        _, addr = parseaddr(sender)
        reason = check_email(addr) if addr else "no address"
        if reason:
            out.append(Problem(self.shown, None, "from",
                               f"{sender!r} is not a valid sender address: {reason}"))
        for key in ("reply_to", "bcc"):
            value = self.own.get(key)
            if value is None:
                continue
            for address in split_emails(str(value)):
                reason = check_email(parseaddr(address)[1] or address)
                if reason:
                    out.append(Problem(self.shown, None, key,
                                       f"{address!r} is not a valid e-mail address: {reason}"))
        return out

    def headers(self, candidate: Candidate, letter: Letter) -> dict[str, Any]:
        """The header values for one candidate, checked for line breaks."""
        ctx = self.merger.checked_context(candidate)
        sender = str(ctx["from"])
        values: dict[str, Any] = {
            "from": sender,
            "to": list(candidate.emails),
            "cc": split_emails(candidate.fields.get("cc", "")),
            "bcc": split_emails(candidate.fields.get("bcc", ""))
            + split_emails(str(ctx.get("bcc") or "")),
            "reply_to": str(ctx.get("reply_to") or ""),
            "subject": str(self.own.get("subject") and ctx["subject"] or letter.subject),
            "attachment": str(ctx.get("attachment") or letter.candidate.slug),
        }
        for key in ("from", "reply_to", "subject", "attachment"):
            problem = header_problem(key, values[key])
            if problem:
                raise RenderError(Problem(self.shown, None, key,
                                              f"{problem} (letter to {candidate.short_name})"))
        if not values["subject"].strip():
            raise RenderError(Problem(self.shown, None, "subject",
                                          "the e-mail has no subject: give the letter a "
                                          "'subject:' in its front matter"))
        name = _safe_filename(values["attachment"]) or candidate.slug
        values["attachment"] = name
        return values

    def message(
        self,
        candidate: Candidate,
        letter: Letter,
        attachments: Sequence[Attachment],
        when: dt.datetime,
    ) -> bytes:
        h = self.headers(candidate, letter)
        body_letter = self.merger.merge(candidate)
        body = parse(Letter(candidate, body_letter.markdown,
                            {**body_letter.meta, "title": h["subject"]}))
        text = render_text(body.tree)
        html = render_page(body)
        msg = EmailMessage(policy=EML_POLICY)
        msg["From"] = h["from"]
        msg["To"] = ", ".join(h["to"])
        if h["cc"]:
            msg["Cc"] = ", ".join(h["cc"])
        if h["bcc"]:
            msg["Bcc"] = ", ".join(h["bcc"])
        if h["reply_to"]:
            msg["Reply-To"] = h["reply_to"]
        msg["Subject"] = h["subject"]
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = message_id(candidate, _domain(h["from"]))
        # quoted-printable: 7-bit safe for any server, still readable as source
        msg.set_content(text, cte="quoted-printable")
        msg.add_alternative(html, subtype="html", cte="quoted-printable")
        for att in attachments:
            msg.add_attachment(att.data, maintype=att.maintype, subtype=att.subtype,
                               filename=att.filename)
        msg["Content-Language"] = str(letter.meta.get("lang", "en"))
        _fix_boundaries(msg)
        return msg.as_bytes()


def _domain(sender: str) -> str:
    addr = parseaddr(sender)[1]
    return addr.rpartition("@")[2] or "letterforge.invalid"


def message_id(candidate: Candidate, domain: str) -> str:
    """Stable per candidate and year: a re-render gives the same Message-ID."""
    return f"<open-letter.{candidate.year}.{candidate.slug}@{domain}>"


def _safe_filename(name: str) -> str:
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", name)
    return " ".join(name.split()).strip(" .")[:120]


def _fix_boundaries(msg: EmailMessage) -> None:
    """Boundaries derived from the content instead of random ones."""
    digest = _content_digest(msg).hex()[:24]
    for i, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_lf_{digest}_{i}")


def _content_digest(msg: EmailMessage) -> bytes:
    h = hashlib.sha256()
    for part in msg.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            h.update(payload if isinstance(payload, bytes) else b"")
    return h.digest()


# ----- batch files -------------------------------------------------------------------


def mbox_chunks(messages: Iterable[bytes]) -> Iterator[bytes]:
    """The messages as one mboxrd file (LF line ends, '>From ' quoting) a client imports,
    one message at a time, so a large batch is never held whole."""
    for data in messages:
        out = bytearray()
        parsed = _headers(data)
        sender = parseaddr(str(parsed["From"] or ""))[1] or "MAILER-DAEMON"
        date = parsed["Date"]
        when = date.datetime if date is not None and hasattr(date, "datetime") else None
        stamp = time.asctime(when.utctimetuple()) if when else "Thu Jan  1 00:00:00 1970"
        out += f"From {sender} {stamp}\n".encode()
        body = data.replace(b"\r\n", b"\n")
        for line in body.split(b"\n"):
            if re.match(rb"^>*From ", line):
                line = b">" + line
            out += line + b"\n"
        if not body.endswith(b"\n"):
            out += b"\n"
        yield bytes(out)


def _headers(data: bytes) -> EmailMessage:
    """A message's headers only (the attached PDF is not decoded)."""
    from email.parser import BytesHeaderParser

    parsed = BytesHeaderParser(policy=policy.default).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed


def outbox_rows(entries: Iterable[tuple[str, str, bytes]]) -> bytes:
    """outbox.csv: one row per message (candidate, rel path, bytes)."""
    rows = []
    for candidate, rel, data in entries:
        msg = _headers(data)
        rows.append([
            candidate,
            ", ".join(a for _, a in getaddresses([str(msg["To"] or "")])),
            ", ".join(a for _, a in getaddresses([str(msg["Cc"] or "")])),
            ", ".join(a for _, a in getaddresses([str(msg["Bcc"] or "")])),
            str(msg["Subject"] or ""),
            rel,
            len(data),
            sha256(data),
        ])
    return csv_bytes(["candidate", "to", "cc", "bcc", "subject", "file", "size", "sha256"],
                     rows)


