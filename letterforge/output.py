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


def commit_batch(
    target: Path,
    files: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    carry: Iterable[str] = (),
) -> None:
    """Write ``files`` and the manifest as the new content of ``target``, atomically.

    ``carry`` lists relative paths to take over from the existing batch unchanged
    (letters not re-rendered this time). Files in the existing folder that no manifest
    lists (notes, a send ledger) are carried over too: a render never deletes them.
    """
    target = target.absolute()
    shown = display_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    except OSError as exc:
        raise OutputError(f"{shown}: cannot create the output folder: {exc.strerror}") from exc
    try:
        for rel, data in files.items():
            _write(tmp / _safe_relpath(rel), data)
        if target.is_dir():
            old_manifest = read_manifest(target)
            listed = manifest_files(old_manifest) | {MANIFEST}
            keep = set(carry)
            for path in sorted(target.rglob("*")):
                if not path.is_file():
                    continue
                rel = path.relative_to(target).as_posix()
                if rel in files or rel == MANIFEST:
                    continue
                if rel in keep or rel not in listed:
                    dest = tmp / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.link(path, dest)
                    except OSError:
                        shutil.copy2(path, dest)
        _write(tmp / MANIFEST, dump_manifest(manifest))
        _swap(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(
            f"{shown}: the batch could not be written ({exc.strerror or exc}); "
            "the previous batch is unchanged"
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
