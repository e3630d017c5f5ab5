"""Property: arbitrary Unicode in a CSV cell reaches the DOCX, the PDF and the e-mail
(subject, text body, attached PDF) unchanged, or is
rejected with a clear message naming the file, line and column. It never crashes.

The PDF side compares text extracted with pdftotext, which gives right-to-left scripts
in visual order, so those characters are left out of the PDF comparison (the DOCX
comparison keeps them), as are characters the letter's font cannot show.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import unicodedata
from email import message_from_bytes, policy
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import docx_text, normalise, pdf_text
from letterforge.config import Inputs, Options
from letterforge.errors import ValidationFailed
from letterforge.plan import prepare

TEMPLATE = "---\nlang: en-GB\ndate: 2013-11-05\ntitle: T\n---\n{{ candidate.name }}\n\n" \
           "{{ candidate.note }}\n"
EMAIL = "---\nfrom: Sender <s@example.org>\nsubject: 'T {{ candidate.name }}'\n---\n" \
        "{{ candidate.name }}\n\n{{ candidate.note }}\n"
CSS = "@page { size: A4; margin: 20mm } html { font-family: 'Liberation Serif' }"


@lru_cache(maxsize=1)
def font_chars() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    path = subprocess.run(["fc-match", "-f", "%{file}", "Liberation Serif"],
                          capture_output=True, text=True, check=True).stdout
    return frozenset(TTFont(path).getBestCmap())


def text_strategy() -> st.SearchStrategy[str]:
    markup = st.sampled_from(list("*_<>&[]\\`#-+.!|~=(){}:\"' \n\t\u00a0"))
    friendly = st.one_of(
        markup,
        st.characters(max_codepoint=0x24F, blacklist_categories=("Cs", "Cc")),
        st.characters(min_codepoint=0x370, max_codepoint=0x52F),  # Greek, Cyrillic
    )
    # anything at all (lone surrogates cannot be written to a file)
    anything = st.characters(blacklist_categories=("Cs",))
    return st.one_of(st.text(friendly, max_size=40),
                     st.text(st.one_of(friendly, anything), max_size=12))


def _comparable_in_pdf(text: str) -> bool:
    chars = font_chars()
    for ch in text:
        if ch.isspace():
            continue
        if unicodedata.bidirectional(ch) in ("R", "AL", "AN", "RLE", "RLO", "RLI", "FSI"):
            return False
        if ord(ch) not in chars or unicodedata.category(ch) in ("Cf", "Mn", "Me", "Mc"):
            return False
    return True


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("pdftotext") is None or shutil.which("fc-match") is None:
        pytest.skip("pdftotext / fc-match not installed (./setup.sh --test)")
    d = tmp_path_factory.mktemp("prop")
    (d / "templates").mkdir()
    (d / "templates" / "letter.md").write_text(TEMPLATE, encoding="utf-8")
    (d / "templates" / "letter.css").write_text(CSS, encoding="utf-8")
    (d / "templates" / "email.md").write_text(EMAIL, encoding="utf-8")
    (d / "signatories.csv").write_text("year,name\n2013,Org\n", encoding="utf-8")
    return d


def _nfc(text: str) -> str:
    return normalise(unicodedata.normalize("NFC", text))


@settings(max_examples=int(os.environ.get("LF_PROPERTY_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=text_strategy(), note=text_strategy())
def test_any_text_in_a_cell_prints_unchanged_or_is_rejected(workdir: Path, name: str,
                                                             note: str) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(  # as Excel writes it
        [["year", "name", "short_name", "email", "note"],
         ["2013", name, "Test", "t@example.org", note]])
    (workdir / "candidates.csv").write_text(buf.getvalue(), encoding="utf-8")
    inputs = Inputs(workdir / "candidates.csv", workdir / "signatories.csv",
                    workdir / "templates" / "letter.md")
    try:
        plan = prepare(inputs, Options(2013))
    except ValidationFailed as exc:
        event("rejected")
        for problem in exc.problems:
            assert problem.path.endswith("candidates.csv"), problem
            assert problem.line == 2, problem
            # a NUL byte marks the whole file as not text; anything else names its column
            assert problem.column in ("name", "note") or "NUL" in problem.message, problem
            assert problem.message
        return
    event("rendered")
    (candidate,) = plan.candidates
    rendered = plan.renderer()(candidate)
    expected = _nfc(f"{name.strip()} {note.strip()}")
    out = workdir / "out"
    out.mkdir(exist_ok=True)
    (out / "l.docx").write_bytes(rendered.files["docx/test.docx"])
    assert _nfc(docx_text(out / "l.docx")) == expected
    msg = message_from_bytes(rendered.files["email/test.eml"], policy=policy.default)
    assert _nfc(str(msg["Subject"])) == _nfc(f"T {name.strip()}")
    assert _nfc(msg.get_body(("plain",)).get_content()) == expected
    (attachment,) = msg.iter_attachments()
    assert attachment.get_content() == rendered.files["pdf/test.pdf"]
    if _comparable_in_pdf(name + note):
        (out / "l.pdf").write_bytes(rendered.files["pdf/test.pdf"])
        assert _nfc(pdf_text(out / "l.pdf", footer=False, wrapped=False)) == expected
