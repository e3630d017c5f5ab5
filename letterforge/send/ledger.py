"""The send ledger (``send-ledger.jsonl`` in the batch): append-only, every line written
and flushed to disk before the step it records goes on; and the batch's lock while a
send writes it."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ..errors import Problem, SendError, display_path

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


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        self.history: list[dict[str, Any]] = []  # every record, oldest first
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
        self.history.append(record)
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
                                               "time": now()}) + "\n")
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
    from ..errors import OutputError
    from ..lock import BatchLock

    try:
        lock = BatchLock(batch)
    except OutputError as exc:
        raise SendError(exc.problems) from None
    try:
        yield
    finally:
        lock.release()


#: where ``letterforge replies`` records what it read (letterforge.replies.store)
REPLIES_READ = "replies/read.jsonl"


def delivery_failures(batch: Path) -> dict[str, list[dict[str, Any]]]:
    """slug -> the delivery failures ``replies`` read for its letter: only from bounces
    that carry the letter's own Message-ID (a bounce naming an address is easily forged;
    the Message-ID is known to the servers the letter went through). Each failure with
    the bounce's date, never later than when it was read (a bounce dated in the future
    would outlast every resend). Read tolerantly: replies judges its own file."""
    path = batch / REPLIES_READ
    out: dict[str, list[dict[str, Any]]] = {}
    try:
        raw = path.read_bytes()
    except OSError:
        return out
    seen: set[str] = set()
    for line in raw.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if (not isinstance(record, dict) or record.get("kind") != "bounce"
                or record.get("match") != "thread" or not isinstance(record.get("slug"), str)
                or record.get("digest") in seen or not isinstance(record.get("failures"), list)):
            continue
        seen.add(str(record.get("digest")))
        read = str(record.get("read") or "")
        date = str(record.get("date") or "") or read
        if read and date > read:
            date = read
        for failure in record["failures"]:
            if isinstance(failure, dict):
                out.setdefault(record["slug"], []).append({
                    "recipient": str(failure.get("recipient", "")).lower(),
                    "status": str(failure.get("status", "")),
                    "action": str(failure.get("action", "")),
                    "diagnostic": str(failure.get("diagnostic", "")),
                    "permanent": failure.get("permanent") is True,
                    "date": date})
    return out


def failures_since(sent: dict[str, Any] | None, failures: list[dict[str, Any]]
                   ) -> list[dict[str, Any]]:
    """The failures that concern the letter's last send ``sent``: of an address it went
    to, dated at or after it (a bounce of an earlier send counts no more)."""
    if sent is None:
        return []
    mine = {str(a).lower() for key in ("recipients", "envelope")
            for a in (sent.get(key) or []) if isinstance(sent.get(key), list)}
    when = str(sent.get("time", ""))
    return [f for f in failures if f["recipient"] in mine and (not f["date"] or f["date"] >= when)]
