"""What the commands say: help texts in each command's words, no internal type labels on
options, plurals, the default year, tables that fit COLUMNS. In-process, nothing
rendered."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from letterforge.cli import app
from letterforge.errors import RenderError
from letterforge.load import read_template
from letterforge.merge import Merger
from letterforge.models import Candidate, Settings, Signatory, Source

MINE = ["render", "check", "list", "verify", "combine", "new-year", "diff"]


@pytest.mark.parametrize("command", MINE)
def test_help_shows_no_internal_type_labels_on_options(runner: CliRunner,
                                                        command: str) -> None:
    """Options show their metavar (YEAR, FOLDER). Positional arguments show typer's own
    type label (``PART <list[Path]>``): hiding it took typer's internals."""
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    options = result.output.split("Options:", 1)[1]
    for label in ("<list[", "<int", "<str>", "<path>", "range>", "[x>=", "<Path"):
        assert label not in options, (command, label)
    usage = result.output.splitlines()[0]
    assert "...]..." not in usage and "...}..." not in usage


@pytest.mark.parametrize(("command", "words"), [
    ("render", "Year of the letters to render"), ("check", "Year of the letters to check"),
    ("list", "Year of the candidates to list"), ("verify", "Year of the batch to verify")])
def test_year_help_in_the_words_of_the_command(runner: CliRunner, command: str,
                                               words: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert words in result.output
    assert "Election year to render" not in result.output


def test_new_commands_exist() -> None:
    group = typer.main.get_command(app)
    assert {"new-year", "diff"} <= set(group.list_commands(None))  # type: ignore[attr-defined]


def test_list_fits_columns_in_csv_order_and_says_the_default_year(
        runner: CliRunner, write, tmp_path: Path, monkeypatch) -> None:
    write("candidates.csv", "year,name,short_name,email\n"
          "2012,Old,Old,old@example.org\n"
          "2013,the Kingdom of the Netherlands and its very long name,Netherlands,"
          "mission.netherlands-and-more@example.org; second.address@example.org\n"
          "2013,Algeria,Algeria,mission.algeria@example.org\n")
    monkeypatch.chdir(tmp_path)
    for columns in ("80", "50"):
        result = runner.invoke(app, ["list"], env={"COLUMNS": columns})
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert max(len(line) for line in lines) <= int(columns)
        rows = [line.split()[1] for line in lines if line[:1].isdigit()]
        # the CSV's order, not sorted (long cells wrap within their column)
        assert [r[:5] for r in rows] == ["Nethe", "Alger"]
        assert "2 candidates for year 2013 (the newest in candidates.csv)" in result.stderr
    quiet = runner.invoke(app, ["list", "-q", "--year", "2012"])
    assert quiet.stderr == ""
    one = runner.invoke(app, ["list", "--year", "2012"])
    assert "1 candidate for 2012" in one.stderr


def test_undefined_front_matter_value_is_not_called_a_column(write) -> None:
    path = write("templates/letter.md", "---\ndate: 2013-11-05\nsigner:\n  name: P\n---\n"
                 "Hi\n\n{{ signer.nmae }}\n")
    merger = Merger(read_template(path), (Signatory(2013, "A", {"name": "A"},
                                                    Source("s.csv", 2)),), Settings(2013))
    candidate = Candidate(2013, "X", "X", ("a@example.org",), "x",
                          {"year": "2013", "name": "X", "short_name": "X",
                           "email": "a@example.org"}, Source("c.csv", 2))
    with pytest.raises(RenderError) as info:
        merger.merge(candidate)
    message = info.value.problem.message
    assert "not a column" not in message
    assert "'nmae' of 'signer'" in message and "front matter" in message
    assert info.value.problem.line == 8


def test_a_campaign_file_mistake_is_one_line_exit_1(runner: CliRunner, write, tmp_path: Path,
                                                   monkeypatch) -> None:
    write("letterforge.toml", '[inputs]\ncandidats = "c.csv"\n')
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: letterforge.toml:2: unknown setting 'candidats' in [inputs]: it may hold "
        "candidates, signatories, template, email_template, encoding, candidates_encoding, "
        "signatories_encoding; remove it or fix the name")
