"""Combine the parts of a sharded render (``render --shard K/N``) into one batch.

Refuses a part given twice, a missing part, parts of different renders (other inputs,
formats, year or letterforge version), a letter in two parts, any file whose bytes
differ from its part's manifest, and, as ``render`` does, replacing a letter of the
target batch that was edited by hand or a file letterforge did not make.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .batch import BatchWriter
from .errors import CombineError, LetterforgeError, Problem, ValidationFailed, display_path
from .mailfiles import mail_files
from .manifest import LetterEntry, Manifest, sha256, unlisted


def combine(parts: Sequence[Path], out_root: Path, *, force: bool = False
            ) -> tuple[Path, Manifest]:
    if not parts:
        raise CombineError("give the batch folders of the parts to combine")
    manifests: list[tuple[Path, Manifest]] = []
    for part in parts:
        try:
            m = Manifest.read(part)
        except LetterforgeError as exc:
            raise CombineError(exc.problems) from None
        if m is None:
            raise CombineError(f"{display_path(part)}: no manifest.json: not a rendered batch")
        if m.shard is None:
            raise CombineError(f"{display_path(part)}: not a part of a sharded render "
                               "(it was not rendered with --shard)")
        manifests.append((part, m))
    try:
        return _combine(manifests, out_root, force)
    except (KeyError, TypeError, ValueError) as exc:
        raise CombineError(f"a part's manifest.json is damaged ({exc!r} missing or wrong): "
                           "render that part again") from exc


# Complexity over 20, kept: one refusal per way parts can disagree, each with its message.
def _combine(manifests: list[tuple[Path, Manifest]], out_root: Path,
             force: bool) -> tuple[Path, Manifest]:
    first_part, first = manifests[0]
    assert first.shard is not None
    count = first.shard["count"]
    seen: dict[int, Path] = {}
    for part, m in manifests:
        assert m.shard is not None
        for key in ("year", "formats", "inputs", "options", "letterforge"):
            if getattr(m, key) != getattr(first, key):
                raise CombineError(f"{display_path(part)} and {display_path(first_part)} come "
                                   f"from different renders ({key} differs): render every "
                                   "part from the same inputs")
        if (m.shard.get("count"), m.shard.get("letters_sha256")) != (
                count, first.shard.get("letters_sha256")):
            raise CombineError(f"{display_path(part)} is part {m.shard.get('index')}/"
                               f"{m.shard.get('count')} of another batch than "
                               f"{display_path(first_part)}")
        index = m.shard["index"]
        if index in seen:
            raise CombineError(f"part {index}/{count} is given twice: {display_path(seen[index])}"
                               f" and {display_path(part)}")
        seen[index] = part
    missing = [str(i) for i in range(1, count + 1) if i not in seen]
    if missing:
        raise CombineError(f"part{'s' if len(missing) > 1 else ''} {', '.join(missing)} of "
                           f"{count} missing: combine needs every part")
    letters: dict[str, tuple[Path, LetterEntry]] = {}
    for part, m in manifests:
        for entry in m.letters:
            if entry.slug in letters:
                raise CombineError(f"the letter {entry.slug!r} is in two parts: "
                                   f"{display_path(letters[entry.slug][0])} and "
                                   f"{display_path(part)}")
            letters[entry.slug] = (part, entry)
    total = first.shard["letters_total"]
    if len(letters) != total:
        raise CombineError(f"the parts hold {len(letters)} letters, the batch has {total}: "
                           "a part was rendered with --only or is incomplete")

    target = out_root / str(first.year)
    try:
        old = Manifest.read(target)
    except LetterforgeError as exc:
        if not force:
            raise CombineError(exc.problems) from None
        old = None
    def would_lose_work() -> list[Problem]:
        """Hand-edited letters and the user's files the combined batch would replace:
        checked first, and again holding the lock right before the swap."""
        if force:
            return []
        problems = old.edited(target) if old is not None else []
        return problems + unlisted(target, old, [f.path for _, e in letters.values()
                                                 for f in e.files])

    problems = would_lose_work()
    if problems:
        raise ValidationFailed(problems)
    with BatchWriter(target) as writer:
        entries = []
        for slug in sorted(letters):
            part, entry = letters[slug]
            for f in entry.files:
                try:
                    data = (part / f.path).read_bytes()
                except OSError as exc:
                    raise CombineError(f"{display_path(part)}: a file its manifest lists "
                                       f"cannot be read ({exc}): render that part "
                                       "again") from exc
                if sha256(data) != f.sha256:
                    raise CombineError(f"{display_path(part / f.path)} differs from its "
                                       "manifest: render that part again")
                writer.write(f.path, data)
            entries.append(entry)
        manifest = Manifest(letterforge=first.letterforge, year=first.year,
                            formats=first.formats, inputs=first.inputs, letters=entries,
                            options=first.options)
        manifest.batch_files = mail_files(manifest, writer)
        writer.commit(manifest, old, would_lose_work)
    return target, manifest
