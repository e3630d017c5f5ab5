"""Send a rendered batch over SMTP, each message exactly once.

The send ledger (``send-ledger.jsonl`` in the batch folder) is append-only; every line
is written and flushed to disk before the step it records goes on:

``sending``  written just before the message's DATA is handed to the server;
``sent``     the server accepted it (its reply is kept);
``failed``   the server refused it (the reason is kept); a rerun tries it again;
``marked-sent``  a person said it arrived (``--mark-sent``).

A message whose last line is ``sending`` was interrupted at the one moment where no
one can know whether the server took it: it is reported as *unknown* and never sent
again on its own; check the mailbox, then ``--mark-sent`` or ``--resend`` it. A letter
whose .eml changed after it was sent is reported, not re-sent (``--resend`` to send the
new version). A lock on the ledger keeps two runs from sending the same batch.
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
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any, TextIO

from .errors import SendError, UsageError, display_path
from .manifest import MANIFEST, Manifest, sha256
from .output import csv_bytes, write_atomic

LEDGER = "send-ledger.jsonl"

# States of a message when the run starts
PENDING, SENT, FAILED, UNKNOWN, CHANGED, MODIFIED, STALE = (
    "pending", "sent", "failed", "unknown", "changed", "modified", "stale")
NEEDS_ATTENTION = (UNKNOWN, CHANGED, MODIFIED, STALE)


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


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----- ledger ---------------------------------------------------------------------


class Ledger:
    def __init__(self, batch: Path) -> None:
        self.path = batch / LEDGER
        self.last: dict[str, dict[str, Any]] = {}
        self.last_sent: dict[str, dict[str, Any]] = {}
        # recipients -> the last letter sent to exactly them (a renamed candidate's
        # letter has another slug but the same mission)
        self.sent_to: dict[frozenset[str], dict[str, Any]] = {}
        self._needs_newline = False
        if self.path.exists():
            raw = self.path.read_bytes()
            self._needs_newline = bool(raw) and not raw.endswith(b"\n")
            for line in raw.split(b"\n"):
                try:
                    record = json.loads(line.decode("utf-8", errors="replace"))
                except ValueError:
                    continue  # a line cut short when a run was killed while writing it
                if isinstance(record, dict) and isinstance(record.get("slug"), str):
                    self._remember(record)
        self._fh: TextIO | None = None

    def _remember(self, record: dict[str, Any]) -> None:
        slug = record["slug"]
        self.last[slug] = record
        if record.get("state") in (SENT, "marked-sent"):
            self.last_sent[slug] = record
            recipients = record.get("recipients")
            if isinstance(recipients, list) and recipients:
                self.sent_to[frozenset(str(r).lower() for r in recipients)] = record

    def append(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            if self._needs_newline:  # end a line a killed run left cut short
                self._fh.write("\n")
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


def load_batch(batch: Path) -> list[Outgoing]:
    shown = display_path(batch)
    manifest = Manifest.read(batch)
    if manifest is None:
        raise SendError(f"{shown}/{MANIFEST}: no rendered batch here: run "
                        "'letterforge render --year YEAR' first")
    out: list[Outgoing] = []
    for entry in manifest.letters:
        for f in entry.files:
            if not f.path.endswith(".eml"):
                continue
            path = batch / f.path
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SendError(f"{display_path(path)}: cannot be read ({exc.strerror}); "
                                "render the batch again") from exc
            msg = message_from_bytes(data, policy=policy.default)
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
        if sent is not None:
            if sent.get("sha256") == m.sha256:
                m.state, m.note = SENT, f"sent {sent.get('time', '')}".strip()
            else:
                m.state, m.note = CHANGED, (
                    f"sent {sent.get('time', '')}, and the letter has changed since; "
                    "--resend to send the new version")
        elif last is not None and last.get("state") == "sending":
            m.state, m.note = UNKNOWN, (
                f"a run stopped while handing it to the server ({last.get('time', '')}): "
                "check whether it arrived, then --mark-sent or --resend")
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


_BCC = re.compile(rb"^Bcc:.*(?:\r\n[ \t].*)*\r\n", re.I | re.M)


def wire_bytes(data: bytes) -> bytes:
    """The message as transmitted: the .eml without its Bcc header."""
    head, sep, body = data.partition(b"\r\n\r\n")
    return _BCC.sub(b"", head + b"\r\n").rstrip(b"\r\n") + sep + body


class ConnectionLost(Exception):
    pass


class BatchStop(Exception):
    """A refusal that concerns every message (the sender, authentication): stop."""


def _send_one(smtp: smtplib.SMTP, m: Outgoing, ledger: Ledger) -> tuple[str, str, dict]:
    """Returns (state, detail, refused). Raises ConnectionLost when the server went away."""
    base = {"candidate": m.candidate, "slug": m.slug, "file": m.path, "sha256": m.sha256,
            "message_id": m.message_id, "recipients": m.recipients}
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
        refused = {}
        for rcpt in m.recipients:
            code, resp = smtp.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = f"{code} {_text(resp)}"
        if len(refused) == len(m.recipients):
            smtp.rset()
            return FAILED, "every recipient refused: " + "; ".join(
                f"{k}: {v}" for k, v in refused.items()), refused
        ledger.append({**base, "state": "sending", "time": _now()})
        phase = "data"
        code, resp = smtp.data(wire_bytes(m.data))
        if code != 250:
            smtp.rset()
            return FAILED, f"message refused: {code} {_text(resp)}", refused
        return SENT, f"{code} {_text(resp)}", refused
    except smtplib.SMTPResponseException as exc:
        if phase == "data" and exc.smtp_code >= 400:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.rset()
            return FAILED, f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}", {}
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
        raise SendError(f"{display_path(batch)}: no such batch folder: run "
                        "'letterforge render --year YEAR' first")
    with batch_lock(batch):
        # A render that was cut short is recovered by the next render, never here: send
        # does not move batches around.
        if not batch.is_dir():
            raise SendError(f"{display_path(batch)}: no such batch folder: run "
                            "'letterforge render --year YEAR' first")
        messages = load_batch(batch)
        report = SendReport(batch=batch, dry_run=not really, messages=messages)
        ledger = Ledger(batch)
        try:
            classify(messages, ledger)
            if only:
                chosen = _select(messages, only, "--only")
                for m in messages:
                    if m not in chosen and m.state == PENDING:
                        m.state, m.note = "skipped", "not in --only"
            for m in _select(messages, mark_sent, "--mark-sent"):
                if really:
                    ledger.append({"candidate": m.candidate, "slug": m.slug, "file": m.path,
                                   "sha256": m.sha256, "message_id": m.message_id,
                                   "recipients": m.recipients, "state": "marked-sent",
                                   "time": _now(), "reply": "marked as sent by hand"})
                m.state, m.note = SENT, "marked as sent by hand"
            for m in _select(messages, resend, "--resend"):
                if m.state == MODIFIED:
                    raise UsageError(f"--resend {m.candidate}: its .eml was edited after "
                                     "rendering; render the batch again first")
                m.state, m.note = PENDING, "resend asked for"
            todo = [m for m in messages if m.state == PENDING]
            if limit is not None:
                for m in todo[limit:]:
                    m.state, m.note = "skipped", "over --limit"
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
        base: dict[str, Any] = {"candidate": m.candidate, "slug": m.slug, "file": m.path,
                "sha256": m.sha256, "message_id": m.message_id, "recipients": m.recipients}
        try:
            state, detail, refused = _send_one(smtp, m, ledger)
        except BatchStop as exc:
            report.stopped = f"{exc}; nothing more was sent"
            return
        except ConnectionLost as exc:
            sending = ledger.last.get(m.slug, {}).get("state") == "sending"
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
        record: dict[str, Any] = {**base, "state": state, "time": _now()}
        if state == SENT:
            record["reply"] = detail
            if refused:
                record["refused"] = refused
            m.state, m.note = SENT, detail + (
                f" (refused: {', '.join(refused)})" if refused else "")
            report.sent.append(m)
        else:
            record["reason"] = detail
            m.state, m.note = FAILED, detail
            report.failed.append(m)
        ledger.append(record)
        if on_event:
            on_event(m.state, m, m.note)


def export_problems(report: SendReport, path: Path) -> int:
    """Write the messages that need a retry or a look to a CSV; returns how many."""
    rows = [[m.candidate, ", ".join(m.to), m.path, m.state, m.note]
            for m in report.messages if m.state in (FAILED, *NEEDS_ATTENTION)]
    write_atomic(path, csv_bytes(["candidate", "to", "file", "state", "reason"], rows))
    return len(rows)
