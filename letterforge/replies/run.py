"""One ``replies`` run: every folder's new messages read, classified, matched, saved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SendError, display_path
from .classify import letters_of, read_message
from .mailbox import ImapConfig, Mailbox
from .store import Store


@dataclass
class RepliesReport:
    read: int = 0  # messages fetched this run
    saved: list[dict[str, Any]] = field(default_factory=list)  # new messages, matched
    unmatched: list[dict[str, Any]] = field(default_factory=list)  # new, unmatched
    folders: dict[str, int] = field(default_factory=dict)  # folder -> messages fetched

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for record in self.saved:
            out[record["kind"]] = out.get(record["kind"], 0) + 1
        return out

    def as_json(self) -> dict[str, Any]:
        return {"ok": True, "read": self.read, "folders": self.folders,
                "saved": self.saved, "unmatched": self.unmatched, "counts": self.counts()}


def ledger_records(batch: Path) -> list[dict[str, Any]]:
    """Every record of the batch's send ledger (read only; a damaged line: SendError)."""
    from ..send.ledger import Ledger

    if not (batch / "manifest.json").exists():
        raise SendError(f"{display_path(batch)} is not a rendered batch (no "
                        "manifest.json): render and send it first")
    return Ledger(batch).history


def read_replies(batch: Path, config: ImapConfig,
                 on_message: Callable[[dict[str, Any]], None] | None = None
                 ) -> RepliesReport:
    """Read every folder of ``config`` from where the last run stopped; save each new
    message under the batch (once); say each through ``on_message``."""
    from ..send.ledger import batch_lock

    letters = letters_of(ledger_records(batch))
    if not letters:
        raise SendError(f"nothing was sent from {display_path(batch)}: the send ledger "
                        "records no letter, so no reply can be matched; send first")
    report = RepliesReport()
    with batch_lock(batch):
        store = Store.open(batch)
        store.sweep()
        try:
            with Mailbox(config) as box:
                for folder in config.folders:
                    validity = box.uidvalidity(folder)
                    report.folders[folder] = 0
                    for uid, data in box.new_messages(store.seen(folder, validity)):
                        record = store.save(folder, validity, uid, data,
                                            read_message(data, letters))
                        report.read += 1
                        report.folders[folder] += 1
                        if not record["new"] or record["kind"] == "copy":
                            continue  # read before, or one of the letters itself
                        (report.saved if record["slug"] else report.unmatched).append(record)
                        if on_message is not None:
                            on_message(record)
        finally:
            store.close()
    return report
