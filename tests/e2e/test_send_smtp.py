"""letterforge send against a real SMTP server on 127.0.0.1 (aiosmtpd), not a mock."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from typer.testing import CliRunner

from conftest import ROOT
from letterforge.cli import app
from letterforge.errors import SendError
from letterforge.send.ledger import batch_lock
from letterforge.send.smtp import SmtpConfig, connect


class Recorder:
    """An SMTP server's handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse: set[str] = set()
        self.drop_at_rcpt_of: int | None = None  # close the connection at this message
        # take this message (1, 2...) but hold the reply to its DATA until `release` is
        # set; `holding` is set while it is held
        self.hold_data_of: int | None = None
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.drop_at_rcpt_of is not None and len(self.messages) + 1 >= self.drop_at_rcpt_of:
            server.transport.close()
            return "421 4.3.0 closing"
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.original_content or envelope.content))
        if self.hold_data_of == len(self.messages):  # taken, but the reply is held
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        return f"250 2.0.0 Ok: queued as Q{len(self.messages)}"

    def ids(self) -> list[str]:
        return [str(message_from_bytes(raw, policy=policy.default)["Message-ID"])
                for _, _, raw in self.messages]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"campaign"
          and auth_data.password == b"s3cret")
    return AuthResult(success=ok, handled=False)


pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def server():
    started: list[Controller] = []

    def start(*, auth: bool = False, tls: ssl.SSLContext | None = None,
              starttls: ssl.SSLContext | None = None) -> tuple[Recorder, int]:
        handler = Recorder()
        port = _free_port()
        kwargs: dict = {}
        if auth:
            kwargs = {"authenticator": _authenticator, "auth_required": True,
                      "auth_require_tls": False}
        if tls is not None:
            kwargs["ssl_context"] = tls
        if starttls is not None:
            kwargs.update(tls_context=starttls, require_starttls=True)
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return handler, port

    yield start
    for c in started:
        c.stop()


@pytest.fixture
def batch(batch_2013: Path, tmp_path: Path) -> Path:
    """A private copy of the rendered 2013 batch (send writes its ledger into it)."""
    dest = tmp_path / "out" / "2013"
    shutil.copytree(batch_2013, dest)
    return dest


# The module's own small campaign, rendered once for the module (conftest's
# small_batch, -j 1) and copied for each test that takes it: two letters with Cc and
# Bcc recipients and one without
SMALL = ("year,name,short_name,email,cc,bcc\n"
         "2013,Mexico,Mexico,m@example.org,desk.m@example.org,archive@example.org\n"
         "2013,Cuba,Cuba,c@example.org,desk.c@example.org,\n"
         "2013,Viet Nam,Viet Nam,vn@example.org,,\n")


@pytest.fixture
def cc_batch(small_rendered: Path) -> Path:
    """A private copy of the module's small batch (send writes its ledger into it)."""
    return small_rendered / "out" / "2013"


def run(batch: Path, port: int, *args: str, env: dict[str, str] | None = None):
    # a wide terminal, so that what a test looks for is on one line of the table
    runner = CliRunner(env={"COLUMNS": "250", **(env or {})})
    return runner.invoke(app, ["send", "--year", "2013", "--out", str(batch.parent),
                               "--host", "127.0.0.1", "--port", str(port),
                               "--security", "none", "--rate", "0", *args])


def _ledger(batch: Path) -> list[dict]:
    path = batch / "send-ledger.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _manifest_sha(batch: Path, rel: str) -> str:
    manifest = json.loads((batch / "manifest.json").read_text())
    return next(f["sha256"] for e in manifest["letters"] for f in e["files"]
                if f["path"] == rel)


def _eml_sha(batch: Path, slug: str) -> str:
    return _manifest_sha(batch, f"email/{slug}.eml")


def _csv_order() -> list[str]:
    rows = csv.DictReader(io.StringIO((ROOT / "candidates.csv").read_text(encoding="utf-8")))
    return [r["short_name"] for r in rows if r["year"] == "2013"]


def test_dry_run_is_the_default(batch: Path, server) -> None:
    handler, port = server()
    result = run(batch, port)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("pending") == 17
    assert "mission.mexico@example.org, hrc.desk.mexico@example.org" in result.stdout
    assert "Dry run, nothing sent: 17 pending" in result.stderr
    assert handler.messages == [] and not (batch / "send-ledger.jsonl").exists()


def test_dry_run_table_fits_the_terminal_in_the_order_of_the_csv(batch: Path, server) -> None:
    _, port = server()
    result = run(batch, port, env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines and max(len(x) for x in lines) <= 60
    # each row's first line names its state (wrapped cells go on below), in CSV order
    firsts = [x.split("  ")[0] for x in lines[1:] if " pending" in x]
    names = _csv_order()
    assert [n.split()[0] for n in names] == [f.split()[0] for f in firsts]
    assert names[0] != sorted(names)[0] or names[1] != sorted(names)[1]  # not alphabetical
    wide = run(batch, port, env={"COLUMNS": "250"}).stdout.splitlines()
    assert len(wide) == 19  # the header, its rule and a line per letter


def test_quiet_prints_nothing_but_errors(batch: Path, server) -> None:
    _, port = server()
    result = run(batch, port, "-q")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    eml = batch / "email" / "cuba.eml"
    eml.write_bytes(eml.read_bytes().replace(b"Excellency", b"Dear friend"))
    result = run(batch, port, "-q")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("1 letter needs a look")
    assert len(result.stderr.splitlines()) == 1


def test_help_speaks_of_sending() -> None:
    result = CliRunner(env={"COLUMNS": "100"}).invoke(app, ["send", "--help"])
    assert "Year of the batch to send" in result.stdout
    assert "Election year to render" not in result.stdout
    assert "<" not in result.stdout and "x>=0" not in result.stdout


def test_send_delivers_each_message_once_and_reruns_send_nothing(batch: Path, server) -> None:
    handler, port = server()
    eml_before = (batch / "email" / "mexico.eml").read_bytes()
    result = run(batch, port, "--send")
    assert result.exit_code == 0, result.output
    assert "Sent 17 letters this run; now 17 sent." in result.stderr
    assert len(handler.messages) == 17 and len(set(handler.ids())) == 17
    mail_from, rcpts, raw = next(m for m in handler.messages if b"mexico@" in m[2])
    assert mail_from == "open-letters@example.org"
    assert rcpts == ["mission.mexico@example.org", "hrc.desk.mexico@example.org"]
    msg = message_from_bytes(raw, policy=policy.default)
    assert next(msg.iter_attachments()).get_content() == (batch / "pdf" / "mexico.pdf").read_bytes()
    # dated when it was sent; the .eml keeps its stable date, and the Message-ID
    assert (batch / "email" / "mexico.eml").read_bytes() == eml_before
    on_disk = message_from_bytes(eml_before, policy=policy.default)
    assert msg["Message-ID"] == on_disk["Message-ID"]
    assert parsedate_to_datetime(msg["Date"]).year > 2013 == parsedate_to_datetime(
        on_disk["Date"]).year
    assert raw.count(b"\nDate:") == 1
    states = [r["state"] for r in _ledger(batch)]
    assert states.count("sent") == 17 and states.count("sending") == 17
    sent = {r["slug"]: r for r in _ledger(batch) if r["state"] == "sent"}
    assert sent["mexico"]["date"] == msg["Date"]
    assert all(r["reply"].startswith("250 2.0.0 Ok") for r in sent.values())

    again = run(batch, port, "--send")
    assert again.exit_code == 0, again.output
    assert len(handler.messages) == 17
    assert "Sent 0 letters this run; now 17 sent" in again.stderr


def test_limit_then_rerun(batch: Path, server) -> None:
    handler, port = server()
    result = run(batch, port, "--send", "--limit", "1")
    assert result.exit_code == 0
    # the letters over --limit are still to send: pending, not "skipped"
    assert "Sent 1 letter this run; now 16 pending, 1 sent." in result.stderr
    assert run(batch, port, "--send", "--limit", "4").exit_code == 0
    assert len(handler.messages) == 5
    assert run(batch, port, "--send").exit_code == 0
    assert len(handler.messages) == 17 and len(set(handler.ids())) == 17


def test_rate_limit_spaces_the_messages(batch: Path, server) -> None:
    handler, port = server()
    start = time.monotonic()
    assert run(batch, port, "--send", "--limit", "3", "--rate", "120").exit_code == 0
    assert time.monotonic() - start >= 1.0  # two gaps of 0.5 s
    assert len(handler.messages) == 3


def test_bcc_is_an_envelope_recipient_not_a_header(cc_batch: Path, server) -> None:
    handler, port = server()
    result = run(cc_batch, port, "--send", "--only", "Mexico")
    assert result.exit_code == 0, result.output
    ((_, rcpts, raw),) = handler.messages
    assert rcpts == ["m@example.org", "desk.m@example.org", "archive@example.org"]
    assert b"archive@example.org" not in raw and b"\nBcc:" not in raw


def test_refused_recipient_is_recorded_and_the_batch_goes_on(batch: Path, server,
                                                              tmp_path: Path) -> None:
    handler, port = server()
    handler.refuse = {"mission.cuba@example.org"}
    failed_csv = tmp_path / "failed.csv"
    result = run(batch, port, "--send", "--export-failed", str(failed_csv))
    assert result.exit_code == 1
    assert len(handler.messages) == 16
    assert "Recipient address rejected" in result.stderr
    cuba = [r for r in _ledger(batch) if r["slug"] == "cuba"]
    assert [r["state"] for r in cuba] == ["failed"]
    rows = list(csv.reader(io.StringIO(failed_csv.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["candidate", "to", "file", "state", "reason", "refused"]
    assert rows[1][0] == "Cuba" and rows[1][5] == "mission.cuba@example.org"
    assert len(rows) == 2
    handler.refuse = set()  # the address was fixed on the server side
    assert run(batch, port, "--send").exit_code == 0
    assert len(handler.messages) == 17 and len(set(handler.ids())) == 17


def test_a_refused_cc_or_bcc_is_a_partial_send_resent_to_them_only(
    cc_batch: Path, server, tmp_path: Path
) -> None:
    handler, port = server()
    handler.refuse = {"archive@example.org", "desk.c@example.org"}  # a Bcc and a Cc
    failed_csv = tmp_path / "failed.csv"
    result = run(cc_batch, port, "--send", "--export-failed", str(failed_csv))
    assert result.exit_code == 1
    assert [r for _, r, _ in handler.messages] == [
        ["m@example.org", "desk.m@example.org"], ["c@example.org"], ["vn@example.org"]]
    last = {r["slug"]: r for r in _ledger(cc_batch)}
    assert last["mexico"]["state"] == last["cuba"]["state"] == "partial"
    assert last["viet-nam"]["state"] == "sent"  # no Cc, no Bcc: sent as usual
    assert list(last["mexico"]["refused"]) == ["archive@example.org"]
    assert last["mexico"]["refused"]["archive@example.org"].startswith("550")
    assert last["mexico"]["accepted"] == ["m@example.org", "desk.m@example.org"]
    assert list(last["cuba"]["refused"]) == ["desk.c@example.org"]
    assert "2 partial" in result.stderr
    rows = list(csv.DictReader(io.StringIO(failed_csv.read_text(encoding="utf-8-sig"))))
    assert [(r["candidate"], r["state"], r["refused"]) for r in rows] == [
        ("Mexico", "partial", "archive@example.org"), ("Cuba", "partial", "desk.c@example.org")]
    assert "refused archive@example.org (550" in rows[0]["reason"]

    dry = run(cc_batch, port)  # needs a look: exit 1, and a rerun sends nothing
    assert dry.exit_code == 1 and "2 partial" in dry.stderr
    assert "--resend 'Mexico' to send it to them only" in dry.stdout
    assert run(cc_batch, port, "--send").exit_code == 1
    assert len(handler.messages) == 3

    handler.refuse = set()  # the addresses were fixed
    result = run(cc_batch, port, "--send", "--resend", "Mexico", "--resend", "Cuba")
    assert result.exit_code == 0, result.output
    assert [r for _, r, _ in handler.messages[3:]] == [["archive@example.org"],
                                                      ["desk.c@example.org"]]
    assert len(set(handler.ids())) == 3  # the same messages, to the refused ones only
    assert "3 sent" in run(cc_batch, port).stderr


def test_server_requiring_authentication(batch: Path, server) -> None:
    handler, port = server(auth=True)
    result = run(batch, port, "--send")
    assert result.exit_code == 1
    assert "530" in result.stderr and "give --user" in result.stderr
    result = run(batch, port, "--send", "--user", "campaign",
                 env={"LETTERFORGE_SMTP_PASSWORD": "wrong"})
    assert result.exit_code == 1
    assert "authentication failed for campaign" in result.stderr
    assert "Traceback" not in result.output
    assert handler.messages == [] and _ledger(batch) == []
    result = run(batch, port, "--send", "--user", "campaign", "--limit", "2",
                 env={"LETTERFORGE_SMTP_PASSWORD": "s3cret"})
    assert result.exit_code == 0, result.output
    result = run(batch, port, "--send", "--user", "campaign",
                 "--password-command", "printf s3cret")
    assert result.exit_code == 0, result.output
    assert len(handler.messages) == 17 and len(set(handler.ids())) == 17


def test_no_password_is_an_error_not_a_prompt(batch: Path, server) -> None:
    _, port = server(auth=True)
    env = {k: v for k, v in os.environ.items() if k != "LETTERFORGE_SMTP_PASSWORD"}
    result = run(batch, port, "--send", "--user", "campaign", env=env)
    assert result.exit_code == 1
    assert "no password for campaign: set LETTERFORGE_SMTP_PASSWORD" in result.stderr


def _self_signed(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_sending_over_tls(batch: Path, server, tmp_path: Path, security: str) -> None:
    cert, context = _self_signed(tmp_path)
    handler, port = (server(tls=context) if security == "tls" else server(starttls=context))
    args = ["send", "--year", "2013", "--out", str(batch.parent), "--host", "127.0.0.1",
            "--port", str(port), "--security", security, "--send", "--limit", "1"]
    untrusted = CliRunner().invoke(app, args)
    assert untrusted.exit_code == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    assert handler.messages == []
    trusted = CliRunner(env={"SSL_CERT_FILE": str(cert)}).invoke(app, args)
    assert trusted.exit_code == 0, trusted.output
    assert len(handler.messages) == 1


def test_dropped_connection_stops_and_loses_nothing(batch: Path, server) -> None:
    handler, port = server()
    handler.drop_at_rcpt_of = 4
    result = run(batch, port, "--send")
    assert result.exit_code == 1
    assert "connection to the server was lost" in result.stderr
    assert len(handler.messages) == 3
    sent = [r["slug"] for r in _ledger(batch) if r["state"] == "sent"]
    assert len(sent) == 3
    handler.drop_at_rcpt_of = None
    assert run(batch, port, "--send").exit_code == 0
    assert len(handler.messages) == 17 and len(set(handler.ids())) == 17


def test_killed_mid_batch_never_sends_twice(batch: Path, server) -> None:
    handler, port = server()
    handler.hold_data_of = 5  # the server takes the 5th message and holds its reply
    cmd = [sys.executable, "-m", "letterforge.cli", "send", "--year", "2013", "--out",
           str(batch.parent), "--host", "127.0.0.1", "--port", str(port), "--security",
           "none", "--rate", "0", "--send"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert handler.holding.wait(120), "the client never reached the 5th message"
        proc.send_signal(signal.SIGKILL)  # while it waits for the server's reply
        proc.communicate(timeout=60)
    finally:
        handler.release.set()
    assert len(handler.messages) == 5  # the server took the 5th; the client never knew
    last = {r["slug"]: r["state"] for r in _ledger(batch)}
    (slug,) = [s for s, state in last.items() if state == "sending"]
    assert slug.encode() + b"@" in handler.messages[4][2]

    result = run(batch, port, "--send")  # the rest, never the one in doubt
    assert result.exit_code == 1
    ids = handler.ids()
    assert len(ids) == 17 and len(ids) == len(set(ids)), "a message was sent twice"
    dry = run(batch, port)
    assert dry.exit_code == 1 and "16 sent, 1 unknown" in dry.stderr
    assert "check whether it arrived" in dry.stdout
    # it did arrive: a person says so
    assert run(batch, port, "--send", "--mark-sent", slug).exit_code == 0
    final = run(batch, port)
    assert final.exit_code == 0 and "17 sent" in final.stderr
    assert len(handler.ids()) == 17


def test_an_interrupted_handover_is_unknown_and_not_resent(batch: Path, server) -> None:
    handler, port = server()
    assert run(batch, port, "--send", "--limit", "1").exit_code == 0
    # What a run killed between 'sending' and the server's reply leaves behind,
    # and a last line cut short by the kill:
    line = {**_ledger(batch)[0], "slug": "mexico", "file": "email/mexico.eml",
            "sha256": _eml_sha(batch, "mexico"), "state": "sending"}
    with open(batch / "send-ledger.jsonl", "a") as fh:
        fh.write(json.dumps(line) + "\n" + '{"slug": "cu')
    result = run(batch, port, "--send")
    assert result.exit_code == 1  # something needs a look
    assert len(handler.messages) == 16
    assert not any(b"mexico@" in raw for _, _, raw in handler.messages)
    dry = run(batch, port)
    assert dry.exit_code == 1
    assert "1 unknown" in dry.stderr and "check whether it arrived" in dry.stdout
    assert run(batch, port, "--send", "--resend", "Mexico").exit_code == 0
    assert len(handler.messages) == 17
    assert run(batch, port).exit_code == 0  # the ended cut-short line is no damage


@pytest.mark.parametrize("damage", [
    "<<<<<<< HEAD\n",
    "{}\n",
    "[1, 2]\n",
    '{"slug": "cuba", "state": "sent"},\n',
])
def test_a_damaged_ledger_line_stops_send_and_sends_nothing(batch: Path, server,
                                                            damage: str) -> None:
    handler, port = server()
    assert run(batch, port, "--send", "--only", "Mexico").exit_code == 0
    ledger = batch / "send-ledger.jsonl"
    lines = ledger.read_text().splitlines(keepends=True)
    ledger.write_text("".join([lines[0], damage, *lines[1:]]))
    before = ledger.read_bytes()
    for args in [(), ("--send",)]:
        result = run(batch, port, *args)
        assert result.exit_code == 1
        assert "out/2013/send-ledger.jsonl:2: " in result.stderr
        assert "Nothing was sent" in result.stderr and "Traceback" not in result.output
    assert len(handler.messages) == 1 and ledger.read_bytes() == before


def test_a_letter_changed_after_sending_is_reported_not_resent(
    small_rendered: Path, server
) -> None:
    small = small_rendered  # the module's small batch, rendered with -j 1
    handler, port = server()
    batch = small / "out" / "2013"
    assert run(batch, port, "--send").exit_code == 0
    assert len(handler.messages) == 3
    csv = small / "candidates.csv"  # the name as it reads in a sentence, corrected
    csv.write_text(csv.read_text().replace("2013,Mexico,", "2013,the United Mexican States,"))
    assert CliRunner().invoke(app, ["render", "--year", "2013", "-j", "1",
                                    "--only", "Mexico"]).exit_code == 0
    assert (batch / "send-ledger.jsonl").exists()  # a render keeps the ledger
    result = run(batch, port, "--send")
    assert result.exit_code == 1
    assert len(handler.messages) == 3
    dry = run(batch, port)
    assert dry.exit_code == 1
    assert "changed since" in dry.stdout and "1 changed" in dry.stderr
    assert run(batch, port, "--send", "--resend", "Mexico").exit_code == 0
    assert len(handler.messages) == 4


def test_edited_eml_is_not_sent(batch: Path, server) -> None:
    handler, port = server()
    eml = batch / "email" / "cuba.eml"
    eml.write_bytes(eml.read_bytes().replace(b"Excellency", b"Dear friend"))
    result = run(batch, port, "--send")
    assert result.exit_code == 1
    assert len(handler.messages) == 16
    dry = run(batch, port)
    assert dry.exit_code == 1 and "edited after rendering" in dry.stdout


def _attachment_sha(raw: bytes) -> str:
    msg = message_from_bytes(raw, policy=policy.default)
    return hashlib.sha256(next(msg.iter_attachments()).get_content()).hexdigest()


def test_an_edited_docx_or_pdf_is_not_sent_until_resent_as_rendered(batch: Path,
                                                                    server) -> None:
    handler, port = server()
    docx, pdf = batch / "docx" / "cuba.docx", batch / "pdf" / "mexico.pdf"
    docx.write_bytes(docx.read_bytes() + b"edited in Word")
    pdf.write_bytes(pdf.read_bytes() + b"%edited")
    dry = run(batch, port, env={"COLUMNS": "1000"})
    assert dry.exit_code == 1 and "2 edited" in dry.stderr
    cuba = next(x for x in dry.stdout.splitlines() if x.startswith("Cuba "))
    assert " edited " in cuba and "docx/cuba.docx changed after rendering" in cuba
    assert "render again, or --resend 'Cuba' to send the rendered PDF as is" in cuba
    result = run(batch, port, "--send")
    assert result.exit_code == 1 and len(handler.messages) == 15
    result = run(batch, port, "--send", "--resend", "Mexico", "--resend", "Cuba")
    assert result.exit_code == 0, result.output
    mexico = next(raw for _, _, raw in handler.messages if b"mexico@" in raw)
    assert _attachment_sha(mexico) == _manifest_sha(batch, "pdf/mexico.pdf")
    assert len(handler.messages) == 17 and len(set(handler.ids())) == 17


def test_no_batch(tmp_path: Path, server) -> None:
    _, port = server()
    result = run(tmp_path / "out" / "2013", port)
    assert result.exit_code == 1
    assert "run 'letterforge render --year 2013 --out " in result.stderr


def test_password_is_never_sent_in_clear_to_another_host() -> None:
    with pytest.raises(SendError, match="refusing to send the password"):
        connect(SmtpConfig("mail.example.org", 25, "none", "u", "p"))


def test_two_runs_cannot_send_the_same_batch(tmp_path: Path) -> None:
    batch = tmp_path / "2013"
    with batch_lock(batch), pytest.raises(SendError, match="another letterforge command"), \
            batch_lock(batch):
        pass


# ----- the module's small campaign (SMALL): a renamed candidate, a ledger cut short -----


def invoke(*args: str):
    # a wide terminal: send's table wraps its cells to fit COLUMNS
    return CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args))


def test_a_renamed_candidate_is_not_mailed_twice(small_rendered: Path) -> None:
    small = small_rendered  # rendered with -j 1
    assert invoke("send", "--year", "2013", "--mark-sent", "Viet Nam", "--send",
                  "--security", "none", "--port", "1", "--limit", "0").exit_code == 0
    csv = small / "candidates.csv"
    csv.write_text(csv.read_text().replace("Viet Nam,Viet Nam", "Viet Nam,Vietnam"))
    assert invoke("render", "--year", "2013", "-j", "1").exit_code == 0
    dry = invoke("send", "--year", "2013")
    assert "sent as email/viet-nam.eml" in dry.stdout
    line = next(ln for ln in dry.stdout.splitlines() if ln.startswith("Vietnam"))
    assert " changed " in line


def test_a_ledger_line_cut_mid_character_is_survived(small_rendered: Path) -> None:
    small = small_rendered  # rendered with -j 1
    ledger = small / "out" / "2013" / "send-ledger.jsonl"
    ledger.write_bytes('{"slug": "cuba", "state": "sent", "candidate": "Côte'.encode()[:-1])
    result = invoke("send", "--year", "2013", "--mark-sent", "Cuba", "--send",
                    "--security", "none", "--port", "1", "--limit", "0")
    assert result.exit_code == 0, result.output
    lines = ledger.read_bytes().split(b"\n")
    assert json.loads(lines[1])["cut_short"] == 1  # send says which line it ended
    assert json.loads(lines[2])["state"] == "marked-sent"
    assert "1 sent" in invoke("send", "--year", "2013").stderr
