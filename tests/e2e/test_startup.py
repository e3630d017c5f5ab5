"""What a process imports before it does its work, measured in fresh processes: a
command's start-up is its cost (a re-run with nothing to do, --help, one letter). The
PDF helper forked before the CLI is imported, and stopped when the command line says no;
workers that do not run the console script again; WeasyPrint's import (the engine's
start-up: the loader's libraries, fontTools' heavy parts only when used)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from letterforge.cli import app
from letterforge.writers.pdf import engine

# each case a fresh process, timed or traced: in CI (.ci/run runs -m slow)
pytestmark = pytest.mark.slow


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


# ----- the PDF helper of one letter's render --------------------------------------


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


# ----- workers ---------------------------------------------------------------------


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


# ----- WeasyPrint's import (writers/pdf/engine/startup.py) --------------------------


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("LD_LIBRARY_PATH", "LIBRARY_PATH", engine.OFF_VARIABLE)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**environ, **env})


def test_weasyprint_is_imported_with_the_loaders_libraries() -> None:
    """The libraries load, find_library is given back, and a name the loader's cache
    does not know is not searched for with gcc (the slow part)."""
    done = _python(
        "import ctypes.util\n"
        "original = ctypes.util.find_library\n"
        "seen = []\n"
        "ctypes.util._findLib_gcc = lambda name: seen.append(name)\n"
        "from letterforge.writers.pdf import engine\n"
        "engine.import_weasyprint()\n"
        "from weasyprint.text.ffi import pango\n"
        "assert pango.pango_version() > 0\n"
        "assert ctypes.util.find_library is original\n"
        "print(len(seen))\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"


def test_fonttools_subsetter_and_instancer_are_imported_when_first_used() -> None:
    done = _python(
        "import sys\n"
        "from letterforge.writers.pdf import engine\n"
        "engine.import_weasyprint()\n"
        "heavy = ('fontTools.subset', 'fontTools.varLib.instancer',\n"
        "         'fontTools.ttLib.tables.otTables')\n"
        "assert not any(m in sys.modules for m in heavy), [m for m in heavy if m in sys.modules]\n"
        "import weasyprint.pdf.fonts as fonts\n"
        "options = fonts.subset.Options\n"
        "import fontTools.subset, fontTools\n"
        "assert options is fontTools.subset.Options\n"
        "assert type(fontTools.subset).__name__ == 'module'\n"
        "import fontTools.varLib.instancer as instancer\n"
        "real, seen = instancer.instantiateVariableFont, []\n"
        "instancer.instantiateVariableFont = lambda *a, **k: seen.append((a, k)) or 'made'\n"
        "assert fonts.instantiateVariableFont(1, {'wght': 400}, static=True) == 'made'\n"
        "print('ok')\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_with_startup_off_weasyprint_is_imported_plainly() -> None:
    done = _python(
        "import sys\n"
        "from letterforge.writers.pdf import engine\n"
        "engine.import_weasyprint()\n"
        "print('fontTools.subset' in sys.modules)\n", LETTERFORGE_ENGINE_OFF="startup")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
