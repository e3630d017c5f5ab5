"""The command line end to end, on scenario folders copied from the sample; mistakes in a
template, an option or an address are messages, never tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import THREE, invoke_wide
from letterforge import __version__
from letterforge.cli import app


@pytest.fixture
def in_dir(monkeypatch: pytest.MonkeyPatch):
    def _cd(path: Path) -> Path:
        monkeypatch.chdir(path)
        return path

    return _cd


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    first, engine = result.output.strip().splitlines()
    assert first == f"letterforge {__version__}"
    assert engine.startswith("PDF engine: ready (weasyprint 70.0, pydyf 0.13.0")


def _commands() -> list[str]:
    import typer.main

    return sorted(typer.main.get_command(app).list_commands(None))  # type: ignore[attr-defined]


def test_every_command_is_listed() -> None:
    assert {"render", "check", "list", "send", "verify", "combine"} <= set(_commands())


@pytest.mark.parametrize("command", [None, *_commands()])
def test_help_on_every_command(runner: CliRunner, command: str | None) -> None:
    result = runner.invoke(app, [command, "--help"] if command else ["--help"])
    assert result.exit_code == 0
    assert result.output.startswith("Usage: letterforge")
    if command:
        assert f"letterforge {command}" in result.output.splitlines()[0]


@pytest.mark.slow  # a fresh process: in CI (-m slow)
def test_help_and_list_do_not_import_weasyprint(sample: Path) -> None:
    code = (
        "import sys\n"
        "from letterforge.cli import app\n"
        "for argv in (['--help'], ['render', '--help'], ['list', '--year', '2013']):\n"
        "    try:\n"
        "        app(argv, prog_name='letterforge')\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (argv, e.code)\n"
        "heavy = [m for m in ('weasyprint', 'docx', 'pydyf') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=sample, capture_output=True,
                         text=True, check=True).stdout
    assert "HEAVY []" in out


def test_list_shows_the_candidates(runner: CliRunner, sample: Path, in_dir) -> None:
    in_dir(sample)
    result = runner.invoke(app, ["list", "--year", "2013"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "the Russian Federation" in result.stdout
    assert "russian-federation" in result.stdout
    assert len([ln for ln in result.stdout.splitlines() if ln[:1].isdigit()]) == 17


def test_render_writes_the_batch_and_a_summary(runner: CliRunner, sample: Path, in_dir) -> None:
    in_dir(sample)
    result = runner.invoke(app, ["render", "--year", "2013", "--only", "mexico",
                                 "--only", "Viet Nam", "--out", "build"])
    assert result.exit_code == 0, result.output
    batch = sample / "build" / "2013"
    assert sorted(p.name for p in (batch / "pdf").iterdir()) == ["mexico.pdf", "viet-nam.pdf"]
    assert sorted(p.name for p in (batch / "docx").iterdir()) == ["mexico.docx", "viet-nam.docx"]
    assert "Rendered 2 letters" in result.stderr
    assert result.stdout == ""  # not a terminal: no progress noise on stdout


def test_only_keeps_the_rest_of_the_batch(runner: CliRunner, sample: Path, in_dir) -> None:
    in_dir(sample)
    result = runner.invoke(app, ["render", "-y", "2013", "--only", "Cuba", "-f", "pdf"])
    assert result.exit_code == 0
    (sample / "out" / "2013" / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["render", "-y", "2013", "--only", "France", "-f", "pdf"])
    assert result.exit_code == 0, result.output
    batch = sample / "out" / "2013"
    manifest = json.loads((batch / "manifest.json").read_text())
    assert [e["slug"] for e in manifest["letters"]] == ["cuba", "france"]
    assert (batch / "pdf" / "cuba.pdf").is_file()
    assert (batch / "notes.txt").read_text() == "mine"  # a render never deletes user files


def test_format_option(runner: CliRunner, sample: Path, in_dir) -> None:
    in_dir(sample)
    result = runner.invoke(app, ["render", "-y", "2013", "--only", "Cuba", "--format", "docx"])
    assert result.exit_code == 0, result.output
    assert not (sample / "out" / "2013" / "pdf").exists()
    result = runner.invoke(app, ["render", "-y", "2013", "--format", "odt"])
    assert result.exit_code == 2
    assert "unknown format 'odt'" in result.stderr


def test_unknown_only_is_a_usage_error(runner: CliRunner, sample: Path, in_dir) -> None:
    in_dir(sample)
    result = runner.invoke(app, ["render", "-y", "2013", "--only", "Atlantis"])
    assert result.exit_code == 2
    assert "no candidate 'Atlantis'" in result.stderr and "Mexico" in result.stderr
    assert not (sample / "out").exists()


def test_missing_option_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["new-year"])  # render's --year has a default now
    assert result.exit_code == 2
    result = runner.invoke(app, ["render", "--year"])
    assert result.exit_code == 2


def test_bad_input_exits_1_with_file_and_line_and_no_traceback(
    runner: CliRunner, sample: Path, in_dir
) -> None:
    in_dir(sample)
    csv = sample / "candidates.csv"
    lines = csv.read_text().splitlines()
    lines[3] = lines[3].replace("mission.namibia@example.org", "not-an-address")
    csv.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["render", "--year", "2013"])
    assert result.exit_code == 1
    assert "candidates.csv:4: email: 'not-an-address' is not a valid e-mail address" in \
        result.stderr
    assert "Traceback" not in result.output
    assert not (sample / "out").exists()


def test_year_without_candidates(runner: CliRunner, sample: Path, in_dir) -> None:
    in_dir(sample)
    result = runner.invoke(app, ["render", "--year", "2031"])
    assert result.exit_code == 1
    assert "no candidates for 2031 (years in the file: 2013)" in result.stderr


def test_template_date_must_match_the_year(runner: CliRunner, sample: Path, in_dir) -> None:
    in_dir(sample)
    csv = sample / "candidates.csv"
    csv.write_text(csv.read_text() + "2014,Chile,Chile,mission.chile@example.org,x\n")
    sig = sample / "signatories.csv"
    sig.write_text(sig.read_text() + "2014,Amnesty International\n")
    result = runner.invoke(app, ["render", "--year", "2014"])
    assert result.exit_code == 1
    assert "dated 2013-11-05 but the batch is for 2014" in result.stderr
    result = runner.invoke(app, ["render", "--year", "2014", "--date", "2014-10-01",
                                 "--format", "pdf"])
    assert result.exit_code == 0, result.output


def test_internal_error_shows_traceback_and_asks_for_a_report(
    runner: CliRunner, sample: Path, in_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_dir(sample)

    def boom(*a, **k):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr("letterforge.render.render_batch", boom)
    result = runner.invoke(app, ["render", "--year", "2013"])
    assert result.exit_code == 70
    assert "Traceback" in result.stderr and "this is a bug" in result.stderr


@pytest.mark.slow  # a fresh process: in CI (-m slow)
def test_console_script_runs(sample: Path) -> None:
    exe = Path(sys.executable).with_name("letterforge")
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    out = subprocess.run([str(exe), "list", "--year", "2013"], cwd=sample, capture_output=True,
                         text=True, env={**os.environ, "NO_COLOR": "1"})
    assert out.returncode == 0, out.stderr


@pytest.mark.slow  # a fresh process per case: in CI (-m slow)
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("args", [["list", "--year", "2013"],
                                  ["list", "--year", "2013", "--json"],
                                  ["render", "--year", "2013", "--only", "Cuba", "-f", "docx",
                                   "-j", "1", "--json", "--out", "full"]])
def test_a_full_standard_output_is_said_in_one_line(sample: Path, args: list[str]) -> None:
    """Standard output that cannot be written (a full disk; here /dev/full): one line
    on stderr, exit 1, no traceback; what the command did is done (the render's files
    are there)."""
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "letterforge", *args], cwd=sample,
                              stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(
        "error: standard output cannot be written to (No space left on device)")
    assert "Traceback" not in done.stderr
    if args[0] == "render":
        assert (sample / "full" / "2013" / "docx" / "cuba.docx").is_file()


@pytest.mark.slow  # a fresh process: in CI (-m slow)
def test_a_reader_that_leaves_ends_the_command_quietly(sample: Path) -> None:
    """Standard output whose reader leaves (``| head``): the command ends quietly."""
    head = subprocess.run(f"{sys.executable} -m letterforge list --year 2013 | head -1",
                          shell=True, cwd=sample, capture_output=True, text=True)
    assert head.returncode == 0 and "Traceback" not in head.stderr


# ----- mistakes in a small campaign (SMALL): messages, not tracebacks -----------------


SMALL = THREE
invoke = invoke_wide


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("it is incumbent on {{ candidate.name }}", "it is incumbent on {{ candidate.name + 1 }}"),
         "templates/letter.md:62: the template cannot compute an expression here"),
        (("Yours sincerely,", "{% include '../candidates.csv' %}"),
         "templates are read from templates only"),
        (('subject: "Open letter to {{ candidate.short_name }}',
          'subject: "Open letter to {{ candidate.country }}'),
         "the template uses 'country', which is not a column of the data"),
    ],
)
def test_template_mistakes_are_messages_not_tracebacks(small: Path, edit, message) -> None:
    letter = small / "templates" / "letter.md"
    letter.write_text(letter.read_text().replace(*edit))
    for command in ("check", "render"):
        result = invoke(command, "--year", "2013")
        assert result.exit_code == 1, result.output
        assert message in result.stderr
        assert "Traceback" not in result.output


def test_bad_option_values_are_usage_errors(small: Path) -> None:
    for argv in (["check", "--year", "2013", "--date", "2013-13-01"],
                 ["send", "--year", "2013", "--security", "ssl"]):
        result = invoke(*argv)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output


def test_non_ascii_addresses_are_refused_at_check(small: Path) -> None:
    csv = small / "candidates.csv"
    csv.write_text(SMALL.replace("mx@example.org", "josé@example.org")
                   .replace("cuba@example.org", "cuba@exämple.org"))
    result = invoke("check", "--year", "2013")
    assert result.exit_code == 1
    assert "candidates.csv:4: email: 'josé@example.org' is not a valid e-mail address" in \
        result.stderr
    assert "write it in its ASCII form, cuba@xn--exmple-cua.org" in result.stderr
