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


def test_help_reads_no_package_metadata_and_no_campaign_file(tmp_path: Path) -> None:
    modules = _modules_after(["--help"], tmp_path)
    assert "importlib.metadata" not in modules
    assert "letterforge.config" not in modules


SMALL = "year,name,short_name,email\n2013,Cuba,Cuba,cu@example.org\n"


def test_a_rerun_with_nothing_to_do_parses_no_letter(small: Path) -> None:
    args = ["render", "--year", "2013", "-j", "1", "-f", "docx"]
    assert CliRunner().invoke(app, args).exit_code == 0
    modules = _modules_after(args, small)
    assert "letterforge.plan" in modules
    assert "markdown_it" not in modules


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


def test_one_letter_from_a_fresh_process_has_its_pdf_made_alongside(
        small_rendered: Path) -> None:
    """``letterforge render --only`` in a new process: before the CLI is imported, a
    helper process is forked; it is given the letter's assets (stylesheets and fonts
    loaded while the letter is checked), then the letter, and renders the PDF while this
    one renders the rest. The files are the same bytes as a render in one process."""
    import os

    code = ("import sys\n"
            "import letterforge.parallel as parallel\n"
            "calls, methods = [], []\n"
            "submit, init = parallel.Pool.submit, parallel.Pool.__init__\n"
            "def counted(self, task):\n"
            "    calls.append(type(task).__name__)\n"
            "    return submit(self, task)\n"
            "def started(self, *args, method='spawn', **kwargs):\n"
            "    if kwargs.get('processes'):\n"
            "        methods.append((method, 'typer' in sys.modules))\n"
            "    init(self, *args, method=method, **kwargs)\n"
            "parallel.Pool.submit, parallel.Pool.__init__ = counted, started\n"
            "from letterforge.__main__ import main\n"
            "sys.argv = ['letterforge', 'render', '--year', '2013', '--only', 'Cuba',\n"
            "            '--force', '--out', 'again', '-j2']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print(calls, methods)\n")
    env = {k: v for k, v in os.environ.items() if k != "LETTERFORGE_JOBS"}
    done = subprocess.run([sys.executable, "-c", code], cwd=small_rendered,
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['Assets', 'tuple'] [('fork', False)]", done.stdout
    before, after = small_rendered / "out" / "2013", small_rendered / "again" / "2013"
    for path in ("pdf/cuba.pdf", "docx/cuba.docx", "email/cuba.eml"):
        assert (after / path).read_bytes() == (before / path).read_bytes(), path


@pytest.mark.parametrize(("args", "env", "early"), [
    (["render", "--only", "Cuba"], {}, True),
    (["render", "--only=Cuba", "-j", "2"], {"LETTERFORGE_JOBS": "1"}, True),
    (["render", "--only", "Cuba"], {"LETTERFORGE_JOBS": "1"}, False),
    (["render", "--only", "Cuba", "--jobs=1"], {}, False),
    (["render", "--only", "Cuba", "-j1"], {}, False),
    (["render", "--only", "Cuba", "--help"], {}, False),
    (["render", "--year", "2013"], {}, False),
    (["check", "--only", "Cuba"], {}, False),
    ([], {}, False),
])
def test_the_pdf_helper_starts_before_the_cli_only_for_one_letters_render(
        args: list[str], env: dict[str, str], early: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import letterforge.parallel as parallel

    started: list[str] = []
    monkeypatch.setattr(parallel, "_pdf_helper", lambda: started.append("helper") or None)
    monkeypatch.delenv("LETTERFORGE_JOBS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    parallel.start_early_pdf_helper(args)
    assert started == (["helper"] if early else [])


class _Helper:
    closed = False

    def close(self, failed: bool = False) -> None:
        self.closed = failed


@pytest.mark.parametrize(("formats", "jobs", "taken"), [
    (("docx", "pdf", "eml"), None, True),
    (("docx", "pdf", "eml"), 2, True),
    (("docx",), None, False),
    (("docx", "pdf"), 1, False),
])
def test_the_command_takes_the_early_helper_or_stops_it(
        formats: tuple[str, ...], jobs: int | None, taken: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``-f docx`` or ``--jobs 1``, known once the options are parsed: the helper started
    early is stopped, not left running."""
    import letterforge.parallel as parallel

    early = _Helper()
    monkeypatch.setattr(parallel, "_EARLY", early)
    monkeypatch.setattr(parallel, "_pdf_helper", lambda: pytest.fail("started a second"))
    got = parallel.start_pdf_helper(formats, jobs)
    assert (got is early) == taken
    assert early.closed == (not taken)
    assert parallel._EARLY is None


def test_a_usage_error_stops_the_early_helper(small: Path) -> None:
    """A command line the CLI refuses after the helper was started: the helper is
    stopped, the command exits with typer's message and code."""
    import os

    code = ("import sys\n"
            "import letterforge.parallel as parallel\n"
            "from letterforge.__main__ import main\n"
            "sys.argv = ['letterforge', 'render', '--only', 'Cuba', '--bogus', '-j2']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    print(exc.code)\n"
            "import multiprocessing\n"
            "print(parallel._EARLY, multiprocessing.active_children())\n")
    env = {k: v for k, v in os.environ.items() if k != "LETTERFORGE_JOBS"}
    done = subprocess.run([sys.executable, "-c", code], cwd=small, capture_output=True,
                          text=True, env=env)
    assert done.stdout.split("\n")[:2] == ["2", "None []"], done.stdout + done.stderr
    assert "No such option: --bogus" in done.stderr


def test_only_the_command_named_is_imported() -> None:
    """The group lists every command from the table without importing their modules;
    running one imports that one."""
    code = ("import sys\n"
            "from letterforge.cli import app\n"
            "from typer.testing import CliRunner\n"
            "CliRunner().invoke(app, ['--help'])\n"
            "print(sorted(m for m in sys.modules if m.startswith('letterforge.commands.')))\n"
            "CliRunner().invoke(app, ['list', '--help'])\n"
            "print(sorted(m for m in sys.modules if m.startswith('letterforge.commands.')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == "[]"
    assert second == "['letterforge.commands._common', 'letterforge.commands._table', " \
        "'letterforge.commands.list']"


CONSOLE_SCRIPT = """\
import functools, os, sys
from letterforge.__main__ import main
if __name__ == "__mp_main__":  # a worker ran this script again
    open(os.environ["RAN"], "a").write("again\\n")
if __name__ == "__main__":
    from letterforge import parallel
    pool = parallel.Pool(functools.partial, len, 1, processes=True)
    print(pool.submit("abc").result())
    pool.close()
"""


@pytest.mark.parametrize(("name", "runs_again"), [("letterforge", False),
                                                   ("my_script.py", True)])
def test_workers_do_not_run_the_console_script_again(tmp_path: Path, name: str,
                                                     runs_again: bool) -> None:
    """A worker spawned from the ``letterforge`` console script does not import the CLI
    again; a user's own script still runs in its workers as multiprocessing says."""
    import os

    script, ran = tmp_path / name, tmp_path / "ran.txt"
    script.write_text(CONSOLE_SCRIPT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env={**os.environ, "RAN": str(ran)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3"]
    assert ran.exists() == runs_again
