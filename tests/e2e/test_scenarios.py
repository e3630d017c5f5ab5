"""Bad input, one scenario folder per kind: the exact message, exit 1, nothing written.

A scenario folder overlays the sample campaign: its CSV files replace the sample's,
``edit.json`` replaces text in sample files, ``args.txt`` adds options. ``expected.txt``
is the exact error output of ``letterforge check`` (and of ``render``, which runs the
same checks first).
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import SCENARIOS
from letterforge.cli import app

CASES = sorted(p.name for p in SCENARIOS.iterdir() if p.is_dir())


def _prepare(sample: Path, name: str) -> list[str]:
    folder = SCENARIOS / name
    for f in folder.iterdir():
        if f.suffix == ".csv":
            shutil.copy(f, sample / f.name)
    edit = folder / "edit.json"
    if edit.exists():
        for rel, pairs in json.loads(edit.read_text()).items():
            path = sample / rel
            text = path.read_text(encoding="utf-8")
            for old, new in pairs:
                assert old in text, f"{name}: {old!r} not in {rel}"
                text = text.replace(old, new)
            path.write_text(text, encoding="utf-8")
    args = folder / "args.txt"
    extra = shlex.split(args.read_text()) if args.exists() else []
    if "--year" not in extra:
        extra = ["--year", "2013", *extra]
    return extra


@pytest.mark.parametrize("name", CASES)
def test_bad_input_scenario(name: str, sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = _prepare(sample, name)
    monkeypatch.chdir(sample)
    expected = (SCENARIOS / name / "expected.txt").read_text(encoding="utf-8")
    # A previous batch that must survive untouched.
    previous = sample / "out" / "2013"
    previous.mkdir(parents=True)
    empty = ('{"letterforge": "0", "year": 2013, "formats": ["pdf"], "inputs": {}, '
             '"letters": [], "batch_files": []}')
    (previous / "manifest.json").write_text(empty)
    runner = CliRunner()
    for command in ("check", "render"):
        result = runner.invoke(app, [command, *extra])
        assert result.exit_code == 1, (command, result.output)
        assert result.stdout == ""
        assert result.stderr == expected, f"{command}:\n{result.stderr}"
        assert "Traceback" not in result.output
    assert [p.name for p in (sample / "out").iterdir()] == ["2013"]
    assert [p.name for p in previous.iterdir()] == ["manifest.json"]
    assert (previous / "manifest.json").read_text() == empty


def test_every_scenario_has_an_expected_message() -> None:
    assert CASES
    for name in CASES:
        assert (SCENARIOS / name / "expected.txt").is_file(), name
