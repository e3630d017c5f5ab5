"""What a send run leaves for people: the letters to retry or check, as a CSV."""

from __future__ import annotations

from pathlib import Path

from ..files import write_atomic
from ..mailfiles import csv_bytes
from .ledger import FAILED, NEEDS_ATTENTION
from .run import SendReport


def export_problems(report: SendReport, path: Path) -> int:
    """Write the messages that need a retry or a look to a CSV; returns how many. The
    ``refused`` column lists the addresses the server refused (Bcc ones included: the
    file is for the campaign staff who fix them)."""
    rows = [[m.candidate, ", ".join(m.to), m.path, m.state, m.note, ", ".join(m.refused)]
            for m in report.messages if m.state in (FAILED, *NEEDS_ATTENTION)]
    write_atomic(path, csv_bytes(["candidate", "to", "file", "state", "reason", "refused"],
                                 rows))
    return len(rows)
