"""The replies of a batch, kept under it (``OUT/YEAR/replies/``).

- ``replies/<slug>/<date>-<digest>.eml``: each message matched to a letter, saved once,
  byte for byte as the server gave it (attachments intact); ``replies/unmatched/`` the
  messages that match no letter. The name holds the first 16 hex digits of the
  message's SHA-256: the same message read twice (another folder, a mailbox whose
  UIDVALIDITY changed, a run killed between saving and recording) is the same file.
- ``replies/read.jsonl``: one line per message read (folder, UIDVALIDITY, UID, digest,
  what it is, where it was saved, when it was read), appended and flushed to disk after its file is
  saved. A run fetches only the UIDs above the highest it recorded for the folder's
  UIDVALIDITY; a line cut short by a killed run is passed over (its message is read
  again and finds its file already there).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..errors import OutputError, Problem, display_path
from ..files import write_atomic
from ..send.ledger import now
from .classify import COPY, Reading

FOLDER = "replies"
READ_LOG = "read.jsonl"
UNMATCHED = "unmatched"


@dataclass
class Store:
    """The replies folder of one batch: what was read, and where it was saved."""

    batch: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    _fh: TextIO | None = None
    #: digest -> its first record, and (folder, UIDVALIDITY) -> the highest UID read:
    #: looked up for every message fetched, so kept as the records come
    _first: dict[str, dict[str, Any]] = field(default_factory=dict)
    _highest: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.batch / FOLDER

    @classmethod
    def open(cls, batch: Path) -> Store:
        """The store of ``batch``: what was read (status reads it without the lock)."""
        store = cls(batch)
        path = store.root / READ_LOG
        if path.exists():
            for record in _records(path):
                store._remember(record)
        return store

    def sweep(self) -> None:
        """Remove the temporary files (``.<name>.eml.<random>``, write_atomic's) that a
        run killed while saving a message left: its message is fetched again. Only by a
        run holding the batch's lock: another run's file being written is one too."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if folder.is_dir() and not folder.is_symlink():
                for leftover in folder.glob(".*.eml.*"):
                    if leftover.is_file() and not leftover.is_symlink():
                        leftover.unlink(missing_ok=True)

    def _remember(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        self._first.setdefault(record["digest"], record)
        key = (record["folder"], record["uidvalidity"])
        self._highest[key] = max(self._highest.get(key, 0), record["uid"])

    def seen(self, folder: str, uidvalidity: int) -> int:
        """The highest UID read from ``folder`` while it had ``uidvalidity`` (0: none)."""
        return self._highest.get((folder, uidvalidity), 0)

    def known(self, digest: str) -> dict[str, Any] | None:
        return self._first.get(digest)

    def save(self, folder: str, uidvalidity: int, uid: int, data: bytes,
             reading: Reading) -> dict[str, Any]:
        """Save one message (unless saved before) and record that it was read."""
        before = self.known(reading.digest)
        if before is not None:
            path = before.get("file", "")
        elif reading.kind == COPY:  # one of the letters: the batch has it already
            path = ""
        else:
            where = reading.slug if reading.slug is not None else UNMATCHED
            day = reading.date[:10] or "undated"
            path = f"{FOLDER}/{where}/{day}-{reading.digest[:16]}.eml"
            target = self.batch / path
            if not (target.is_file() and target.read_bytes() == data):
                target.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(target, data)
        record = {"folder": folder, "uidvalidity": uidvalidity, "uid": uid,
                  "file": path, "new": before is None, "read": now(), **reading.as_json()}
        self._append(record)
        return record

    def _append(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            self.root.mkdir(parents=True, exist_ok=True)
            path = self.root / READ_LOG
            self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115
            if path.stat().st_size and not _ends_with_newline(path):
                self._fh.write("\n")  # end a line a killed run left cut short
        self._fh.write(json.dumps(record, ensure_ascii=True, sort_keys=True) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._remember(record)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def messages(self) -> list[dict[str, Any]]:
        """Every message read, once each (by digest), in the order first read."""
        return list(self._first.values())


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def _records(path: Path) -> Iterator[dict[str, Any]]:
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    last = len(lines)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if number == last:  # the line a killed run was writing: read again
                continue
            raise OutputError(Problem(
                display_path(path), number, None,
                "is not a record letterforge wrote (one JSON object per line): repair or "
                "delete the line (its message is then read again), and run replies "
                "again")) from None
        if isinstance(record, dict) and record.get("cut_short") is not None:
            continue
        if not _valid(record):
            raise OutputError(Problem(
                display_path(path), number, None,
                "is not a record letterforge wrote (a field is missing or of the wrong "
                "kind): repair or delete the line (its message is then read again), and "
                "run replies again")) from None
        yield record


_TEXT_FIELDS = ("folder", "file", "digest", "kind", "sender", "subject", "date",
                "message_id")


def _valid(record: Any) -> bool:
    """Whether a line of read.jsonl holds what replies writes, of the kinds it writes."""
    if not isinstance(record, dict):
        return False
    if not all(isinstance(record.get(k), str) for k in _TEXT_FIELDS):
        return False
    if not all(isinstance(record.get(k), int) and not isinstance(record.get(k), bool)
               for k in ("uid", "uidvalidity")):
        return False
    if record["kind"] not in ("reply", "auto-reply", "bounce", "copy"):
        return False
    if not (record.get("slug") is None or isinstance(record.get("slug"), str)):
        return False
    if not (record.get("match") is None or isinstance(record.get("match"), str)):
        return False
    failures = record.get("failures", [])
    return isinstance(failures, list) and all(
        isinstance(f, dict) and isinstance(f.get("permanent"), bool)
        and all(isinstance(f.get(k), str) for k in ("recipient", "status", "action",
                                                     "diagnostic"))
        for f in failures)
