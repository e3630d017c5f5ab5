"""One send run: the batch's messages, each classified against the ledger (pending,
sent, partial, unknown, changed, edited ...), then sent in order, each exactly once."""

from __future__ import annotations

import contextlib
import shlex
import smtplib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any

from ..errors import SendError, UsageError, display_path
from ..mailfiles import headers
from ..manifest import MANIFEST, Manifest, file_sha256, sha256
from .ledger import (
    CHANGED,
    EDITED,
    FAILED,
    MARKED_SENT,
    MODIFIED,
    NEEDS_ATTENTION,
    PARTIAL,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    STALE,
    STATES,
    UNKNOWN,
    Ledger,
    batch_lock,
    delivery_failures,
    failures_since,
    now,
)
from .smtp import SmtpConfig, connect, sending_date, text_of, wire_bytes


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

    @property
    def ok(self) -> bool:
        return not (self.stopped or self.needs_attention())

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "dry_run": self.dry_run, "batch": str(self.batch),
                "sent_this_run": len(self.sent), "counts": self.counts(),
                "stopped": self.stopped,
                "messages": [{"candidate": m.candidate, "slug": m.slug, "file": m.path,
                              "recipients": m.recipients, "state": m.state, "note": m.note,
                              **({"refused": m.refused} if m.refused else {})}
                             for m in self.messages]}


def _render_hint(batch: Path) -> str:
    command = f"letterforge render --year {batch.name}"
    root = display_path(batch.parent)
    if root != "out":
        command += f" --out {shlex.quote(root)}"
    return f"run '{command}' first"


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
            msg = headers(data)
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


def _bounced(sent: dict[str, Any], failures: list[dict[str, Any]]) -> dict[str, str]:
    """The recipients of the letter's last send that bounced for good since (``replies``
    read the bounces): address -> why."""
    return {f["recipient"]: f"bounced {f['status']} {f['diagnostic']}".strip()
            for f in failures_since(sent, failures) if f["permanent"]}


def classify(messages: Sequence[Outgoing], ledger: Ledger,
             bounces: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """Each message's state from the ledger (and the permanent bounces ``replies``
    read: a letter the server took whose address then bounced is partly refused)."""
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
            _classify_sent(m, sent, (bounces or {}).get(m.slug, []))
        else:
            m.state = PENDING
            if last is not None and last.get("state") == FAILED:
                m.note = f"failed before: {last.get('reason', '')}"
            _classify_pending(m, ledger, slugs)


def _classify_sent(m: Outgoing, sent: dict[str, Any], failures: list[dict[str, Any]]) -> None:
    """A letter the ledger says was sent: sent, sent and changed since, or partly
    refused (by the server then, or by a bounce since)."""
    if sent.get("sha256") != m.sha256:
        m.state, m.note = CHANGED, (
            f"sent {sent.get('time', '')}, and the letter has changed since; "
            "--resend to send the new version")
    elif sent.get("state") == PARTIAL:
        m.state, m.refused = PARTIAL, _refused_of(sent)
        m.note = _partial_note(m, sent)
    else:
        m.state, m.note = SENT, f"sent {sent.get('time', '')}".strip()
        gone = _bounced(sent, failures)
        if gone:
            m.state, m.refused = PARTIAL, gone
            m.note = (
                f"sent {sent.get('time', '')}, then bounced: "
                + "; ".join(f"{a} ({why})" for a, why in gone.items())
                + ": correct the address in the candidates file and render again, "
                f"then --resend {m.candidate!r}; or --resend {m.candidate!r} to "
                "try the same address again")


def _classify_pending(m: Outgoing, ledger: Ledger, slugs: set[str]) -> None:
    """A letter never sent under its name: held back when the same recipients got a
    letter no longer in the batch (a renamed candidate), or when its DOCX or PDF was
    edited after rendering (the e-mail carries the rendered PDF)."""
    other = ledger.sent_to.get(frozenset(r.lower() for r in m.recipients))
    if other is not None and other.get("slug") not in slugs:
        m.state, m.note = CHANGED, (
            f"a letter to the same recipients was sent as {other.get('file')} "
            f"({other.get('time', '')}), a letter no longer in the batch (was the "
            "candidate renamed?); --resend to send this one too")
    elif m.edited:
        m.state, m.note = EDITED, (
            f"{' and '.join(m.edited)} changed after rendering (edited by hand?): the "
            "e-mail carries the rendered PDF, not those edits; render again, or "
            f"--resend {m.candidate!r} to send the rendered PDF as is")


def _resend_to(m: Outgoing) -> list[str] | None:
    """Whom a --resend of ``m`` goes to: only the refused recipients of a letter the
    server took for the others, or whose address bounced since (never again to those
    who got it); None: everyone."""
    if m.state != PARTIAL or not m.refused:
        return None
    refused = {a.lower() for a in m.refused}
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
                            f"{text_of(resp)}{hint}")
        phase = "rcpt"
        refused: dict[str, str] = {}
        accepted: list[str] = []
        for rcpt in envelope:
            code, resp = smtp.rcpt(rcpt)
            if code in (250, 251):
                accepted.append(rcpt)
            else:
                refused[rcpt] = f"{code} {text_of(resp)}"
        if not accepted:
            smtp.rset()
            return Attempt(FAILED, "every recipient refused: " + "; ".join(
                f"{k}: {v}" for k, v in refused.items()), refused)
        date = sending_date()
        ledger.append({**_base(m), "state": SENDING, "time": now(), "date": date})
        phase = "data"
        code, resp = smtp.data(wire_bytes(m.data, date))
        if code != 250:
            smtp.rset()
            return Attempt(FAILED, f"message refused: {code} {text_of(resp)}")
        reply = f"{code} {text_of(resp)}"
        if refused:
            return Attempt(PARTIAL, reply, refused, accepted)
        return Attempt(SENT, reply, {}, accepted)
    except smtplib.SMTPResponseException as exc:
        if phase == "data" and exc.smtp_code >= 400:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.rset()
            return Attempt(FAILED, f"message refused: {exc.smtp_code} "
                           f"{text_of(exc.smtp_error)}")
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
            classify(messages, ledger, delivery_failures(batch))
            todo = _choose(messages, ledger, really=really, only=only, resend=resend,
                           mark_sent=mark_sent, limit=limit)
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


def _choose(messages: list[Outgoing], ledger: Ledger, *, really: bool,
            only: Sequence[str], resend: Sequence[str], mark_sent: Sequence[str],
            limit: int | None) -> list[Outgoing]:
    """The messages this run sends, in order, after ``--only``, ``--mark-sent``,
    ``--resend`` and ``--limit``; the others say why they wait."""
    if only:
        chosen = _select(messages, only, "--only")
        for m in messages:
            if m not in chosen and m.state == PENDING:
                m.state, m.note = SKIPPED, "not in --only"
    for m in _select(messages, mark_sent, "--mark-sent"):
        if really:
            ledger.append({**_base(m), "state": MARKED_SENT, "time": now(),
                           "reply": "marked as sent by hand"})
        m.state, m.note = SENT, ("marked as sent by hand" if really else
                                 "would be marked as sent (add --send to record it)")
    for m in _select(messages, resend, "--resend"):
        _to_resend(m, ledger)
    todo = [m for m in messages if m.state == PENDING]
    if limit is not None:
        for m in todo[limit:]:
            m.note = "not sent this run: over --limit"  # still pending
        todo = todo[:limit]
    return todo


def _to_resend(m: Outgoing, ledger: Ledger) -> None:
    """``--resend``: the letter goes again (to the refused recipients only, when it was
    partly refused), unless what it would send is not what was rendered."""
    if m.state == MODIFIED:
        raise UsageError(f"--resend {m.candidate}: its .eml was edited after "
                         "rendering; render the batch again first")
    if m.state == STALE:
        raise UsageError(f"--resend {m.candidate}: its inputs changed after it "
                         "was rendered (kept by a render --only), so it would "
                         "go out with old words; render the batch again first")
    m.envelope = _resend_to(m)
    if m.envelope is not None:
        m.note = ("resend asked for: to the recipients who were refused only ("
                  f"{', '.join(m.envelope)})")
    elif m.state == EDITED:
        m.note = "resend asked for: the rendered PDF as is, without the edits"
    else:
        m.note = "resend asked for"
    m.state = PENDING


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
                ledger.append({**base, "state": FAILED, "time": now(),
                               "reason": f"connection lost: {exc}"})
                m.state, m.note = FAILED, f"connection lost: {exc}"
                report.failed.append(m)
            report.stopped = (f"the connection to the server was lost ({exc}); "
                              "rerun to send the rest")
            if on_event:
                on_event(m.state, m, m.note)
            return
        record: dict[str, Any] = {**base, "state": attempt.state, "time": now()}
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
