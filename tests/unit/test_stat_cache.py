"""The stat cache: a re-run reads no file whose stat is the one recorded when it was known
intact, and still finds every edit, even one that keeps the size and the mtime (by its
ctime); a damaged or foreign cache means hashing every file, never an error."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

import letterforge.incremental as incremental
from letterforge.batch import BatchWriter
from letterforge.incremental import STAT_CACHE, StatCache
from letterforge.manifest import LetterEntry, Manifest

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
