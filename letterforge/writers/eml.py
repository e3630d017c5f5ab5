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
    slug = doc.candidate.slug
    _attach(msg, needed["pdf"], "pdf", f"{name}.pdf", slug)
    if doc.email.attach_docx:
        _attach(msg, needed["docx"], DOCX_TYPE, f"{name}.docx", slug)
    msg["Content-Language"] = str(doc.meta.get("lang", "en"))
    _fix_boundaries(msg)
    raw = msg.as_bytes()
    if not h["subject"].isascii():
        raw = _refold_subject(raw, h["subject"])
    return raw


def _attach(msg: EmailMessage, data: bytes, subtype: str, filename: str,
            fallback: str) -> None:
    """An attachment named ``filename``. A name beyond ASCII is given twice, as RFC 2231
    allows: ``filename*=`` in UTF-8 for the clients that read it, and a plain ASCII
    ``filename=`` (accents dropped: "Cote d'Ivoire.pdf"; ``fallback``, the candidate's
    slug, for a name in another script) for older ones, which would otherwise show
    "attachment.pdf" or nothing; ``name=`` on the Content-Type too."""
    msg.add_attachment(data, maintype="application", subtype=subtype, filename=filename)
    if filename.isascii():
        return
    *_, part = msg.iter_attachments()
    plain = ascii_filename(filename, fallback)
    # stored as written (``set_raw``): the header classes would merge the two names
    del part["Content-Disposition"]
    part.set_raw("Content-Disposition", _disposition(filename, plain))
    part.set_param("name", plain)


def _disposition(filename: str, plain: str, width: int = 76) -> str:
    """``attachment; filename="PLAIN"; filename*0*=utf-8''...`` folded into lines of at
    most ``width``: the UTF-8 name in RFC 2231 continuations, the plain one on a line of its
    own (:func:`ascii_filename` keeps it short enough)."""
    from urllib.parse import quote

    lines = ["attachment;", f' filename="{plain}";']
    encoded = "utf-8''" + quote(filename, safe="")
    chunk = width - len(" filename*00*=;")
    pieces = []
    while encoded:
        cut = min(chunk, len(encoded))
        while "%" in encoded[max(0, cut - 2):cut]:  # never inside a %XX
            cut -= 1
        pieces.append(encoded[:cut])
        encoded = encoded[cut:]
    for n, piece in enumerate(pieces):
        end = ";" if n < len(pieces) - 1 else ""
        lines.append(f" filename*{n}*={piece}{end}")
    return "\n".join(lines)


#: typographic punctuation as ASCII (NFKD leaves it as it is)
_PLAIN_PUNCTUATION = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": "", "\u201d": "",
                                    "\u00ab": "", "\u00bb": "", "\u2013": "-", "\u2014": "-",
                                    "\u00a0": " ", "\u202f": " "})
#: the longest plain name: ``filename="..."`` stays within a header line of 78
MAX_ASCII_NAME = 60


def ascii_filename(filename: str, fallback: str) -> str:
    """``filename`` in ASCII for a header's quoted string: letters without their
    accents, other characters (quotes, backslashes, symbols) as ``_``, cut at a space to
    at most MAX_ASCII_NAME characters; ``fallback`` instead when no Latin letter is left
    (a name in Arabic or Chinese). The extension kept."""
    import re
    import unicodedata

    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    stem = stem.translate(_PLAIN_PUNCTUATION)
    decomposed = unicodedata.normalize("NFKD", stem)
    latin = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r'[^\x20-\x7e]|["\\]', "_", latin)
    plain = re.sub(r" +", " ", re.sub(r"_+", "_", plain)).strip(" _")
    letters = sum(ch.isalpha() for ch in plain)
    if letters < sum(ch.isalpha() for ch in stem) / 2:  # mostly another script
        plain = fallback
    room = MAX_ASCII_NAME - len(dot) - len(ext)
    if len(plain) > room:
        cut = plain.rfind(" ", 0, room + 1)
        plain = plain[:cut if cut > room // 2 else room].rstrip(" _-,;:")
    return f"{plain}{dot}{ext}"


def attachment_names(eml: bytes) -> tuple[str, ...]:
    """The file names of an e-mail's attachments as its sender wrote them: the RFC 2231
    ``filename*`` (full Unicode) rather than the plain ``filename=`` fallback beside
    it, which the standard library's ``get_filename`` returns."""
    import re
    from email import message_from_bytes
    from urllib.parse import unquote

    names = []
    for part in message_from_bytes(eml, policy=policy.compat32).walk():
        raw = re.sub(r"\r?\n[ \t]", " ", str(part.get("Content-Disposition", "")))
        if not raw.lower().startswith("attachment"):
            continue
        pieces = sorted((int(n or 0), v.strip().strip('"')) for n, v in
                        re.findall(r"filename\*(?:(\d+)\*?)?=([^;]*)", raw, re.I))
        joined = "".join(v for _, v in pieces)
        if joined.count("'") >= 2:
            charset, _, value = joined.split("'", 2)
            try:
                names.append(unquote(value, encoding=charset or "us-ascii", errors="replace"))
            except LookupError:  # a charset Python does not know
                names.append(unquote(value, encoding="utf-8", errors="replace"))
        else:
            names.append(str(part.get_filename() or ""))
    return tuple(names)


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
