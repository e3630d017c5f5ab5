"""Files written whole or not at all, and the lock on a batch: what stands at a path is
never replaced by something else, and one batch reached by two paths is one lock."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from letterforge.errors import OutputError
from letterforge.files import write_atomic
from letterforge.lock import BatchLock


def test_a_new_file_is_written_and_a_file_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "changes.html"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["changes.html"]  # no temporary


def test_a_symbolic_link_stays_one_and_its_file_is_replaced(tmp_path: Path) -> None:
    """``--html report.html`` where report.html links to the shared drive: the link is
    kept, the file it points to gets the new content."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "report.html").write_text("old")
    link = tmp_path / "report.html"
    link.symlink_to(shared / "report.html")
    write_atomic(link, b"new")
    assert link.is_symlink()
    assert (shared / "report.html").read_bytes() == b"new"


def test_a_link_to_a_file_not_there_yet_creates_it(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    link = tmp_path / "report.html"
    link.symlink_to(tmp_path / "shared" / "report.html")
    write_atomic(link, b"new")
    assert link.is_symlink() and (tmp_path / "shared" / "report.html").read_bytes() == b"new"


def test_a_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    """``--html /dev/stdout`` or a named pipe: the data goes through it; the pipe is
    still a pipe afterwards."""
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_atomic(fifo, b"through the pipe")
    reader.join(timeout=10)
    assert got == [b"through the pipe"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_device_is_written_into(tmp_path: Path) -> None:
    """A character device (a null device made in the test's folder: never the system's
    /dev/null, which a faulty write would replace with a file) stays a device."""
    import stat

    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    write_atomic(null, b"nothing")
    assert stat.S_ISCHR(os.stat(null).st_mode)


def test_a_folder_is_refused_with_the_path(tmp_path: Path) -> None:
    (tmp_path / "changes.html").mkdir()
    with pytest.raises(OutputError, match=r"changes.html: is a folder: give a file name"):
        write_atomic(tmp_path / "changes.html", b"x")
    assert (tmp_path / "changes.html").is_dir()


def test_one_batch_reached_by_two_paths_is_one_lock(tmp_path: Path) -> None:
    """``out/2013`` a link to ``/sync/2013``, and a send with ``--out /sync``: the second
    command waits for the first, it does not take a lock of its own beside the link."""
    real = tmp_path / "sync" / "2013"
    real.mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "2013").symlink_to(real)
    with BatchLock(tmp_path / "out" / "2013"), \
            pytest.raises(OutputError, match=r"sync/2013: another letterforge command"):
        BatchLock(real)
    with BatchLock(real), pytest.raises(OutputError, match=r"another letterforge command"):
        BatchLock(tmp_path / "out" / "2013")


def test_a_linked_output_root_shares_the_lock_too(tmp_path: Path) -> None:
    (tmp_path / "sync" / "2013").mkdir(parents=True)
    (tmp_path / "out").symlink_to(tmp_path / "sync")
    with BatchLock(tmp_path / "out" / "2013"), pytest.raises(OutputError):
        BatchLock(tmp_path / "sync" / "2013")
