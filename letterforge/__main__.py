"""The ``letterforge`` command (its console script) and ``python -m letterforge``.

Before the CLI is imported (typer: 0.15-0.3 s), ``render --only NAME`` starts the
process that renders the PDF (:func:`letterforge.parallel.start_early_pdf_helper`): on
one letter, that process importing WeasyPrint is what the command waits for."""

from __future__ import annotations

import sys


def main() -> None:
    from .errors import EXIT_INTERRUPTED, end_interrupted, stop_on_signals

    stop_on_signals()
    from .parallel import start_early_pdf_helper, stop_early_pdf_helper

    try:
        try:
            start_early_pdf_helper(sys.argv[1:])
            from .cli import main as cli_main
        except KeyboardInterrupt:  # Ctrl-C while the CLI is imported
            end_interrupted()
            sys.exit(EXIT_INTERRUPTED)
        cli_main()
    finally:
        stop_early_pdf_helper()  # one the command did not take (a usage error, --help)


if __name__ == "__main__":
    main()
