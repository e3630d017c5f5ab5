"""Combine the parts of a sharded render (``render --shard K/N``) into one batch.

Refuses a part given twice, a missing part, parts of different renders (other inputs,
formats, year or letterforge version), a letter in two parts, and any file whose bytes
differ from its part's manifest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import LetterforgeError, display_path
from .output import BatchWriter, read_manifest, sha256

SAME = ("year", "formats", "inputs", "letterforge")


class CombineError(LetterforgeError):
    pass


def combine(parts: Sequence[Path], out_root: Path) -> tuple[Path, dict[str, Any]]:
    if not parts:
        raise CombineError("give the batch folders of the parts to combine")
    manifests: list[tuple[Path, dict[str, Any]]] = []
    for part in parts:
        m = read_manifest(part)
        if m is None:
            raise CombineError(f"{display_path(part)}: no manifest.json: not a rendered batch")
        if "shard" not in m:
            raise CombineError(f"{display_path(part)}: not a part of a sharded render "
                               "(it was not rendered with --shard)")
        manifests.append((part, m))
    try:
        return _combine(manifests, out_root)
    except (KeyError, TypeError) as exc:
        raise CombineError(f"a part's manifest.json is damaged ({exc!r} missing or wrong): "
                           "render that part again") from exc


def _combine(manifests: list[tuple[Path, dict[str, Any]]],
             out_root: Path) -> tuple[Path, dict[str, Any]]:
    first_part, first = manifests[0]
    count = first["shard"]["count"]
    seen: dict[int, Path] = {}
    for part, m in manifests:
        for key in SAME:
            if m.get(key) != first.get(key):
                raise CombineError(f"{display_path(part)} and {display_path(first_part)} come "
                                   f"from different renders ({key} differs): render every "
                                   "part from the same inputs")
        shard = m["shard"]
        if (shard.get("count"), shard.get("letters_sha256")) != (
                count, first["shard"].get("letters_sha256")):
            raise CombineError(f"{display_path(part)} is part {shard.get('index')}/"
                               f"{shard.get('count')} of another batch than "
                               f"{display_path(first_part)}")
        index = shard["index"]
        if index in seen:
            raise CombineError(f"part {index}/{count} is given twice: {display_path(seen[index])}"
                               f" and {display_path(part)}")
        seen[index] = part
    missing = [str(i) for i in range(1, count + 1) if i not in seen]
    if missing:
        raise CombineError(f"part{'s' if len(missing) > 1 else ''} {', '.join(missing)} of "
                           f"{count} missing: combine needs every part")
    letters: dict[str, tuple[Path, dict[str, Any]]] = {}
    for part, m in manifests:
        for entry in m.get("letters", []):
            slug = entry["slug"]
            if slug in letters:
                raise CombineError(f"the letter {slug!r} is in two parts: "
                                   f"{display_path(letters[slug][0])} and {display_path(part)}")
            letters[slug] = (part, entry)
    total = first["shard"]["letters_total"]
    if len(letters) != total:
        raise CombineError(f"the parts hold {len(letters)} letters, the batch has {total}: "
                           "a part was rendered with --only or is incomplete")

    from .pipeline import _mail_files

    target = out_root / str(first["year"])
    with BatchWriter(target) as writer:
        entries = []
        for slug in sorted(letters):
            part, entry = letters[slug]
            for f in entry["files"]:
                try:
                    data = (part / f["path"]).read_bytes()
                except (OSError, KeyError, TypeError) as exc:
                    raise CombineError(f"{display_path(part)}: a file its manifest lists "
                                       f"cannot be read ({exc}): render that part "
                                       "again") from exc
                if sha256(data) != f.get("sha256"):
                    raise CombineError(f"{display_path(part / f['path'])} differs from its "
                                       "manifest: render that part again")
                writer.write(f["path"], data)
            entries.append(entry)
        manifest: dict[str, Any] = {k: first[k] for k in ("letterforge", "year", "formats",
                                                          "inputs") if k in first}
        manifest["letters"] = entries
        manifest["batch_files"] = _mail_files(entries, writer)
        writer.commit(manifest)
    return target, manifest
