"""One error tree. Every expected error carries an exit code and a message a person can act on.

Messages name the file and, where there is one, the line: ``path:line: column: what is wrong``.
Anything that is not a :class:`LetterforgeError` is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can."""

    path: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        if self.column:
            return f"{where}: {self.column}: {self.message}"
        return f"{where}: {self.message}"


def display_path(path: Path | str) -> str:
    """A path as the user typed it or relative to the working directory when possible."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


class LetterforgeError(Exception):
    """Root of every error letterforge expects. ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_INPUT


class InputError(LetterforgeError):
    """Bad input: one problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem

    def __reduce__(self) -> tuple[type, tuple[Problem]]:
        return (InputError, (self.problem,))


class ValidationFailed(LetterforgeError):
    """Bad input: several problems, all reported at once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found"
        super().__init__(head + ":\n" + "\n".join(str(p) for p in self.problems))


class RenderError(LetterforgeError):
    """A letter could not be rendered because of what the template or data asks for."""

    def __init__(self, what: Problem | str) -> None:
        self.problem = what if isinstance(what, Problem) else None
        super().__init__(str(what))

    def __reduce__(self) -> tuple[type, tuple[Problem | str]]:  # crosses process boundaries
        return (RenderError, (self.problem or str(self),))


class OutputError(LetterforgeError):
    """The batch could not be written (permissions, disk full...). Nothing was replaced."""


class UsageError(LetterforgeError):
    """An option value that makes no sense."""

    exit_code = EXIT_USAGE
