"""What a command imports before it does its work: its start-up is every command's cost
(a re-run with nothing to do, --help, one letter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from letterforge.cli import app


def _modules_after(args: list[str], cwd: Path) -> set[str]:
    """The modules a fresh process has imported once the command line is parsed and the
    command ran (its errors are fine: parsing is what is measured)."""
    code = ("import sys\n"
            "from letterforge.cli import main\n"
            f"sys.argv = ['letterforge', *{args!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize("args", [
    ["--help"],
    ["render", "--year", "2013", "--jobs", "2", "--only", "Mexico", "--out", "o", "-f",
     "docx", "--candidates", "missing.csv"],
    ["list", "--year", "2013", "--candidates", "missing.csv"],
])
def test_parsing_the_command_line_does_not_import_pydantic(args: list[str],
                                                           tmp_path: Path) -> None:
    assert "pydantic" not in _modules_after(args, tmp_path)


def test_help_reads_no_package_metadata_and_no_campaign_file(tmp_path: Path) -> None:
    modules = _modules_after(["--help"], tmp_path)
    assert "importlib.metadata" not in modules
    assert "letterforge.config" not in modules


SMALL = "year,name,short_name,email\n2013,Cuba,Cuba,cu@example.org\n"


def test_a_rerun_with_nothing_to_do_parses_no_letter(small: Path) -> None:
    args = ["render", "--year", "2013", "-j", "1", "-f", "docx"]
    assert CliRunner().invoke(app, args).exit_code == 0
    modules = _modules_after(args, small)
    assert "letterforge.pipeline" in modules
    assert "markdown_it" not in modules
    assert "pydantic" not in modules


def test_options_are_parsed_to_their_types(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import letterforge.pipeline as pipeline

    seen = {}

    def stop(inputs: object, options: object, **kw: object) -> None:
        seen["inputs"], seen["options"] = inputs, options
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "prepare", stop)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.csv").write_text("year,name,short_name,email\n2013,A,A,a@example.org\n")
    result = CliRunner().invoke(app, ["render", "-y", "-2", "--only", "A", "--only", "B",
                                      "--candidates", "c.csv", "-j", "007"])
    assert result.exit_code == 130, result.output
    options = seen["options"]
    assert options.year == -2 and options.only == ("A", "B")  # type: ignore[attr-defined]
    assert seen["inputs"].candidates == Path("c.csv")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("args", "message"), [
    (["render", "--jobs", "two"], "Invalid value for '--jobs' / '-j': Input should be a "
     "valid integer, unable to parse string as an integer"),
    (["render", "--year", "1.5"], "Invalid value for '--year' / '-y'"),
    (["send", "--rate", "fast"], "Invalid value for '--rate'"),
])
def test_a_bad_value_gets_typers_message(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
