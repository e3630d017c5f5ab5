"""Watch the inputs (watchfiles) and re-render the letter when one of them changes.

Watched: the templates folder (the letter, the e-mail template, the stylesheet, the
files they include, images), the CSV files and the e-mail template wherever it is. The
folders are watched, not the files, so an editor that saves by replacing the file is
seen too; only changes to the inputs count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from ..config import Inputs


def watched(inputs: Inputs) -> tuple[list[Path], Callable[[Path], bool]]:
    """The folders to watch (not recursively) and which changed paths count."""
    templates = inputs.template.parent.resolve()
    files = {p.resolve() for p in (inputs.candidates, inputs.signatories, inputs.template,
                                   inputs.email_template_path)}
    folders = {templates, *(f.parent for f in files)}
    if templates.is_dir():
        folders.update(p for p in templates.rglob("*") if p.is_dir()
                       and not any(part.startswith(".") for part in p.parts[-1:]))

    def counts(path: Path) -> bool:
        path = path.resolve()
        return path in files or templates in path.parents

    return sorted(f for f in folders if f.is_dir()), counts


def watch(inputs: Inputs, on_change: Callable[[list[Path]], None],
          stop: threading.Event) -> threading.Thread:
    """Start a daemon thread that calls ``on_change`` after changes, until ``stop``."""
    from watchfiles import DefaultFilter
    from watchfiles import watch as watch_files

    folders, counts = watched(inputs)
    default = DefaultFilter()

    def wanted(change: object, path: str) -> bool:
        return default(change, path) and counts(Path(path))  # type: ignore[arg-type]

    def loop() -> None:
        for changes in watch_files(*folders, watch_filter=wanted, stop_event=stop,
                                   recursive=False, debounce=400, step=50,
                                   raise_interrupt=False):
            on_change(_paths(c[1] for c in changes))

    thread = threading.Thread(target=loop, name="letterforge-preview-watch", daemon=True)
    thread.start()
    return thread


def _paths(paths: Iterable[str]) -> list[Path]:
    return sorted({Path(p) for p in paths})
