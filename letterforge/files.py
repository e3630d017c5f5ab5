"""Writing one file safely: written, flushed to disk, and put in place by one rename
(an existing file is replaced whole or not at all)."""

from __future__ import annotations

import contextlib
import os
import shutil
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
    """One file, replaced whole or not at all."""
    path = path.absolute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        fill_and_replace(fd, tmp, path, data)
    except OSError as exc:
        raise OutputError(f"{display_path(path)}: cannot be written ({exc.strerror})") from exc


def discard(fd: int, *names: str | Path) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(name)
