"""Write docs/commands.md, the command reference, from the command line itself.

    .venv/bin/python docs/make_commands.py          # rewrite docs/commands.md
    .venv/bin/python docs/make_commands.py --check  # exit 1 when it is out of date

tests/unit/test_docs.py runs the check: the reference cannot drift from the CLI.
"""

from __future__ import annotations

import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parent / "commands.md"
WIDTH = "88"  # the terminal width the help is laid out for


def reference() -> str:
    from typer.testing import CliRunner

    from letterforge.cli import app
    from letterforge.commands import COMMANDS

    runner = CliRunner()

    def help_of(*args: str) -> str:
        result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": WIDTH},
                               prog_name="letterforge")
        assert result.exit_code == 0, result.output
        return result.output.rstrip() + "\n"

    parts = [
        "# Command reference\n\n",
        "Generated from `letterforge --help` and each command's `--help` by "
        "`docs/make_commands.py` (a test fails when this page is out of date). A campaign "
        "year step by step is in [campaign-year.md](campaign-year.md).\n\n",
        "```text\n", help_of(), "```\n",
    ]
    for name in COMMANDS:
        parts += [f"\n## `letterforge {name}`\n\n", "```text\n", help_of(name), "```\n"]
    return "".join(parts)


def main(argv: list[str]) -> int:
    text = reference()
    if argv[:1] == ["--check"]:
        if not TARGET.is_file() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date: run .venv/bin/python docs/make_commands.py",
                  file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
