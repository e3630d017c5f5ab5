"""Same inputs, same bytes: across processes and time, SOURCE_DATE_EPOCH, verify,
and the machine-readable output of the commands."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from letterforge.cli import app
from letterforge.incremental import STAT_CACHE

SMALL = ("year,name,short_name,email\n"
         "2013,Mexico,Mexico,mission.mexico@example.org\n"
         "2013,the Russian Federation,Russian Federation,ru@example.org\n"
         "2013,Maldives,Maldives,mv@example.org\n")


def _render_process(cwd: Path, out: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([sys.executable, "-m", "letterforge.cli", "render", "--year", "2013",
                    "--out", out, "-j", "1", "--quiet"], cwd=cwd, check=True,
                   env={**os.environ, **(env or {})})


def _tree(root: Path) -> dict[str, bytes]:
    # the stat cache is not an output (it records inodes and times)
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != STAT_CACHE}


@pytest.mark.slow  # renders in a fresh process: in CI (-m slow)
def test_two_renders_in_separate_processes_are_byte_identical(
        small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh process, then this one (another process, its caches filled by the
    renders before): the same bytes."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    _render_process(small, "a")
    # a different second on the clock changes nothing: the next second, after the
    # renders of the process above have all ended
    time.sleep(1.02 - time.time() % 1)
    assert _invoke("render", "--year", "2013", "--out", "b", "-j", "1",
                   "--quiet").exit_code == 0
    a, b = _tree(small / "a" / "2013"), _tree(small / "b" / "2013")
    assert len(a) == 3 * 3 + 3 and a == b


def test_source_date_epoch_sets_every_time_value(small: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Every time a batch holds is SOURCE_DATE_EPOCH's, whatever the clock says: two
    renders a clock second apart are the same bytes. (Across processes: the test
    above.)"""
    epoch = 1700000000  # 2023-11-14 22:13:20 UTC
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    for out in ("e1", "e2"):
        time.sleep(1.02 - time.time() % 1)  # the next second on the clock
        assert _invoke("render", "--year", "2013", "--out", out, "-j", "1",
                       "--quiet").exit_code == 0
    assert _tree(small / "e1") == _tree(small / "e2")
    batch = small / "e1" / "2013"
    with zipfile.ZipFile(batch / "docx" / "mexico.docx") as z:
        assert {i.date_time for i in z.infolist()} == {(2023, 11, 14, 22, 13, 20)}
        core = z.read("docProps/core.xml").decode()
    assert "2023-11-14T22:13:20Z" in core
    meta = PdfReader(batch / "pdf" / "mexico.pdf").metadata
    assert meta.creation_date.astimezone(dt.UTC) == dt.datetime(2023, 11, 14, 22, 13, 20,
                                                                 tzinfo=dt.UTC)
    msg = message_from_bytes((batch / "email" / "mexico.eml").read_bytes(), policy=policy.default)
    assert msg["Date"].datetime == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    assert b"From open-letters@example.org Tue Nov 14 22:13:20 2023" in \
        (batch / "batch.mbox").read_bytes()


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_verify_passes_on_a_fresh_batch_and_names_a_changed_letter(small_rendered: Path
                                                                  ) -> None:
    small = small_rendered
    ok = _invoke("verify", "--year", "2013", "-j", "1")
    assert ok.exit_code == 0, ok.output
    assert "Verified: 11 files and the manifest identical" in ok.stderr

    # One character changed in one published letter
    pdf = small / "out" / "2013" / "pdf" / "russian-federation.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 1
    pdf.write_bytes(bytes(data))
    bad = _invoke("verify", "--year", "2013", "-j", "1")
    assert bad.exit_code == 1
    assert ("differs: pdf/russian-federation.pdf (Russian Federation): changed since it was "
            "rendered") in bad.stderr
    assert "1 of 11 files differ" in bad.stderr


def test_verify_catches_a_one_character_change_in_the_data(small_rendered: Path) -> None:
    csv = small_rendered / "candidates.csv"
    csv.write_text(csv.read_text().replace("2013,Maldives,", "2013,Maldivez,"))
    result = _invoke("verify", "--year", "2013", "-j", "1", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["identical"] is False
    letters = {d["path"]: d["candidate"] for d in doc["differences"]}
    assert letters["pdf/maldives.pdf"] == "Maldives"
    assert {d["candidate"] for d in doc["differences"] if d["candidate"]} == {"Maldives"}


def test_verify_a_published_file(small_rendered: Path, tmp_path: Path) -> None:
    small = small_rendered
    published = tmp_path / "downloaded.pdf"
    published.write_bytes((small / "out" / "2013" / "pdf" / "mexico.pdf").read_bytes())
    ok = _invoke("verify", "--year", "2013", str(published))
    assert ok.exit_code == 0 and "is pdf/mexico.pdf (Mexico)" in ok.stderr
    renamed = tmp_path / "mexico.pdf"
    renamed.write_bytes(published.read_bytes() + b"\n")
    bad = _invoke("verify", "--year", "2013", str(renamed))
    assert bad.exit_code == 1 and "differs from pdf/mexico.pdf" in bad.stderr


def test_json_documents_on_stdout_only(small: Path) -> None:
    result = _invoke("render", "--year", "2013", "-j", "1", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["letters"] == 3 and doc["rendered"] == 3
    assert "Rendered 3 letters" in result.stderr
    again = json.loads(_invoke("render", "--year", "2013", "--json").stdout)
    assert again["rendered"] == 0 and again["changed"] is False
    check = _invoke("check", "--year", "2013", "--json")
    assert json.loads(check.stdout)["candidates"] == 3
    send = _invoke("send", "--year", "2013", "--json")
    doc = json.loads(send.stdout)
    assert doc["dry_run"] is True and doc["counts"] == {"pending": 3}
    csv = small / "candidates.csv"
    csv.write_text(csv.read_text() + "2013,,X,x@example.org\n")
    bad = _invoke("check", "--year", "2013", "--json")
    assert bad.exit_code == 1
    doc = json.loads(bad.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 1
    assert doc["problems"][0] == {"path": "candidates.csv", "line": 5, "column": "name",
                                  "message": "empty cell: every candidate needs a name",
                                  "severity": "error"}


def test_quiet_and_no_progress_when_not_a_terminal(small: Path) -> None:
    # one letter: what --quiet leaves out (progress, the summary) is the same for any
    result = _invoke("render", "--year", "2013", "-j", "1", "--only", "Mexico", "--quiet")
    assert result.exit_code == 0 and result.stderr == "" and result.stdout == ""


def test_exit_codes_are_documented_in_help() -> None:
    result = _invoke("--help")
    assert "Exit codes: 0 done; 1 bad input" in " ".join(result.stdout.split())
    assert "130 interrupted" in " ".join(result.stdout.split())


def test_a_missing_font_is_an_error_not_a_fallback(small: Path) -> None:
    css = small / "templates" / "letter.css"
    css.write_text(css.read_text().replace('"Liberation Serif", serif',
                                           '"No Such Font Pro", serif'))
    result = _invoke("check", "--year", "2013")
    assert result.exit_code == 1
    assert "the font 'No Such Font Pro' is not installed" in result.stderr
    assert "does not fall back" in result.stderr


def test_a_batch_rendered_with_only_verifies(small: Path) -> None:
    rendered = _invoke("render", "--year", "2013", "-j", "1", "--only", "Mexico",
                       "--out", "fresh")
    assert rendered.exit_code == 0, rendered.output
    assert "5 files" in rendered.stderr  # pdf, docx, eml, batch.mbox, outbox.csv
    ok = _invoke("verify", "--year", "2013", "-j", "1", "--out", "fresh")
    assert ok.exit_code == 0, ok.output
    assert "Verified: 5 files and the manifest identical" in ok.stderr


def _variable_font(path: Path) -> None:
    """A small variable TrueType font (one ``wght`` axis; a box for every ASCII
    character, wider at the heaviest weight), built with fontTools."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib.tables.TupleVariation import TupleVariation

    chars = [chr(c) for c in range(0x21, 0x7F)]
    names = [".notdef", "space"] + [f"g{ord(c)}" for c in chars]

    def box(width: int) -> object:
        pen = TTGlyphPen(None)
        pen.moveTo((50, 0))
        pen.lineTo((50, 700))
        pen.lineTo((50 + width, 700))
        pen.lineTo((50 + width, 0))
        pen.closePath()
        return pen.glyph()

    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({0x20: "space", **{ord(c): f"g{ord(c)}" for c in chars}})
    glyphs = {n: box(400) for n in names}
    glyphs["space"] = TTGlyphPen(None).glyph()
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({n: (600, 50) for n in names})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "Varitest", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    fb.setupPost()
    fb.setupFvar(axes=[("wght", 100, 400, 900, "Weight")], instances=[])
    wider = [(0, 0), (0, 0), (200, 0), (200, 0), (0, 0), (0, 0), (0, 0), (0, 0)]
    fb.setupGvar({n: [TupleVariation({"wght": (0, 1.0, 1.0)}, wider)]
                  for n in names if n != "space"})
    fb.save(str(path))


def test_a_letter_with_a_variable_font_is_the_same_bytes_every_time(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WeasyPrint makes a variable font static with fontTools, which stamped the time of
    the save in the embedded font: the PDF differed at every render. The font keeps its
    own date (the clock is moved on between the two renders here)."""
    import fontTools.ttLib.tables._h_e_a_d as head

    from letterforge.config import Inputs, Options
    from letterforge.plan import prepare
    from letterforge.writers import WRITERS

    _variable_font(sample / "templates" / "Varitest.ttf")
    css = sample / "templates" / "letter.css"
    css.write_text(css.read_text(encoding="utf-8") + '\n@font-face { font-family: "Varitest"; '
                   'src: url(Varitest.ttf); }\nh1, h2 { font-family: "Varitest", serif; '
                   "font-weight: 700; }\n", encoding="utf-8")
    monkeypatch.chdir(sample)
    plan = prepare(Inputs(), Options(2013, only=("Mexico",)), check_letters=False)
    renderer = plan.renderer()
    (mexico,) = plan.candidates
    clock = iter(range(3_800_000_000, 3_900_000_000, 1000))
    monkeypatch.setattr(head, "timestampNow", lambda: next(clock))
    pdfs = [WRITERS["pdf"].render(renderer.document(mexico), renderer.job.assets, {})
            for _ in range(2)]
    assert pdfs[0] == pdfs[1]
    fonts = {font["/BaseFont"] for page in PdfReader(io.BytesIO(pdfs[0])).pages
             for font in page["/Resources"]["/Font"].values()}
    assert any("Varitest" in str(name) for name in fonts), fonts
