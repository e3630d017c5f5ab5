"""Every command the documentation shows runs: each ```sh line of the README, of docs/
and of the examples' READMEs, in order, in a fresh copy of the repository's campaign
files (the sample and the examples, with their candidates cut to two to keep it quick),
exits 0. A ``letterforge`` command runs in this process (its command line as the shell
would split it, ``VAR=value`` before it as its environment, ``LETTERFORGE_JOBS=1``: no
worker processes to start); anything else in bash.

The set-up lines (``./setup.sh ...``) are what CI itself runs first; they are not run
again here."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from letterforge.cli import app

# every page's commands, a campaign each: in CI (.ci/run runs -m slow)
pytestmark = pytest.mark.slow

PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
                *(ROOT / "examples").glob("*/README.md")])
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)


def commands(page: Path) -> list[str]:
    lines = []
    for block in BLOCK.findall(page.read_text(encoding="utf-8")):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "./setup.sh")):
                lines.append(line)
    return lines


def _campaign(tmp: Path) -> Path:
    """The repository's campaign files (and its examples, which READMEs cd into), each
    with its candidates cut to two (Mexico, which the pages name, and the first), and
    .venv where the commands expect it."""
    for name in ("candidates.csv", "signatories.csv"):
        shutil.copy(ROOT / name, tmp / name)
    shutil.copytree(ROOT / "templates", tmp / "templates")
    shutil.copytree(ROOT / "examples", tmp / "examples")
    for csv in (tmp / "candidates.csv", *(tmp / "examples").glob("*/candidates.csv")):
        rows = csv.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [rows[0], *[r for r in rows[1:] if "Mexico" in r][:1], *rows[1:2]]
        csv.write_text("".join(dict.fromkeys(kept)), encoding="utf-8")
    (tmp / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return tmp


def _letterforge(line: str) -> tuple[dict[str, str], list[str]] | None:
    """(environment, arguments) of a ``letterforge`` command line; None for another."""
    words = shlex.split(line)
    env = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if not words or Path(words[0]).name != "letterforge" or any(
            w in ("|", "&&", ";", ">", "<") for w in words):
        return None
    return env, words[1:]


@pytest.mark.parametrize("page", [p for p in PAGES if commands(p)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_the_page_shows_runs(page: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = _campaign(tmp_path)
    # one process: WeasyPrint loaded once for the page's renders, not by new workers
    monkeypatch.setenv("LETTERFORGE_JOBS", "1")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}"
               f"{os.environ.get('PATH', '')}", NO_COLOR="1")
    for line in commands(page):
        if line.startswith("cd "):
            cwd = (cwd / line[3:].strip()).resolve()
            continue
        ours = _letterforge(line)
        if ours is not None:
            monkeypatch.chdir(cwd)
            result = CliRunner().invoke(app, ours[1], env=ours[0])
            code, said = result.exit_code, result.output
        else:
            done = subprocess.run(["bash", "-c", line], cwd=cwd, env=env,
                                  capture_output=True, text=True, timeout=300)
            code, said = done.returncode, done.stderr
        assert code == 0, f"{page.relative_to(ROOT)}: `{line}` exited {code}:\n{said[-2000:]}"
