"""The batch (letterforge/batch.py): it appears whole or not at all, the previous batch
survives a failure or an interrupt, paths cannot leave it. It never loses what a person
made: files and folders it did not make survive a commit, a killed render is cleaned up
by the next one, and only that render's own swap is ever restored."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from letterforge.batch import BatchWriter, _journal, recover
from letterforge.errors import OutputError
from letterforge.manifest import LetterEntry, Manifest


def commit_batch(target: Path, files: dict[str, bytes], manifest: Manifest) -> None:
    """Write a whole batch the way render does, through one BatchWriter."""
    previous = Manifest.read(target)
    with BatchWriter(target) as writer:
        entries = [writer.write(rel, data) for rel, data in files.items()]
        manifest.letters = [LetterEntry("X", "X", "x", "c.csv:2", "k", tuple(entries))]
        writer.commit(manifest, previous)


def _names(folder: Path) -> list[str]:
    """What a folder holds, besides the batches' lock files."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def _manifest(paths: list[str]) -> Manifest:
    return Manifest("0", 2013, ("pdf",), {})


def test_commit_replaces_the_batch_and_keeps_unlisted_files(tmp_path: Path) -> None:
    target = tmp_path / "out" / "2013"
    commit_batch(target, {"pdf/a.pdf": b"A1", "pdf/b.pdf": b"B1"},
                 _manifest(["pdf/a.pdf", "pdf/b.pdf"]))
    (target / "ledger.csv").write_text("sent")
    commit_batch(target, {"pdf/a.pdf": b"A2"}, _manifest(["pdf/a.pdf"]))
    assert (target / "pdf" / "a.pdf").read_bytes() == b"A2"
    assert not (target / "pdf" / "b.pdf").exists()  # listed before, gone from the batch now
    assert (target / "ledger.csv").read_text() == "sent"
    listed = json.loads((target / "manifest.json").read_text())["letters"][0]["files"]
    assert [f["path"] for f in listed] == ["pdf/a.pdf"]
    assert _names(tmp_path / "out") == ["2013"]  # no temp folders left


def test_failure_part_way_leaves_the_previous_batch(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "2013"
    commit_batch(target, {"pdf/a.pdf": b"OLD"}, _manifest(["pdf/a.pdf"]))
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}

    import letterforge.batch as batch

    real = batch.write_synced
    calls = {"n": 0}

    def failing(path: Path, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(batch, "write_synced", failing)
    with pytest.raises(OutputError, match="No space left on device.*previous batch is unchanged"):
        commit_batch(target, {"pdf/a.pdf": b"NEW", "pdf/b.pdf": b"NEW"},
                     _manifest(["pdf/a.pdf", "pdf/b.pdf"]))
    after = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert after == before
    assert _names(tmp_path) == ["2013"]


def test_interrupt_leaves_the_previous_batch(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "2013"
    commit_batch(target, {"pdf/a.pdf": b"OLD"}, _manifest(["pdf/a.pdf"]))
    import letterforge.batch as batch

    def interrupt(path: Path, data: bytes) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "write_synced", interrupt)
    with pytest.raises(KeyboardInterrupt):
        commit_batch(target, {"pdf/a.pdf": b"NEW"}, _manifest(["pdf/a.pdf"]))
    assert (target / "pdf" / "a.pdf").read_bytes() == b"OLD"
    assert _names(tmp_path) == ["2013"]


def test_paths_cannot_escape_the_batch(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="outside the batch"):
        commit_batch(tmp_path / "2013", {"../evil.pdf": b"x"}, _manifest([]))
    assert not (tmp_path / "evil.pdf").exists()


# ----- what a person made survives ------------------------------------------------------


def commit(target: Path, files: dict[str, bytes]) -> None:
    previous = Manifest.read(target)
    with BatchWriter(target) as writer:
        entries = tuple(writer.write(rel, data) for rel, data in files.items())
        manifest = Manifest("0", 2013, ("pdf",), {},
                            [LetterEntry("X", "X", "x", "c.csv:2", "k", entries)])
        writer.commit(manifest, previous)


def test_user_folders_empty_or_with_symlinks_survive_a_commit(tmp_path: Path) -> None:
    target = tmp_path / "out" / "2013"
    commit(target, {"pdf/x.pdf": b"1"})
    (target / "notes" / "empty").mkdir(parents=True)
    (target / "links").mkdir()
    (tmp_path / "elsewhere.txt").write_text("kept outside")
    (target / "links" / "to-file").symlink_to(tmp_path / "elsewhere.txt")
    (target / "links" / "to-folder").symlink_to(tmp_path)
    (target / "links" / "dangling").symlink_to(tmp_path / "missing")
    (target / "pdf" / "annex.pdf").write_bytes(b"the user's annex")
    commit(target, {"pdf/x.pdf": b"2"})
    assert (target / "notes" / "empty").is_dir()
    for name in ("to-file", "to-folder", "dangling"):
        assert (target / "links" / name).is_symlink(), name
    assert os.readlink(target / "links" / "to-folder") == str(tmp_path)
    assert (target / "pdf" / "annex.pdf").read_bytes() == b"the user's annex"
    assert (target / "pdf" / "x.pdf").read_bytes() == b"2"


def test_the_batch_gets_the_modes_the_umask_gives(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = tmp_path / "2013"
        commit(target, {"pdf/x.pdf": b"1"})
        commit(target, {"pdf/x.pdf": b"2"})
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert stat.S_IMODE((target / "pdf" / "x.pdf").stat().st_mode) == 0o644


def test_a_symlinked_batch_folder_stays_a_link_and_leaves_nothing(tmp_path: Path) -> None:
    real = tmp_path / "real" / "2013"
    real.mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    (out / "2013").symlink_to(real)
    commit(out / "2013", {"pdf/x.pdf": b"1"})
    commit(out / "2013", {"pdf/x.pdf": b"2"})
    assert (out / "2013").is_symlink()
    assert (real / "pdf" / "x.pdf").read_bytes() == b"2"
    leftovers = [p.name for d in (out, real.parent) for p in d.iterdir()
                 if ".old-" in p.name or ".new-" in p.name or p.name.endswith(".swap")]
    assert leftovers == []


def test_a_killed_render_leaves_a_temporary_folder_the_next_one_removes(tmp_path: Path
                                                                        ) -> None:
    target = tmp_path / "2013"
    commit(target, {"pdf/x.pdf": b"1"})
    (tmp_path / ".2013.new-abc123").mkdir()  # what kill -9 mid-render leaves
    (tmp_path / ".2013.new-abc123" / "pdf").mkdir()
    commit(target, {"pdf/x.pdf": b"2"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".2013.lock", "2013"]


def test_a_swap_cut_between_its_renames_is_undone_by_the_next_render(tmp_path: Path) -> None:
    target = tmp_path / "2013"
    commit(target, {"pdf/x.pdf": b"previous"})
    # killed after the first rename: the journal, the previous batch as .old-, no batch
    os.rename(target, tmp_path / ".2013.old-xyz")
    (tmp_path / ".2013.new-xyz").mkdir()
    _journal(target).write_text(json.dumps({"old": ".2013.old-xyz", "new": ".2013.new-xyz"}))
    recover(target)
    assert (target / "pdf" / "x.pdf").read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".2013.lock", "2013"]


def test_a_deleted_batch_is_never_brought_back(tmp_path: Path) -> None:
    target = tmp_path / "2013"
    commit(target, {"pdf/x.pdf": b"old"})
    # a swap that completed but was killed before removing the previous batch
    (tmp_path / ".2013.old-xyz").mkdir()
    (tmp_path / ".2013.old-xyz" / "stale.pdf").write_bytes(b"stale")
    import shutil

    shutil.rmtree(target)  # then the user deleted the batch
    recover(target)
    assert not target.exists()
    assert not (tmp_path / ".2013.old-xyz").exists()


def test_send_never_moves_batches(tmp_path: Path) -> None:
    from letterforge.errors import SendError
    from letterforge.send.run import send_batch

    (tmp_path / ".2013.old-xyz").mkdir()
    (tmp_path / ".2013.old-xyz" / "manifest.json").write_text("{}")
    with pytest.raises(SendError, match="no such batch folder"):
        send_batch(tmp_path / "2013", None)
    assert not (tmp_path / "2013").exists()
    assert (tmp_path / ".2013.old-xyz").is_dir()


def test_files_written_whole_get_the_mode_a_new_file_gets(tmp_path: Path) -> None:
    from letterforge.files import write_atomic

    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "changes.html", b"<html></html>")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "changes.html").stat().st_mode) == 0o644


def test_a_render_with_nothing_to_do_still_removes_what_a_killed_one_left(tmp_path: Path
                                                                         ) -> None:
    from letterforge.batch import clean_leftovers

    target = tmp_path / "2013"
    commit(target, {"pdf/x.pdf": b"1"})
    (tmp_path / ".2013.new-killed").mkdir()
    clean_leftovers(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".2013.lock", "2013"]


def test_an_interrupt_a_library_swallowed_still_stops_the_commit(tmp_path: Path) -> None:
    """SIGINT/SIGTERM raise KeyboardInterrupt and note that a stop was asked: lxml, for
    one, swallows the exception while it is imported, and the render went on to put its
    batch in place and exit 0. The commit looks at the note: the previous batch stays,
    nothing is left over."""
    from letterforge import errors

    target = tmp_path / "out" / "2013"
    commit(target, {"pdf/x.pdf": b"before"})
    with pytest.raises(KeyboardInterrupt):
        errors.stop_on_signal(2, None)
    try:
        assert errors.STOP_ASKED.is_set()
        with pytest.raises(KeyboardInterrupt):
            commit(target, {"pdf/x.pdf": b"after"})
    finally:
        errors.STOP_ASKED.clear()
    assert (target / "pdf" / "x.pdf").read_bytes() == b"before"
    assert sorted(p.name for p in target.parent.iterdir()) == [".2013.lock", "2013"]
