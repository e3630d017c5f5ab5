"""The stat cache through the commands: a re-run trusts it, a hand edit that keeps the
size and the mtime is still refused, and verify (the auditor's tool) never uses it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from letterforge.cli import app
from letterforge.incremental import STAT_CACHE

SMALL = ("year,name,short_name,email\n"
         "2013,Cuba,Cuba,cu@example.org\n"
         "2013,Mexico,Mexico,mx@example.org\n")


def render() -> str:
    result = CliRunner().invoke(app, ["render", "--year", "2013", "-j", "1", "-f", "docx"])
    assert result.exit_code == 0, result.output
    return result.stderr


def _edit_in_place(path: Path) -> None:
    """Change one byte, same size, and put the mtime back (ctime cannot be put back)."""
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(st.st_size // 2)
        byte = fh.read(1)
        fh.seek(st.st_size // 2)
        fh.write(bytes([byte[0] ^ 1]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_an_edit_keeping_size_and_mtime_is_refused_and_verify_finds_it(small: Path) -> None:
    render()
    assert "Nothing to do" in render()  # every file recorded in the cache by now
    batch = small / "out" / "2013"
    docx = batch / "docx" / "cuba.docx"
    _edit_in_place(docx)
    letter = small / "templates" / "letter.md"
    letter.write_text(letter.read_text().replace("Excellency,", "Your Excellency,"))
    result = CliRunner().invoke(app, ["render", "--year", "2013", "-j", "1", "-f", "docx"])
    assert result.exit_code == 1
    assert "out/2013/docx/cuba.docx: was changed after it was rendered" in result.stderr


def test_verify_hashes_every_file_whatever_the_cache_says(small: Path) -> None:
    render()
    batch = small / "out" / "2013"
    docx = batch / "docx" / "cuba.docx"
    _edit_in_place(docx)
    # a cache that says the edited file is the rendered one (as a racy entry would) ...
    cache = json.loads((batch / STAT_CACHE).read_text())
    st = docx.stat()
    cache["files"]["docx/cuba.docx"][:5] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                            st.st_ino, st.st_dev]
    (batch / STAT_CACHE).write_text(json.dumps(cache))
    assert "Nothing to do" in render()  # render trusts it: it is its cache
    result = CliRunner().invoke(app, ["verify", "--year", "2013", "-j", "1"])
    assert result.exit_code == 1, result.output
    assert "docx/cuba.docx (Cuba): changed since it was rendered" in result.stderr
