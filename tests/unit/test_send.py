"""The send ledger, the message as transmitted, the SMTP settings a run resolves and the
dry run's table, with inline data. (Against a real SMTP server: e2e/test_send_smtp.py.)"""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from letterforge.commands._table import table
from letterforge.config import SmtpSettings
from letterforge.errors import SendError, UsageError
from letterforge.send.ledger import LEDGER, Ledger
from letterforge.send.smtp import SmtpConfig, settings, wire_bytes

RECORD = {"candidate": "Cuba", "slug": "cuba", "file": "email/cuba.eml", "sha256": "ab",
          "state": "sent", "time": "2013-11-05T10:00:00Z", "recipients": ["c@example.org"]}


def _ledger(tmp_path: Path, text: str) -> Ledger:
    (tmp_path / LEDGER).write_bytes(text.encode())
    return Ledger(tmp_path)


def line(**changes: object) -> str:
    return json.dumps({**RECORD, **changes}) + "\n"


@pytest.mark.parametrize(("damage", "why"), [
    ("<<<<<<< HEAD\n", "merge-conflict marker"),
    ("=======\n", "merge-conflict marker"),
    (">>>>>>> theirs\n", "merge-conflict marker"),
    (line().rstrip("\n") + ",\n", "is not one JSON object (Extra data"),
    ("[1, 2]\n", "is not a JSON object"),
    ('{"state": "sent"}\n', "has no letter"),
    (line(state="delivered"), "has no known state"),
    ('{"slug": "cu\n', "is not one JSON object"),  # cut short, but not the last line
])
def test_a_damaged_line_is_an_error_with_its_line(tmp_path: Path, damage: str,
                                                  why: str) -> None:
    with pytest.raises(SendError) as caught:
        _ledger(tmp_path, line(slug="mexico") + damage + line())
    (problem,) = caught.value.problems
    assert problem.path.endswith(LEDGER) and problem.line == 2
    assert why in problem.message and "Nothing was sent" in problem.message


def test_a_last_line_cut_short_is_passed_over_and_ended_for_good(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, line(slug="mexico") + '{"slug": "cuba", "sta')
    assert set(ledger.last) == {"mexico"}
    ledger.append(dict(RECORD))
    ledger.close()
    again = Ledger(tmp_path)  # the cut-short line is no longer the last: still fine
    assert set(again.last_sent) == {"mexico", "cuba"}
    lines = (tmp_path / LEDGER).read_text().splitlines()
    assert json.loads(lines[2])["cut_short"] == 2


def test_a_last_line_that_is_not_a_cut_short_record_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SendError, match=r":2: a git merge-conflict marker"):
        _ledger(tmp_path, line() + ">>>>>>> theirs")


def test_empty_lines_record_nothing(tmp_path: Path) -> None:
    assert set(_ledger(tmp_path, line() + "\n\n" + line(slug="mexico")).last) == {
        "cuba", "mexico"}


def test_a_partial_send_counts_as_sent_to_those_who_got_it(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, line(state="partial", refused={"x@example.org": "550 no"}))
    assert ledger.last_sent["cuba"]["state"] == "partial"


EML = (b"From: a@example.org\r\nTo: b@example.org\r\nBcc: secret@example.org,\r\n"
       b" other@example.org\r\nSubject: Open letter\r\n"
       b"Date: Tue, 05 Nov 2013 00:00:00 +0000\r\nMessage-ID: <x@example.org>\r\n"
       b"\r\nDate: in the body stays\r\n")


def test_the_transmitted_message_is_dated_now_without_bcc() -> None:
    when = "Wed, 02 Jul 2025 09:30:00 +0000"
    wire = wire_bytes(EML, when)
    msg = message_from_bytes(wire, policy=policy.default)
    assert msg["Date"] == when and msg["Message-ID"] == "<x@example.org>"
    assert b"secret@" not in wire and b"other@" not in wire
    assert wire.endswith(b"\r\n\r\nDate: in the body stays\r\n")
    assert wire.count(b"Date: ") == 2
    assert wire_bytes(EML) == EML.replace(
        b"Bcc: secret@example.org,\r\n other@example.org\r\n", b"")


def test_a_message_without_date_gets_one() -> None:
    eml = EML.replace(b"Date: Tue, 05 Nov 2013 00:00:00 +0000\r\n", b"")
    msg = message_from_bytes(wire_bytes(eml, "Wed, 02 Jul 2025 09:30:00 +0000"),
                             policy=policy.default)
    assert msg["Date"] == "Wed, 02 Jul 2025 09:30:00 +0000"



NOT_SET = SmtpSettings()  # a campaign file without [smtp], or no campaign file


def _settings(campaign: SmtpSettings = NOT_SET, really: bool = True,
              **options: object) -> SmtpConfig | None:
    given: dict[str, object] = {"host": None, "port": None, "security": None, "user": None,
                                "timeout": 30.0, "password_env": "LF_TEST_PASSWORD",
                                "password_command": None, **options}
    return settings(campaign, really=really, **given)  # type: ignore[arg-type]


def test_smtp_settings_come_from_the_options_then_the_campaign_file_then_defaults(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LF_TEST_PASSWORD", raising=False)
    assert _settings() == SmtpConfig("localhost", 587, "starttls")
    assert _settings(security="tls") == SmtpConfig("localhost", 465, "tls")
    assert _settings(security="none") == SmtpConfig("localhost", 25, "none")
    monkeypatch.setenv("LF_TEST_PASSWORD", "s3cret")
    from_file = SmtpSettings("smtp.example.org", 2525, "tls", "staff@example.org")
    assert _settings(from_file) == SmtpConfig("smtp.example.org", 2525, "tls",
                                              "staff@example.org", "s3cret")
    assert _settings(from_file, host="other.example.org", port=465, user="me@example.org",
                     timeout=5.0) == SmtpConfig("other.example.org", 465, "tls",
                                                "me@example.org", "s3cret", 5.0)


def test_a_dry_run_connects_to_nothing_but_its_options_are_checked() -> None:
    assert _settings(really=False, host="smtp.example.org") is None
    with pytest.raises(UsageError, match="--security: 'ssl' is not starttls, tls or none"):
        _settings(really=False, security="ssl")


def test_a_user_without_a_password_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LF_TEST_PASSWORD", raising=False)
    with pytest.raises(SendError, match="no password for staff@example.org: set "
                                        "LF_TEST_PASSWORD or give --password-command"):
        _settings(user="staff@example.org")


ROWS = [("Bosnia and Herzegovina", "mission.bosnia-and-herzegovina@example.org, "
         "desk@example.org", "pending", ""),
        ("Mexico", "mission.mexico@example.org", "unknown",
         "a run stopped while handing it to the server: check whether it arrived, then "
         "--mark-sent or --resend")]
HEADER = ("Candidate", "Recipients", "State", "Note")


@pytest.mark.parametrize("width", [200, 120, 80, 60, 40])
def test_the_table_fits_the_width_and_keeps_every_word(width: int) -> None:
    lines = table(HEADER, ROWS, width).splitlines()
    assert max(len(x) for x in lines) <= width
    words = " ".join(lines).split()
    for cell in [*HEADER, *(c for r in ROWS for c in r)]:
        for word in cell.split():
            assert word in words or width <= 60  # narrow: long words may be broken


def test_a_table_that_fits_is_not_wrapped() -> None:
    lines = table(HEADER, ROWS, 400).splitlines()
    assert len(lines) == 4 and lines[3].startswith("Mexico   ")  # header, rule, 2 rows


def test_at_80_columns_addresses_are_kept_whole() -> None:
    lines = table(HEADER, ROWS, 80).splitlines()
    assert any("mission.bosnia-and-herzegovina@example.org," in x for x in lines)
