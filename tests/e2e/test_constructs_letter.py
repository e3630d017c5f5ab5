"""A letter with a table, two footnotes, strikethrough and a nested block quote, rendered
through the CLI and read back with independent readers: pdftotext and pypdfium2 (the
notes at the foot of their reference's page), page-validation (PDF/UA-1), docx2python
(table cells, footnotes.xml), LibreOffice (opens the DOCX, notes on their page there
too) and the e-mail's text part (numbered notes at the end). Constructs no writer
renders stop ``check`` with the template's file and line."""

from __future__ import annotations

import re
import shutil
import subprocess
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import invoke_in, normalise
from letterforge.cli import app

SMALL = "year,name,short_name,email\n2013,Mexico,Mexico,mission.mexico@example.org\n"

TABLE = """
| Year | Vote on ~~the~~ resolution | Votes for |
|:-----|:-------------------------:|----------:|
| 2011 | *Abstained* | 1,204 |
| 2012 | **For**[^votes] | 37 |

> The Council shall uphold the highest standards.
>
> > Members shall fully cooperate with the Council, as nested quotes say twice.
"""
FIRST_NOTE = "Vote counts from the official records of the General Assembly."
SECOND_NOTE = "See HRC/RES/24/21, adopted without a vote."
DEFINITIONS = f"""
[^votes]: {FIRST_NOTE}
[^res]: {SECOND_NOTE}
"""


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample letter to Mexico with the constructs in, rendered once (-j 1)."""
    from conftest import ROOT

    folder = tmp_path_factory.mktemp("constructs")
    for name in ("candidates.csv", "signatories.csv"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "templates", folder / "templates")
    (folder / "candidates.csv").write_text(SMALL, encoding="utf-8")
    letter = folder / "templates" / "letter.md"
    # page 1: the table (with the first note in a cell), struck words and the quotes
    _edit(letter, "We expand on each of these areas of concern below.\n",
          "We expand on each of these areas of concern below.\n" + TABLE)
    # page 3: the second note, far from the first
    _edit(letter, "and the rule of law (", "and the rule of law[^res] (")
    _edit(letter, "\n{.closing}", DEFINITIONS + "\n{.closing}")
    # the e-mail gets a footnote too
    _edit(folder / "templates" / "email.md", "at your earliest convenience.",
          "at your earliest convenience.[^reply]\n\n[^reply]: A reply by e-mail is enough.")
    result = invoke_in(folder, "render", "--year", "2013", "-j", "1")
    assert result.exit_code == 0, result.output
    return folder / "out" / "2013"


def _pages(pdf: Path) -> list[str]:
    """The text of each page, by pdftotext (-layout)."""
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run([exe, "-layout", "-enc", "UTF-8", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [normalise(page) for page in out.split("\f")]


def _note_heights(pdf: Path, words: str) -> list[tuple[int, float]]:
    """(page index, height of the words' top above the page's bottom as a fraction of
    the page) for each place ``words`` is printed, by pypdfium2."""
    import pypdfium2 as pdfium

    found = []
    document = pdfium.PdfDocument(str(pdf))
    for index in range(len(document)):
        page = document[index]
        text = page.get_textpage()
        searcher = text.search(words)
        hit = searcher.get_next()
        while hit:
            _, _, _, top = text.get_charbox(hit[0])
            found.append((index, top / page.get_height()))
            hit = searcher.get_next()
    return found


def _assert_notes_at_the_foot_of_their_page(pdf: Path) -> None:
    pages = _pages(pdf)
    for reference, note in (("Votes for", FIRST_NOTE),
                            ("and the rule of law", SECOND_NOTE)):
        where = [i for i, text in enumerate(pages) if reference in text]
        assert len(where) == 1, (reference, where)
        heights = _note_heights(pdf, note[:30])
        assert [page for page, _ in heights] == where, (note, heights, where)
        assert heights[0][1] < 0.25, f"{note!r} is not at the foot of its page: {heights}"
    assert where[0] > 0, "the second note's reference should be on a later page"


def test_pdf_has_the_table_the_struck_words_the_quotes_and_notes_on_their_page(
        rendered: Path) -> None:
    import page as validator

    pdf = rendered / "pdf" / "mexico.pdf"
    text = " ".join(_pages(pdf))
    for words in ("Year Vote on the resolution Votes for", "2011 Abstained 1,204",
                  "The Council shall uphold the highest standards.",
                  "Members shall fully cooperate with the Council",
                  "1 " + FIRST_NOTE[:20], "2 " + SECOND_NOTE[:20]):
        assert words in text, words
    assert "[^" not in text and "|" not in text and "~~" not in text
    _assert_notes_at_the_foot_of_their_page(pdf)
    report = validator.validate_pdf_bytes(pdf.read_bytes(), profile="ua1")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]


def test_docx_has_a_real_table_and_word_footnotes(rendered: Path) -> None:
    import zipfile

    from docx2python import docx2python

    docx = rendered / "docx" / "mexico.docx"
    with docx2python(str(docx)) as doc:
        tables = [t for t in doc.body if len(t) > 1]  # docx2python: tables have rows
        notes = normalise(" ".join(_flat(doc.footnotes)))
    cells = [[normalise(" ".join(_flat(cell))) for cell in row]
             for table in tables for row in table]
    assert ["Year", "Vote on the resolution", "Votes for"] in cells
    assert ["2011", "Abstained", "1,204"] in cells
    assert FIRST_NOTE in notes and SECOND_NOTE in notes
    with zipfile.ZipFile(docx) as z:
        body = z.read("word/document.xml").decode()
        footnotes = z.read("word/footnotes.xml").decode()
    assert body.count("<w:footnoteReference ") == 2 and "<w:tblHeader/>" in body
    assert "<w:strike/>" in body
    assert 'w:type="separator" w:id="-1"' in footnotes


@pytest.mark.slow  # LibreOffice or Chromium: in CI (-m slow)
def test_libreoffice_opens_the_docx_with_the_table_and_the_notes(
        rendered: Path, tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    result = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path),
         str(rendered / "docx" / "mexico.docx")],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    converted = tmp_path / "mexico.pdf"
    text = " ".join(_pages(converted))
    for words in ("Year Vote on the resolution Votes for", "2011 Abstained 1,204",
                  "Members shall fully cooperate with the Council"):
        assert words in text, words
    _assert_notes_at_the_foot_of_their_page(converted)


def test_email_text_has_numbered_notes_at_the_end(rendered: Path) -> None:
    msg = message_from_bytes((rendered / "email" / "mexico.eml").read_bytes(),
                             policy=policy.default)
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "at your earliest convenience.[1]" in normalise(text)
    assert re.search(r"\n-{20}\n\n\[1\] A reply by e-mail is enough\.\n*$", text), text
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert '<li id="fn1">A reply by e-mail is enough.</li>' in html


def _flat(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    return [s for child in node for s in _flat(child)]  # type: ignore[attr-defined]


# ----- what check refuses ----------------------------------------------------------------

REFUSED = {
    "raw HTML block": ("<div>Signed</div>", "raw HTML is not supported"),
    "raw HTML line break": ("Yours<br>sincerely", "raw HTML is not supported"),
    "an HTML comment": ("<!-- a note to self -->", "raw HTML is not supported"),
    "an unused footnote": ("[^gone]: This note is never referenced.",
                           "the footnote [^gone] is defined here but never used"),
    "a reference without a note": ("As resolved[^nowhere].",
                                   "the footnote [^nowhere] has no definition"),
    "a math block": ("$$\nx^2\n$$", "math ($$...$$) is not supported"),
    "a table without its delimiter row": ("| Year | Vote |\n| 2011 | For |",
                                          "looks like a table row"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_check_refuses_what_no_writer_renders_with_its_line(
        case: str, sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    markdown, says = REFUSED[case]
    monkeypatch.chdir(sample)
    (sample / "candidates.csv").write_text(SMALL, encoding="utf-8")
    letter = sample / "templates" / "letter.md"
    before = "We expand on each of these areas of concern below.\n"
    lines = letter.read_text(encoding="utf-8").split("\n")
    line = lines.index(before.rstrip("\n")) + 3  # after it and a blank line
    _edit(letter, before, before + "\n" + markdown + "\n")
    result = CliRunner().invoke(app, ["check", "--year", "2013"])
    assert result.exit_code == 1, result.output
    assert f"templates/letter.md:{line}: " in result.stderr, result.stderr
    assert says in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_check_accepts_a_less_than_sign_and_dollars_in_prose(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(sample)
    (sample / "candidates.csv").write_text(SMALL, encoding="utf-8")
    _edit(sample / "templates" / "letter.md",
          "We expand on each of these areas of concern below.\n",
          "We expand on each of these areas of concern below, as 3 < 4 and $5 < $10.\n")
    result = CliRunner().invoke(app, ["check", "--year", "2013"])
    assert result.exit_code == 0, result.output
