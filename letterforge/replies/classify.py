"""What one message in the campaign's mailbox is, and which letter it answers.

Kinds: a **copy** of a letter itself (its own Message-ID: a Bcc to the campaign's
inbox, a Sent folder), recorded as read and not kept; a **bounce** (an RFC 3464
delivery status notification, read part by part: the failed recipient, the action,
the status code, permanent when it begins with 5, the diagnostic; or a non-standard
bounce that flufl.bounce recognises), an **auto-reply** (RFC 3834 ``Auto-Submitted``,
``X-Autoreply``/``X-Autorespond``, ``Precedence: auto_reply``, or an out-of-office
subject), else a **reply**.

Matching, strongest first: the message's ``In-Reply-To``/``References`` (a bounce: the
returned message's ``Message-ID``) name a letter's ``Message-ID`` (any send of it,
resends included): ``thread``. A bounce's failed recipient is one of exactly one
letter's recipients: ``recipient``. The sender's address is one of exactly one letter's
recipients: ``sender`` (weaker); the sender's domain is that of exactly one letter's
recipients: ``domain`` (weaker still). Anything else is unmatched: listed, never guessed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

REPLY, AUTO_REPLY, BOUNCE = "reply", "auto-reply", "bounce"
#: a letter itself (a Bcc copy to the campaign's own inbox, a Sent folder): not kept
COPY = "copy"
THREAD, RECIPIENT, SENDER, DOMAIN = "thread", "recipient", "sender", "domain"
#: the matches that rest on an address, not on the letter's own Message-ID
WEAK = (SENDER, DOMAIN)

_MSGID = re.compile(r"<[^<>\s]+>")
#: subjects of out-of-office and vacation replies, in the languages of the candidates
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|"
    r"abwesenheitsnotiz|r[ée]ponse automatique|absence|respuesta autom[aá]tica|"
    r"fuera de la oficina|вне офиса|автоответ|自动回复|رد تلقائي)\b", re.I)
#: a letter's slug as render makes it: a folder name under replies/, never a path
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,200}")
_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster|mdaemon|mail-daemon)@", re.I)
#: subjects mail servers give their delivery reports
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliver(able|ed)|delivery (status notification|notification|has failed|"
    r"failure)|mail delivery (failed|failure)|returned mail|failure (notice|delivery)|"
    r"permanent delivery failure|message delayed|non[- ]?delivery)", re.I)


@dataclass(frozen=True)
class Letter:
    """A letter as sent: its candidate, every Message-ID it went out with, and its
    recipients (lower case)."""

    slug: str
    candidate: str
    message_ids: frozenset[str]
    addresses: frozenset[str]


@dataclass(frozen=True)
class Failure:
    """One failed recipient of a bounce."""

    recipient: str
    status: str  # "5.1.1"; "" when the bounce does not say
    action: str  # "failed", "delayed" ...
    diagnostic: str
    permanent: bool

    def as_json(self) -> dict[str, Any]:
        return {"recipient": self.recipient, "status": self.status, "action": self.action,
                "diagnostic": self.diagnostic, "permanent": self.permanent}


@dataclass(frozen=True)
class Reading:
    """What one message is and which letter it belongs to (``slug`` None: unmatched)."""

    digest: str  # sha256 of the message's bytes
    kind: str
    slug: str | None
    match: str | None
    sender: str
    subject: str
    date: str  # ISO 8601 in UTC, "" when the message has no readable Date
    message_id: str
    failures: tuple[Failure, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "kind": self.kind, "slug": self.slug,
                "match": self.match, "sender": self.sender, "subject": self.subject,
                "date": self.date, "message_id": self.message_id,
                "failures": [f.as_json() for f in self.failures]}


#: what is read of a message: a longer header, more parts, more bytes are left unread
#: (an inbox anyone can write to must not cost minutes of CPU per message)
MAX_HEADER = 4096
MAX_PARTS = 500
MAX_BYTES = 32 * 1024 * 1024


def read_message(data: bytes, letters: Iterable[Letter]) -> Reading:
    """``data`` (a whole message as fetched) classified and matched to ``letters``. A
    message that cannot be read (malformed beyond what the parser takes, nested too
    deeply) is a reply matched to no letter: kept and listed, never a stop."""
    letters = tuple(letters)
    digest = hashlib.sha256(data).hexdigest()
    try:
        return _read(data, digest, letters)
    except (Exception, RecursionError) as exc:  # noqa: BLE001 - any message, any damage
        headers = _headers_only(data)
        return Reading(digest=digest, kind=REPLY, slug=None, match=None,
                       sender=_address(_header(headers, "From")) if headers else "",
                       subject=_clean(f"(could not be read: {type(exc).__name__}) "
                                      + (_header(headers, "Subject") if headers else "")),
                       date="", message_id="")


def _headers_only(data: bytes) -> Message | None:
    from email.parser import BytesHeaderParser

    try:
        return BytesHeaderParser(policy=policy.compat32).parsebytes(data[:65536])
    except (Exception, RecursionError):  # noqa: BLE001
        return None


def _read(data: bytes, digest: str, letters: tuple[Letter, ...]) -> Reading:
    whole = len(data) <= MAX_BYTES and data.count(b"\n--") <= 2 * MAX_PARTS
    # compat32: headers as the raw text, read only as far as MAX_HEADER (the default
    # policy parses a whole header first: 50,000 addresses in a From took 30 s)
    msg = message_from_bytes(data, policy=policy.compat32) if whole else _headers_only(data)
    if msg is None:
        raise ValueError("no headers")
    sender = _address(_header(msg, "From"))
    failures = bounce_failures(msg) if whole else None
    if failures is not None:
        kind = BOUNCE
    elif is_auto_reply(msg):
        kind = AUTO_REPLY
    else:
        kind = REPLY
    own = set(_MSGID.findall(_header(msg, "Message-ID")))
    copy_of = {letter.slug for letter in letters if own & letter.message_ids}
    slug: str | None
    match: str | None
    if len(copy_of) == 1 and kind != BOUNCE:
        kind, slug, match = COPY, copy_of.pop(), THREAD
    else:
        slug, match = _match(msg, kind, sender, failures or (), letters)
    return Reading(
        digest=digest, kind=kind, slug=slug, match=match,
        sender=sender, subject=_header(msg, "Subject"), date=message_date(msg),
        message_id=_header(msg, "Message-ID"), failures=tuple(failures or ()))


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _clean(text: str) -> str:
    """Text from outside as it may be shown and stored: one line, no control characters
    (a terminal would obey an escape sequence in a subject) and no direction overrides,
    at most MAX_HEADER characters."""
    return " ".join(_CONTROL.sub("\ufffd", text[:MAX_HEADER]).split())


def _header(msg: Message, name: str) -> str:
    """A header's text (its encoded words decoded; raw 8-bit text read as UTF-8),
    cleaned and cut at MAX_HEADER; "" when it is missing or cannot be read at all."""
    try:
        value = msg.get(name)
        return "" if value is None else _clean(_decoded(value))
    except (Exception, RecursionError):  # noqa: BLE001 - a header the parser chokes on
        return ""


def _decoded(value: Any) -> str:
    from email.header import decode_header

    try:
        pieces = decode_header(value)
    except (Exception, RecursionError):  # noqa: BLE001 - shown as it came
        return str(value)[:MAX_HEADER]
    out = []
    for text, charset in pieces:
        if isinstance(text, str):
            out.append(text)
            continue
        try:
            out.append(text.decode(charset if charset and charset != "unknown-8bit"
                                   else "utf-8", "replace"))
        except LookupError:  # a charset Python does not know
            out.append(text.decode("utf-8", "replace"))
        if sum(map(len, out)) > MAX_HEADER:
            break
    return "".join(out)[:MAX_HEADER]


def _address(value: Any) -> str:
    try:
        pairs = getaddresses([str(value)[:MAX_HEADER]])
    except (Exception, RecursionError):  # noqa: BLE001
        return ""
    for _name, addr in pairs:
        if "@" in addr:
            return _clean(addr.strip().lower())
    return ""


def message_date(msg: Message) -> str:
    """The message's Date in UTC (ISO 8601), or "" when it has none that can be read."""
    try:
        when = parsedate_to_datetime(_header(msg, "Date"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (Exception, RecursionError):  # noqa: BLE001 - year 9999 - 12 h, garbage ...
        return ""


def is_auto_reply(msg: Message) -> bool:
    """RFC 3834's Auto-Submitted (anything but "no"), the common auto-responder
    headers, or an out-of-office subject."""
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if any(_header(msg, name) for name in ("X-Autoreply", "X-Autorespond",
                                           "X-Autorespond-Sent")):
        return True
    if _header(msg, "Precedence").lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.match(_header(msg, "Subject")))


def bounce_failures(msg: Message) -> list[Failure] | None:
    """The failed recipients of a bounce; None when the message is no bounce. A delivery
    status notification (RFC 3464) is read field by field; other bounces by flufl.bounce's
    detectors (Postfix, Exim, Exchange, qmail, Yahoo ... in their own formats)."""
    if msg.get_content_type() == "multipart/report" and \
            str(msg.get_param("report-type", "")).lower() == "delivery-status":
        found = _dsn_failures(msg)
        if found:
            return found
    if not _looks_like_bounce(msg):
        return None
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # noqa: BLE001 - a detector choking on a malformed bounce: not one
        return None
    failures = [Failure(_clean(a.decode("utf-8", "replace").lower()), "", "failed", "", True)
                for a in sorted(permanent)]
    failures += [Failure(_clean(a.decode("utf-8", "replace").lower()), "", "delayed", "",
                         False) for a in sorted(temporary - permanent)]
    return failures or None


def _looks_like_bounce(msg: Message) -> bool:
    """A message from the mail system itself (its detectors are only asked then: a
    person's reply quoting an address is no bounce)."""
    sender = _address(msg.get("From", ""))
    if _BOUNCE_SENDER.match(sender) or _BOUNCE_SUBJECT.match(_header(msg, "Subject")):
        return True
    return _header(msg, "Return-Path") in ("<>", "") and \
        msg.get_content_type() == "multipart/report"


def _parts(msg: Message) -> Iterator[Message]:
    """The message's parts, the first MAX_PARTS of them."""
    return itertools.islice(msg.walk(), MAX_PARTS)


def _dsn_failures(msg: Message) -> list[Failure]:
    failures = []
    for part in _parts(msg):
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1:]:  # the first block is about the whole message
            if not isinstance(block, Message):
                continue
            # the address the letter was sent to (Original-Recipient), else the one the
            # last server tried (Final-Recipient: an alias or an internal mailbox)
            recipient = str(block.get("Original-Recipient", "") or
                            block.get("Final-Recipient", ""))
            recipient = _clean(recipient.split(";", 1)[-1].strip().strip("<>").lower())
            action = str(block.get("Action", "")).strip().lower()
            if not recipient or action not in ("failed", "delayed"):
                continue
            status, _, comment = str(block.get("Status", "")).strip().partition(" ")
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "") or
                                      comment.strip("() ")).split())
            diagnostic = diagnostic.split(";", 1)[-1].strip() if ";" in diagnostic \
                else diagnostic
            failures.append(Failure(recipient, _clean(status)[:20], action,
                                    _clean(diagnostic)[:500],
                                    action == "failed" and status.startswith("5")))
    return failures


_COPIED_ID = re.compile(rb"^message-id:[ \t]*(<[^<>\s]+>)", re.I | re.M)


def _returned_ids(msg: Message) -> set[str]:
    """The Message-IDs of the message a bounce returns: its message/rfc822 or
    text/rfc822-headers part, or a copy of it in the bounce's text (Exim, qmail)."""
    found: set[str] = set()
    for part in _parts(msg):
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message):
                found.update(_MSGID.findall(_header(inner, "Message-ID")))
        elif kind in ("text/rfc822-headers", "text/plain"):
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                found.update(m.decode("ascii", "replace")
                             for m in _COPIED_ID.findall(text[:1_000_000]))
    return found


def _match(msg: Message, kind: str, sender: str, failures: Iterable[Failure],
           letters: tuple[Letter, ...]) -> tuple[str | None, str | None]:
    ids = set(_MSGID.findall(_header(msg, "In-Reply-To") + " " + _header(msg, "References")))
    if kind == BOUNCE:
        ids |= _returned_ids(msg)
    by_id = {mid: letter.slug for letter in letters for mid in letter.message_ids}
    slugs = {by_id[i] for i in ids if i in by_id}
    if len(slugs) == 1:
        return slugs.pop(), THREAD
    if len(slugs) > 1:
        return None, None  # it names several letters: a person decides
    if kind == BOUNCE:
        return _only({f.recipient for f in failures}, letters, RECIPIENT)
    slug, match = _only({sender}, letters, SENDER)
    if slug is not None or not sender:
        return slug, match
    domain = sender.rpartition("@")[2]
    owners = {letter.slug for letter in letters
              if any(a.rpartition("@")[2] == domain for a in letter.addresses)}
    return (owners.pop(), DOMAIN) if len(owners) == 1 else (None, None)


def _only(addresses: set[str], letters: tuple[Letter, ...], how: str
          ) -> tuple[str | None, str | None]:
    owners = {letter.slug for letter in letters if addresses & letter.addresses}
    return (owners.pop(), how) if len(owners) == 1 else (None, None)


def letters_of(records: Iterable[Mapping[str, Any]]) -> list[Letter]:
    """The letters as the send ledger recorded them: every Message-ID each went out with
    (a resend has its own) and every recipient it was addressed to."""
    ids: dict[str, set[str]] = {}
    addresses: dict[str, set[str]] = {}
    names: dict[str, str] = {}
    for record in records:
        slug = record.get("slug")
        if not isinstance(slug, str) or not _SLUG.fullmatch(slug) or record.get("state") not in (
                "sending", "sent", "partial", "marked-sent"):
            continue
        names[slug] = str(record.get("candidate") or slug)
        mid = str(record.get("message_id") or "")
        ids.setdefault(slug, set()).update(_MSGID.findall(mid))
        for key in ("recipients", "envelope"):
            value = record.get(key)
            if isinstance(value, list):
                addresses.setdefault(slug, set()).update(
                    str(a).strip().lower() for a in value if "@" in str(a))
    return [Letter(slug, names[slug], frozenset(ids.get(slug, ())),
                   frozenset(addresses.get(slug, ()))) for slug in names]
