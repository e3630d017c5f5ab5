"""replies, stage by stage with inline messages: what a message is, which letter it
answers, how it is kept (once, a killed run's line passed over), and the per-candidate
rows of status. The IMAP side runs against Dovecot in tests/e2e/test_replies_imap.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from letterforge.config import parse_campaign
from letterforge.errors import InputError
from letterforge.replies.classify import (
    AUTO_REPLY,
    BOUNCE,
    REPLY,
    Letter,
    letters_of,
    read_message,
)
from letterforge.replies.status import export_csv, status_rows
from letterforge.replies.store import READ_LOG, Store

LETTERS = (
    Letter("mexico", "Mexico", frozenset({"<m1@lf>", "<m2@lf>"}),
           frozenset({"mission.mexico@sre.example", "desk@sre.example"})),
    Letter("cuba", "Cuba", frozenset({"<c1@lf>"}), frozenset({"mision@cuba.example"})),
    Letter("chile", "Chile", frozenset({"<h1@lf>"}),
           frozenset({"onu@chile.example", "archive@ngo.example"})),
    Letter("peru", "Peru", frozenset({"<p1@lf>"}),
           frozenset({"onu@peru.example", "archive@ngo.example"})),
)


def _mail(headers: str, body: str = "Thank you.\n") -> bytes:
    return (headers.strip() + "\nDate: Wed, 20 Nov 2013 09:30:00 -0500\n\n" + body).encode()


@pytest.mark.parametrize(("headers", "slug", "match"), [
    ("From: a@x.example\nSubject: Re: letter\nIn-Reply-To: <m2@lf>", "mexico", "thread"),
    ("From: a@x.example\nSubject: Re\nReferences: <old@x> <c1@lf>", "cuba", "thread"),
    ("From: Desk <DESK@sre.example>\nSubject: our answer", "mexico", "sender"),
    ("From: someone.else@cuba.example\nSubject: answer", "cuba", "domain"),
    # an address or a domain several letters share: never guessed
    ("From: archive@ngo.example\nSubject: copy", None, None),
    ("From: a@ngo.example\nSubject: copy", None, None),
    # a message that names two letters: a person decides
    ("From: a@x.example\nSubject: Re\nReferences: <c1@lf> <h1@lf>", None, None),
    ("From: stranger@nowhere.example\nSubject: hello", None, None),
])
def test_a_reply_is_matched_by_its_thread_else_its_sender_else_not_at_all(
        headers: str, slug: str | None, match: str | None) -> None:
    reading = read_message(_mail(headers), LETTERS)
    assert (reading.kind, reading.slug, reading.match) == (REPLY, slug, match)
    assert reading.date == "2013-11-20T14:30:00Z"


@pytest.mark.parametrize("headers", [
    "From: a@sre.example\nSubject: Re: letter\nAuto-Submitted: auto-replied",
    "From: a@sre.example\nSubject: Re: letter\nX-Autoreply: yes",
    "From: a@sre.example\nSubject: Re: letter\nPrecedence: auto_reply",
    "From: a@sre.example\nSubject: Automatic reply: Open letter",
    "From: a@sre.example\nSubject: Out of Office: Open letter",
    "From: a@sre.example\nSubject: Réponse automatique : lettre ouverte",
])
def test_auto_replies_are_told_apart(headers: str) -> None:
    reading = read_message(_mail(headers + "\nIn-Reply-To: <m1@lf>"), LETTERS)
    assert (reading.kind, reading.slug) == (AUTO_REPLY, "mexico")
    # Auto-Submitted: no is a person's reply
    plain = read_message(_mail("From: a@sre.example\nSubject: Re\nAuto-Submitted: no\n"
                               "In-Reply-To: <m1@lf>"), LETTERS)
    assert plain.kind == REPLY


DSN = """\
From: MAILER-DAEMON@mx.example (Mail Delivery System)
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

Delivery to the following recipients failed.

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; onu@chile.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

Final-Recipient: rfc822; <desk@sre.example>
Action: delayed
Status: 4.4.1
Diagnostic-Code: smtp; 451 4.4.1 try again later

--b
Content-Type: text/rfc822-headers

Message-ID: {mid}
Subject: Open letter

--b--
"""

EXIM = """\
From: Mail Delivery System <Mailer-Daemon@mx.peru.example>
To: open-letters@example.org
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: onu@peru.example

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  onu@peru.example
    host mx.peru.example [192.0.2.1]
    SMTP error from remote mail server after RCPT TO:<onu@peru.example>:
    550 5.1.1 User unknown

------ This is a copy of the message, including all the headers. ------

Subject: Open letter
"""


def test_a_delivery_status_notification_names_each_failed_recipient() -> None:
    reading = read_message(_mail(DSN.format(mid="<nothing@lf>")), LETTERS)
    assert reading.kind == BOUNCE
    assert [(f.recipient, f.status, f.action, f.permanent) for f in reading.failures] == [
        ("onu@chile.example", "5.1.1", "failed", True),
        ("desk@sre.example", "4.4.1", "delayed", False)]
    assert reading.failures[0].diagnostic == "550 5.1.1 user unknown"
    # two letters' addresses and no Message-ID of ours: unmatched, not guessed
    assert reading.slug is None
    # with the returned message's Message-ID: its letter
    assert read_message(_mail(DSN.format(mid="<h1@lf>")), LETTERS).slug == "chile"


def test_a_non_standard_bounce_is_recognised_and_matched_by_its_recipient() -> None:
    reading = read_message(EXIM.encode(), LETTERS)
    assert reading.kind == BOUNCE and (reading.slug, reading.match) == ("peru", "recipient")
    assert [(f.recipient, f.permanent) for f in reading.failures] == [
        ("onu@peru.example", True)]
    # a person's reply quoting a failed address is no bounce
    quoted = read_message(_mail("From: onu@peru.example\nSubject: Re: delivery",
                                EXIM.split("\n\n", 1)[1]), LETTERS)
    assert quoted.kind == REPLY


def test_a_malformed_message_is_read_not_a_crash() -> None:
    for data in (b"", b"\x00\xff garbage", b"From: <<<\nDate: yesterday\n\n",
                 b"Content-Type: multipart/report; report-type=delivery-status\n\n--x\n"):
        reading = read_message(data, LETTERS)
        assert reading.slug is None and reading.date == ""


def test_letters_of_the_send_ledger_keep_every_message_id_of_a_resend() -> None:
    records = [
        {"slug": "cuba", "candidate": "Cuba", "state": "sending", "message_id": "<c1@lf>",
         "recipients": ["Mision@Cuba.example"]},
        {"slug": "cuba", "candidate": "Cuba", "state": "sent", "message_id": "<c1@lf>",
         "recipients": ["Mision@Cuba.example"]},
        {"slug": "cuba", "candidate": "Cuba", "state": "sent", "message_id": "<c2@lf>",
         "recipients": ["mision@cuba.example"], "envelope": ["nueva@cuba.example"]},
        {"slug": "peru", "candidate": "Peru", "state": "failed", "message_id": "<p@lf>",
         "recipients": ["onu@peru.example"]},
    ]
    (cuba,) = letters_of(records)
    assert cuba.message_ids == {"<c1@lf>", "<c2@lf>"}
    assert cuba.addresses == {"mision@cuba.example", "nueva@cuba.example"}


def test_each_message_is_kept_once_and_a_killed_runs_line_is_read_again(
        tmp_path: Path) -> None:
    data = _mail("From: a@x.example\nSubject: Re\nIn-Reply-To: <m1@lf>")
    reading = read_message(data, LETTERS)
    store = Store.open(tmp_path)
    first = store.save("INBOX", 7, 3, data, reading)
    assert first["new"] and (tmp_path / first["file"]).read_bytes() == data
    assert first["file"].startswith("replies/mexico/2013-11-20-")
    # the same message in another folder: recorded, not saved again
    second = store.save("Archive", 9, 1, data, reading)
    assert not second["new"] and second["file"] == first["file"]
    store.close()
    assert len(list((tmp_path / "replies").rglob("*.eml"))) == 1
    assert Store.open(tmp_path).seen("INBOX", 7) == 3
    assert Store.open(tmp_path).seen("INBOX", 8) == 0  # UIDVALIDITY changed: read anew
    # killed while writing a message's file: the next run removes the temporary file
    # it left (and nothing else of the folder)
    saved = tmp_path / first["file"]
    leftover = saved.parent / f".{saved.name}.k3x_9q"
    leftover.write_bytes(data[:10])
    (saved.parent / ".notes").write_text("the user's")
    Store.open(tmp_path).close()  # status reads without the lock: removes nothing
    assert len(list(saved.parent.iterdir())) == 3
    Store.open(tmp_path).sweep()  # a replies run, holding the lock
    assert sorted(p.name for p in saved.parent.iterdir()) == [".notes", saved.name]
    # killed while writing a line: the line is passed over, the message read again
    log = tmp_path / "replies" / READ_LOG
    log.write_bytes(log.read_bytes() + b'{"folder": "INBOX", "uid')
    store = Store.open(tmp_path)
    assert len(store.messages()) == 1
    store.save("INBOX", 7, 4, data, reading)
    store.close()
    lines = log.read_bytes().splitlines()
    assert json.loads(lines[-1])["uid"] == 4 and lines[-2] == b'{"folder": "INBOX", "uid'
    # a damaged line elsewhere is said, with its line
    log.write_bytes(b"not json\n" + log.read_bytes())
    with pytest.raises(Exception, match="read.jsonl:1: is not a record letterforge wrote"):
        Store.open(tmp_path)


def test_status_rows_and_their_csv(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"letters": [
        {"slug": "cuba", "candidate": "Cuba"}, {"slug": "chile", "candidate": "Chile"},
        {"slug": "peru", "candidate": "Peru"}]}))
    (tmp_path / "send-ledger.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"slug": "cuba", "candidate": "Cuba", "state": "sent", "message_id": "<c1@lf>",
         "recipients": ["mision@cuba.example"], "time": "2013-11-05T10:00:00Z"},
        {"slug": "chile", "candidate": "Chile", "state": "sent", "message_id": "<h1@lf>",
         "recipients": ["onu@chile.example"], "time": "2013-11-05T10:01:00Z"}]))
    store = Store.open(tmp_path)
    reply = _mail("From: =?utf-8?q?Misi=C3=B3n?= <mision@cuba.example>\n"
                  "Subject: =cmd|' /C calc'!A0\nIn-Reply-To: <c1@lf>")
    store.save("INBOX", 1, 1, reply, read_message(reply, LETTERS))
    bounce = _mail(DSN.format(mid="<h1@lf>"))
    store.save("INBOX", 1, 2, bounce, read_message(bounce, LETTERS))
    store.close()
    rows, unmatched = status_rows(tmp_path)
    assert [(r.candidate, r.state) for r in rows] == [
        ("Cuba", "replied"), ("Chile", "bounced"), ("Peru", "not sent")]
    assert rows[0].sent == "2013-11-05T10:00:00Z" and unmatched == []
    text = export_csv(rows).decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text  # a subject from outside never runs as a formula
    assert "onu@chile.example 5.1.1" in text


def test_the_campaign_file_holds_the_mailbox_but_no_password(tmp_path: Path) -> None:
    path = tmp_path / "letterforge.toml"
    campaign = parse_campaign(b'[imap]\nhost = "imap.example.org"\nuser = "c@example.org"\n'
                              b'folders = "INBOX, Replies/2013"\n', path)
    assert campaign.imap.folders == ("INBOX", "Replies/2013")
    assert campaign.imap.host == "imap.example.org"
    with pytest.raises(InputError, match=r"letterforge.toml:2: unknown setting 'password'"):
        parse_campaign(b'[imap]\npassword = "x"\n', path)
    with pytest.raises(InputError, match=r":2: \[imap\] security is 'ssl'"):
        parse_campaign(b'[imap]\nsecurity = "ssl"\n', path)


def test_send_counts_a_permanent_bounce_since_the_last_send_as_refused(
        tmp_path: Path) -> None:
    """The bounces replies read: a letter the server took whose address then bounced for
    good is partly refused in send's view, and --resend goes to that address only; a
    bounce of an earlier send (before the letter went again) counts no more."""
    from letterforge.send.ledger import PARTIAL, SENT, Ledger, delivery_failures
    from letterforge.send.run import Outgoing, _resend_to, classify

    (tmp_path / "send-ledger.jsonl").write_text(json.dumps({
        "slug": "chile", "candidate": "Chile", "state": "sent", "sha256": "abc",
        "message_id": "<h1@lf>", "recipients": ["onu@chile.example", "cc@chile.example"],
        "time": "2013-11-05T10:00:00Z"}) + "\n")
    store = Store.open(tmp_path)
    bounce = DSN.format(mid="<h1@lf>").replace(
        "MIME-Version", "Date: Wed, 20 Nov 2013 09:30:00 -0500\nMIME-Version").encode()
    store.save("INBOX", 1, 1, bounce, read_message(bounce, LETTERS))
    store.close()

    def letter() -> Outgoing:
        return Outgoing("Chile", "chile", "email/chile.eml", b"", "abc", "<h1@lf>",
                        "a@ngo.example", ["onu@chile.example", "cc@chile.example"],
                        ["onu@chile.example"])

    bounces = delivery_failures(tmp_path)
    assert [(b["recipient"], b["permanent"]) for b in bounces["chile"]] == [
        ("onu@chile.example", True), ("desk@sre.example", False)]
    m = letter()
    classify([m], Ledger(tmp_path), bounces)
    assert m.state == PARTIAL and list(m.refused) == ["onu@chile.example"]
    assert "then bounced: onu@chile.example (bounced 5.1.1 550 5.1.1 user unknown)" in m.note
    assert _resend_to(m) == ["onu@chile.example"]
    # without the bounces, or sent again after the bounce: sent
    m = letter()
    classify([m], Ledger(tmp_path))
    assert m.state == SENT
    with open(tmp_path / "send-ledger.jsonl", "a") as fh:
        fh.write(json.dumps({"slug": "chile", "candidate": "Chile", "state": "sent",
                             "sha256": "abc", "message_id": "<h1@lf>",
                             "recipients": ["onu@chile.example", "cc@chile.example"],
                             "time": "2099-01-01T00:00:00Z"}) + "\n")
    m = letter()
    classify([m], Ledger(tmp_path), delivery_failures(tmp_path))
    assert m.state == SENT


#: real bounces (tests/data/bounces, from flufl.bounce's test data): file -> the failed
#: recipient, and whether the failure is permanent
REAL_BOUNCES = {
    "postfix_01.txt": ("xxxxx@local.ie", True),
    "exim_01.txt": ("userx@its.example.nl", True),
    "microsoft_01.txt": ("userx@example.com", True),  # Exchange
    "qmail_01.txt": ("userx@example.de", True),
    "simple_17.txt": ("userx@example.com", True),  # Gmail
    "yahoo_01.txt": ("userx@example.com", True),
    "simple_01.txt": ("bbbsss@example.com", True),  # MDaemon
    "dsn_01.txt": ("userx@example.com", True),
    "dsn_05.txt": ("userx@example.cz", False),  # delayed: temporary
}


@pytest.mark.parametrize("name", sorted(REAL_BOUNCES))
def test_real_bounces_name_their_failed_recipient_and_its_letter(name: str) -> None:
    recipient, permanent = REAL_BOUNCES[name]
    data = (Path(__file__).parents[1] / "data" / "bounces" / name).read_bytes()
    letters = (*LETTERS, Letter("target", "Target", frozenset({"<none@lf>"}),
                                frozenset({recipient})))
    reading = read_message(data, letters)
    assert reading.kind == BOUNCE
    failed = {f.recipient: f.permanent for f in reading.failures}
    assert failed.get(recipient) is permanent, reading.failures
    assert (reading.slug, reading.match) == ("target", "recipient")


@pytest.mark.parametrize("data", [
    b"From: <\nSubject: x\n\nhi\n",
    b"From: a@b.example\nMessage-ID: <\nSubject: x\n\nhi\n",
    b"From: a@b.example\nDate: Fri, 31 Dec 9999 23:59:59 -1200\nSubject: x\n\nhi\n",
    b"From: a@b.example\nDate: Fri, 31 Dec 2020 23:59:59 +9999\n\nhi\n",
    # a message/rfc822 nested 1000 deep, a multipart 1000 deep
    (b"From: mailer-daemon@y.example\nSubject: Undelivered\nContent-Type: message/rfc822\n\n"
     * 1000) + b"From: x@y.example\n\nbody\n",
    b"From: mailer-daemon@y.example\nSubject: Undelivered\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(1000))
    + b"Content-Type: text/plain\n\nx\n",
    # a bounce whose returned message has a Message-ID the parser chokes on
    b"From: MAILER-DAEMON@y.example\nSubject: Undelivered\nContent-Type: multipart/report;"
    b" report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status"
    b"\n\nReporting-MTA: dns; x\n\nFinal-Recipient: rfc822; onu@peru.example\nAction: failed"
    b"\nStatus: 5.1.1\n\n--b\nContent-Type: message/rfc822\n\nMessage-ID: <\nFrom: <\n\nx\n"
    b"--b--\n",
])
def test_no_message_stops_a_run(data: bytes) -> None:
    """Anyone can write to the campaign's inbox: a message the parser chokes on is read
    as far as it can be (a reply, matched to no letter unless its headers say), never an
    error that would stop every later run at the same message."""
    reading = read_message(data, LETTERS)
    assert reading.kind in (REPLY, BOUNCE)
    json.dumps(reading.as_json())


@pytest.mark.parametrize("data", [
    b"From: " + b",".join(b"a%d@x.example" % i for i in range(50_000)) + b"\n\nx\n",
    b"From: x@y.example\nSubject: " + b"A" * 1_000_000 + b"\nIn-Reply-To: "
    + b"<m1@lf> " * 100_000 + b"\n\nx\n",
    b"From: x@y.example\nContent-Type: multipart/mixed; boundary=b\n\n"
    + b"--b\nContent-Type: text/plain\n\nx\n" * 100_000 + b"--b--\n",
])
def test_a_huge_message_costs_little(data: bytes) -> None:
    """What is read of a message is bounded (MAX_HEADER, MAX_PARTS, MAX_BYTES): 50,000
    addresses in a From took 30 s, a 1 MB subject 11 s."""
    import time

    start = time.process_time()
    reading = read_message(data, LETTERS)
    assert time.process_time() - start < 5, "a hostile message must not cost seconds"
    assert len(reading.subject) <= 4096


def test_what_comes_from_outside_is_shown_without_control_characters() -> None:
    """A subject, a sender or a bounce's words with terminal escape sequences, line
    breaks or direction overrides: replaced, so that replies, status and the CSV show
    text, never steer the terminal."""
    data = (b"From: =?utf-8?q?x=1B=5B2J?= <a@x.example>\nSubject: "
            b"=?utf-8?q?=1B]0;PWNED=07=1B[2J=1B[31mRED=0Aline=E2=80=AEevil?=\n"
            b"In-Reply-To: <m1@lf>\n\nhi\n")
    reading = read_message(data, LETTERS)
    assert not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or c == "\u202e"
                   for c in reading.subject + reading.sender)
    assert "PWNED" in reading.subject and "RED" in reading.subject


def test_send_counts_no_forged_or_future_bounce(tmp_path: Path) -> None:
    """Only a bounce carrying the letter's own Message-ID counts for send and status (an
    address is easily named by anyone); its date is never later than when replies read
    it (a bounce dated 2035 would otherwise outlast every resend); and both count the
    same failures: of the last send's own addresses."""
    from letterforge.send.ledger import Ledger, delivery_failures, failures_since

    (tmp_path / "manifest.json").write_text(json.dumps({"letters": [
        {"slug": "chile", "candidate": "Chile"}, {"slug": "peru", "candidate": "Peru"}]}))
    (tmp_path / "send-ledger.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"slug": "chile", "candidate": "Chile", "state": "sent", "message_id": "<h1@lf>",
         "recipients": ["onu@chile.example"], "time": "2026-01-05T10:00:00Z"},
        {"slug": "peru", "candidate": "Peru", "state": "sent", "message_id": "<p1@lf>",
         "recipients": ["onu@peru.example"], "time": "2026-01-05T10:00:00Z"}]))
    future = DSN.format(mid="<h1@lf>").replace(
        "MIME-Version", "Date: Mon, 1 Jan 2035 00:00:00 +0000\nMIME-Version").encode()
    store = Store.open(tmp_path)
    store.save("INBOX", 1, 1, future, read_message(future, LETTERS))
    # Exim's bounce names Peru's address, without Peru's Message-ID: forgeable
    store.save("INBOX", 1, 2, EXIM.encode(), read_message(EXIM.encode(), LETTERS))
    store.close()
    failures = delivery_failures(tmp_path)
    assert "peru" not in failures
    (chile,) = [f for f in failures["chile"] if f["permanent"]]
    assert chile["date"] <= dt_now()
    ledger = Ledger(tmp_path)
    resent = {**ledger.last_sent["chile"], "time": "2099-01-01T00:00:00Z"}
    assert failures_since(resent, failures["chile"]) == []
    rows, _ = status_rows(tmp_path)
    assert [(r.slug, r.state) for r in rows] == [("chile", "bounced"), ("peru", "sent")]
    # status shows only the failures of Chile's own addresses, as send counts them
    assert [f["recipient"] for f in rows[0].bounced] == ["onu@chile.example"]


def dt_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("line", [
    {"folder": "INBOX", "uid": 1},  # no kind
    {"folder": "INBOX", "uidvalidity": 1, "uid": "abc", "digest": "d", "kind": "reply"},
    {"folder": "INBOX", "uidvalidity": 1, "uid": 1, "digest": "d", "kind": "bounce",
     "file": "f", "sender": "", "subject": "", "date": 5, "message_id": ""},
    {"folder": "INBOX", "uidvalidity": 1, "uid": 1, "digest": "d", "kind": "bounce",
     "file": "f", "sender": "", "subject": "", "date": "", "message_id": "",
     "failures": "oops"},
])
def test_a_damaged_read_log_is_one_clear_error(tmp_path: Path, line: dict) -> None:
    from letterforge.errors import OutputError

    (tmp_path / "replies").mkdir()
    (tmp_path / "replies" / READ_LOG).write_text(json.dumps(line) + "\n")
    with pytest.raises(OutputError, match=r"read.jsonl:1: is not a record letterforge"):
        Store.open(tmp_path)


@pytest.mark.parametrize(("args", "said"), [
    (["replies", "--port", "99999"], "--port: 99999 is not a port number"),
    (["replies", "--timeout", "0"], "--timeout: 0 is not a number of seconds above 0"),
    (["status", "--export", "no/such/folder/status.csv"],
     "--export: the folder"),
])
def test_option_mistakes_are_usage_errors(tmp_path: Path, monkeypatch, args: list[str],
                                          said: str) -> None:
    from typer.testing import CliRunner

    from letterforge.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner(env={"LETTERFORGE_IMAP_PASSWORD": "x"}).invoke(
        app, [*args, "--year", "2013", "--host", "127.0.0.1", "--user", "u"]
        if args[0] == "replies" else [*args, "--year", "2013"])
    assert result.exit_code == 2, result.output
    assert said in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "no").exists()


def test_a_copy_of_a_letter_itself_is_read_but_not_kept(tmp_path: Path) -> None:
    """A campaign that Bcc's its own inbox, or a Sent folder read by mistake: a message
    with a letter's own Message-ID is that letter, recorded as read, not a reply."""
    from letterforge.replies.classify import COPY

    data = _mail("From: open-letters@ngo.example\nTo: onu@chile.example\n"
                 "Subject: Open letter\nMessage-ID: <h1@lf>")
    reading = read_message(data, LETTERS)
    assert (reading.kind, reading.slug) == (COPY, "chile")
    store = Store.open(tmp_path)
    record = store.save("Sent", 1, 1, data, reading)
    store.close()
    assert record["file"] == "" and not (tmp_path / "replies" / "chile").exists()
    assert Store.open(tmp_path).seen("Sent", 1) == 1
    (tmp_path / "manifest.json").write_text(json.dumps({"letters": [
        {"slug": "chile", "candidate": "Chile"}]}))
    rows, unmatched = status_rows(tmp_path)
    assert rows[0].replies == [] and unmatched == []


def test_without_a_batch_nothing_is_asked_and_one_line_is_said(tmp_path: Path,
                                                                monkeypatch) -> None:
    from typer.testing import CliRunner

    from letterforge.cli import app

    monkeypatch.chdir(tmp_path)
    for args in (["replies", "--year", "2013", "--host", "127.0.0.1", "--user", "u"],
                 ["status", "--year", "2013"]):
        result = CliRunner().invoke(app, args)  # no password given: not asked for
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("error: out/2013 is not a rendered batch")
        assert len(result.stderr.splitlines()) == 1
