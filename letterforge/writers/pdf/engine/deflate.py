"""The ``deflate`` speed override: compressed streams remembered (see the table in
``engine/__init__.py``).

pydyf deflates every stream (``zlib.compressobj(level=9)``, one ``compress``, one
``flush``); most of a letter's compressed bytes are its embedded font subsets, which are
the same for most letters, and pages that repeat. zlib's output is a function of the
input bytes and the level, so the output for an input compressed before in this process
is taken from a bounded memory (least recently used out) keyed on the level and the
input bytes themselves. pydyf's module is given a ``zlib`` whose ``compressobj``
remembers; the level is pydyf's, and everything else is zlib's.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from typing import Any

from . import patch

#: Compressed streams kept per process: input and output bytes together.
MAX_DEFLATED_BYTES = 48 * 1024 * 1024

_deflated: OrderedDict[tuple[int, bytes], bytes] = OrderedDict()
_size = 0
_lock = threading.Lock()


def deflate(data: bytes, level: int) -> bytes:
    """``zlib.compressobj(level=level)``'s whole output for ``data``, remembered."""
    global _size
    key = (level, data)
    with _lock:
        hit = _deflated.get(key)
        if hit is not None:
            _deflated.move_to_end(key)
            return hit
    compressor = zlib.compressobj(level=level)
    out = compressor.compress(data) + compressor.flush()
    if len(data) + len(out) <= MAX_DEFLATED_BYTES // 8:
        with _lock:
            if key not in _deflated:
                _deflated[key] = out
                _size += len(data) + len(out)
            while _size > MAX_DEFLATED_BYTES:
                (_, old), old_out = _deflated.popitem(last=False)
                _size -= len(old) + len(old_out)
    return out


class _Deflater:
    """A ``compressobj`` that compresses everything at ``flush`` through the memory (the
    output of ``compress`` + ``flush`` is the same bytes as zlib's)."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.parts: list[bytes] = []

    def compress(self, data: bytes) -> bytes:
        self.parts.append(bytes(data))
        return b""

    def flush(self, mode: int = zlib.Z_FINISH) -> bytes:
        if mode != zlib.Z_FINISH:
            raise ValueError("only a finishing flush is supported")
        data = b"".join(self.parts)
        self.parts = []
        return deflate(data, self.level)


class _Zlib:
    """zlib for pydyf: ``compressobj(level)`` remembers; everything else is zlib's."""

    def compressobj(self, level: int = -1, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return zlib.compressobj(level, *args, **kwargs)
        return _Deflater(level)

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)


def install(name: str) -> None:
    import pydyf

    assert pydyf.zlib is zlib, "pydyf is not the version pinned"
    patch("deflate", pydyf, "zlib", _Zlib())
