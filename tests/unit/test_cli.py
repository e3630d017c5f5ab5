"""What the commands say and how they read their options: help texts in each command's
words, no internal type labels on options, plurals, the default year, tables that fit
COLUMNS, options parsed to their types, typer's message for a bad value, a campaign file
mistake in one line; a Ctrl-C Python cannot pass on. In-process but for that one, nothing
rendered. (What a fresh process imports: e2e/test_startup.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from letterforge.cli import app

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


def test_options_are_parsed_to_their_types(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import letterforge.plan as plan

    seen = {}

    def stop(inputs: object, options: object, **kw: object) -> None:
        seen["inputs"], seen["options"] = inputs, options
        raise KeyboardInterrupt

    monkeypatch.setattr(plan, "prepare", stop)
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


def test_a_campaign_file_mistake_is_one_line_exit_1(runner: CliRunner, write, tmp_path: Path,
                                                   monkeypatch) -> None:
    write("letterforge.toml", '[inputs]\ncandidats = "c.csv"\n')
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: letterforge.toml:2: unknown setting 'candidats' in [inputs]: it may hold "
        "candidates, signatories, template, email_template, encoding, candidates_encoding, "
        "signatories_encoding, candidates_sheet, signatories_sheet; remove it or fix the "
        "name")


# ----- tables: sized to their content, addresses and slugs never broken ---------------

ADDRESSES = [["1", "South Africa", "south-africa",
              "mission.south-africa@example.org; second.address@example.org"],
             ["2", "The former Yugoslav Republic of Macedonia",
              "the-former-yugoslav-republic-of-macedonia", "mission.mk@example.org"]]
HEADER = ["#", "Short name", "Slug", "E-mail"]


@pytest.mark.parametrize("width", [90, 100, 120])
def test_a_table_never_breaks_an_address_or_a_slug(width: int) -> None:
    """While the longest words fit side by side (here from 90 columns: the 41
    characters of the slug, an address, a word of the name), none is broken."""
    from letterforge.commands._table import table

    text = table(HEADER, ADDRESSES, width)
    assert max(len(line) for line in text.splitlines()) <= width
    words = text.split()
    for whole in ("mission.south-africa@example.org;", "second.address@example.org",
                  "the-former-yugoslav-republic-of-macedonia", "mission.mk@example.org"):
        assert whole in words, (width, text)


def test_column_widths_narrow_the_widest_column_to_its_longest_word_first() -> None:
    from letterforge.commands._table import column_widths

    # roomy: each column as wide as its content
    assert column_widths(HEADER, ADDRESSES, 500) == [1, 41, 41, 60]
    # tight: the e-mail column (widest) folds between its addresses first, then the
    # name between its words; the slug keeps its width
    widths = column_widths(HEADER, ADDRESSES, 100)
    assert sum(widths) <= 100 and widths[2] == 41 and widths[3] >= 33


def test_a_long_note_folds_at_spaces_in_a_pipe_not_to_twelve_characters(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Written into a pipe or a file, a table is as wide as its content: a note is one
    line, not nine."""
    from letterforge.commands._table import UNLIMITED, console_width, table

    monkeypatch.delenv("COLUMNS", raising=False)
    assert console_width() == UNLIMITED  # pytest's stdout is not a terminal
    note = ("the letter was changed after it was sent: not sent again; render and send "
            "it with --resend if the change must reach the mission")
    text = table(["Candidate", "Status", "Note"], [["Mexico", "sent", note]])
    assert len(text.splitlines()) == 3 and note in text


CTRL_C_IN_A_FINALISER = """
import os, signal, sys
from letterforge.errors import STOP_ASKED, stop_on_signals

stop_on_signals()


class Finaliser:
    def __del__(self):  # Ctrl-C lands while a finaliser runs (importlib's lock has one)
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10_000))


class Bug:
    def __del__(self):
        raise ValueError("a real bug")


Finaliser()
print("went on:", STOP_ASKED.is_set())
Bug()
"""


def test_a_ctrl_c_python_cannot_pass_on_is_not_printed_but_stops_the_command() -> None:
    """Where Python cannot raise the KeyboardInterrupt (a finaliser, a weakref callback),
    it printed "Exception ignored in ..." with a traceback under the command's own line;
    STOP_ASKED stops the command all the same. Other such errors are still printed."""
    import signal
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CTRL_C_IN_A_FINALISER],
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "went on: True\n"
    assert "KeyboardInterrupt" not in done.stderr
    assert "ValueError: a real bug" in done.stderr


#: Ctrl-C lands while a module is imported, inside code that dataclasses (or typing)
#: builds with exec(); the program catches it and exits 130. Run with ``python -m``.
CTRL_C_IN_EXEC = """
import sys
from letterforge.errors import end_interrupted

try:
    exec("raise KeyboardInterrupt")
except KeyboardInterrupt:
    print("interrupted: nothing was changed", file=sys.stderr)
    from letterforge.errors import INTERRUPT_SAID
    INTERRUPT_SAID.set()
    end_interrupted()
    sys.exit(130)
"""


def test_a_ctrl_c_caught_inside_exec_still_exits_130_not_by_sigint(tmp_path: Path) -> None:
    """CPython counts a KeyboardInterrupt raised in exec() of a string as unhandled even
    when it is caught, and at the end of ``python -m letterforge`` sent the process
    SIGINT (-2, not 130). The line the command said is not said twice."""
    import os
    import subprocess
    import sys

    (tmp_path / "ctrl_c_in_exec.py").write_text(CTRL_C_IN_EXEC, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    done = subprocess.run([sys.executable, "-m", "ctrl_c_in_exec"], capture_output=True,
                          text=True, timeout=60, env=env)
    assert (done.returncode, done.stderr) == (130, "interrupted: nothing was changed\n")


def test_a_ctrl_c_while_typer_parses_the_options_is_said(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    """typer turns a KeyboardInterrupt that lands while it reads the options (it imports
    pydantic then, lazily) into exit 130 without a word: the command says its line."""
    import sys

    import typer.core

    from letterforge import cli, errors

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    # where typer reads an option's value (its pydantic adapters)
    monkeypatch.setattr(typer.core, "build_runtime_param", interrupted)
    monkeypatch.chdir(tmp_path)  # no campaign here: a render never starts
    monkeypatch.setattr(sys, "argv", ["letterforge", "render", "--year", "2013"])
    monkeypatch.setattr(errors, "stop_on_signals", lambda: None)  # keep pytest's handlers
    import signal

    errors.INTERRUPT_SAID.clear()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    try:
        with pytest.raises(SystemExit) as stopped:
            cli.main()
        # the exit holds Ctrl-C back (end_interrupted): here, the test goes on
        assert signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        errors.INTERRUPT_SAID.clear()
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "interrupted: nothing was changed\n"


def test_a_second_ctrl_c_while_the_line_is_said_lands_after_it() -> None:
    """People press Ctrl-C twice: the second one, landing as the command writes its
    line, neither cuts the line off (typer would then exit 130 without a word) nor
    has it said twice; it is raised once the line is written and marked said."""
    import signal
    import threading

    from letterforge import errors

    said: list[str] = []

    def say() -> None:
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # the second Ctrl-C
        sum(range(1000))  # where Python would run the handler
        said.append("interrupted: nothing was changed")

    errors.INTERRUPT_SAID.clear()
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            errors.say_interrupted(say)
            sum(range(1000))
        assert said == ["interrupted: nothing was changed"]
        assert errors.INTERRUPT_SAID.is_set()
        errors.say_interrupted(lambda: said.append("again"))
        assert len(said) == 1
    finally:
        signal.signal(signal.SIGINT, old)
        errors.INTERRUPT_SAID.clear()
