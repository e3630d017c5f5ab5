"""The e-mail writer: the sample's Mexico message compared with its golden headers and
MIME structure (tests/golden/eml/), and small inline messages: the same bytes every
time, the letter's PDF (and DOCX when asked) attached as given, Cc and Bcc, a subject in
another script. The PDF is a stand-in: this writer takes its bytes, not its module.

Regenerate the golden files after a deliberate change with
``LETTERFORGE_GOLDEN=update .venv/bin/python -m pytest tests/unit/test_writer_*.py
tests/e2e/test_pdf_writer.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from conftest import golden
from letterforge.letter import Renderer
from letterforge.models import Assets, Candidate, Source
from letterforge.parse import Document, EmailDocument, parse_markdown
from letterforge.writers import WRITERS


def test_eml_golden_headers_and_structure(mexico: tuple[Document, Renderer]) -> None:
    doc, renderer = mexico
    pdf = b"%PDF-1.7 stand-in"
    data = WRITERS["eml"].render(doc, renderer.job.assets, {"pdf": pdf})
    msg = message_from_bytes(data, policy=policy.default)
    lines = [f"{k}: {v}" for k, v in msg.items() if k.lower() != "content-type"]
    for part in msg.walk():
        lines.append(f"part: {part.get_content_type()} {part.get_filename() or ''}".rstrip())
    golden("eml/mexico-headers.txt", "\n".join(lines) + "\n")
    (attachment,) = msg.iter_attachments()
    assert attachment.get_content() == pdf


# ----- small inline messages --------------------------------------------------------

CAND = Candidate(2013, "Mexico", "Mexico", ("mission.mexico@example.org",), "mexico", {},
                 Source("c.csv", 2))
META = {"lang": "en", "timestamp": dt.datetime(2013, 11, 5, tzinfo=dt.UTC)}
HEADERS = {"from": "Open Letters <letters@example.org>",
           "to": ("mission.mexico@example.org", "desk.mexico@example.org"), "cc": (),
           "bcc": (), "reply_to": "", "subject": "Open letter to Mexico",
           "attachment": "Open letter 2013 - Mexico"}
PDF = b"%PDF-1.7 a stand-in for the letter"
ASSETS = Assets(Path("."), "letter.css", "")


def _message(attach_docx: bool = False, **headers: Any) -> bytes:
    email = EmailDocument(parse_markdown("Excellency,\n\nPlease find *attached* our "
                                         "letter.\n"), {**HEADERS, **headers}, attach_docx)
    doc = Document(parse_markdown("The letter.\n"), META, CAND, email)
    needed = {"pdf": PDF, "docx": b"PK a stand-in for the DOCX"}
    return WRITERS["eml"].render(doc, ASSETS, needed)


def test_the_same_letter_is_the_same_bytes_with_crlf_line_ends() -> None:
    one = _message()
    assert one == _message()
    assert b"\r\n" in one and b"\n" not in one.replace(b"\r\n", b"")
    msg = message_from_bytes(one, policy=policy.default)
    assert msg["Date"].datetime == META["timestamp"]
    assert msg["Message-ID"].startswith("<open-letter.2013.mexico.")
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg["To"] == "mission.mexico@example.org, desk.mexico@example.org"
    assert msg["Cc"] is None and msg["Bcc"] is None and msg["Reply-To"] is None
    assert msg["Content-Language"] == "en"


def test_a_changed_letter_gets_a_new_message_id() -> None:
    first = message_from_bytes(_message(), policy=policy.default)["Message-ID"]
    other = WRITERS["eml"].render(
        Document(parse_markdown("The letter.\n"), META, CAND, EmailDocument(
            parse_markdown("Excellency,\n\nA corrected letter.\n"), HEADERS, False)),
        ASSETS, {"pdf": PDF})
    assert message_from_bytes(other, policy=policy.default)["Message-ID"] != first


def test_text_and_html_bodies_and_the_pdf_attached_byte_for_byte() -> None:
    msg = message_from_bytes(_message(), policy=policy.default)
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html",
        "application/pdf"]
    assert "Please find attached our letter." in msg.get_body(("plain",)).get_content()
    assert "<em>attached</em>" in msg.get_body(("html",)).get_content()
    (attachment,) = msg.iter_attachments()
    assert attachment.get_filename() == "Open letter 2013 - Mexico.pdf"
    assert attachment.get_content() == PDF


def test_the_docx_is_attached_when_asked() -> None:
    assert WRITERS["eml"].requires(Document(
        parse_markdown("x\n"), META, CAND,
        EmailDocument(parse_markdown("x\n"), HEADERS, True))) == ("pdf", "docx")
    msg = message_from_bytes(_message(attach_docx=True), policy=policy.default)
    names = [a.get_filename() for a in msg.iter_attachments()]
    assert names == ["Open letter 2013 - Mexico.pdf", "Open letter 2013 - Mexico.docx"]


def test_cc_bcc_and_reply_to_are_headers_of_their_own() -> None:
    msg = message_from_bytes(_message(cc=("cc@example.org",), bcc=("archive@example.org",),
                                      reply_to="replies@example.org"),
                             policy=policy.default)
    assert (msg["Cc"], msg["Bcc"], msg["Reply-To"]) == (
        "cc@example.org", "archive@example.org", "replies@example.org")


def test_a_subject_in_another_script_keeps_its_spaces() -> None:
    subject = "رسالة مفتوحة إلى المملكة العربية السعودية"
    raw = _message(subject=subject)
    assert raw.isascii()
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == subject


@pytest.mark.parametrize(("name", "plain"), [
    ("Open letter 2013 - Côte d’Ivoire.pdf", "Open letter 2013 - Cote d'Ivoire.pdf"),
    ("Lettre « ouverte » — Türkiye.pdf", "Lettre ouverte - Turkiye.pdf"),
    ("المملكة العربية السعودية.pdf", "saudi-arabia.pdf"),  # no Latin spelling: the slug
    ("中国.docx", "saudi-arabia.docx"),
    ("Lettre à la très longue désignation de la République démocratique populaire lao"
     ".pdf", "Lettre a la tres longue designation de la Republique.pdf"),
])
def test_an_attachment_name_has_a_plain_ascii_fallback(name: str, plain: str) -> None:
    from letterforge.writers.eml import MAX_ASCII_NAME, ascii_filename

    got = ascii_filename(name, "saudi-arabia")
    assert got == plain and got.isascii() and len(got) <= MAX_ASCII_NAME
    assert '"' not in got and "\\" not in got


def test_both_names_reach_the_message_and_every_line_stays_short() -> None:
    """``filename*=`` (RFC 2231, UTF-8) for current clients, ``filename=`` in ASCII for
    older ones; ``name=`` on the Content-Type too; no header line over 78."""
    from email import message_from_bytes, policy
    from email.message import EmailMessage

    from letterforge.writers.eml import EML_POLICY, _attach, attachment_names

    msg = EmailMessage(policy=EML_POLICY)
    msg.set_content("x")
    name = "Lettre ouverte à la République démocratique du Congo — 2013, avec annexes.pdf"
    _attach(msg, b"%PDF-1.7", "pdf", name, "congo")
    raw = msg.as_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert attachment_names(raw) == (name,)
    (part,) = message_from_bytes(raw, policy=policy.compat32).get_payload()[1:]
    assert part.get_filename() == "Lettre ouverte a la Republique democratique du Congo.pdf"
    assert part.get_param("name") == part.get_filename()
    assert part.get_payload(decode=True) == b"%PDF-1.7"
