"""letterforge preview in a real browser: the page, live reload, errors, Ctrl-C.

One preview process and one headless Chromium for the module, on a campaign of three
candidates. The process is the command as a user runs it (``--no-open``); the Ctrl-C
test stops it after the browser tests (a second preview process cost 3 s of CPU), so
it stays after them in this file."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import browser, screenshot
from typer.testing import CliRunner

from letterforge.cli import app

pytestmark = pytest.mark.slow  # Chromium drives the preview: in CI (-m slow)
ROOT = Path(__file__).resolve().parents[2]
SMALL = """\
year,name,short_name,email,region
2013,Algeria,Algeria,mission.algeria@example.org,African States
2013,Mexico,Mexico,mission.mexico@example.org,Latin American and Caribbean States
2013,the Russian Federation,Russian Federation,mission.russia@example.org,Eastern European States
"""
WAIT = 60_000  # ms: a render takes a few seconds on a busy 2-core machine
LINE = "We expand on each of these areas of concern below."


def _default_sigint() -> None:
    """A person's Ctrl-C reaches a process that has the default handling; a shell that
    started pytest in the background (CI, ``pytest &``) gives its children SIGINT
    ignored, as POSIX says, and the preview would never see the test's SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Preview:
    """``letterforge preview`` in a subprocess, its stderr read as it comes."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "letterforge.cli", "preview", "--year", "2013",
             "--no-open", *args], cwd=folder, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            preexec_fn=_default_sigint)
        self.lines: list[str] = []
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            m = re.search(r"http://127\.0\.0\.1:\d+/", line)
            if m:
                self.url = m.group(0)
                break
        else:
            self.proc.wait()
            pytest.fail("preview did not start:\n" + "".join(self.lines))
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # not left running for the rest of the run
            self.proc.kill()
            self.proc.wait()
            raise
        self._reader.join(timeout=5)
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.interrupt()


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("campaign")
    shutil.copy(ROOT / "signatories.csv", folder / "signatories.csv")
    shutil.copytree(ROOT / "templates", folder / "templates")
    (folder / "candidates.csv").write_text(SMALL, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def server(campaign: Path) -> Iterator[Preview]:
    preview = Preview(campaign)
    yield preview
    preview.stop()


@pytest.fixture(scope="module")
def page(server: Preview) -> Iterator[Any]:
    with browser() as b:
        context = b.new_context(viewport={"width": 1400, "height": 900})
        p = context.new_page()
        p.set_default_timeout(WAIT)
        p.goto(server.url)
        yield p
        context.close()


def _pages_loaded(page: Any) -> None:
    page.wait_for_function("""() => {
        const imgs = [...document.querySelectorAll('#pages img')];
        return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    }""")


def _revision(page: Any) -> int:
    return int(page.evaluate("document.body.dataset.revision"))


def test_page_lists_the_candidates_and_shows_the_mexico_letter(page: Any) -> None:
    page.wait_for_function("document.querySelectorAll('#candidate option').length === 3")
    names = page.eval_on_selector_all("#candidate option", "os => os.map(o => o.textContent)")
    assert names == ["Algeria", "Mexico", "Russian Federation"]
    page.select_option("#candidate", "mexico")
    page.wait_for_function("document.querySelector('#pages img') && "
                           "document.querySelector('#pages img').alt.includes('Mexico')")
    _pages_loaded(page)
    alts = page.eval_on_selector_all("#pages img", "is => is.map(i => i.alt)")
    assert len(alts) == int(page.text_content("#fact-pages") or 0) >= 2
    assert alts[0] == f"The letter to Mexico (PDF): page 1 of {len(alts)}"
    assert page.title() == "Mexico: letterforge preview 2013"
    varying = page.eval_on_selector_all("#varying mark", "ms => ms.map(m => m.textContent)")
    assert any("incumbent on Mexico" in s for s in varying), varying
    assert not any("Human Rights Council (the Council)" in s for s in varying)
    assert page.is_hidden("#problems")
    screenshot(page, "preview.png")


def test_the_email_and_the_docx_views(page: Any) -> None:
    page.click("#formats button[data-format=eml]")
    page.wait_for_selector("#email dl")
    text = page.text_content("#email") or ""
    assert "mission.mexico@example.org" in text
    assert "Open letter to Mexico: candidacy for the Human Rights Council 2013" in text
    assert "Mexico’s candidacy" in text
    assert page.is_hidden("#pages")
    if shutil.which("soffice") is None:
        page.click("#formats button[data-format=pdf]")
        pytest.skip("LibreOffice (soffice) is not installed: no DOCX view")
    page.click("#formats button[data-format=docx]")
    page.wait_for_function("[...document.querySelectorAll('#pages img')].some("
                           "(i) => i.alt.startsWith('The DOCX'))")
    _pages_loaded(page)
    page.click("#formats button[data-format=pdf]")
    page.wait_for_function("document.querySelector('#pages img').alt.includes('(PDF)')")


def test_saving_the_template_updates_the_page_in_place(page: Any, campaign: Path) -> None:
    _pages_loaded(page)
    page.evaluate("window.notReloaded = true; window.scrollTo(0, 900)")
    page.wait_for_function("window.scrollY === 900")
    before = page.get_attribute("#pages img", "src")
    revision = _revision(page)
    letter = campaign / "templates" / "letter.md"
    text = letter.read_text(encoding="utf-8")
    assert LINE in text
    letter.write_text(text.replace(LINE, "We expand below on each of the three areas."),
                      encoding="utf-8")
    page.wait_for_function(
        "([rev, src]) => Number(document.body.dataset.revision) > rev && "
        "document.querySelector('#pages img').getAttribute('src') !== src",
        arg=[revision, before])
    _pages_loaded(page)
    assert page.evaluate("window.notReloaded") is True
    assert page.evaluate("window.scrollY") == 900
    assert "Mexico" in (page.text_content("#status") or "")


def test_a_mistake_shows_with_its_line_over_the_last_rendering_then_clears(
        page: Any, campaign: Path) -> None:
    letter = campaign / "templates" / "letter.md"
    good = letter.read_text(encoding="utf-8")
    lines = good.splitlines(keepends=True)
    n = next(i for i, ln in enumerate(lines) if ln.startswith("We expand below")) + 1
    src = page.get_attribute("#pages img", "src")
    lines[n - 1] = "We expand on {{ candidate.nmae }} below.\n"
    letter.write_text("".join(lines), encoding="utf-8")
    page.wait_for_selector("#problems", state="visible")
    problem = page.text_content("#problem-list") or ""
    assert problem.startswith(f"templates/letter.md:{n}: the template uses 'nmae'"), problem
    # the last good rendering stays
    assert page.get_attribute("#pages img", "src") == src
    _pages_loaded(page)
    letter.write_text(good, encoding="utf-8")
    page.wait_for_selector("#problems", state="hidden")
    assert page.get_attribute("#pages img", "src") != src


def test_ctrl_c_stops_the_preview_with_exit_130(server: Preview, campaign: Path) -> None:
    """The module's preview, after the browser tests (its page still open): the last
    test that uses it."""
    code = server.interrupt()
    assert code == 130, "".join(server.lines)
    assert "interrupted: the preview stopped; it wrote nothing" in "".join(server.lines)
    assert not (campaign / "out").exists()


def test_an_unknown_candidate_is_a_usage_error(
        campaign: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(campaign)
    result = runner.invoke(app, ["preview", "--year", "2013", "--no-open",
                                 "--candidate", "Atlantis"])
    assert result.exit_code == 2
    assert "--candidate: no candidate 'Atlantis' this year" in result.output
