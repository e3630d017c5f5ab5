"""Shared fixtures: the repository's sample data, small inline inputs, the 2013 batch."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from letterforge.cli import app

ROOT = Path(__file__).resolve().parents[1]

# Renders in the tests run in the test process unless a test asks for a pool (-j 2):
# small batches render faster without spawning workers, and pytest-xdist already runs
# the test files on every CPU.
os.environ.setdefault("LETTERFORGE_JOBS", "1")
# A copy of ../shared/seed/open-letter-2013.txt: the letter exactly as sent to Mexico.
SEED = Path(__file__).parent / "golden" / "open-letter-2013.txt"
SCENARIOS = Path(__file__).parent / "scenarios"


def normalise(text: str) -> str:
    return " ".join(text.split())


def straight(text: str) -> str:
    """Typographic quotes and apostrophes as the plain-text seed writes them."""
    return text.translate(str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'",
                                         "\u2019": "'"}))


def seed_text() -> str:
    """The seed letter as a reader sees it: links and emphasis as their words."""
    text = SEED.read_text(encoding="utf-8")
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\*([^*]+)\*", r"\1", text)
    return normalise(text)


def pdf_pages(path: Path) -> list[str]:
    """The text of each page of a PDF (pdftotext ends a page with a form feed),
    footers included."""
    return pdf_text(path, footer=False, pages="\f").split("\f")[:-1]


def pdf_text(path: Path, footer: bool = True, wrapped: bool = True, pages: str = "") -> str:
    """Text of a PDF through poppler's pdftotext (an extractor independent of WeasyPrint),
    with the page-number footers removed and line-end hyphens kept ("Secretary-\\nGeneral")."""
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext (Debian: poppler-utils) is not installed; ./setup.sh --test "
                    "installs it")
    out = subprocess.run([exe, "-layout", "-enc", "UTF-8", str(path), "-"],
                         check=True, capture_output=True, text=True).stdout
    if footer:  # "1 / 4", or the running footer "Organisation · page 1 of 4"
        out = re.sub(r"^\s*\d+\s*/\s*\d+\s*$", "", out, flags=re.M)
        out = re.sub(r"^.*\bpage \d+ of \d+\s*$", "", out, flags=re.M)
    if wrapped:  # a hyphen that ends a line is the letter's own: join the two lines
        out = re.sub(r"-[ \t]*\n\s*", "-", out)
    if pages:  # keep the page breaks, as ``pages``
        return pages.join(normalise(page) for page in out.split("\f"))
    return normalise(out)


def pdf_list_items(data: bytes) -> list[list[str]]:
    """The kinds of the kids of every LI in a PDF's structure tree (read with pypdf, not
    WeasyPrint), in tree order: [["/Lbl", "/LBody"], ...]."""
    import io

    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject

    def kids(elem: DictionaryObject) -> list[object]:
        k = elem.get("/K")
        k = k.get_object() if hasattr(k, "get_object") else k
        items = k if isinstance(k, ArrayObject) else [] if k is None else [k]
        return [x.get_object() if hasattr(x, "get_object") else x for x in items]

    found: list[list[str]] = []

    def walk(elem: object) -> None:
        if not isinstance(elem, DictionaryObject):
            return
        children = kids(elem)
        if elem.get("/S") == "/LI":
            found.append([str(c.get("/S")) if isinstance(c, DictionaryObject) else repr(c)
                          for c in children])
        for child in children:
            walk(child)

    walk(PdfReader(io.BytesIO(data)).trailer["/Root"]["/StructTreeRoot"].get_object())
    return found


def docx_text(path: Path) -> str:
    """Body text of a DOCX through docx2python (not python-docx), with its list numbers
    ("1)\\t") written as the letter writes them ("1. ")."""
    from docx2python import docx2python

    with docx2python(str(path)) as doc:
        paragraphs = [p for p in _flatten(doc.body) if p.strip()]
    text = "\n".join(paragraphs)
    text = re.sub(r"^(\d+)\)\t", r"\1. ", text, flags=re.M)
    text = re.sub(r'<a href="[^"]*">(.*?)</a>', r"\1", text)  # docx2python's links
    return normalise(text)


def _flatten(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    out: list[str] = []
    for child in node:  # type: ignore[attr-defined]
        out.extend(_flatten(child))
    return out



def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the CPUs. Many tests wait on another process
    (LibreOffice, Chromium, an SMTP server, a render in a subprocess), and a third worker
    on two cores fills that time: the suite ran in 98 s instead of 110 s here. At most
    8: each worker holds its own WeasyPrint and rendered batches in memory."""
    return min((os.cpu_count() or 1) + 1, 8)

# CPU seconds each test file took in a full run (3 workers on this 2-core machine),
# rounded: the files run slowest first, so that no worker starts a long file while the
# others are finishing (pytest-xdist's own order, most tests first, put the few slow
# end-to-end files last). A file not listed counts as 1 s; the figures only order.
FILE_COST = {
    "e2e/test_send.py": 25, "e2e/test_reproducible.py": 23, "e2e/test_preview.py": 16,
    "e2e/test_interrupt.py": 12, "unit/test_pdf_speed.py": 11, "e2e/test_incremental.py": 10,
    "e2e/test_hostile_inputs.py": 10, "e2e/test_languages.py": 9, "e2e/test_libreoffice.py": 9,
    "unit/test_preview_state.py": 8, "e2e/test_proof.py": 6, "e2e/test_review_fixes.py": 6,
    "e2e/test_cli.py": 6, "e2e/test_constructs_letter.py": 5, "e2e/test_full_letter.py": 5,
    "unit/test_pipeline.py": 4, "e2e/test_scenarios.py": 4, "e2e/test_pdf_writer.py": 3,
    "e2e/test_property_unicode.py": 3, "unit/test_writers.py": 3, "e2e/test_mail.py": 2,
    "unit/test_images.py": 2, "e2e/test_letterhead.py": 2,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slowest test files first (``FILE_COST``), each file's tests in their order.
    With ``--dist loadfile --no-loadscope-reorder`` pytest-xdist hands the files out in
    this order."""
    tests = Path(__file__).parent

    def cost(item: pytest.Item) -> int:
        try:
            name = item.path.relative_to(tests).as_posix()
        except ValueError:
            return 1
        return FILE_COST.get(name, 1)

    items.sort(key=lambda item: -cost(item))  # stable: a file's tests stay in order


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """write('name', '''text''') -> path; dedented, in tmp_path."""

    def _write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(textwrap.dedent(text).lstrip("\n").encode(encoding))
        return path

    return _write


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the repository's sample campaign (CSV files and templates)."""
    for name in ("candidates.csv", "signatories.csv"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    return tmp_path


@pytest.fixture
def small(request: pytest.FixtureRequest, sample: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample campaign with the test module's own few candidates (its ``SMALL``
    CSV text), as the working folder: a quick batch."""
    (sample / "candidates.csv").write_text(request.module.SMALL, encoding="utf-8")
    monkeypatch.chdir(sample)
    return sample


def invoke_in(folder: Path, *args: str) -> Result:
    """``letterforge ARGS`` in this process (CliRunner) with ``folder`` as the working
    directory, given back afterwards."""
    old = Path.cwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def small_batch(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's ``SMALL`` campaign rendered once for the module (-j 1, every format):
    its ``out`` folder. Read-only; tests take a copy through ``small_rendered``."""
    folder = tmp_path_factory.mktemp("small-batch")
    for name in ("candidates.csv", "signatories.csv"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "templates", folder / "templates")
    (folder / "candidates.csv").write_text(request.module.SMALL, encoding="utf-8")
    result = invoke_in(folder, "render", "--year", "2013", "-j", "1")
    assert result.exit_code == 0, result.output
    return folder / "out"


@pytest.fixture
def small_rendered(small: Path, small_batch: Path) -> Path:
    """``small`` with ``out/2013`` as ``letterforge render --year 2013 -j 1`` writes it
    there: a copy of the module's ``small_batch`` (the same inputs), not a render."""
    shutil.copytree(small_batch, small / "out")
    return small


@pytest.fixture(scope="session")
def batch_2013(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full 2013 batch, rendered once through the CLI from the repository's data,
    and shared by every pytest-xdist worker (the first renders it under a lock)."""
    import fcntl

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run:  # a folder this run's workers share, and no other run
        shared = tmp_path_factory.getbasetemp().parent / f"shared-{run}"
        shared.mkdir(exist_ok=True)
    else:
        shared = tmp_path_factory.getbasetemp()
    out = shared / "batch-2013"
    with open(shared / "batch-2013.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "2013" / "manifest.json").exists():
            result = invoke_in(ROOT, "render", "--year", "2013", "--out", str(out))
            assert result.exit_code == 0, result.output
    return out / "2013"


# ----- pages of a PDF, compared with LibreOffice's rendering of the DOCX ------------------

PAGE_FOOTER = re.compile(r"^\s*\d+\s*/\s*\d+\s*$")


def page_lines(pdf: Path) -> list[list[str]]:
    """The lines of each page, footers and blank lines left out."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [[line for line in page.split("\n") if line.strip() and not PAGE_FOOTER.match(line)]
            for page in out.split("\f")[:-1]]


def page_starts(pdf: list[list[str]], docx: list[list[str]]) -> list[int]:
    """For each page, how many of the PDF's lines away from the PDF page's first line
    the DOCX page begins (0: the same line), found by the words before it."""
    lines: list[tuple[int, int]] = []  # (page, words before the line)
    words = 0
    for number, page in enumerate(pdf):
        for line in page:
            lines.append((number, words))
            words += len(line.split())
    offsets = []
    docx_words = 0
    for number, (pdf_page, docx_page) in enumerate(zip(pdf, docx, strict=False)):
        first = next(i for i, (p, _) in enumerate(lines) if p == number)
        if pdf_page[:1] and docx_page[:1] and pdf_page[0][:40] == docx_page[0][:40]:
            offsets.append(0)
        else:
            at = max(i for i, (_, before) in enumerate(lines) if before <= docx_words)
            offsets.append(at - first)
        docx_words += sum(len(line.split()) for line in docx_page)
    return offsets
