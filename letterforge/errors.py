"""The one error tree, and every exit code.

Every error letterforge expects is a :class:`LetterforgeError`: it carries a list of
:class:`Problem` objects (file, line, column, what to do) and the exit code the command
ends with. Problems travel as data from the stage that finds them to the command line,
which is the only place that formats them; nothing is turned into a string and parsed
back. Anything that is not a :class:`LetterforgeError` is a bug and keeps its traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_INPUT = 1  # bad input, files differ, a message failed or needs a look
EXIT_USAGE = 2  # an option value that makes no sense
EXIT_INTERNAL = 70  # a bug: the traceback is shown
EXIT_INTERRUPTED = 130  # Ctrl-C
INTERRUPTED = "interrupted: nothing was changed"  # what Ctrl-C prints

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 bad input (the message names the file and line); "
    "2 usage error; 70 internal error (please report it); 130 interrupted."
)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can.

    ``path`` is empty for a problem that belongs to no file (an option, say).
    A ``warning`` does not stop a command; it is reported all the same.
    """

    path: str
    line: int | None
    column: str | None
    message: str
    warning: bool = field(default=False, compare=False)

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        if self.column:
            where = f"{where}: {self.column}" if where else self.column
        return f"{where}: {self.message}" if where else self.message

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path or None, "line": self.line, "column": self.column,
                "message": self.message, "severity": "warning" if self.warning else "error"}


def display_path(path: Path | str) -> str:
    """A path as the user typed it or relative to the working directory when possible."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


class LetterforgeError(Exception):
    """Root of every error letterforge expects: its problems and the exit code."""

    exit_code = EXIT_INPUT
    #: "N problems found:" before the list, even for one problem (what `check` prints)
    listed = False

    def __init__(self, problems: Problem | str | Iterable[Problem]) -> None:
        if isinstance(problems, str):
            problems = [Problem("", None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self._message())

    def _message(self) -> str:
        if len(self.problems) == 1 and not self.listed:
            return str(self.problems[0])
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found"
        return head + ":\n" + "\n".join(str(p) for p in self.problems)

    @property
    def problem(self) -> Problem:
        return self.problems[0]

    def __reduce__(self) -> tuple[Any, ...]:  # crosses process boundaries as data
        return (_rebuild, (type(self), self.problems))


def _rebuild(cls: type[LetterforgeError], problems: list[Problem]) -> LetterforgeError:
    return cls(problems)


class InputError(LetterforgeError):
    """Bad input: a data file, a template, the stylesheet, a reference document."""


class ValidationFailed(InputError):
    """Bad input found by the checks that run before anything is rendered: every problem
    at once, under a count."""

    listed = True


class RenderError(InputError):
    """A letter cannot be rendered because of what the template or the data asks for."""


class OutputError(LetterforgeError):
    """The batch could not be written (permissions, disk full...). Nothing was replaced."""


class ManifestError(LetterforgeError):
    """A batch's manifest.json is missing, damaged or from another batch."""


class UsageError(LetterforgeError):
    """An option value that makes no sense."""

    exit_code = EXIT_USAGE


class SendError(LetterforgeError):
    """The batch cannot be sent (no batch, bad settings, the server refused us)."""


class VerifyError(LetterforgeError):
    """A batch or a file cannot be verified (no manifest, unreadable file)."""


class CombineError(LetterforgeError):
    """The parts of a sharded render cannot be combined."""


class Interrupted(LetterforgeError):
    """Ctrl-C (SIGINT) or SIGTERM: the command stopped, what it says is kept."""

    exit_code = EXIT_INTERRUPTED


#: Set by the command line's SIGINT and SIGTERM handlers as they raise KeyboardInterrupt.
#: A library may swallow that exception (lxml does, while it is being imported): a
#: command told to stop must still not put a new batch in place, so the writer looks
#: here once more before it does (see output.BatchWriter.commit).
STOP_ASKED = threading.Event()


#: Set once the command has said, in its one line, that it was interrupted.
INTERRUPT_SAID = threading.Event()


def end_interrupted() -> None:
    """The process is about to exit 130 (Ctrl-C, SIGTERM): SIGINT and SIGTERM are held
    back for the rest of the exit, so that the status is 130 and the exit is not cut
    short; then the command's one line, unless it said it already.

    * typer turns a KeyboardInterrupt that lands while it parses the options (it
      imports pydantic then) into exit 130 without a word.
    * An interrupt that lands while modules are imported can be raised inside code
      that dataclasses or typing run with ``exec``/``eval``; CPython counts such a
      KeyboardInterrupt as unhandled even when the command caught it, and at the end
      of ``python -m letterforge`` sends the process SIGINT (status -2, not 130).
      Held back, that signal is never delivered and the exit status is the command's.
      The same holds a further Ctrl-C while Python shuts down."""
    import signal
    import sys

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    say_interrupted(lambda: print(INTERRUPTED, file=sys.stderr, flush=True))


def say_interrupted(say: Callable[[], None]) -> None:
    """``say()`` the command's one line about the interrupt, unless it was said: with
    SIGINT and SIGTERM held back until the line is written and marked said, so that a
    second Ctrl-C neither cuts it off nor has it said twice (it lands after, and the
    command still exits 130)."""
    import signal

    if INTERRUPT_SAID.is_set():
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        say()
        INTERRUPT_SAID.set()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def stop_on_signal(signum: int, frame: object) -> None:
    """SIGINT or SIGTERM (a CI timeout, kill): stop as Ctrl-C does, cleanly."""
    STOP_ASKED.set()
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """SIGINT and SIGTERM stop the command (:func:`stop_on_signal`). The KeyboardInterrupt
    that raises where Python cannot pass it on (a weakref callback or a finaliser that
    runs at that moment: importlib's module locks have one) is not printed as "Exception
    ignored in ...": STOP_ASKED stops the command all the same, with its one line."""
    import signal
    import sys

    global _PREVIOUS_UNRAISABLE_HOOK
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    if sys.unraisablehook is not _quiet_interrupts:
        _PREVIOUS_UNRAISABLE_HOOK = sys.unraisablehook
        sys.unraisablehook = _quiet_interrupts


_PREVIOUS_UNRAISABLE_HOOK: Any = None


def _quiet_interrupts(unraisable: Any) -> None:
    if STOP_ASKED.is_set() and isinstance(unraisable.exc_value, KeyboardInterrupt):
        return
    import sys

    (_PREVIOUS_UNRAISABLE_HOOK or sys.__unraisablehook__)(unraisable)
