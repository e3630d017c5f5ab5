"""The manifest of a batch (``manifest.json``): what was rendered from what.

Per letter: the candidate, its source line, the key of everything its files depend on,
and each file's path, size and sha256; for the batch: letterforge's version, the year,
the formats, the hashes of the inputs, the options it was rendered with (input paths,
encodings, date), the batch files (``batch.mbox``, ``outbox.csv``)
and, for a part of a sharded render, which part. It answers three questions:
which letters are :meth:`Manifest.outdated` (their key changed, or a file is missing),
which files were :meth:`Manifest.edited` by hand since, and which files are the batch's
own (:meth:`Manifest.paths`), so that a render never touches anything else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ManifestError, Problem, display_path

MANIFEST = "manifest.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: ``check(rel, sha256)``: is the batch's file at ``rel`` there with this content?
#: :func:`hashing` reads every file; ``output.StatCache`` skips the files whose stat
#: proves they are the ones it saw with that content.
FileCheck = Callable[[str, str], bool]


def hashing(batch: Path) -> FileCheck:
    """A check that hashes every file (what ``verify`` and ``send`` always do)."""
    return lambda rel, digest: file_sha256(batch / rel) == digest


def file_sha256(path: Path) -> str | None:
    """The sha256 of a file, or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the batch folder, with /
    format: str
    size: int
    sha256: str

    @classmethod
    def of(cls, path: str, data: bytes) -> FileEntry:
        return cls(path, path.rsplit(".", 1)[-1], len(data), sha256(data))

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "size": self.size,
                "sha256": self.sha256}


@dataclass(frozen=True)
class LetterEntry:
    candidate: str  # short name
    name: str
    slug: str
    source: str  # file:line of the candidate's row
    key: str  # letter_key() of the inputs its files were rendered from
    files: tuple[FileEntry, ...]
    stale: bool = False  # kept by a render --only although its inputs changed since

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"candidate": self.candidate, "name": self.name,
                               "slug": self.slug, "source": self.source, "key": self.key,
                               "files": [f.as_json() for f in self.files]}
        if self.stale:
            out["stale"] = True
        return out


@dataclass
class Manifest:
    letterforge: str
    year: int
    formats: tuple[str, ...]
    inputs: Mapping[str, str]
    letters: list[LetterEntry] = field(default_factory=list)
    batch_files: list[FileEntry] = field(default_factory=list)
    shard: Mapping[str, Any] | None = None
    #: what the batch was rendered from and with: the input files (relative to the
    #: campaign folder), their encodings, the --date given, the formats. verify and
    #: combine use them when the command line does not say otherwise.
    options: Mapping[str, Any] = field(default_factory=dict)

    # ----- reading and writing --------------------------------------------------------

    def _head_json(self) -> dict[str, Any]:
        """Everything but the letters and the batch files."""
        out: dict[str, Any] = {"letterforge": self.letterforge, "year": self.year,
                               "formats": list(self.formats), "inputs": dict(self.inputs)}
        if self.options:
            out["options"] = dict(self.options)
        if self.shard is not None:
            out["shard"] = dict(self.shard)
        return out

    def as_json(self) -> dict[str, Any]:
        out = self._head_json()
        out["letters"] = [e.as_json() for e in self.letters]
        out["batch_files"] = [f.as_json() for f in self.batch_files]
        return out

    def to_bytes(self) -> bytes:
        return (json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, shown: str) -> Manifest:
        """Parse a manifest; a damaged one is a ManifestError naming the file and line."""
        try:
            doc = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ManifestError(Problem(shown, None, None, f"is not UTF-8 text ({exc}); "
                                        + _DAMAGED_HINT)) from exc
        except json.JSONDecodeError as exc:
            raise ManifestError(Problem(shown, exc.lineno, None,
                                        f"is damaged ({exc.msg}); " + _DAMAGED_HINT)) from exc
        try:
            return cls._from_json(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ManifestError(Problem(shown, None, None,
                                        f"is damaged ({type(exc).__name__}: {exc}); "
                                        + _DAMAGED_HINT)) from exc

    @classmethod
    def _from_json(cls, doc: Any) -> Manifest:
        if not isinstance(doc, dict):
            raise TypeError("it is not a JSON object with the batch's letters")

        def files(items: Iterable[Any]) -> tuple[FileEntry, ...]:
            return tuple(FileEntry(str(f["path"]), str(f["format"]), int(f["size"]),
                                   str(f["sha256"])) for f in items)

        letters = [LetterEntry(str(e["candidate"]), str(e.get("name", e["candidate"])),
                               str(e["slug"]), str(e.get("source", "")), str(e["key"]),
                               files(e["files"]), bool(e.get("stale", False)))
                   for e in doc["letters"]]
        shard = doc.get("shard")
        if shard is not None and not isinstance(shard, dict):
            raise TypeError("shard")
        options = doc.get("options") or {}
        if not isinstance(options, dict):
            raise TypeError("options")
        return cls(letterforge=str(doc["letterforge"]), year=int(doc["year"]),
                   formats=tuple(str(f) for f in doc["formats"]),
                   inputs={str(k): str(v) for k, v in dict(doc["inputs"]).items()},
                   letters=letters, batch_files=list(files(doc.get("batch_files", []))),
                   shard=shard, options=options)

    @classmethod
    def read(cls, batch: Path) -> Manifest | None:
        """The batch's manifest; None when the batch has none (a new batch)."""
        path = batch / MANIFEST
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ManifestError(Problem(display_path(path), None, None,
                                        f"cannot be read ({exc.strerror}); " + _DAMAGED_HINT)
                                ) from exc
        return cls.from_bytes(data, display_path(path))

    # ----- questions ------------------------------------------------------------------

    def entry(self, slug: str) -> LetterEntry | None:
        return self.index().get(slug)

    def index(self) -> dict[str, LetterEntry]:
        """slug -> letter; made once per call site, so a large batch is not searched
        once per letter."""
        return {e.slug: e for e in self.letters}

    def paths(self) -> set[str]:
        """Every file of the batch the manifest lists (letters and batch files)."""
        listed = {f.path for e in self.letters for f in e.files}
        listed.update(f.path for f in self.batch_files)
        return listed

    def owners(self) -> dict[str, str]:
        """file path -> the candidate whose letter it is."""
        return {f.path: e.candidate for e in self.letters for f in e.files}

    def digests(self) -> dict[str, str]:
        out = {f.path: f.sha256 for e in self.letters for f in e.files}
        out.update({f.path: f.sha256 for f in self.batch_files})
        return out

    def outdated(self, batch: Path, keys: Mapping[str, str],
                 check: FileCheck | None = None) -> set[str]:
        """The slugs of ``keys`` whose letter must be rendered: not in the manifest, with
        another key, or with a file that is missing or not what was rendered (``check``
        tells; by default every file is hashed)."""
        out = set()
        index = self.index()
        for slug, key in keys.items():
            entry = index.get(slug)
            if entry is None or entry.key != key or not intact(batch, entry.files, check):
                out.add(slug)
        return out

    def edited(self, batch: Path, keep: Iterable[str] = (),
               check: FileCheck | None = None) -> list[Problem]:
        """Files of the batch that were changed after they were rendered (a DOCX finished
        in Word, say), other than those in ``keep`` (``check`` tells; by default every
        file is hashed)."""
        kept = set(keep)
        check = check or hashing(batch)
        problems = []
        for entry in self.letters:
            for f in entry.files:
                path = batch / f.path
                if f.path in kept or not path.is_file():
                    continue
                if not check(f.path, f.sha256):
                    problems.append(Problem(
                        display_path(path), None, None,
                        "was changed after it was rendered (edited by hand?) and this "
                        "render would replace it: move it out of the batch folder to keep "
                        "the edits, or pass --force to replace it"))
        return problems

    def with_letters(self, letters: Iterable[LetterEntry]) -> Manifest:
        return replace(self, letters=sorted(letters, key=lambda e: e.slug))

    def same_bytes(self, other: Manifest) -> bool:
        """``self.to_bytes() == other.to_bytes()``, without encoding both (the indented
        encoding is pure Python in the json module: 0.15 s each at 1000 letters). The
        letters and batch files are typed (str, int, bool): equal entries encode alike.
        The rest holds mappings whose order shows in the bytes: compared encoded."""
        return (self.letters == other.letters and self.batch_files == other.batch_files
                and json.dumps(self._head_json()) == json.dumps(other._head_json()))


def unlisted(batch: Path, manifest: Manifest | None, paths: Iterable[str]) -> list[Problem]:
    """Files at ``paths`` of the batch that no manifest says letterforge made (a file the
    user added, or any file of a batch whose manifest is missing): never replaced
    silently."""
    if not batch.is_dir():
        return []
    listed = manifest.paths() if manifest is not None else set()
    problems = []
    for rel in paths:
        path = batch / rel
        if rel in listed or not (path.exists() or path.is_symlink()):
            continue
        why = ("the batch has no manifest.json, so letterforge cannot tell whether it was "
               "edited by hand" if manifest is None else
               "it is not a file letterforge rendered (manifest.json does not list it)")
        problems.append(Problem(display_path(path), None, None,
                                f"this render would replace it, but {why}: move it out of "
                                "the batch folder, or pass --force to replace it"))
    return problems


_DAMAGED_HINT = ("letterforge cannot tell which files of the batch were edited by hand: "
                 "restore manifest.json (from a backup or version control), or move the "
                 "batch folder away, or render with --force to replace its letters")


def intact(batch: Path, files: Iterable[FileEntry], check: FileCheck | None = None) -> bool:
    """Every file is there with the recorded content (``check`` tells; by default every
    file is hashed)."""
    check = check or hashing(batch)
    seen = False
    for f in files:
        seen = True
        if not check(f.path, f.sha256):
            return False
    return seen


def letter_key(shared: Mapping[str, Any], candidate_fields: Mapping[str, str]) -> str:
    """A hash of everything one letter's files depend on, recorded in the manifest: equal
    keys mean the letter need not be rendered again. ``shared`` holds what every letter
    of the batch shares (templates, signatories, settings, library versions)."""
    doc = {**shared, "candidate": dict(sorted(candidate_fields.items()))}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class LetterKeys:
    """``letter_key(shared, fields)`` for the many letters that share ``shared``: the same
    keys, with the shared part encoded once (encoding it for each of 1000 letters was a
    tenth of a second of a re-run with nothing to do)."""

    _MARK = "\x00letterforge candidate 6f1d\x00"

    def __init__(self, shared: Mapping[str, Any]) -> None:
        self.shared = dict(shared)
        text = json.dumps({**self.shared, "candidate": self._MARK}, sort_keys=True)
        mark = json.dumps(self._MARK)
        self._parts = text.split(mark) if text.count(mark) == 1 else None

    def __call__(self, candidate_fields: Mapping[str, str]) -> str:
        if self._parts is None:  # the mark is in the shared values: the long way
            return letter_key(self.shared, candidate_fields)
        head, tail = self._parts
        body = json.dumps(dict(sorted(candidate_fields.items())), sort_keys=True)
        return hashlib.sha256((head + body + tail).encode()).hexdigest()
