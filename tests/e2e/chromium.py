"""A headless Debian Chromium (/usr/bin/chromium, apt package ``chromium``, installed by
``./setup.sh --test``) driven by Playwright with no browser download: Playwright's driver
talks to the system browser. Tests skip with the reason when either is missing."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

#: LETTERFORGE_SCREENSHOTS=1 makes the browser tests save the README's screenshots
DOCS = Path(__file__).resolve().parents[2] / "docs"


def executable() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    """A Playwright Browser on the system Chromium, or a skip saying what is missing."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install "
        "'letterforge[test]', or ./setup.sh --test)")
    exe = executable()
    if exe is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; "
                    "./setup.sh --test installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def screenshot(page: Any, name: str) -> None:
    if os.environ.get("LETTERFORGE_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name))
