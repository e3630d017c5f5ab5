"""E-mail writer: the message that carries a letter, ready to send (.eml).

Built with the standard library (``EmailMessage``, ``policy.default``): From, To (the
candidate's addresses), Cc/Bcc (the CSV's ``cc``/``bcc`` columns and the e-mail
template's ``bcc``), Subject, a plain-text body and an HTML alternative from the parsed
``templates/email.md``, and the letter's PDF attached (the DOCX too with
``attach_docx: true``).

Everything in it comes from the data: the Date is the letter's date (or
``SOURCE_DATE_EPOCH``), the Message-ID is derived from the year and the candidate, and
the MIME boundaries from the content, so the same inputs give the same bytes. Header
values were checked for line breaks by the merge stage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from ..models import Assets, Candidate
from ..parse import Document
from .html import render_page
from .text import render_text

# CRLF on disk, as on the wire: what mail clients and munpack expect of an .eml file.
EML_POLICY = policy.default.clone(linesep="\r\n")
DOCX_TYPE = "vnd.openxmlformats-officedocument.wordprocessingml.document"


def render(doc: Document, assets: Assets, needed: Mapping[str, bytes]) -> bytes:
    assert doc.email is not None, "the e-mail writer needs the merged e-mail template"
    h = doc.email.headers
    tree = doc.email.tree
    text = render_text(tree)
    html = render_page(tree, {"lang": doc.meta.get("lang", "en"), "title": h["subject"],
                              "subject": h["subject"], "author": doc.meta.get("author")})
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
    msg["Date"] = format_datetime(doc.meta["timestamp"])
    msg["Message-ID"] = message_id(doc.candidate, domain(h["from"]),
                                   _letter_digest(text, needed["pdf"]))
    # quoted-printable: 7-bit safe for any server, still readable as source
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    name = h["attachment"]
    msg.add_attachment(needed["pdf"], maintype="application", subtype="pdf",
                       filename=f"{name}.pdf")
    if doc.email.attach_docx:
        msg.add_attachment(needed["docx"], maintype="application", subtype=DOCX_TYPE,
                           filename=f"{name}.docx")
    msg["Content-Language"] = str(doc.meta.get("lang", "en"))
    _fix_boundaries(msg)
    raw = msg.as_bytes()
    if not h["subject"].isascii():
        raw = _refold_subject(raw, h["subject"])
    return raw


def _refold_subject(raw: bytes, subject: str) -> bytes:
    """The Subject as RFC 2047 encoded words that keep every space. Python 3.11's folder
    puts the space between two encoded words outside them, where readers drop it
    ("المملكةالعربية"); the legacy Header class encodes it inside."""
    from email.header import Header

    folded = Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n")
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out: list[bytes] = []
    skipping = False
    for line in lines:
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = line.lower().startswith(b"subject:")
        out.append(b"Subject: " + folded.encode("ascii") if skipping else line)
    return b"\r\n".join(out) + sep + body


def domain(sender: str) -> str:
    addr = parseaddr(sender)[1]
    return addr.rpartition("@")[2] or "letterforge.invalid"


def message_id(candidate: Candidate, domain: str, digest: str = "") -> str:
    """Stable for the same letter (a re-render gives the same Message-ID), new for a
    changed one: a corrected letter sent again is a new message, which a mail service
    does not drop as a duplicate of the first."""
    tag = f".{digest}" if digest else ""
    return f"<open-letter.{candidate.year}.{candidate.slug}{tag}@{domain}>"


def _letter_digest(text: str, pdf: bytes) -> str:
    return hashlib.sha256(text.encode() + b"\0" + pdf).hexdigest()[:12]


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
