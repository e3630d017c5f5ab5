"""The e-mail batch: standard messages a mail client's parser opens, the PDF attached
byte for byte, batch.mbox and outbox.csv, and no way to inject a header."""

from __future__ import annotations

import csv
import io
import json
import mailbox
import re
import shutil
import subprocess
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from letterforge.cli import app
from letterforge.writers.eml import attachment_names


def _parse(path: Path):
    return message_from_bytes(path.read_bytes(), policy=policy.default)


def test_every_candidate_has_an_eml_with_its_pdf(batch_2013: Path) -> None:
    manifest = json.loads((batch_2013 / "manifest.json").read_text())
    assert len(list((batch_2013 / "email").glob("*.eml"))) == 17
    for entry in manifest["letters"]:
        paths = {f["format"]: f["path"] for f in entry["files"]}
        msg = _parse(batch_2013 / paths["eml"])
        (att,) = list(msg.iter_attachments())
        assert att.get_content_type() == "application/pdf"
        assert att.get_content() == (batch_2013 / paths["pdf"]).read_bytes()
        assert entry["candidate"] in str(msg["Subject"])


def test_mexico_message_headers_and_bodies(batch_2013: Path) -> None:
    msg = _parse(batch_2013 / "email" / "mexico.eml")
    assert msg["From"].addresses[0].addr_spec == "open-letters@example.org"
    assert [a.addr_spec for a in msg["To"].addresses] == [
        "mission.mexico@example.org", "hrc.desk.mexico@example.org"]
    assert str(msg["Subject"]) == (
        "Open letter to Mexico: candidacy for the Human Rights Council 2013")
    assert re.fullmatch(r"<open-letter\.2013\.mexico\.[0-9a-f]{12}@example\.org>",
                        str(msg["Message-ID"]))
    assert msg["Date"].datetime.isoformat() == "2013-11-05T00:00:00+00:00"
    assert str(msg["Content-Language"]) == "en-GB"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "regarding Mexico’s candidacy" in " ".join(text.split())
    assert "regarding Mexico’s candidacy" in html and '<html lang="en-GB">' in html
    (att,) = msg.iter_attachments()
    assert att.get_filename() == "Open letter 2013 - Mexico.pdf"
    raw = (batch_2013 / "email" / "mexico.eml").read_bytes()
    assert all(b < 128 for b in raw), "the .eml must be 7-bit clean"
    assert b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n")


@pytest.mark.skipif(shutil.which("munpack") is None,
                    reason="munpack (Debian: mpack) is not installed; ./setup.sh --test does")
def test_munpack_gets_the_pdf_back_byte_identical(batch_2013: Path, tmp_path: Path) -> None:
    subprocess.run(["munpack", "-q", "-C", str(tmp_path),
                    str(batch_2013 / "email" / "russian-federation.eml")],
                   check=True, capture_output=True)
    (pdf,) = tmp_path.glob("*.pdf")  # munpack writes spaces in names as "X"
    assert pdf.read_bytes() == (batch_2013 / "pdf" / "russian-federation.pdf").read_bytes()


def test_mbox_and_outbox(batch_2013: Path) -> None:
    box = mailbox.mbox(str(batch_2013 / "batch.mbox"), create=False)
    messages = list(box)
    assert len(messages) == 17
    by_id = {m["Message-ID"]: m for m in messages}
    mexico = next(m for i, m in by_id.items() if i.startswith("<open-letter.2013.mexico."))
    eml = _parse(batch_2013 / "email" / "mexico.eml")
    got = message_from_bytes(mexico.as_bytes(), policy=policy.default)
    assert next(got.iter_attachments()).get_content() == \
        next(eml.iter_attachments()).get_content()
    assert mexico.get_from().startswith("open-letters@example.org Tue Nov  5 00:00:00 2013")
    rows = list(csv.DictReader(io.StringIO(
        (batch_2013 / "outbox.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == 17
    row = next(r for r in rows if r["candidate"] == "Mexico")
    data = (batch_2013 / "email" / "mexico.eml").read_bytes()
    import hashlib

    assert row["to"] == "mission.mexico@example.org, hrc.desk.mexico@example.org"
    assert row["file"] == "email/mexico.eml" and int(row["size"]) == len(data)
    assert row["sha256"] == hashlib.sha256(data).hexdigest()


def _render(sample: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.chdir(sample)
    return CliRunner().invoke(app, ["render", "--year", "2013", *args])


def test_non_ascii_names_and_cc_bcc(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (sample / "candidates.csv").write_text(
        "year,name,short_name,email,cc,bcc\n"
        "2013,Côte d'Ivoire,Côte d'Ivoire,mission@example.org,desk@example.org,"
        "archive@example.org\n"
        "2013,Türkiye,Türkiye,t1@example.org;t2@example.org,,\n", encoding="utf-8")
    result = _render(sample, monkeypatch, "--format", "eml")
    assert result.exit_code == 0, result.output
    raw = (sample / "out" / "2013" / "email" / "cote-d-ivoire.eml").read_bytes()
    assert all(b < 128 for b in raw)  # encoded words, RFC 2231 file name
    msg = message_from_bytes(raw, policy=policy.default)
    assert str(msg["Subject"]).startswith("Open letter to Côte d'Ivoire:")
    assert str(msg["Cc"]) == "desk@example.org" and str(msg["Bcc"]) == "archive@example.org"
    # the full name for clients that read RFC 2231, a plain ASCII one for older clients
    assert attachment_names(raw) == ("Open letter 2013 - Côte d'Ivoire.pdf",)
    assert next(msg.iter_attachments()).get_filename() == "Open letter 2013 - Cote d'Ivoire.pdf"
    # one apostrophe per name: the data's straight one, not a curly one beside it
    assert "regarding Côte d'Ivoire's candidacy" in " ".join(
        msg.get_body(("plain",)).get_content().split())
    msg = _parse(sample / "out" / "2013" / "email" / "turkiye.eml")
    assert [a.addr_spec for a in msg["To"].addresses] == ["t1@example.org", "t2@example.org"]
    # the batch's shared files never show who was copied in secret
    for shared in ("batch.mbox", "outbox.csv", "manifest.json"):
        assert b"archive@example.org" not in (sample / "out" / "2013" / shared).read_bytes()
    assert b"desk@example.org" in (sample / "out" / "2013" / "batch.mbox").read_bytes()


def test_a_line_break_in_a_header_value_is_refused(sample: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    letter = sample / "templates" / "letter.md"
    text = letter.read_text(encoding="utf-8")
    letter.write_text(text.replace(
        'subject: "Open letter to {{ candidate.short_name }}:',
        'subject: "Open letter\\nBcc: everyone@example.org\\nto {{ candidate.short_name }}:'),
        encoding="utf-8")
    result = _render(sample, monkeypatch)
    assert result.exit_code == 1
    assert "subject contains a line break, which would let it add e-mail headers" in \
        result.stderr
    assert not (sample / "out").exists()


def test_bad_sender_is_reported_by_check(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    email = sample / "templates" / "email.md"
    email.write_text(email.read_text(encoding="utf-8").replace(
        "<open-letters@example.org>", "<open-letters at example.org>"), encoding="utf-8")
    monkeypatch.chdir(sample)
    result = CliRunner().invoke(app, ["check", "--year", "2013"])
    assert result.exit_code == 1
    assert "templates/email.md: from: " in result.stderr
    assert "is not a valid sender address" in result.stderr


def test_attach_docx(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    email = sample / "templates" / "email.md"
    email.write_text(email.read_text(encoding="utf-8").replace(
        "attach_docx: false", "attach_docx: true"), encoding="utf-8")
    result = _render(sample, monkeypatch, "--only", "Cuba", "--format", "eml")
    assert result.exit_code == 0, result.output
    msg = _parse(sample / "out" / "2013" / "email" / "cuba.eml")
    names = [a.get_filename() for a in msg.iter_attachments()]
    assert names == ["Open letter 2013 - Cuba.pdf", "Open letter 2013 - Cuba.docx"]
    assert not (sample / "out" / "2013" / "docx").exists()  # attached, not asked for as a file
