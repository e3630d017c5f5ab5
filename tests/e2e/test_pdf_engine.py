"""The PDF engine (letterforge/writers/pdf/engine): each speed override switched off alone
changes no byte; what earlier caches got wrong is right; a version the fixes were not
made for writes no PDF and says so. (The table of what it replaces, without a render:
unit/test_pdf_engine_parts.py.)

The reference is always a fresh process (tests/fresh_pdf.py), never this one with its
caches turned off."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fresh_pdf import FreshPDFs, pages_to_pdfs

from conftest import ROOT
from letterforge.writers.pdf import engine

# every case compares with, or runs, a fresh process: in CI (-m slow)
pytestmark = pytest.mark.slow

FULL_LETTER = ROOT / "examples" / "full-letter"
MULTILINGUAL = ROOT / "examples" / "multilingual"


@pytest.fixture(scope="module")
def fresh() -> Any:
    with FreshPDFs() as server:
        yield server


def test_each_speed_override_switched_off_alone_changes_no_byte(fresh: FreshPDFs) -> None:
    """The full example's letter (a letterhead, footer, lists, table, footnotes, images,
    a signature) from fresh processes: with every override on, with each off alone, the
    same bytes; and with all off, the second letter too (it meets what the first left
    in the process's caches)."""
    slugs = ["mexico", "cote-d-ivoire"]
    every_on = fresh.render(FULL_LETTER, 2013, slugs, off="")
    assert fresh.render(FULL_LETTER, 2013, slugs, off="all") == every_on
    for off in engine.SPEED:
        got = fresh.render(FULL_LETTER, 2013, slugs[:1], off=off)
        assert got["mexico"] == every_on["mexico"], off


def test_letters_in_other_scripts_are_the_same_bytes_with_every_override_off(
        fresh: FreshPDFs) -> None:
    """French, Arabic (right to left), Chinese and Russian letters, one after
    the other: the same bytes with every speed override on and off."""
    slugs = ["france", "saudi-arabia", "china", "russian-federation"]
    assert fresh.render(MULTILINGUAL, 2013, slugs, off="") == fresh.render(
        MULTILINGUAL, 2013, slugs, off="all")


#: Pages and stylesheets on which earlier caches (removed now) handed one letter's
#: layout to the next: each pair is laid out one after the other in this process, and
#: each page must be the bytes of a fresh process that lays it out alone.
REGRESSIONS = {
    "a selector reads the description (which names the candidate)": (
        'html:has(meta[content*="Cuba"]) p { color: red }',
        ['<html lang="en"><head><meta name="description" content="Letter to {c}"></head>'
         "<body><p>Excellency,</p></body></html>"]),
    "the running footer styled by the rest of the letter": (
        "footer { position: running(foot) } body:has(.urgent) footer { color: red } "
        "@page { @bottom-center { content: element(foot) } }",
        ["<html lang=en><body><footer>Open Letters Network</footer><p>Excellency,</p>"
         "{urgent}</body></html>"]),
    "viewport units follow each letter's first page": (
        ".wide { page: wide } @page wide { size: A4 landscape } p { padding-left: 10vw }",
        ["<html lang=en><body>{wide}<p>Excellency,</p><p>We write to you.</p></body></html>"]),
    "page-relative viewport units (pvw) too": (
        ".wide { page: wide } @page wide { size: A4 landscape } p { padding-left: 10pvw }",
        ["<html lang=en><body>{wide}<p>Excellency,</p><p>We write to you.</p></body></html>"]),
    "the page number inherits from a root styled by the letter": (
        "html:has(.urgent) { letter-spacing: 3pt; color: red } "
        "@page { @bottom-center { content: 'page ' counter(page) } }",
        ["<html lang=en><body><p>Excellency,</p>{urgent}</body></html>"]),
    "a margin box with text from the letter (string())": (
        "h1 { string-set: topic content() } @page { @top-center { content: string(topic) } "
        "@bottom-center { content: 'page ' counter(page) } }",
        ["<html lang=en><body><h1>{c}</h1><p>Text.</p></body></html>"]),
    "lines beside floats, right-to-left lines": (
        ".side { float: left; width: 30mm; height: 20mm; margin: 2mm; background: #ccc } "
        ".end { float: right; width: 20mm; height: 0 } table { width: 50% } "
        ".box { overflow: hidden }",
        ["<html lang=en><body><div class=side></div><div class=end></div><p>{words}</p>"
         "<table><tr><td>{words}</td></tr></table><div class=box>{words}</div>"
         "<p dir=rtl lang=ar>نحن نكتب إليكم بشأن ترشيحكم. {words}</p></body></html>"]),
    "the same line in two sizes of one font": (
        ".big { font-size: 14pt } .small { font-size: 9pt }",
        ["<html lang=en><body><p class={size}>Excellency, {c} 0123456789</p>"
         "<p>Excellency, {c} 0123456789</p></body></html>"]),
}


def _pages(template: str) -> list[str]:
    words = "The candidate pledged to cooperate with the special procedures. " * 6
    variants = [dict(c="Mexico", urgent="", wide="", words=words, size="big"),
                dict(c="Cuba", urgent='<p class="urgent">Urgent.</p>',
                     wide='<div class="wide">Wide first page.</div>', words=words[:90],
                     size="small"),
                dict(c="Mexico", urgent="", wide="", words=words, size="big")]
    return [template.format(**v) for v in variants]


@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_what_earlier_caches_got_wrong_is_laid_out_afresh(fresh: FreshPDFs, case: str) -> None:
    css, (template,) = REGRESSIONS[case]
    pages = _pages(template)
    here = pages_to_pdfs(css, pages)  # one after the other, in this long-lived process
    alone: dict[str, bytes] = {}  # the third page is the first again: one fresh process
    for page, data in zip(pages, here, strict=True):
        if page not in alone:
            alone[page] = fresh.pages(css, [page])[0]
        assert alone[page] == data, case


def test_an_edited_logo_shows_in_the_next_render_of_a_long_lived_process(
        fresh: FreshPDFs, tmp_path: Path) -> None:
    """The preview's case: the same letter rendered again in one process after one
    colour of the letterhead's logo changed is the PDF a fresh process makes."""
    from letterforge.config import Inputs, Options
    from letterforge.plan import prepare

    folder = tmp_path / "campaign"
    shutil.copytree(FULL_LETTER, folder)

    def here() -> bytes:
        old = Path.cwd()
        os.chdir(folder)
        try:
            plan = prepare(Inputs(), Options(2013), check_letters=False)
        finally:
            os.chdir(old)
        mexico = next(c for c in plan.all_candidates if c.slug == "mexico")
        return plan.renderer()(mexico).files["pdf/mexico.pdf"]

    before = here()
    logo = folder / "templates" / "logo.svg"
    logo.write_text(logo.read_text(encoding="utf-8").replace("#1d4e89", "#c0392b", 1),
                    encoding="utf-8")
    after = here()
    assert after != before
    assert after == fresh.render(folder, 2013, ["mexico"])["mexico"]


#: sitecustomize for a process that believes another WeasyPrint is installed: its
#: metadata says 69.0 (what check and render read first).
OTHER_VERSION = """
import importlib.metadata as metadata
_version = metadata.version
def version(name):
    return "69.0" if name.lower() == "weasyprint" else _version(name)
metadata.version = version
"""


SMALL = ("year,name,short_name,email\n"
         "2013,Mexico,Mexico,mission.mexico@example.org\n")


def test_another_weasyprint_writes_no_pdf_and_says_what_to_run(small: Path,
                                                               tmp_path: Path) -> None:
    """On a WeasyPrint the fixes were not made for, render stops before any letter: one
    line naming the version found, the version needed and what to run; exit 1; no batch.
    A letter made anyway (the metadata disagreeing with the module) is refused by the
    engine itself."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(OTHER_VERSION, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(site))
    exe = Path(sys.executable).with_name("letterforge")
    done = subprocess.run([str(exe), "render", "--year", "2013", "--out", "out"],
                          cwd=small, env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "weasyprint 69.0 (needs 70.0)" in done.stderr
    assert "./setup.sh" in done.stderr and "Traceback" not in done.stderr
    assert not (small / "out").exists()
    checked = subprocess.run([str(exe), "check", "--year", "2013"], cwd=small, env=env,
                             capture_output=True, text=True)
    assert checked.returncode == 1 and "weasyprint 69.0" in checked.stderr

    code = ("import sys, weasyprint\n"
            "weasyprint.__version__ = '69.0'\n"
            "from letterforge.writers.pdf import engine\n"
            "try:\n"
            "    engine.install()\n"
            "except engine.EngineMismatch as exc:\n"
            "    print(exc)\n"
            "    sys.exit(3)\n")
    refused = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert refused.returncode == 3, refused.stderr
    assert "weasyprint 69.0 (needs 70.0)" in refused.stdout


def test_an_unknown_override_name_is_a_clear_error(small: Path) -> None:
    exe = Path(sys.executable).with_name("letterforge")
    env = dict(os.environ, LETTERFORGE_ENGINE_OFF="lines,speedy")
    done = subprocess.run([str(exe), "check", "--year", "2013"], cwd=small, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "speedy is not a speed override" in done.stderr
    assert "Traceback" not in done.stderr
