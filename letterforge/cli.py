"""The ``letterforge`` command line: a group whose commands come from the table in
:mod:`letterforge.commands`, each imported only when it runs.

The only places that print or exit are this module and the command modules. Exit codes
live in :mod:`letterforge.errors`.
"""

from __future__ import annotations

import importlib
import sys
from difflib import get_close_matches
from typing import Annotated, Any

import typer
import typer.core
import typer.main

from .commands import COMMANDS
from .errors import EXIT_CODES_HELP, EXIT_INTERRUPTED


class CommandTable(typer.core.TyperGroup):
    """The group of commands: the names and summaries from :data:`COMMANDS`, a command's
    module imported when it is asked for (click's public ``list_commands``,
    ``get_command``, ``format_commands`` and ``resolve_command``)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module = importlib.import_module(f"letterforge.commands.{spec.module}")
        return typer.main.get_command(module.app)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, spec.summary) for name, spec in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as exc:  # a usage error: "No such command 'x'."
            self._suggest(exc, args)
            raise

    @staticmethod
    def _suggest(exc: Any, args: list[str]) -> None:
        matches = get_close_matches(args[0], list(COMMANDS)) if args else []
        message = getattr(exc, "message", None)
        if matches and isinstance(message, str) and "Did you mean" not in message:
            exc.message = (message.rstrip(".") + ". Did you mean "
                           + ", ".join(repr(m) for m in matches) + "?")


app = typer.Typer(
    name="letterforge",
    help="Open letters for every candidate: one master template, one DOCX, PDF and "
    "e-mail per recipient.\n\n" + EXIT_CODES_HELP,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=CommandTable,
)


def _version(value: bool) -> None:
    if value:
        from . import __version__
        from .writers.pdf import engine

        status = engine.status()
        versions = ", ".join(f"{name} {version or 'missing'}"
                             for name, version in status["versions"].items())
        pdf = "ready" if status["ready"] else "cannot write PDFs (run ./setup.sh)"
        off = ", ".join(status["speed_off"]) or "none"
        typer.echo(f"letterforge {__version__}\nPDF engine: {pdf} ({versions}); "
                   f"speed overrides off: {off}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    """Open letters for every candidate."""


def main() -> None:
    from .errors import end_interrupted, stop_on_signals

    stop_on_signals()
    try:
        app(prog_name="letterforge")
    except KeyboardInterrupt:  # Ctrl-C while typer builds the command, before it runs
        end_interrupted()
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:  # typer's, for a Ctrl-C while it parses, is silent
            end_interrupted()
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
