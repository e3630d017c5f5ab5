"""The only stage that writes. A batch is built in a temporary folder beside its target
and moved into place only when every file is written (the swap announced in a
journal), so a failure, a full disk or Ctrl-C part-way leaves the previous batch
exactly as it was. Other files letterforge writes (CSV exports, an HTML page) are each
replaced whole or not at all (:func:`write_atomic`)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import (
    STOP_ASKED,
    Interrupted,
    OutputError,
    Problem,
    ValidationFailed,
    display_path,
)
from .files import discard, remove, umask, write_synced
from .incremental import STAT_CACHE, Fingerprint, fingerprint, fs_now, save_stat_cache
from .lock import BatchLock
from .manifest import MANIFEST, FileEntry, Manifest


def _safe_relpath(rel: str) -> Path:
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise OutputError(f"refusing to write {rel!r}: outside the batch folder")
    return p








def _journal(target: Path) -> Path:
    return target.parent / f".{target.name}.swap"


def recover(target: Path) -> None:
    """Clean up after a render or combine of ``target`` that was killed (call it holding
    the batch's lock, from the commands that swap batches: render and combine).

    A swap is announced in a journal (``.YEAR.swap``) before its first rename and the
    journal is removed right after the second. A run killed between the two renames
    left the journal, no batch and the previous batch as ``.YEAR.old-*``: it is put
    back. Any other leftover (``.YEAR.new-*`` of a render killed while it wrote,
    ``.YEAR.old-*`` of a swap that completed) is removed; nothing is ever restored over
    what the user did since (a deleted batch stays deleted).
    """
    target = target.absolute()
    parent = target.parent
    if not parent.is_dir():
        return
    journal = _journal(target)
    if journal.exists():
        try:
            doc = json.loads(journal.read_text(encoding="utf-8"))
            old: Path | None = parent / str(doc["old"])
        except (OSError, ValueError, KeyError, TypeError):
            old = None
        if (old is not None and old.name.startswith(f".{target.name}.old-")
                and not target.exists() and not target.is_symlink() and old.is_dir()):
            os.rename(old, target)
        journal.unlink()
    for leftover in parent.glob(f".{target.name}.new-*"):
        remove(leftover)
    for leftover in parent.glob(f".{target.name}.old-*"):
        remove(leftover)


def clean_leftovers(target: Path) -> None:
    """Remove what a killed render or combine of ``target`` left (see :func:`recover`),
    holding the batch's lock; nothing when another command holds it."""
    try:
        lock = BatchLock(target)
    except OutputError:
        return  # another render or send is at work: it cleans up itself
    try:
        recover(target.resolve() if target.is_symlink() else target.absolute())
    finally:
        lock.release()


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done (they are delivered after it):
    the few system calls that swap a batch are never cut in the middle."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def interrupt_pending() -> bool:
    import signal

    return bool({signal.SIGINT, signal.SIGTERM} & signal.sigpending())


def _take_interrupt() -> bool:
    """Consume a SIGINT or SIGTERM that is pending (blocked); True if there was one."""
    import signal

    if not interrupt_pending():
        return False
    signal.sigtimedwait({signal.SIGINT, signal.SIGTERM}, 0)
    return True


class BatchWriter:
    """Builds a batch in a temporary folder beside ``target``; ``commit`` moves it into
    place, anything else (an error, Ctrl-C, ``abort``) removes it and leaves the
    previous batch exactly as it was. Files are written as they come, so memory stays
    flat however large the batch.

    Whatever the existing batch holds that its manifest does not list (notes, a send
    ledger, folders, symbolic links) is carried over on commit: a render never deletes
    or replaces what it did not make. A batch folder that is a symbolic link stays one:
    the folder it points to is replaced.
    """

    def __init__(self, target: Path) -> None:
        given = target.absolute()
        self.shown = display_path(given)
        try:
            given.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"{self.shown}: cannot create the output folder: {exc.strerror}") from exc
        self.lock = BatchLock(given)
        try:
            # out/2013 -> elsewhere: work beside the folder it points to
            self.target = given.resolve() if given.is_symlink() else given
            if self.target.exists() and not self.target.is_dir():
                raise OutputError(f"{self.shown}: is not a folder: move it away or choose "
                                  "another --out")
            self.target.parent.mkdir(parents=True, exist_ok=True)
            recover(self.target)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.new-",
                                             dir=self.target.parent))
            # mkdtemp makes 0700 folders: give the batch the mode any new folder gets
            os.chmod(self.tmp, 0o777 & ~umask())
        except OSError as exc:
            self.lock.release()
            raise OutputError(
                f"{self.shown}: cannot create the output folder: {exc.strerror}") from exc
        except BaseException:
            self.lock.release()
            raise
        self.written: set[str] = set()
        # rel -> (stat right after writing, sha256): for the stat cache (see commit)
        self.stats: dict[str, tuple[Fingerprint, str]] = {}
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

    def write(self, rel: str, data: bytes) -> FileEntry:
        """Write one file; returns its manifest entry (path, format, size, sha256)."""
        try:
            st = write_synced(self.path(rel), data)
        except OSError as exc:
            raise self._fail(exc) from exc
        self.written.add(rel)
        entry = FileEntry.of(rel, data)
        self._seen(rel, st, entry.sha256)
        return entry

    def _seen(self, rel: str, st: object, digest: str) -> None:
        """The stat of a file this writer wrote, right after writing ``digest``'s bytes."""
        if isinstance(st, os.stat_result):
            self.stats[rel] = (fingerprint(st), digest)

    def write_chunks(self, rel: str, chunks: Iterable[bytes]) -> FileEntry:
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
                st = os.fstat(fh.fileno())
        except OSError as exc:
            raise self._fail(exc) from exc
        self.written.add(rel)
        entry = FileEntry(rel, rel.rsplit(".", 1)[-1], size, digest.hexdigest())
        self._seen(rel, st, entry.sha256)
        return entry

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

    def _carry_over(self, previous: Manifest | None) -> None:
        """Copy what the user keeps in the batch (anything the manifest does not list)
        into the new batch: files (hard links), folders, even empty, symbolic links."""
        listed = (previous.paths() if previous else set()) | {MANIFEST}
        for folder, dirs, files in os.walk(self.target):
            if folder == str(self.target):  # the stat cache (and its temporary files)
                files = [f for f in files if not f.startswith(STAT_CACHE)]
            here = Path(folder)
            rel_dir = here.relative_to(self.target)
            (self.tmp / rel_dir).mkdir(exist_ok=True)
            for name in list(dirs):
                path = here / name
                if path.is_symlink():  # a link to a folder: keep the link, do not follow
                    dirs.remove(name)
                    self._link_copy(path, (rel_dir / name).as_posix())
            for name in files:
                rel = (rel_dir / name).as_posix()
                if rel in self.written or rel in listed:
                    continue
                path = here / name
                if path.is_symlink():
                    self._link_copy(path, rel)
                else:
                    self.keep(rel)

    def _link_copy(self, path: Path, rel: str) -> None:
        dest = self.tmp / rel
        if dest.exists() or dest.is_symlink():
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.readlink(path), dest)

    def commit(self, manifest: Manifest, previous: Manifest | None,
               last_check: Callable[[], list[Problem]] | None = None) -> None:
        """Put the new batch in place. ``last_check`` runs first, holding the lock, right
        before the swap: what it finds (a letter edited by hand while this batch was
        being rendered, say) aborts the commit and leaves the batch on disk as it is."""
        if STOP_ASKED.is_set():  # an interrupt a library swallowed: stop all the same
            self.abort()
            raise KeyboardInterrupt
        problems = last_check() if last_check is not None else []
        if problems:
            self.abort()
            raise ValidationFailed(problems)
        now = None
        try:
            if self.target.is_dir():
                self._carry_over(previous)
            write_synced(self.tmp / MANIFEST, manifest.to_bytes())
            # the filesystem's time once every file is written, before the batch is in
            # place (see StatCache): only this writer has written its files before it
            now = fs_now(self.tmp)
            _swap(self.tmp, self.target)
        except BaseException as exc:
            if now is not None:  # also after an interrupt once the batch was in place
                discard(now[0], now[1], self.target / Path(now[1]).name)
            if isinstance(exc, OSError):
                raise self._fail(exc) from exc
            raise
        try:
            if now is not None:
                self._record(now)
        finally:
            self.done = True
            self.lock.release()

    def _record(self, now: tuple[int, str, int]) -> None:
        """The stat cache of the new batch: the files this writer wrote that nobody
        changed since (their stat is still the one right after writing) and whose last
        change is older than ``now``. Files taken over from the previous batch are
        not in it (a hard link changes their ctime): the next run hashes them."""
        fd, name, floor = now
        entries = {}
        for rel, (fp, digest) in self.stats.items():
            try:
                st = os.stat(self.target / rel)
            except OSError:
                continue
            if fingerprint(st) == fp and fp[1] < floor and fp[2] < floor:
                entries[rel] = (fp, digest)
        save_stat_cache(fd, str(self.target / Path(name).name), self.target / STAT_CACHE,
                         entries)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.done = True
        self.lock.release()


def _swap(new: Path, target: Path) -> None:
    """Put ``new`` in place of ``target``; the old folder is removed only after.

    The two renames are announced in a journal first (see :func:`recover`) and run with
    Ctrl-C deferred: an interrupt that came before them aborts the swap, one that comes
    during them is delivered once the new batch is in place.
    """
    if not target.exists():
        with interrupts_deferred():
            if interrupt_pending():
                raise KeyboardInterrupt
            os.rename(new, target)
            late = _take_interrupt()
        if late:
            raise Interrupted(f"{display_path(target)}: the interrupt came as the new batch "
                              "was being put in place: the new batch is complete and in place")
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    old.rmdir()
    journal = _journal(target)
    write_synced(journal, json.dumps({"old": old.name, "new": new.name}).encode())
    with interrupts_deferred():
        if interrupt_pending():
            journal.unlink()
            raise KeyboardInterrupt
        os.rename(target, old)
        try:
            os.rename(new, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.rename(old, target)
            with contextlib.suppress(OSError):
                journal.unlink()
            raise
        journal.unlink()
        late = _take_interrupt()
    remove(old)
    if late:
        raise Interrupted(f"{display_path(target)}: the interrupt came as the new batch was "
                          "being put in place: the new batch is complete and in place")




