"""Output: the only stage that writes. A batch is built in a temporary folder beside its
target and moved into place only when every file is written, so a failure, a full disk
or Ctrl-C part-way leaves the previous batch exactly as it was. Also here: the batch
files made from the e-mails (``batch.mbox``, ``outbox.csv``) and the other files
letterforge writes (CSV exports), each replaced whole or not at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
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
from .manifest import MANIFEST, FileEntry, Manifest, file_sha256, sha256

MBOX = "batch.mbox"
OUTBOX = "outbox.csv"
#: the stat cache of a batch (see :class:`StatCache`): in the batch folder, not one of
#: its outputs (no manifest lists it, a render never carries it over, verify ignores it)
STAT_CACHE = ".letterforge-stat-cache.json"


def _safe_relpath(rel: str) -> Path:
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise OutputError(f"refusing to write {rel!r}: outside the batch folder")
    return p


def _write(path: Path, data: bytes) -> os.stat_result:
    """Write a file; its stat right after (for the stat cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
        return os.fstat(fh.fileno())


# ----- the stat cache -------------------------------------------------------------------

#: (size, mtime_ns, ctime_ns, inode, device) of a file
Fingerprint = tuple[int, int, int, int, int]
_STAT_FORMAT = "letterforge stat cache 1"


def _fingerprint(st: os.stat_result) -> Fingerprint:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _fs_now(folder: Path) -> tuple[int, str, int] | None:
    """A new temporary file in ``folder`` (its descriptor and path) and the filesystem's
    time when it was made (its mtime: the clock that stamps the batch's files); None
    when the folder cannot be written."""
    try:
        fd, name = tempfile.mkstemp(prefix=f"{STAT_CACHE}.", dir=folder)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
        return None
    return fd, name, min(st.st_mtime_ns, st.st_ctime_ns)


def _save_stat_cache(fd: int, name: str, target: Path,
                     entries: dict[str, tuple[Fingerprint, str]]) -> None:
    """Write the cache into the temporary file ``fd``/``name`` and move it into place
    (atomic); on any failure, remove it. The cache is an optimisation: no error."""
    doc = {"format": _STAT_FORMAT,
           "files": {rel: [*fp, digest] for rel, (fp, digest) in sorted(entries.items())}}
    with contextlib.suppress(OSError):
        _fill_and_replace(fd, name, target, json.dumps(doc, separators=(",", ":")).encode())


def _discard(fd: int, *names: str | Path) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(name)


class StatCache:
    """Which files of a batch are still the ones that were rendered, without reading
    them all: what git's index does for a working tree.

    ``.letterforge-stat-cache.json`` in the batch folder records, per file, its stat
    (size, mtime_ns, ctime_ns, inode, device) at a moment its content was known to have
    a sha256: right after a render wrote it, or after a later run hashed it. A file
    whose stat is identical to the recorded one, with the sha256 the manifest expects,
    is taken as intact; any other file is hashed, as without the cache. Nobody can set
    a file's ctime: writing to a file, replacing it (a new inode) or touching it back to
    its old mtime all give it a new ctime, so an edit of the same size and mtime is
    still found.

    An entry is recorded only when the file's mtime and ctime are older than a moment
    taken from the filesystem's own clock (a temporary file's mtime) before its content
    was known: a change after that moment gets a later ctime than the one recorded
    (git's "racy clean" files, handled the same way: such files are hashed next time).
    A missing, damaged or foreign cache file means every file is hashed; never an
    error. ``letterforge verify`` and ``send`` do not use it: they hash every file.
    """

    def __init__(self, batch: Path, entries: dict[str, tuple[Fingerprint, str]]) -> None:
        self.batch = batch
        self._folder = str(batch)  # paths joined as text: pathlib was half the time
        self.entries = entries
        self.fresh: dict[str, tuple[Fingerprint, str]] = {}  # hashed and found intact now
        self.dropped: set[str] = set()  # recorded, but the file is no longer that file
        self._now: tuple[int, str, int] | None = None
        self._asked = False

    @classmethod
    def load(cls, batch: Path) -> StatCache:
        try:
            doc = json.loads((batch / STAT_CACHE).read_bytes())
            if doc["format"] != _STAT_FORMAT:
                raise ValueError(doc["format"])
            entries: dict[str, tuple[Fingerprint, str]] = {}
            for rel, item in doc["files"].items():
                *numbers, digest = item
                if (len(numbers) != 5 or not all(type(n) is int for n in numbers)
                        or not isinstance(digest, str) or not isinstance(rel, str)):
                    raise ValueError(rel)
                size, mtime, ctime, ino, dev = numbers
                entries[rel] = ((size, mtime, ctime, ino, dev), digest)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return cls(batch, {})  # none, damaged or foreign: hash every file
        return cls(batch, entries)

    def __call__(self, rel: str, digest: str) -> bool:
        """Is the batch's file at ``rel`` there with the content ``digest``?"""
        path = os.path.join(self._folder, rel)
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return False
        fp = _fingerprint(st)
        regular = stat.S_ISREG(st.st_mode)
        if regular and self.entries.get(rel) == (fp, digest):
            return True
        if rel in self.entries:
            self.dropped.add(rel)
        # the filesystem's time before the content is read: a later change gets a later
        # ctime than this file has now, an earlier one is in what is read
        now = self._fs_now() if regular else None
        if file_sha256(Path(path)) != digest:
            return False
        if now is not None and fp[1] < now and fp[2] < now:
            self.fresh[rel] = (fp, digest)
        return True

    def _fs_now(self) -> int | None:
        if not self._asked:
            self._asked = True
            self._now = _fs_now(self.batch)
        return self._now[2] if self._now is not None else None

    def save(self, paths: Iterable[str]) -> None:
        """Record what this run found, for the files at ``paths`` (the batch's files);
        nothing when it found nothing new."""
        if self._now is None:
            return
        fd, name, _ = self._now
        self._now = None
        if not self.fresh and not self.dropped:
            _discard(fd, name)
            return
        wanted = set(paths)
        entries = {rel: e for rel, e in self.entries.items()
                   if rel in wanted and rel not in self.dropped}
        entries.update((rel, e) for rel, e in self.fresh.items() if rel in wanted)
        _save_stat_cache(fd, name, self.batch / STAT_CACHE, entries)

    def close(self) -> None:
        """Remove the temporary file, if :meth:`save` did not use it."""
        if self._now is not None:
            fd, name, _ = self._now
            self._now = None
            _discard(fd, name)


class BatchLock:
    """An exclusive lock on a batch, held by a render while it replaces the batch and by
    a send while it sends: they never overlap, so a render cannot lose a ledger line that
    a send is writing. The lock file sits beside the batch folder, not in it."""

    def __init__(self, target: Path) -> None:
        import fcntl

        target = target.absolute()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(target.parent / f".{target.name}.lock", "a+")  # noqa: SIM115
        except OSError as exc:
            raise OutputError(f"{display_path(target.parent)}: cannot write the batch there "
                              f"({exc.strerror}): choose another --out folder") from None
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(path: Path) -> None:
    """Remove a file, a symbolic link or a folder tree; what is already gone is fine."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)


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
        _remove(leftover)
    for leftover in parent.glob(f".{target.name}.old-*"):
        _remove(leftover)


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
            os.chmod(self.tmp, 0o777 & ~_umask())
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
            st = _write(self.path(rel), data)
        except OSError as exc:
            raise self._fail(exc) from exc
        self.written.add(rel)
        entry = FileEntry.of(rel, data)
        self._seen(rel, st, entry.sha256)
        return entry

    def _seen(self, rel: str, st: object, digest: str) -> None:
        """The stat of a file this writer wrote, right after writing ``digest``'s bytes."""
        if isinstance(st, os.stat_result):
            self.stats[rel] = (_fingerprint(st), digest)

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
            _write(self.tmp / MANIFEST, manifest.to_bytes())
            # the filesystem's time once every file is written, before the batch is in
            # place (see StatCache): only this writer has written its files before it
            now = _fs_now(self.tmp)
            _swap(self.tmp, self.target)
        except BaseException as exc:
            if now is not None:  # also after an interrupt once the batch was in place
                _discard(now[0], now[1], self.target / Path(now[1]).name)
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
            if _fingerprint(st) == fp and fp[1] < floor and fp[2] < floor:
                entries[rel] = (fp, digest)
        _save_stat_cache(fd, str(self.target / Path(name).name), self.target / STAT_CACHE,
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
    _write(journal, json.dumps({"old": old.name, "new": new.name}).encode())
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
    _remove(old)
    if late:
        raise Interrupted(f"{display_path(target)}: the interrupt came as the new batch was "
                          "being put in place: the new batch is complete and in place")


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


def _fill_and_replace(fd: int, tmp: str | Path, path: str | Path, data: bytes) -> None:
    """Write ``data`` into the new temporary file ``fd``/``tmp`` (with the mode a new
    file gets: mkstemp's is 0600), sync it and move it to ``path``; on any failure the
    temporary file is closed and removed, and the error raised."""
    try:
        fh = os.fdopen(fd, "wb")
    except BaseException:
        _discard(fd, tmp)
        raise
    try:
        with fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
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
        _fill_and_replace(fd, tmp, path, data)
    except OSError as exc:
        raise OutputError(f"{display_path(path)}: cannot be written ({exc.strerror})") from exc


# ----- batch files made from the e-mails ----------------------------------------------


def mail_files(manifest: Manifest, writer: BatchWriter) -> list[FileEntry]:
    """batch.mbox and outbox.csv over every e-mail of the batch, read back one by one."""
    emails = [(e.candidate, f.path) for e in manifest.letters for f in e.files
              if f.path.endswith(".eml")]
    if not emails:
        return []
    mbox = writer.write_chunks(MBOX, mbox_chunks(writer.read(p) for _, p in emails))
    outbox = writer.write(OUTBOX, outbox_rows((c, p, writer.read(p)) for c, p in emails))
    return [mbox, outbox]


def mbox_chunks(messages: Iterable[bytes]) -> Iterator[bytes]:
    """The messages as one mboxrd file (LF line ends, '>From ' quoting) a client imports,
    one message at a time, so a large batch is never held whole."""
    for data in messages:
        out = bytearray()
        parsed = _headers(data)
        sender = parseaddr(str(parsed["From"] or ""))[1] or "MAILER-DAEMON"
        date = parsed["Date"]
        when = date.datetime if date is not None and hasattr(date, "datetime") else None
        stamp = time.asctime(when.utctimetuple()) if when else "Thu Jan  1 00:00:00 1970"
        out += f"From {sender} {stamp}\n".encode()
        body = without_bcc(data).replace(b"\r\n", b"\n")
        # every line (each piece between two LF) that starts with ">*From " gets one
        # more ">"; each piece ends with LF, and a body without a final LF gets two
        out += _FROM_LINE.sub(b">", body) + b"\n"
        if not body.endswith(b"\n"):
            out += b"\n"
        yield bytes(out)


_FROM_LINE = re.compile(rb"^(?=>*From )", re.M)


_BCC = re.compile(rb"^Bcc:.*(?:\r\n[ \t].*)*\r\n", re.I | re.M)


def without_bcc(data: bytes) -> bytes:
    """A message as its recipients see it: without its Bcc header. The batch's shared
    files (batch.mbox, outbox.csv) never show who was copied in secret."""
    head, sep, body = data.partition(b"\r\n\r\n")
    return _BCC.sub(b"", head + b"\r\n").rstrip(b"\r\n") + sep + body


def _head(data: bytes) -> bytes:
    """The message up to its first empty line (CRLF or LF), which ends the headers for
    the parser too: parsing the rest was most of the time of a 40 KB message."""
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := data.find(sep)) >= 0]
    return data[:min(ends)] if ends else data


def _headers(data: bytes) -> EmailMessage:
    """A message's headers only (the attached PDF is not decoded)."""
    from email.parser import BytesHeaderParser

    parsed = BytesHeaderParser(policy=policy.default).parsebytes(_head(data))
    assert isinstance(parsed, EmailMessage)
    return parsed


def outbox_rows(entries: Iterable[tuple[str, str, bytes]]) -> bytes:
    """outbox.csv: one row per message (candidate, rel path, bytes); no Bcc column."""
    rows = []
    for candidate, rel, data in entries:
        msg = _headers(data)
        rows.append([
            candidate,
            ", ".join(a for _, a in getaddresses([str(msg["To"] or "")])),
            ", ".join(a for _, a in getaddresses([str(msg["Cc"] or "")])),
            str(msg["Subject"] or ""),
            rel,
            len(data),
            sha256(data),
        ])
    return csv_bytes(["candidate", "to", "cc", "subject", "file", "size", "sha256"], rows)
