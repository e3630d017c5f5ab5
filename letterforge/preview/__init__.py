"""``letterforge preview``: a local page that shows one letter as it is sent and follows
the template as it is edited; and what ``letterforge proof`` shares with it.

- :mod:`.pages`: PDF pages as PNG images and their text (pypdfium2); a DOCX laid out by
  LibreOffice.
- :mod:`.compare`: what varies between two letters (sentences, words).
- :mod:`.state`: the preview's state: the chosen letter rendered through the same
  pipeline as ``render`` (same bytes), the last good rendering and the current problems;
  nothing is written to disk.
- :mod:`.page`: the HTML page and its script (server-sent events, images swapped in place).
- :mod:`.watcher`: watchfiles on the inputs; a change re-renders the one letter.
- :mod:`.server`: the Starlette app, served by uvicorn on 127.0.0.1 only.

The web stack is an optional extra (``pip install 'letterforge[preview]'``): nothing here
imports it at module level, and :func:`require` says how to install what is missing.
"""

from __future__ import annotations

import importlib.util

from ..errors import LetterforgeError

#: what the preview needs, by import name; proof needs only pypdfium2
PREVIEW_MODULES = ("starlette", "uvicorn", "watchfiles", "pypdfium2")
INSTALL_HINT = ("install the preview extra: pip install 'letterforge[preview]' "
                "(in a letterforge checkout, ./setup.sh does it)")


def missing(modules: tuple[str, ...] = PREVIEW_MODULES) -> list[str]:
    """The modules of ``modules`` that cannot be imported."""
    out = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(name)
    return out


def require(command: str, modules: tuple[str, ...] = PREVIEW_MODULES) -> None:
    """Raise a one-line error naming what ``command`` lacks and how to install it."""
    lacking = missing(modules)
    if lacking:
        raise LetterforgeError(
            f"letterforge {command} needs the optional package"
            f"{'s' if len(lacking) > 1 else ''} {', '.join(lacking)}, which "
            f"{'are' if len(lacking) > 1 else 'is'} not installed: {INSTALL_HINT}")
