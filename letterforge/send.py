"""Send a rendered batch over SMTP, each message exactly once.

The send ledger (``send-ledger.jsonl`` in the batch folder) is append-only; every line
is written and flushed to disk before the step it records goes on:

``sending``  written just before the message's DATA is handed to the server;
``sent``     the server accepted it for every recipient (its reply is kept);
``partial``  the server accepted it for some recipients and refused others (each
             refused address is kept with the server's reply);
``failed``   the server refused it (the reason is kept); a rerun tries it again;
``marked-sent``  a person said it arrived (``--mark-sent``).

A message whose last line is ``sending`` was interrupted at the one moment where no
one can know whether the server took it: it is reported as *unknown* and never sent
again on its own; check the mailbox, then ``--mark-sent`` or ``--resend`` it. A
*partial* letter is never sent again on its own either: ``--resend`` sends it to the
refused recipients only, never again to those who got it. A letter whose .eml changed
after it was sent is reported, not re-sent (``--resend`` to send the new version); one
whose DOCX or PDF was edited after rendering is *edited* and not sent (its e-mail
carries the rendered PDF, not the edits). A ledger with a damaged line stops the run
before anything is sent: only a last line cut short by a killed run is passed over.
A lock on the ledger keeps two runs from sending the same batch.

The .eml files keep their stable ``Date``; the message handed to the server is dated
the moment it is sent (the ledger records that date) and carries no ``Bcc`` header.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import shlex
import smtplib
import ssl
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path
from typing import Any, TextIO

from .errors import Problem, SendError, UsageError, display_path
from .manifest import MANIFEST, Manifest, file_sha256, sha256
from .output import csv_bytes, without_bcc, write_atomic

LEDGER = "send-ledger.jsonl"

# States of a message when the run starts
PENDING, SENT, FAILED, UNKNOWN, CHANGED, MODIFIED, STALE, EDITED, PARTIAL = (
    "pending", "sent", "failed", "unknown", "changed", "modified", "stale", "edited",
    "partial")
SKIPPED = "skipped"
NEEDS_ATTENTION = (UNKNOWN, CHANGED, MODIFIED, STALE, EDITED, PARTIAL)
#: every state, in the order a summary lists them
STATES = (PENDING, SENT, PARTIAL, FAILED, UNKNOWN, CHANGED, MODIFIED, EDITED, STALE,
          SKIPPED)
# What a ledger line may record
SENDING, MARKED_SENT = "sending", "marked-sent"
LEDGER_STATES = frozenset({SENDING, SENT, PARTIAL, FAILED, MARKED_SENT})


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # "starttls", "tls" or "none"
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0


@dataclass
class Outgoing:
    candidate: str
    slug: str
    path: str  # relative to the batch
    data: bytes
    sha256: str
    message_id: str
    sender: str
    recipients: list[str]  # To + Cc + Bcc
    to: list[str]
    state: str = PENDING
    note: str = ""
    stale: bool = False
    edited: list[str] = field(default_factory=list)  # its DOCX/PDF changed since rendering
    # the addresses to hand it to this run (None: every recipient); a --resend of a
    # partial letter goes to the refused ones only
    envelope: list[str] | None = None
    refused: dict[str, str] = field(default_factory=dict)  # address -> the server's reply


@dataclass
class SendReport:
    batch: Path
    dry_run: bool
    messages: list[Outgoing]
    sent: list[Outgoing] = field(default_factory=list)
    failed: list[Outgoing] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early

    def count(self, state: str) -> int:
        return sum(1 for m in self.messages if m.state == state)

    def counts(self) -> dict[str, int]:
        """state -> how many letters are in it, for the states that have any."""
        out = {s: self.count(s) for s in STATES}
        return {s: n for s, n in out.items() if n}

    def needs_attention(self) -> int:
        """Letters that failed or need a person's look: the run exits 1 when there are
        any, dry run or not."""
        return sum(1 for m in self.messages if m.state in (FAILED, *NEEDS_ATTENTION))


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _render_hint(batch: Path) -> str:
    command = f"letterforge render --year {batch.name}"
    root = display_path(batch.parent)
    if root != "out":
        command += f" --out {shlex.quote(root)}"
    return f"run '{command}' first"


# ----- ledger ---------------------------------------------------------------------

_CONFLICT = re.compile(rb"^(<{7}|={7}|>{7}|\|{7})(?:[ \t\r]|$)")


def _read_record(line: bytes) -> tuple[dict[str, Any] | None, str]:
    """A ledger line as a record, or (None, what is wrong with it)."""
    if _CONFLICT.match(line):
        return None, ("a git merge-conflict marker: the ledger was merged with conflicts; "
                      "keep the records of both sides, one per line, and delete the "
                      "marker lines")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"is not one JSON object ({exc.msg}, column {exc.colno})"
    if not isinstance(record, dict):
        return None, "is not a JSON object"
    if not isinstance(record.get("slug"), str) or not record["slug"]:
        return None, "has no letter (\"slug\")"
    if record.get("state") not in LEDGER_STATES:
        return None, f"has no known state ({record.get('state')!r})"
    return record, ""


def _cut_short_of(line: bytes) -> int | None:
    """N for a line ``{"cut_short": N, ...}``: line N was cut short by a killed run."""
    if not line.startswith(b'{"cut_short"'):
        return None
    try:
        value = json.loads(line)["cut_short"]
    except (ValueError, TypeError, KeyError):
        return None
    return value if isinstance(value, int) else None


class Ledger:
    def __init__(self, batch: Path) -> None:
        self.path = batch / LEDGER
        self.last: dict[str, dict[str, Any]] = {}
        self.last_sent: dict[str, dict[str, Any]] = {}  # sent, partial or marked-sent
        # recipients -> the last letter sent to exactly them (a renamed candidate's
        # letter has another slug but the same mission)
        self.sent_to: dict[frozenset[str], dict[str, Any]] = {}
        self._needs_newline = False
        self._cut_short: int | None = None  # the number of a last line cut short
        if self.path.exists():
            raw = self.path.read_bytes()
            self._needs_newline = bool(raw) and not raw.endswith(b"\n")
            for record in self._records(raw):
                self._remember(record)
        self._fh: TextIO | None = None

    def _records(self, raw: bytes) -> Iterator[dict[str, Any]]:
        """Every record of the ledger. A damaged line stops here (SendError), before
        anything is sent: skipping it could send its letter a second time. Only a last
        line without its newline, cut short when a run was killed while writing it,
        is passed over; the next run that appends ends it and says so on the next line
        (``{"cut_short": LINE}``), so it is passed over from then on too."""
        lines = raw.split(b"\n")
        if raw.endswith(b"\n"):
            lines.pop()  # the empty string after the last newline
        acknowledged = {k - 1 for k, line in enumerate(lines, 1)
                        if _cut_short_of(line) == k - 1}
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue  # an empty line records nothing
            record, why = _read_record(line)
            if record is not None:
                yield record
                continue
            if number in acknowledged:
                continue  # cut short by a killed run, ended by the next one
            if number - 1 in acknowledged and _cut_short_of(line) == number - 1:
                continue  # says the line before it was cut short
            if number == len(lines) and self._needs_newline and line.startswith(b"{"):
                self._cut_short = number
                continue  # the write a killed run left unfinished
            raise SendError(Problem(
                display_path(self.path), number, None,
                f"{why}. The ledger is damaged, so letterforge cannot tell what was sent: "
                "repair this line (one JSON object per line, as letterforge wrote it) or "
                "restore the ledger from a backup, then run send again. Nothing was sent"))

    def _remember(self, record: dict[str, Any]) -> None:
        slug = record["slug"]
        self.last[slug] = record
        if record.get("state") in (SENT, PARTIAL, MARKED_SENT):
            self.last_sent[slug] = record
            recipients = record.get("recipients")
            if isinstance(recipients, list) and recipients:
                self.sent_to[frozenset(str(r).lower() for r in recipients)] = record

    def append(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            created = not self.path.exists()
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            if created:  # the new ledger's name survives a crash too: sync its folder
                fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            if self._needs_newline:  # end a line a killed run left cut short
                self._fh.write("\n")
                if self._cut_short is not None:  # and say it was, for the next runs
                    self._fh.write(json.dumps({"cut_short": self._cut_short,
                                               "time": _now()}) + "\n")
                self._needs_newline = False
        self._fh.write(json.dumps(record, ensure_ascii=True) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._remember(record)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@contextlib.contextmanager
def batch_lock(batch: Path) -> Iterator[None]:
    """The batch's lock (shared with render), so no render replaces the folder, and no
    other send runs, while this one writes the ledger."""
    from .errors import OutputError
    from .output import BatchLock

    try:
        lock = BatchLock(batch)
    except OutputError as exc:
        raise SendError(exc.problems) from None
    try:
        yield
    finally:
        lock.release()


# ----- the batch ------------------------------------------------------------------


def _csv_order(manifest: Manifest) -> list[Any]:
    """The manifest's letters in the order of their rows in the candidates CSV (the
    order of every table letterforge prints); the manifest's order when a letter does
    not say its row."""
    def line(source: str) -> int | None:
        number = source.rpartition(":")[2]
        return int(number) if number.isdigit() else None

    lines = [line(e.source) for e in manifest.letters]
    if any(n is None for n in lines):
        return list(manifest.letters)
    return [e for _, e in sorted(zip(lines, manifest.letters, strict=True),
                                 key=lambda pair: pair[0] or 0)]


def load_batch(batch: Path) -> list[Outgoing]:
    shown = display_path(batch)
    manifest = Manifest.read(batch)
    if manifest is None:
        raise SendError(f"{shown}/{MANIFEST}: no rendered batch here: {_render_hint(batch)}")
    out: list[Outgoing] = []
    for entry in _csv_order(manifest):
        edited = [f.path for f in entry.files if not f.path.endswith(".eml")
                  and (batch / f.path).is_file() and file_sha256(batch / f.path) != f.sha256]
        for f in entry.files:
            if not f.path.endswith(".eml"):
                continue
            path = batch / f.path
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SendError(f"{display_path(path)}: cannot be read ({exc.strerror}); "
                                "render the batch again") from exc
            # only the headers are read (the PDF attachment is sent as it is): parsing
            # every e-mail in full took most of a dry run
            msg = BytesHeaderParser(policy=policy.default).parsebytes(data)
            to = [a for _, a in getaddresses([str(msg.get("To", ""))]) if a]
            cc = [a for _, a in getaddresses([str(msg.get("Cc", ""))]) if a]
            bcc = [a for _, a in getaddresses([str(msg.get("Bcc", ""))]) if a]
            item = Outgoing(
                candidate=entry.candidate,
                slug=entry.slug,
                path=f.path,
                data=data,
                sha256=sha256(data),
                message_id=str(msg.get("Message-ID", "")).strip(),
                sender=parseaddr(str(msg.get("From", "")))[1],
                recipients=list(dict.fromkeys(to + cc + bcc)),
                to=to,
                stale=entry.stale,
                edited=edited,
            )
            if item.sha256 != f.sha256:
                item.state, item.note = MODIFIED, (
                    "the .eml differs from the manifest: it was edited after rendering; "
                    "render again")
            out.append(item)
    if not out:
        raise SendError(f"{shown}: the batch has no e-mails: render it with the eml format "
                        "(the default)")
    return out


def _refused_of(record: dict[str, Any]) -> dict[str, str]:
    refused = record.get("refused")
    if not isinstance(refused, dict):
        return {}
    return {str(k): str(v) for k, v in refused.items()}


def _partial_note(m: Outgoing, record: dict[str, Any]) -> str:
    got = [r for r in record.get("accepted", []) if isinstance(r, str)]
    refused = "; ".join(f"{a} ({why})" for a, why in m.refused.items())
    return (f"sent {record.get('time', '')} to {', '.join(got) or 'some recipients'}, "
            f"refused {refused}: check the refused addresses, then --resend "
            f"{m.candidate!r} to send it to them only, or --mark-sent {m.candidate!r}")


def classify(messages: Sequence[Outgoing], ledger: Ledger) -> None:
    slugs = {m.slug for m in messages}
    for m in messages:
        if m.state == MODIFIED:
            continue
        if m.stale:
            m.state, m.note = STALE, ("its inputs changed after it was rendered (kept by a "
                                      "render --only): render the batch again")
            continue
        sent = ledger.last_sent.get(m.slug)
        last = ledger.last.get(m.slug)
        if last is not None and last.get("state") == SENDING:
            m.state, m.note = UNKNOWN, (
                f"a run stopped while handing it to the server ({last.get('time', '')}): "
                "check whether it arrived, then --mark-sent or --resend")
        elif sent is not None:
            if sent.get("sha256") != m.sha256:
                m.state, m.note = CHANGED, (
                    f"sent {sent.get('time', '')}, and the letter has changed since; "
                    "--resend to send the new version")
            elif sent.get("state") == PARTIAL:
                m.state, m.refused = PARTIAL, _refused_of(sent)
                m.note = _partial_note(m, sent)
            else:
                m.state, m.note = SENT, f"sent {sent.get('time', '')}".strip()
        elif last is not None and last.get("state") == FAILED:
            m.state, m.note = PENDING, f"failed before: {last.get('reason', '')}"
        else:
            m.state = PENDING
        other = ledger.sent_to.get(frozenset(r.lower() for r in m.recipients))
        if m.state == PENDING and other is not None and other.get("slug") not in slugs:
            m.state, m.note = CHANGED, (
                f"a letter to the same recipients was sent as {other.get('file')} "
                f"({other.get('time', '')}), a letter no longer in the batch (was the "
                "candidate renamed?); --resend to send this one too")
        if m.state == PENDING and m.edited:
            m.state, m.note = EDITED, (
                f"{' and '.join(m.edited)} changed after rendering (edited by hand?): the "
                "e-mail carries the rendered PDF, not those edits; render again, or "
                f"--resend {m.candidate!r} to send the rendered PDF as is")


def _resend_to(m: Outgoing, ledger: Ledger) -> list[str] | None:
    """Whom a --resend of ``m`` goes to: only the refused recipients of a letter the
    server took for the others (never again to those who got it); None: everyone."""
    sent = ledger.last_sent.get(m.slug)
    if sent is None or sent.get("state") != PARTIAL or sent.get("sha256") != m.sha256:
        return None
    refused = {a.lower() for a in _refused_of(sent)}
    return [r for r in m.recipients if r.lower() in refused]


def _select(messages: list[Outgoing], names: Sequence[str], option: str) -> list[Outgoing]:
    chosen: list[Outgoing] = []
    for name in names:
        key = name.strip().casefold()
        match = [m for m in messages if key in (m.slug, m.candidate.casefold())]
        if not match:
            known = ", ".join(m.candidate for m in messages)
            raise UsageError(f"{option}: no letter {name!r} in this batch (letters: {known})")
        chosen.extend(m for m in match if m not in chosen)
    return chosen


# ----- SMTP -----------------------------------------------------------------------


def password_from(env_var: str, command: str | None) -> str | None:
    if command:
        try:
            result = subprocess.run(shlex.split(command), capture_output=True, text=True,
                                    timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise SendError(f"--password-command could not run: {exc}") from exc
        if result.returncode != 0:
            raise SendError(f"--password-command failed (exit {result.returncode}): "
                            f"{result.stderr.strip()[:200]}")
        lines = result.stdout.splitlines()
        return lines[0] if lines else ""
    return os.environ.get(env_var)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect(config: SmtpConfig) -> smtplib.SMTP:
    where = f"{config.host}:{config.port}"
    if config.user and config.security == "none" and not _is_loopback(config.host):
        raise SendError(f"refusing to send the password for {config.user} unencrypted to "
                        f"{where}: use --security starttls or tls")
    try:
        smtp: smtplib.SMTP
        if config.security == "tls":
            smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        smtp.ehlo()
        if config.security == "starttls":
            if not smtp.has_extn("starttls"):
                smtp.close()
                raise SendError(f"{where} does not offer STARTTLS: use --security tls, or "
                                "--security none for a server on this machine")
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if config.user:
            smtp.login(config.user, config.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(f"{where}: authentication failed for {config.user} "
                        f"({exc.smtp_code} {_text(exc.smtp_error)}); nothing was sent") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise SendError(f"{where}: the server does not support login: {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"cannot connect to {where}: {exc}; nothing was sent") from exc
    return smtp


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_DATE = re.compile(rb"^Date:.*(?:\r\n[ \t].*)*\r\n", re.I | re.M)


def wire_bytes(data: bytes, date: str | None = None) -> bytes:
    """The message as transmitted: the .eml without its Bcc header and, given ``date``,
    dated then instead of the .eml's stable date. Everything else, the Message-ID
    included, is the .eml's bytes."""
    head, sep, body = without_bcc(data).partition(b"\r\n\r\n")
    head += b"\r\n"
    if date is not None:
        line = b"Date: " + date.encode("ascii") + b"\r\n"
        head, found = _DATE.subn(lambda _: line, head, count=1)
        if not found:
            head = line + head
    return head.rstrip(b"\r\n") + sep + body


def sending_date() -> str:
    """The Date header of a message handed to the server now."""
    return format_datetime(dt.datetime.now(dt.UTC))


class ConnectionLost(Exception):
    pass


class BatchStop(Exception):
    """A refusal that concerns every message (the sender, authentication): stop."""


@dataclass
class Attempt:
    """What happened to one message this run."""

    state: str  # SENT, PARTIAL or FAILED
    detail: str  # the server's reply, or why it failed
    refused: dict[str, str] = field(default_factory=dict)  # address -> the server's reply
    accepted: list[str] = field(default_factory=list)


def _base(m: Outgoing) -> dict[str, Any]:
    record: dict[str, Any] = {"candidate": m.candidate, "slug": m.slug, "file": m.path,
                              "sha256": m.sha256, "message_id": m.message_id,
                              "recipients": m.recipients}
    if m.envelope is not None:
        record["envelope"] = m.envelope
    return record


def _send_one(smtp: smtplib.SMTP, m: Outgoing, ledger: Ledger) -> Attempt:
    """Hands one message to the server. Raises ConnectionLost when the server went away,
    BatchStop when it refuses the sender."""
    envelope = m.envelope if m.envelope is not None else m.recipients
    phase = "mail"
    try:
        code, resp = smtp.mail(m.sender)
        if code != 250:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.rset()
            hint = " (give --user and a password)" if code == 530 else ""
            raise BatchStop(f"the server refused the sender {m.sender}: {code} "
                            f"{_text(resp)}{hint}")
        phase = "rcpt"
        refused: dict[str, str] = {}
        accepted: list[str] = []
        for rcpt in envelope:
            code, resp = smtp.rcpt(rcpt)
            if code in (250, 251):
                accepted.append(rcpt)
            else:
                refused[rcpt] = f"{code} {_text(resp)}"
        if not accepted:
            smtp.rset()
            return Attempt(FAILED, "every recipient refused: " + "; ".join(
                f"{k}: {v}" for k, v in refused.items()), refused)
        date = sending_date()
        ledger.append({**_base(m), "state": SENDING, "time": _now(), "date": date})
        phase = "data"
        code, resp = smtp.data(wire_bytes(m.data, date))
        if code != 250:
            smtp.rset()
            return Attempt(FAILED, f"message refused: {code} {_text(resp)}")
        reply = f"{code} {_text(resp)}"
        if refused:
            return Attempt(PARTIAL, reply, refused, accepted)
        return Attempt(SENT, reply, {}, accepted)
    except smtplib.SMTPResponseException as exc:
        if phase == "data" and exc.smtp_code >= 400:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.rset()
            return Attempt(FAILED, f"message refused: {exc.smtp_code} "
                           f"{_text(exc.smtp_error)}")
        raise ConnectionLost(f"{phase}: {exc}") from exc
    except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
        if phase == "data":
            raise ConnectionLost(f"during DATA: {exc}") from exc
        raise ConnectionLost(f"before the message was handed over ({phase}): {exc}") from exc


def send_batch(
    batch: Path,
    config: SmtpConfig | None,
    *,
    really: bool = False,
    limit: int | None = None,
    rate: float = 0.0,
    only: Sequence[str] = (),
    resend: Sequence[str] = (),
    mark_sent: Sequence[str] = (),
    on_event: Callable[[str, Outgoing, str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Dry run unless ``really``. Returns what happened to each message."""
    if not batch.parent.is_dir():
        raise SendError(f"{display_path(batch)}: no such batch folder: {_render_hint(batch)}")
    with batch_lock(batch):
        # A render that was cut short is recovered by the next render, never here: send
        # does not move batches around.
        if not batch.is_dir():
            raise SendError(f"{display_path(batch)}: no such batch folder: "
                            f"{_render_hint(batch)}")
        messages = load_batch(batch)
        report = SendReport(batch=batch, dry_run=not really, messages=messages)
        ledger = Ledger(batch)
        try:
            classify(messages, ledger)
            if only:
                chosen = _select(messages, only, "--only")
                for m in messages:
                    if m not in chosen and m.state == PENDING:
                        m.state, m.note = SKIPPED, "not in --only"
            for m in _select(messages, mark_sent, "--mark-sent"):
                if really:
                    ledger.append({**_base(m), "state": MARKED_SENT, "time": _now(),
                                   "reply": "marked as sent by hand"})
                m.state, m.note = SENT, ("marked as sent by hand" if really else
                                         "would be marked as sent (add --send to record it)")
            for m in _select(messages, resend, "--resend"):
                if m.state == MODIFIED:
                    raise UsageError(f"--resend {m.candidate}: its .eml was edited after "
                                     "rendering; render the batch again first")
                if m.state == STALE:
                    raise UsageError(f"--resend {m.candidate}: its inputs changed after it "
                                     "was rendered (kept by a render --only), so it would "
                                     "go out with old words; render the batch again first")
                m.envelope = _resend_to(m, ledger)
                if m.envelope is not None:
                    m.note = ("resend asked for: to the recipients who were refused only ("
                              f"{', '.join(m.envelope)})")
                elif m.state == EDITED:
                    m.note = "resend asked for: the rendered PDF as is, without the edits"
                else:
                    m.note = "resend asked for"
                m.state = PENDING
            todo = [m for m in messages if m.state == PENDING]
            if limit is not None:
                for m in todo[limit:]:
                    m.state, m.note = SKIPPED, "over --limit"
                todo = todo[:limit]
            if not really or not todo:
                return report
            assert config is not None
            smtp = connect(config)
            try:
                _run(smtp, todo, ledger, report, rate, on_event, sleep)
            finally:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    smtp.quit()
        finally:
            ledger.close()
    return report


def _run(
    smtp: smtplib.SMTP,
    todo: list[Outgoing],
    ledger: Ledger,
    report: SendReport,
    rate: float,
    on_event: Callable[[str, Outgoing, str], None] | None,
    sleep: Callable[[float], None],
) -> None:
    interval = 60.0 / rate if rate > 0 else 0.0
    next_at = time.monotonic()
    for i, m in enumerate(todo):
        if i and interval:
            delay = next_at - time.monotonic()
            if delay > 0:
                sleep(delay)
        next_at = time.monotonic() + interval
        base = _base(m)
        try:
            attempt = _send_one(smtp, m, ledger)
        except BatchStop as exc:
            report.stopped = f"{exc}; nothing more was sent"
            return
        except ConnectionLost as exc:
            sending = ledger.last.get(m.slug, {}).get("state") == SENDING
            if sending:
                m.state, m.note = UNKNOWN, f"connection lost while handing it over: {exc}"
            else:
                ledger.append({**base, "state": FAILED, "time": _now(),
                               "reason": f"connection lost: {exc}"})
                m.state, m.note = FAILED, f"connection lost: {exc}"
                report.failed.append(m)
            report.stopped = (f"the connection to the server was lost ({exc}); "
                              "rerun to send the rest")
            if on_event:
                on_event(m.state, m, m.note)
            return
        record: dict[str, Any] = {**base, "state": attempt.state, "time": _now()}
        sending_record = ledger.last.get(m.slug, {})
        if attempt.state in (SENT, PARTIAL):
            record["date"] = sending_record.get("date")
            record["reply"] = attempt.detail
            record["accepted"] = attempt.accepted
        else:
            record["reason"] = attempt.detail
        if attempt.refused:
            record["refused"] = attempt.refused
        ledger.append(record)
        m.state, m.refused = attempt.state, attempt.refused
        if attempt.state == SENT:
            m.note = attempt.detail
            report.sent.append(m)
        elif attempt.state == PARTIAL:
            m.note = _partial_note(m, record)
            report.sent.append(m)
        else:
            m.note = attempt.detail
            report.failed.append(m)
        if on_event:
            on_event(m.state, m, m.note)


def export_problems(report: SendReport, path: Path) -> int:
    """Write the messages that need a retry or a look to a CSV; returns how many. The
    ``refused`` column lists the addresses the server refused (Bcc ones included: the
    file is for the campaign staff who fix them)."""
    rows = [[m.candidate, ", ".join(m.to), m.path, m.state, m.note, ", ".join(m.refused)]
            for m in report.messages if m.state in (FAILED, *NEEDS_ATTENTION)]
    write_atomic(path, csv_bytes(["candidate", "to", "file", "state", "reason", "refused"],
                                 rows))
    return len(rows)


# ----- the dry run's table --------------------------------------------------------


def fit_table(header: Sequence[str], rows: Sequence[Sequence[str]], width: int,
              wrap: Sequence[int] = ()) -> list[str]:
    """The lines of a table no wider than ``width`` (when it can be: a column keeps at
    least one character). The columns in ``wrap`` share the room the others leave and
    are wrapped onto more lines, at spaces where they can. Each is kept as wide as its
    longest word while there is room for that, the first ones in
    ``wrap`` first; long words are broken only when there is not."""
    ncols = len(header)
    table = [list(header), *[list(r) for r in rows]]
    natural = [max(len(r[i]) for r in table) for i in range(ncols)]
    gap = 2
    room = max(width - gap * (ncols - 1), ncols)
    widths = list(natural)
    if sum(widths) > room and wrap:
        left = room - sum(natural[i] for i in range(ncols) if i not in wrap)
        for k, i in enumerate(wrap):  # each as wide as its longest word, if it can be
            words = [len(w) for r in table for w in r[i].split()] or [1]
            floor = min(natural[i], max(len(header[i]), max(words)))
            keep = sum(min(natural[j], 8) for j in wrap[k + 1:])  # for the ones after
            widths[i] = max(min(floor, left - keep), 1)
            left -= widths[i]
        pending = sorted(wrap, key=lambda i: natural[i] - widths[i])
        for k, i in enumerate(pending):  # then the rest shared out, little needs first
            more = min(natural[i] - widths[i], max(left, 0) // (len(pending) - k))
            widths[i] += more
            left -= more
    while sum(widths) > room:  # still too wide: narrow the widest column
        i = max(range(ncols), key=lambda k: widths[k])
        widths[i] -= 1
    lines = []
    for row in table:
        cells = [textwrap.wrap(v, w, break_on_hyphens=False) or [""]
                 for v, w in zip(row, widths, strict=True)]
        for k in range(max(len(c) for c in cells)):
            parts = [(c[k] if k < len(c) else "").ljust(w)
                     for c, w in zip(cells, widths, strict=True)]
            lines.append((" " * gap).join(parts).rstrip())
    return lines
