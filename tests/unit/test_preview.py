"""The parts of preview and proof that need no server, browser or PDF: comparing letters,
the e-mail view, what is watched, the socket, and the missing extra. (The preview's
state on a rendered campaign and page images: e2e/test_preview_state.py; in a browser:
e2e/test_preview_browser.py.)"""

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


class _Letters:
    """The few parts of a Preview the web app reads, for its guard's tests."""

    year = 2013
    revision = 0
    view = None

    def __init__(self) -> None:
        from letterforge.models import Candidate, Source

        self.candidates = [Candidate(2013, "Mexico", "Mexico", ("m@example.org",), "mexico",
                                     {}, Source("candidates.csv", 2))]
        self.selected: list[str] = []

    def state(self) -> dict[str, object]:
        return {"selected": self.selected[-1] if self.selected else "mexico"}

    def select(self, slug: str) -> None:
        self.selected.append(slug)


PORT = 8765
TOKEN = "t" * 43


def _ask(app: object, method: str, path: str, headers: dict[str, str],
         body: bytes = b"") -> tuple[int, bytes]:
    """One request through the ASGI app, as uvicorn hands it over: (status, body)."""
    import asyncio

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "server": ("127.0.0.1", PORT),
             "client": ("127.0.0.1", 40000),
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    sent: list[dict[str, object]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # type: ignore[operator]
    status = next(int(m["status"]) for m in sent  # type: ignore[call-overload]
                  if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent  # type: ignore[misc]
                            if m["type"] == "http.response.body")


def _app() -> tuple[object, _Letters]:
    import threading

    from letterforge.preview.server import make_app

    letters = _Letters()
    return make_app(letters, threading.Event(), PORT, TOKEN), letters  # type: ignore[arg-type]


OWN = {"Host": f"127.0.0.1:{PORT}", "Origin": f"http://127.0.0.1:{PORT}",
       "Content-Type": "application/json", "X-Letterforge-Token": TOKEN}


def test_the_page_carries_its_token_and_is_served_to_its_own_names() -> None:
    app, _ = _app()
    status, body = _ask(app, "GET", "/", {"Host": f"127.0.0.1:{PORT}"})
    assert status == 200 and f'data-token="{TOKEN}"'.encode() in body
    assert _ask(app, "GET", "/api/state", {"Host": f"localhost:{PORT}"})[0] == 200


@pytest.mark.parametrize("host", ["attacker.example:8765", f"127.0.0.1:{PORT + 1}", ""])
def test_another_host_is_refused_dns_rebinding(host: str) -> None:
    """A page on attacker.example whose name now resolves to 127.0.0.1 sends its own
    name as the Host: it reads nothing, not even the page."""
    app, _ = _app()
    for path in ("/", "/api/state", "/events"):
        status, body = _ask(app, "GET", path, {"Host": host} if host else {})
        assert status == 421, path
        assert b"answers only to" in body


@pytest.mark.parametrize(("change", "status"), [
    ({"X-Letterforge-Token": None}, 403),  # a cross-site form: no token
    ({"X-Letterforge-Token": "guess"}, 403),
    ({"Origin": "http://attacker.example"}, 403),
    ({"Content-Type": "text/plain"}, 415),  # a "simple" cross-site POST
    ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
])
def test_a_change_must_come_from_the_page_itself(change: dict[str, str | None],
                                                  status: int) -> None:
    app, letters = _app()
    headers = {k: v for k, v in {**OWN, **change}.items() if v is not None}
    got, _ = _ask(app, "POST", "/api/candidate", headers, b'{"slug": "mexico"}')
    assert got == status
    assert letters.selected == []  # nothing changed
    assert _ask(app, "POST", "/api/docx/1", headers, b"{}")[0] == status


def test_the_page_s_own_request_changes_the_letter() -> None:
    app, letters = _app()
    assert _ask(app, "POST", "/api/candidate", OWN, b'{"slug": "mexico"}')[0] == 200
    assert letters.selected == ["mexico"]
    no_origin = {k: v for k, v in OWN.items() if k != "Origin"}  # a browser may omit it
    assert _ask(app, "POST", "/api/candidate", no_origin, b'{"slug": "mexico"}')[0] == 200


@pytest.mark.parametrize("body", [b"", b"not json", b"[1]", b'{"slug": 3}',
                                  b'{"slug": "atlantis"}', b"\xff\xfe"])
def test_a_body_it_cannot_read_is_400_not_a_crash(body: bytes) -> None:
    app, letters = _app()
    status, answer = _ask(app, "POST", "/api/candidate", OWN, body)
    assert status == 400 and b"error" in answer
    assert letters.selected == []


def test_nothing_changes_on_get() -> None:
    app, letters = _app()
    assert _ask(app, "GET", "/api/candidate", {"Host": f"127.0.0.1:{PORT}"})[0] == 405
    assert _ask(app, "GET", "/api/docx/1", {"Host": f"127.0.0.1:{PORT}"})[0] == 405
    assert letters.selected == []


def test_a_connection_that_sends_nothing_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real uvicorn with the preview's protocol: a client that connects and says
    nothing does not hold the connection open."""
    import socket
    import threading
    import time

    import uvicorn

    from letterforge.preview import server as preview_server

    monkeypatch.setattr(preview_server, "IDLE_TIMEOUT", 0.5)

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("no request was sent")

    sock = preview_server.bind(None)
    config = uvicorn.Config(app, log_level="warning", lifespan="off",
                            http=preview_server.idle_protocol())
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not srv.started:
            time.sleep(0.02)
        client = socket.create_connection(sock.getsockname(), timeout=10)
        started = time.monotonic()
        assert client.recv(1) == b""  # closed by the server
        assert time.monotonic() - started < 5
        client.close()
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_a_proof_made_from_another_manifest_is_out_of_date(tmp_path: Path) -> None:
    """The proof names the manifest it was made from (HTML keywords; the PDF's
    Keywords, read by pdfium): after a render that changed the manifest, it is said to
    be out of date; a proof of an older letterforge, by its age."""
    import hashlib
    import os

    from letterforge.proof import MADE_FROM, PROOF_HTML, outdated_proofs

    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"year": 2013}')
    current = hashlib.sha256(manifest.read_bytes()).hexdigest()
    page = '<html><head><meta name="keywords" content="{}{}"></head></html>'
    (tmp_path / PROOF_HTML).write_text(page.format(MADE_FROM, current))
    assert outdated_proofs(tmp_path) == []
    manifest.write_text('{"year": 2013, "letters": []}')
    assert outdated_proofs(tmp_path) == ["proof.html"]
    (tmp_path / PROOF_HTML).write_text("<html>no keywords</html>")  # an older letterforge
    os.utime(tmp_path / PROOF_HTML, (1, 1))
    assert outdated_proofs(tmp_path) == ["proof.html"]
    os.utime(manifest, (0, 0))
    assert outdated_proofs(tmp_path) == []
