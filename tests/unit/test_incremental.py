"""Incremental re-runs: what a letter's key depends on (every input it reads, nothing
else), and the stat cache: a re-run reads no file whose stat is the one recorded when it
was known intact, and still finds every edit, even one that keeps the size and the mtime
(by its ctime); a damaged or foreign cache means hashing every file, never an error."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

import letterforge.incremental as incremental
from conftest import ROOT
from letterforge.batch import BatchWriter
from letterforge.config import Inputs, Options
from letterforge.incremental import STAT_CACHE, StatCache
from letterforge.manifest import LetterEntry, Manifest
from letterforge.plan import prepare

# ----- the key of a letter -----------------------------------------------------------


#: A 1 x 1 PNG (Pillow writes it: a real image the load stage accepts).
PNG = __import__("base64").b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==")

CHANGES = {
    "template": ("templates/letter.md", "Excellency,", "Your Excellency,"),
    "stylesheet": ("templates/letter.css", "font-size: 11pt;", "font-size: 10.5pt;"),
    "signatories": ("signatories.csv", "2013,Amnesty International",
                    "2013,Amnesty International\n2013,One More"),
    "e-mail template": ("templates/email.md", "Excellency,", "Dear Excellency,"),
}


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import shutil

    for name in ("candidates.csv", "signatories.csv"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return tmp_path


def _key(options: Options | None = None) -> str:
    plan = prepare(Inputs(), options or Options(2013, only=("Mexico",)), check_letters=False)
    return plan.key(plan.candidates[0])


@pytest.mark.parametrize("change", [*CHANGES, "version", "date", "SOURCE_DATE_EPOCH",
                                    "included file", "stylesheet image", "reference.docx",
                                    "letterhead logo", "logo for the DOCX", "body image"])
def test_the_key_changes_with_every_input_the_letter_depends_on(
        copy: Path, change: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    (copy / "templates" / "css.svg").write_text(
        "<svg xmlns='http://www.w3.org/2000/svg' width='4mm' height='4mm'/>")
    (copy / "templates" / "closing.md").write_text("Yours sincerely,\n")
    (copy / "templates" / "chart.png").write_bytes(PNG)
    letter = copy / "templates" / "letter.md"
    letter.write_text(letter.read_text().replace("Yours sincerely,\n",
                                                 "{% include 'closing.md' %}\n")
                      + "\n![A chart](chart.png)\n")
    css = copy / "templates" / "letter.css"
    css.write_text(css.read_text() + "\n.logo { background: url(css.svg) }\n")
    options = Options(2013, only=("Mexico",))
    before = _key(options)
    assert _key(options) == before
    if change in CHANGES:
        rel, old, new = CHANGES[change]
        text = (copy / rel).read_text()
        assert old in text
        (copy / rel).write_text(text.replace(old, new, 1))
    elif change == "version":
        monkeypatch.setattr("letterforge.incremental.__version__", "99.0")
    elif change == "date":
        options = Options(2013, date=dt.date(2013, 11, 6), only=("Mexico",))
    elif change == "SOURCE_DATE_EPOCH":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1383609600")
    elif change == "included file":
        (copy / "templates" / "closing.md").write_text("Yours faithfully,\n")
    elif change == "letterhead logo":
        logo = copy / "templates" / "logo.svg"
        logo.write_text(logo.read_text().replace("#1d4e89", "#000000"))
    elif change == "logo for the DOCX":
        (copy / "templates" / "logo.png").write_bytes(PNG)
    elif change == "body image":
        from PIL import Image

        Image.new("L", (2, 1), 0).save(copy / "templates" / "chart.png")
    elif change == "stylesheet image":
        (copy / "templates" / "css.svg").write_text(
            "<svg xmlns='http://www.w3.org/2000/svg' width='4mm' height='4mm'>"
            "<rect width='1' height='1'/></svg>")
    elif change == "reference.docx":
        import docx

        docx.Document().save(copy / "templates" / "reference.docx")
    assert _key(options) != before


def test_the_key_ignores_what_no_template_reads(copy: Path) -> None:
    before = _key()
    (copy / "out").mkdir()
    (copy / "out" / "anything.pdf").write_bytes(b"output is not an input")
    (copy / "templates" / "notes.txt").write_text("a file no template reads")
    other = copy / "candidates.csv"
    other.write_text(other.read_text().replace("Cuba,Cuba", "Kuba,Kuba"))  # another row
    assert _key() == before


# ----- the stat cache -------------------------------------------------------------------


FILES = {"docx/x.docx": b"rendered letter X", "pdf/x.pdf": b"%PDF of letter X",
         "docx/y.docx": b"rendered letter Y"}


def _next_tick(folder: Path, after: Path) -> None:
    """Wait until the filesystem's clock is past ``after``'s last change (a few ms: its
    timestamps have the kernel's tick as resolution)."""
    ctime = after.stat().st_ctime_ns
    while True:
        fd, name = tempfile.mkstemp(dir=folder)
        try:
            if os.fstat(fd).st_mtime_ns > ctime:
                return
        finally:
            os.close(fd)
            os.unlink(name)
        time.sleep(0.001)


def render(target: Path, files: dict[str, bytes] = FILES) -> Manifest:
    """A batch as a render commits it; its files are older than the commit's clock
    reading, so the stat cache records them."""
    previous = Manifest.read(target)
    with BatchWriter(target) as writer:
        entries = [writer.write(rel, data) for rel, data in files.items()]
        _next_tick(writer.tmp, writer.tmp / entries[-1].path)
        manifest = Manifest("0", 2013, ("docx", "pdf"), {}, [
            LetterEntry("X", "X", "x", "c.csv:2", "kx", tuple(entries[:2])),
            LetterEntry("Y", "Y", "y", "c.csv:3", "ky", tuple(entries[2:]))])
        writer.commit(manifest, previous)
    return manifest


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the stat cache reads (hashes), in order."""
    seen: list[str] = []
    real = incremental.file_sha256

    def counting(path: Path) -> str | None:
        seen.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(incremental, "file_sha256", counting)
    return seen


KEYS = {"x": "kx", "y": "ky"}


def test_a_rerun_reads_no_file_the_render_wrote(tmp_path: Path, hashed: list[str]) -> None:
    target = tmp_path / "2013"
    manifest = render(target)
    recorded = json.loads((target / STAT_CACHE).read_text())["files"]
    assert sorted(recorded) == sorted(FILES)
    assert STAT_CACHE not in manifest.paths()
    cache = StatCache.load(target)
    assert manifest.outdated(target, KEYS, cache) == set()
    assert manifest.edited(target, check=cache) == []
    assert hashed == []


def test_an_edit_that_keeps_size_and_mtime_is_found_by_its_ctime(
        tmp_path: Path, hashed: list[str]) -> None:
    target = tmp_path / "2013"
    manifest = render(target)
    docx = target / "docx" / "x.docx"
    before = docx.stat()
    with open(docx, "r+b") as fh:  # same file, same size: a tool that writes in place
        fh.write(b"R")
    os.utime(docx, ns=(before.st_atime_ns, before.st_mtime_ns))  # and puts the mtime back
    after = docx.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size, before.st_mtime_ns, before.st_ino)
    cache = StatCache.load(target)
    assert manifest.outdated(target, KEYS, cache) == {"x"}
    problems = manifest.edited(target, check=cache)
    assert [Path(p.path).name for p in problems] == ["x.docx"]
    assert "was changed after it was rendered" in problems[0].message
    assert set(hashed) == {"x.docx"}  # the only file whose stat is not the recorded one


def test_a_replaced_file_is_found(tmp_path: Path) -> None:
    """A PDF replaced by another (a new inode), even with the same bytes count."""
    target = tmp_path / "2013"
    manifest = render(target)
    pdf = target / "pdf" / "x.pdf"
    st = pdf.stat()
    pdf.unlink()
    pdf.write_bytes(b"%PDF of letter Z")
    os.utime(pdf, ns=(st.st_atime_ns, st.st_mtime_ns))
    problems = manifest.edited(target, check=StatCache.load(target))
    assert [Path(p.path).name for p in problems] == ["x.pdf"]


@pytest.mark.parametrize("damage", [
    b"", b"{not json", b"[]", b'{"format": "letterforge stat cache 99", "files": {}}',
    b'{"format": "letterforge stat cache 1", "files": {"pdf/x.pdf": [1, 2]}}',
    b'{"format": "letterforge stat cache 1", "files": {"pdf/x.pdf": "x"}}',
    b'{"format": "letterforge stat cache 1"}', "\u00e9".encode("latin-1"),
], ids=["empty", "not-json", "list", "other-format", "short-entry", "string-entry",
        "no-files", "not-utf8"])
def test_a_damaged_cache_means_hashing_every_file(tmp_path: Path, hashed: list[str],
                                                   damage: bytes) -> None:
    target = tmp_path / "2013"
    manifest = render(target)
    (target / STAT_CACHE).write_bytes(damage)
    (target / "pdf" / "x.pdf").write_bytes(b"%PDF of letter Z")  # the same size
    cache = StatCache.load(target)
    assert manifest.outdated(target, KEYS, cache) == {"x"}
    assert sorted(hashed) == ["x.docx", "x.pdf", "y.docx"]
    cache.save(manifest.paths())  # what it found intact is recorded again
    cache.close()
    assert sorted(json.loads((target / STAT_CACHE).read_text())["files"]) == [
        "docx/x.docx", "docx/y.docx"]


def test_a_foreign_cache_is_not_trusted(tmp_path: Path, hashed: list[str]) -> None:
    """The cache of another batch (copied with its files: new inodes) says nothing."""
    render(tmp_path / "a" / "2013")
    copy = tmp_path / "b" / "2013"
    shutil.copytree(tmp_path / "a" / "2013", copy)  # same mtimes, cache and all
    (copy / "docx" / "y.docx").write_bytes(b"rendered letter Z")
    manifest = Manifest.read(copy)
    assert manifest is not None
    assert manifest.outdated(copy, KEYS, StatCache.load(copy)) == {"y"}
    assert sorted(hashed) == ["x.docx", "x.pdf", "y.docx"]


def test_a_file_hashed_by_a_rerun_is_recorded_for_the_next(tmp_path: Path,
                                                          hashed: list[str]) -> None:
    target = tmp_path / "2013"
    manifest = render(target)
    (target / STAT_CACHE).unlink()
    _next_tick(target, target / "pdf" / "x.pdf")
    cache = StatCache.load(target)
    assert manifest.outdated(target, KEYS, cache) == set()
    cache.save(manifest.paths())
    assert len(hashed) == 3
    assert manifest.outdated(target, KEYS, StatCache.load(target)) == set()
    assert len(hashed) == 3  # not read again
    assert sorted(p.name for p in target.iterdir()) == [STAT_CACHE, "docx", "manifest.json",
                                                        "pdf"]  # no temporary file left


def test_the_cache_is_not_an_output_and_never_carried_over(tmp_path: Path) -> None:
    target = tmp_path / "2013"
    render(target)
    first = (target / STAT_CACHE).stat().st_ino
    (target / f"{STAT_CACHE}.leftover").write_text("a killed run's temporary file")
    manifest = render(target, {**FILES, "docx/y.docx": b"rendered letter Y2"})
    assert STAT_CACHE not in manifest.paths()
    assert not (target / f"{STAT_CACHE}.leftover").exists()
    assert (target / STAT_CACHE).stat().st_ino != first
    # the new batch's own files are recorded, with the hashes of the new manifest
    files = json.loads((target / STAT_CACHE).read_text())["files"]
    assert files["docx/y.docx"][-1] == next(
        f.sha256 for e in manifest.letters for f in e.files if f.path == "docx/y.docx")


def test_a_missing_file_is_outdated(tmp_path: Path) -> None:
    target = tmp_path / "2013"
    manifest = render(target)
    (target / "docx" / "y.docx").unlink()
    assert manifest.outdated(target, KEYS, StatCache.load(target)) == {"y"}


def test_the_default_check_hashes_every_file(tmp_path: Path) -> None:
    """Without a cache (verify, send, combine) every file is read, as before."""
    target = tmp_path / "2013"
    manifest = render(target)
    files = json.loads((target / STAT_CACHE).read_text())
    entry = files["files"]["pdf/x.pdf"]
    (target / "pdf" / "x.pdf").write_bytes(b"%PDF of letter Z")
    st = (target / "pdf" / "x.pdf").stat()
    # a cache that lies (it says the edited file is the rendered one) ...
    entry[:5] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
    (target / STAT_CACHE).write_text(json.dumps(files))
    assert manifest.outdated(target, KEYS, StatCache.load(target)) == set()
    # ... is not read without it
    assert manifest.outdated(target, KEYS) == {"x"}
    assert [Path(p.path).name for p in manifest.edited(target)] == ["x.pdf"]
