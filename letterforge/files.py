"""Writing one file safely: written, flushed to disk, and put in place by one rename
(an existing file is replaced whole or not at all)."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from .errors import OutputError, display_path


def write_synced(path: Path, data: bytes) -> os.stat_result:
    """Write a file; its stat right after (for the stat cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
        return os.fstat(fh.fileno())


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove(path: Path) -> None:
    """Remove a file, a symbolic link or a folder tree; what is already gone is fine."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)


def fill_and_replace(fd: int, tmp: str | Path, path: str | Path, data: bytes) -> None:
    """Write ``data`` into the new temporary file ``fd``/``tmp`` (with the mode a new
    file gets: mkstemp's is 0600), sync it and move it to ``path``; on any failure the
    temporary file is closed and removed, and the error raised."""
    try:
        fh = os.fdopen(fd, "wb")
    except BaseException:
        discard(fd, tmp)
        raise
    try:
        with fh:
            os.fchmod(fh.fileno(), 0o666 & ~umask())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """One file, replaced whole or not at all. What stands at ``path`` is never replaced
    by something else: a symbolic link stays one (the file it points to is replaced); a
    FIFO, a device or a terminal (``/dev/stdout``, ``/proc/self/fd/1``) is written into,
    as other tools do; a folder is refused."""
    path = path.absolute()
    shown = display_path(path)
    try:
        found = os.stat(path)  # through symbolic links
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise OutputError(f"{shown}: cannot be written ({exc.strerror})") from exc
    try:
        if found is not None and stat.S_ISDIR(found.st_mode):
            raise OutputError(f"{shown}: is a folder: give a file name")
        if found is not None and not stat.S_ISREG(found.st_mode):
            with open(path, "wb") as fh:  # a FIFO, a device: written into, not replaced
                fh.write(data)
            return
        target = Path(os.path.realpath(path)) if path.is_symlink() else path
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        fill_and_replace(fd, tmp, target, data)
    except OSError as exc:
        raise OutputError(f"{shown}: cannot be written ({exc.strerror})") from exc


def discard(fd: int, *names: str | Path) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(name)
