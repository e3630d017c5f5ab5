"""One row per candidate of a batch: sent (when), bounced (which address, why),
auto-replies, replied (when, from whom, subject): the send ledger and the replies read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ManifestError, display_path
from .classify import AUTO_REPLY, BOUNCE, REPLY, WEAK
from .store import Store


@dataclass
class Row:
    candidate: str
    slug: str
    sent: str = ""  # when the last send of it was accepted ("" : not sent)
    bounced: list[dict[str, Any]] = field(default_factory=list)  # failures
    auto_replies: int = 0
    replies: list[dict[str, Any]] = field(default_factory=list)  # newest last

    @property
    def state(self) -> str:
        if self.replies:
            return "replied"
        if any(f["permanent"] for f in self.bounced):
            return "bounced"
        if self.auto_replies:
            return "auto-reply"
        return "sent" if self.sent else "not sent"

    def as_json(self) -> dict[str, Any]:
        return {"candidate": self.candidate, "slug": self.slug, "state": self.state,
                "sent": self.sent, "bounced": self.bounced,
                "auto_replies": self.auto_replies, "replies": self.replies}

    def cells(self) -> tuple[str, str, str, str, str]:
        bounced = "; ".join(f"{f['recipient']} {f['status'] or f['action']}"
                            + ("" if f["permanent"] else " (temporary)")
                            for f in self.bounced)
        replied = ""
        if self.replies:
            last = self.replies[-1]
            replied = f"{last['date'][:10]} {last['sender']}: {last['subject']}"
            if last["match"] in WEAK:
                replied += f" (matched by {last['match']})"
            if len(self.replies) > 1:
                replied += f" (+{len(self.replies) - 1} more)"
        return (self.candidate, self.sent[:16].replace("T", " "), bounced,
                str(self.auto_replies or ""), replied)


HEADERS = ("Candidate", "Sent", "Bounced", "Auto-replies", "Replied")


def status_rows(batch: Path) -> tuple[list[Row], list[dict[str, Any]]]:
    """Every candidate of the batch (the manifest's order) with what became of its
    letter, and the messages that match no letter."""
    from ..send.ledger import Ledger, delivery_failures, failures_since

    manifest = batch / "manifest.json"
    if not manifest.is_file():
        raise ManifestError(f"{display_path(batch)} is not a rendered batch (no "
                            "manifest.json): render it first, or give --out and --year")
    try:
        letters = json.loads(manifest.read_text(encoding="utf-8"))["letters"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"{display_path(manifest)} cannot be read ({exc}): render the "
                            "batch first") from None
    rows = {e["slug"]: Row(str(e.get("candidate", e["slug"])), e["slug"]) for e in letters}
    ledger = Ledger(batch)
    failures = delivery_failures(batch)
    for slug, record in ledger.last_sent.items():
        if slug in rows:
            rows[slug].sent = str(record.get("time", ""))
            # the bounces send counts too: of this send, to its addresses, carrying the
            # letter's Message-ID
            rows[slug].bounced = failures_since(record, failures.get(slug, []))
    unmatched = []
    for message in Store.open(batch).messages():
        row = rows.get(str(message.get("slug")))
        if row is None:
            unmatched.append(message)
        elif message["kind"] == BOUNCE:
            continue  # counted above, as send counts them
        elif message["kind"] == AUTO_REPLY:
            row.auto_replies += 1
        elif message["kind"] == REPLY:
            row.replies.append({k: message.get(k, "") for k in
                                ("date", "sender", "subject", "match", "file")})
    for row in rows.values():
        row.replies.sort(key=lambda r: r["date"])
    return list(rows.values()), unmatched


def export_csv(rows: list[Row]) -> bytes:
    """The rows as a CSV a coordinator can open in a spreadsheet (UTF-8 with a BOM, no
    cell a spreadsheet would run as a formula: a subject comes from outside)."""
    from ..mailfiles import csv_bytes

    out = []
    for row in rows:
        last = row.replies[-1] if row.replies else {}
        out.append((row.candidate, row.state, row.sent,
                    "; ".join(f"{f['recipient']} {f['status']}".strip() for f in row.bounced),
                    row.auto_replies, len(row.replies), last.get("date", ""),
                    last.get("sender", ""), last.get("subject", "")))
    return csv_bytes(("candidate", "state", "sent", "bounced", "auto_replies", "replies",
                      "last_reply_date", "last_reply_from", "last_reply_subject"), out)


def proof_rows(batch: Path) -> dict[str, list[tuple[str, str]]]:
    """What the proof sheet shows of each letter once sent: slug -> its rows (nothing
    for a batch that was never sent)."""
    if not (batch / "send-ledger.jsonl").exists():
        return {}
    rows, _unmatched = status_rows(batch)
    out: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        _candidate, sent, bounced, auto, replied = row.cells()
        shown = [("Sent", sent or "not sent")]
        if bounced:
            shown.append(("Bounced", bounced))
        if auto:
            shown.append(("Auto-replies", auto))
        if replied:
            shown.append(("Replied", replied))
        out[row.slug] = shown
    return out
