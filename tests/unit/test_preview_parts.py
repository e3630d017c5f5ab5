"""The parts of preview and proof that need no server or browser: comparing letters, the
e-mail view, page images, what is watched, the socket, and the missing extra."""

from __future__ import annotations

import sys
import textwrap
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from typer.testing import CliRunner

from letterforge.cli import app
from letterforge.config import Inputs
from letterforge.errors import LetterforgeError, UsageError
from letterforge.preview import compare, require
from letterforge.proof import _recipients

LETTER_A = textwrap.dedent("""\
    Excellency,

    As a candidate, it is incumbent on Mexico to set an example. We write to you
    regarding your candidacy. Thank you!
""")
LETTER_B = LETTER_A.replace("Mexico", "the Russian Federation")


def test_sentences_split_paragraphs_and_sentences() -> None:
    assert compare.sentences(LETTER_A) == [
        "Excellency,",
        "As a candidate, it is incumbent on Mexico to set an example.",
        "We write to you regarding your candidacy.",
        "Thank you!",
    ]


def test_varying_sentences_are_those_the_other_letter_lacks() -> None:
    marked = compare.varying_sentences(LETTER_A, LETTER_B)
    assert [s for s, varies in marked if varies] == [
        "As a candidate, it is incumbent on Mexico to set an example."]
    assert not any(v for _, v in compare.varying_sentences(LETTER_A, None))


def test_differing_words_and_their_snippets() -> None:
    ours, ref = compare.words(LETTER_B), compare.words(LETTER_A)
    marks = compare.differing_words(ours, ref)
    assert [w for w, m in zip(ours, marks, strict=True) if m] == ["the", "Russian",
                                                                 "Federation"]
    (snippet,) = compare.snippets(ours, marks, context=2)
    assert snippet.words == (("incumbent", False), ("on", False), ("the", True),
                             ("Russian", True), ("Federation", True), ("to", False),
                             ("set", False))
    assert snippet.cut_before and snippet.cut_after
    assert compare.snippets(ref, compare.differing_words(ref, ref)) == []


def test_proof_shows_to_and_cc_never_bcc() -> None:
    msg = EmailMessage(policy=default)
    msg["To"] = "mission.mexico@example.org"
    msg["Cc"] = "desk@example.org"
    msg["Bcc"] = "archive@example.org"
    msg.set_content("Excellency,")
    to, cc = _recipients(msg.as_bytes())
    assert (to, cc) == ("mission.mexico@example.org", "desk@example.org")
    assert _recipients(None) == ("", "")


def test_email_view_headers_text_and_attachments() -> None:
    from letterforge.preview.state import EmailView

    msg = EmailMessage(policy=default)
    msg["From"] = "ISHR <open-letters@example.org>"
    msg["To"] = "mission.mexico@example.org"
    msg["Subject"] = "Open letter to Mexico"
    msg.set_content("Excellency,\n\nPlease find attached.\n")
    msg.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf",
                       filename="Open letter 2013 - Mexico.pdf")
    view = EmailView.of(msg.as_bytes())
    assert view.headers == (("From", "ISHR <open-letters@example.org>"),
                            ("To", "mission.mexico@example.org"),
                            ("Subject", "Open letter to Mexico"))
    assert view.text == "Excellency,\n\nPlease find attached.\n"
    assert view.attachments == ("Open letter 2013 - Mexico.pdf",)


def test_page_images_text_and_count_of_a_pdf() -> None:
    pytest.importorskip("pypdfium2")
    from weasyprint import HTML

    from letterforge.preview.pages import page_count, page_images, pdf_text

    pdf = HTML(string="<p>Excellency,</p><p style='break-before: page'>Yours</p>"
               ).write_pdf()
    assert isinstance(pdf, bytes)
    assert page_count(pdf) == 2
    images = page_images(pdf, width=200)
    assert [(i.width, i.png[:8]) for i in images] == [(200, b"\x89PNG\r\n\x1a\n")] * 2
    assert images[0].height > 200  # a portrait page
    assert len(page_images(pdf, width=100, first=1)) == 1
    assert pdf_text(pdf).split() == ["Excellency,", "Yours"]


def test_the_watcher_watches_the_inputs_only(tmp_path: Path) -> None:
    from letterforge.preview.watcher import watched

    (tmp_path / "templates" / "images").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    inputs = Inputs(tmp_path / "candidates.csv", tmp_path / "signatories.csv",
                    tmp_path / "templates" / "letter.md")
    folders, counts = watched(inputs)
    assert folders == sorted([tmp_path, tmp_path / "templates",
                              tmp_path / "templates" / "images"])
    assert counts(tmp_path / "candidates.csv")
    assert counts(tmp_path / "signatories.csv")
    assert counts(tmp_path / "templates" / "letter.css")
    assert counts(tmp_path / "templates" / "images" / "logo.png")
    assert not counts(tmp_path / "notes.txt")
    assert not counts(tmp_path / "out" / "2013" / "manifest.json")


def test_the_server_listens_on_127_0_0_1_only() -> None:
    from letterforge.preview.server import bind

    sock = bind(None)
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        with pytest.raises(UsageError, match=rf"--port: cannot listen on 127.0.0.1:{port}"):
            bind(port)
    finally:
        sock.close()


@pytest.mark.parametrize(("argv", "lacking"), [
    (["preview", "--year", "2013", "--no-open"], "starlette"),
    (["proof", "--year", "2013"], "pypdfium2"),
])
def test_without_the_extra_the_command_says_how_to_install_it(
        argv: list[str], lacking: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, lacking, None)  # as if it were not installed
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1
    assert result.output == (
        f"error: letterforge {argv[0]} needs the optional package {lacking}, which is not "
        "installed: install the preview extra: pip install 'letterforge[preview]' (in a "
        "letterforge checkout, ./setup.sh does it)\n")


def test_require_names_every_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.setitem(sys.modules, "watchfiles", None)
    with pytest.raises(LetterforgeError, match="packages uvicorn, watchfiles, which are"):
        require("preview")
