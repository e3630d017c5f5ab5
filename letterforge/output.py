"""Output: the only stage that writes. A batch is built in a temporary folder beside its
target and moved into place only when every file is written, so a failure, a full disk
or Ctrl-C part-way leaves the previous batch exactly as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import OutputError, display_path

MANIFEST = "manifest.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(batch: Path) -> dict[str, Any] | None:
    path = batch / MANIFEST
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def manifest_files(manifest: Mapping[str, Any] | None) -> set[str]:
    """Relative paths of every file a manifest lists."""
    if not manifest:
        return set()
    listed = {
        str(f["path"])
        for letter in manifest.get("letters", [])
        for f in letter.get("files", [])
        if isinstance(f, dict) and "path" in f
    }
    listed.update(str(f["path"]) for f in manifest.get("batch_files", [])
                  if isinstance(f, dict) and "path" in f)
    return listed


def _safe_relpath(rel: str) -> Path:
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise OutputError(f"refusing to write {rel!r}: outside the batch folder")
    return p


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def dump_manifest(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode()


class BatchLock:
    """An exclusive lock on a batch, held by a render while it replaces the batch and by
    a send while it sends: they never overlap, so a render cannot lose a ledger line that
    a send is writing. The lock file sits beside the batch folder, not in it."""

    def __init__(self, target: Path) -> None:
        import fcntl

        target = target.absolute()
        target.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(target.parent / f".{target.name}.lock", "a+")  # noqa: SIM115
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise OutputError(f"{display_path(target)}: another letterforge command (render "
                              "or send) is working on this batch; wait for it to finish") from None

    def release(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> BatchLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def recover(target: Path) -> None:
    """A run killed between the two renames of a swap leaves the previous batch as
    .YEAR.old-*: put it back before anything else looks at the batch."""
    target = target.absolute()
    if target.exists() or not target.parent.is_dir():
        return
    olds = sorted(target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        os.rename(olds[-1], target)


class BatchWriter:
    """Builds a batch in a temporary folder beside ``target``; ``commit`` moves it into
    place, anything else (an error, Ctrl-C, ``abort``) removes it and leaves the
    previous batch exactly as it was. Files are written as they come, so memory stays
    flat however large the batch.

    Files of the existing batch that no manifest lists (notes, a send ledger) are
    carried over on commit: a render never deletes them.
    """

    def __init__(self, target: Path) -> None:
        self.target = target.absolute()
        self.shown = display_path(self.target)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"{self.shown}: cannot create the output folder: {exc.strerror}") from exc
        self.lock = BatchLock(self.target)
        try:
            recover(self.target)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.new-",
                                             dir=self.target.parent))
        except OSError as exc:
            self.lock.release()
            raise OutputError(
                f"{self.shown}: cannot create the output folder: {exc.strerror}") from exc
        self.written: set[str] = set()
        self.done = False

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self.done:
            self.abort()

    def _fail(self, exc: OSError) -> OutputError:
        self.abort()
        return OutputError(f"{self.shown}: the batch could not be written "
                           f"({exc.strerror or exc}); the previous batch is unchanged")

    def path(self, rel: str) -> Path:
        return self.tmp / _safe_relpath(rel)

    def write(self, rel: str, data: bytes) -> dict[str, Any]:
        """Write one file; returns its manifest entry (path, format, size, sha256)."""
        try:
            _write(self.path(rel), data)
        except OSError as exc:
            raise self._fail(exc) from exc
        self.written.add(rel)
        return {"path": rel, "format": rel.rsplit(".", 1)[-1], "size": len(data),
                "sha256": sha256(data)}

    def write_chunks(self, rel: str, chunks: Iterable[bytes]) -> dict[str, Any]:
        """Write one file from pieces (a large mbox) without holding it whole."""
        digest = hashlib.sha256()
        size = 0
        dest = self.path(rel)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise self._fail(exc) from exc
        self.written.add(rel)
        return {"path": rel, "format": rel.rsplit(".", 1)[-1], "size": size,
                "sha256": digest.hexdigest()}

    def keep(self, rel: str) -> None:
        """Take ``rel`` over from the existing batch unchanged (a hard link if possible)."""
        src = self.target / _safe_relpath(rel)
        dest = self.path(rel)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dest)
            except OSError:
                shutil.copy2(src, dest)
        except OSError as exc:
            raise self._fail(exc) from exc
        self.written.add(rel)

    def read(self, rel: str) -> bytes:
        return self.path(rel).read_bytes()

    def commit(self, manifest: Mapping[str, Any]) -> None:
        try:
            if self.target.is_dir():
                listed = manifest_files(read_manifest(self.target)) | {MANIFEST}
                for path in sorted(self.target.rglob("*")):
                    if not path.is_file():
                        continue
                    rel = path.relative_to(self.target).as_posix()
                    if rel in self.written or rel in listed:
                        continue
                    self.keep(rel)
            _write(self.tmp / MANIFEST, dump_manifest(manifest))
            _swap(self.tmp, self.target)
        except OSError as exc:
            raise self._fail(exc) from exc
        self.done = True
        self.lock.release()

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.done = True
        self.lock.release()


def _swap(new: Path, target: Path) -> None:
    """Put ``new`` in place of ``target``; the old folder is removed only after."""
    if not target.exists():
        os.rename(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    old.rmdir()
    os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_cell(value: object) -> str:
    """A value that a spreadsheet shows as text, never runs as a formula (OWASP's
    CSV-injection advice: a leading ``=``, ``+``, ``-``, ``@``, tab or CR gets a ``'``)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_bytes(header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    """A CSV file letterforge writes: UTF-8 with BOM (Excel reads it as UTF-8), CRLF,
    every cell safe to open in a spreadsheet."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([spreadsheet_cell(h) for h in header])
    for row in rows:
        writer.writerow([spreadsheet_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_atomic(path: Path, data: bytes) -> None:
    """One file, replaced whole or not at all."""
    path = path.absolute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise OutputError(f"{display_path(path)}: cannot be written ({exc.strerror})") from exc
