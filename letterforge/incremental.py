"""What makes a letter up to date: its key (a hash of everything it follows from: its
row, the signatories, its templates and what they read, the settings, letterforge's
own code and the versions of the libraries that write the files), and the stat cache
that tells which files of a batch are still the ones rendered without reading them
all."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .files import discard, fill_and_replace
from .job import Job, Variant
from .manifest import file_sha256
from .models import Template


def _digest(data: bytes | str | None) -> str | None:
    if data is None:
        return None
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _template_digest(t: Template | None) -> Any:
    if t is None:
        return None
    return {"file": t.sha256,
            "includes": {name: _digest(text) for name, (_, text) in sorted(t.includes.items())}}


def variant_key(v: Variant, formats: Sequence[str]) -> dict[str, Any]:
    """What the letters of one language's templates depend on: the templates, everything
    they read."""
    return {
        "template": _template_digest(v.template),
        "email_template": _template_digest(v.email_template) if "eml" in formats else None,
        "stylesheet": _digest(v.assets.stylesheet),
        "stylesheet_files": {k: _digest(d) for k, d in sorted(v.assets.files.items())},
        "reference_docx": _digest(v.assets.reference_docx),
        # only when there are images: the keys of letters without images stay as they were
        **({"images": {k: _digest(i.data) for k, i in sorted(v.assets.images.items())}}
           if v.assets.images else {}),
    }


def shared_key(job: Job) -> dict[str, Any]:
    """What every letter's key includes besides its templates: the signatories, the
    settings and the versions of the libraries that write the files."""
    return {
        "letterforge": __version__,
        "formats": list(job.formats),
        "signatories": hashlib.sha256(json.dumps(
            [dict(sorted(s.fields.items())) for s in job.signatories]).encode()).hexdigest(),
        "libraries": library_versions(),
        "date": job.settings.date.isoformat() if job.settings.date else None,
        "source_date_epoch": job.settings.source_date_epoch,
    }


def code_digest() -> str:
    """letterforge's own code: a letter rendered by other code is rendered again, even
    when the version number did not change (a development checkout, a patched install)."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Versions of the libraries whose output ends up in the files."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"letterforge code": code_digest()}
    for name in ("weasyprint", "pydyf", "fonttools", "python-docx", "babel", "jinja2",
                 "markdown-it-py", "mdit-py-plugins"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "?"
    return out


#: the stat cache of a batch (see :class:`StatCache`): in the batch folder, not one of
#: its outputs (no manifest lists it, a render never carries it over, verify ignores it)
STAT_CACHE = ".letterforge-stat-cache.json"


#: (size, mtime_ns, ctime_ns, inode, device) of a file
Fingerprint = tuple[int, int, int, int, int]


_STAT_FORMAT = "letterforge stat cache 1"


def fingerprint(st: os.stat_result) -> Fingerprint:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def fs_now(folder: Path) -> tuple[int, str, int] | None:
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


def save_stat_cache(fd: int, name: str, target: Path,
                     entries: dict[str, tuple[Fingerprint, str]]) -> None:
    """Write the cache into the temporary file ``fd``/``name`` and move it into place
    (atomic); on any failure, remove it. The cache is an optimisation: no error."""
    doc = {"format": _STAT_FORMAT,
           "files": {rel: [*fp, digest] for rel, (fp, digest) in sorted(entries.items())}}
    with contextlib.suppress(OSError):
        fill_and_replace(fd, name, target, json.dumps(doc, separators=(",", ":")).encode())




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
        fp = fingerprint(st)
        regular = stat.S_ISREG(st.st_mode)
        if regular and self.entries.get(rel) == (fp, digest):
            return True
        if rel in self.entries:
            self.dropped.add(rel)
        # the filesystem's time before the content is read: a later change gets a later
        # ctime than this file has now, an earlier one is in what is read
        now = self.fs_now() if regular else None
        if file_sha256(Path(path)) != digest:
            return False
        if now is not None and fp[1] < now and fp[2] < now:
            self.fresh[rel] = (fp, digest)
        return True

    def fs_now(self) -> int | None:
        if not self._asked:
            self._asked = True
            self._now = fs_now(self.batch)
        return self._now[2] if self._now is not None else None

    def save(self, paths: Iterable[str]) -> None:
        """Record what this run found, for the files at ``paths`` (the batch's files);
        nothing when it found nothing new."""
        if self._now is None:
            return
        fd, name, _ = self._now
        self._now = None
        if not self.fresh and not self.dropped:
            discard(fd, name)
            return
        wanted = set(paths)
        entries = {rel: e for rel, e in self.entries.items()
                   if rel in wanted and rel not in self.dropped}
        entries.update((rel, e) for rel, e in self.fresh.items() if rel in wanted)
        save_stat_cache(fd, name, self.batch / STAT_CACHE, entries)

    def close(self) -> None:
        """Remove the temporary file, if :meth:`save` did not use it."""
        if self._now is not None:
            fd, name, _ = self._now
            self._now = None
            discard(fd, name)
