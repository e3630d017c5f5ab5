"""What a re-run with nothing to do computes faster gives what the long way gives: the
letters' keys, and whether the manifest would change."""

from __future__ import annotations

from dataclasses import replace

import pytest

from letterforge.manifest import FileEntry, LetterEntry, LetterKeys, Manifest, letter_key

SHARED = {"letterforge": "0.1.0", "formats": ["docx", "pdf"], "date": None,
          "libraries": {"weasyprint": "70.0", "letterforge code": "ab" * 32},
          "variant": {"template": {"file": "cd" * 32, "includes": {}}, "images": {}},
          "zzz": ["after the candidate"], "aaa": 1.5}

FIELDS = [
    {"name": "Mexico", "short_name": "Mexico", "email": "mx@example.org", "year": "2013"},
    {"name": "Côte d'Ivoire", "short_name": 'Say "hi"\n', "email": "", "year": "2013"},
    {"z": "\x00", "a": "\u2028", "candidate": "a field named like the key"},
    {},
]


@pytest.mark.parametrize("fields", FIELDS)
def test_letter_keys_are_letter_key(fields: dict[str, str]) -> None:
    assert LetterKeys(SHARED)(fields) == letter_key(SHARED, fields)


def test_letter_keys_with_the_mark_in_the_shared_values() -> None:
    shared = {**SHARED, "x": LetterKeys._MARK}
    assert LetterKeys(shared)(FIELDS[0]) == letter_key(shared, FIELDS[0])


def test_letter_keys_change_with_every_field() -> None:
    keys = LetterKeys(SHARED)
    base = keys(FIELDS[0])
    for name in FIELDS[0]:
        assert keys({**FIELDS[0], name: FIELDS[0][name] + " "}) != base
    assert keys({**FIELDS[0], "lang": "fr"}) != base
    assert LetterKeys({**SHARED, "date": "2013-11-06"})(FIELDS[0]) != base


def _manifest(**changes: object) -> Manifest:
    files = (FileEntry("pdf/x.pdf", "pdf", 3, "ab" * 32),)
    m = Manifest("0.1.0", 2013, ("pdf",), {"candidates": "c", "template": "t"},
                 [LetterEntry("X", "X", "x", "c.csv:2", "k", files)],
                 [FileEntry("outbox.csv", "csv", 9, "cd" * 32)],
                 options={"date": None, "formats": ["pdf"]})
    return replace(m, **changes)


@pytest.mark.parametrize("other", [
    _manifest(),
    _manifest(inputs={"template": "t", "candidates": "c"}),  # another order
    _manifest(options={"date": None, "formats": ["pdf"], "only": True}),
    _manifest(shard={"index": 1, "count": 2}),
    _manifest(letters=[LetterEntry("X", "X", "x", "c.csv:3", "k",
                                   (FileEntry("pdf/x.pdf", "pdf", 3, "ab" * 32),))]),
    _manifest(letters=[LetterEntry("X", "X", "x", "c.csv:2", "k",
                                   (FileEntry("pdf/x.pdf", "pdf", 3, "ab" * 32),),
                                   stale=True)]),
    _manifest(batch_files=[]),
    _manifest(letterforge="0.2.0"),
], ids=["same", "inputs-order", "options", "shard", "source", "stale", "batch-files",
        "version"])
def test_same_bytes_is_comparing_the_bytes(other: Manifest) -> None:
    one = _manifest()
    assert one.same_bytes(other) == (one.to_bytes() == other.to_bytes())
