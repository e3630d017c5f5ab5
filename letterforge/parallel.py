"""The worker pool: letters rendered on several processes, and its signal policy.

* A spawn pool (WeasyPrint is not fork-safe); each worker builds its renderer once
  from the plan's picklable :class:`~letterforge.pipeline.Job`; results stream back in
  order, so memory stays flat however large the batch. The one exception: the PDF
  helper of a one-letter render is forked, before WeasyPrint is loaded and while this
  process has one thread (:func:`start_early_pdf_helper`).
* Never more workers than CPUs: more only cost memory (each holds WeasyPrint).
* Ctrl-C belongs to the main process: workers ignore SIGINT; the main process stops
  the pool and raises. Workers die with the main process, even when it is killed
  (``kill -9``): the kernel sends them SIGKILL (Linux ``PR_SET_PDEATHSIG``), and a
  watchdog thread notices a new parent where that is not available.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .errors import RenderError


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def effective_jobs(asked: int | None, letters: int) -> int:
    """The processes to use: what was asked, at most one per CPU and one per letter."""
    jobs = asked or cpu_count()
    return max(1, min(jobs, cpu_count(), letters))


def _die_with_parent(parent: int) -> None:
    """Make this process end when ``parent`` does."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="letterforge-parent-watch", daemon=True).start()


_RENDER: Callable[[Any], Any] | None = None


#: A worker's collector runs after each letter (:func:`settle`); in between, only past
#: this many new container objects (a letter makes about 20,000), so that a huge letter
#: still cannot grow without bound.
WORKER_GC_THRESHOLD = 100_000


def _worker_init(parent: int, make: Callable[[Any], Callable[[Any], Any]], spec: Any) -> None:
    import gc

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    # a forked worker had the CLI's handler; a SIGTERM held while it started lands now
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    _die_with_parent(parent)
    # Python's default (a young collection every 700 new objects) ran about 33
    # collections per letter, 12 ms of its CPU, to find garbage settle() collects anyway
    gc.set_threshold(WORKER_GC_THRESHOLD, 10, 10)
    global _RENDER
    _RENDER = make(spec)


def _worker_call(task: Any) -> Any:
    assert _RENDER is not None
    result = _RENDER(task)
    settle()
    return result


def _worker_call_once(task: Any) -> Any:
    """A worker's call without :func:`settle`: a helper's one letter goes back at once."""
    assert _RENDER is not None
    return _RENDER(task)


def settle() -> None:
    """After each letter: collect its garbage, then take every object still alive (the
    renderer's and WeasyPrint's per-process caches) out of the cyclic collector's
    sight (``gc.freeze``). A letter's object graph outlives the young generations and
    triggers full collections, each of which walked the caches again: the collector's
    time per letter grew with the batch (24 ms at 50 letters, 59 ms at 400) and a
    letter's CPU with it. Frozen, it stays at about 11 ms; objects frozen and later
    dropped (an evicted cache entry) are still freed by reference counting."""
    import gc

    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def _without_console_script() -> Iterator[None]:
    """Workers spawned without running the ``letterforge`` console script first.

    A spawned process runs the parent's main script again (as ``__mp_main__``) before
    its work, for functions defined there. Ours defines none (workers run functions
    of letterforge's modules), and its imports, the CLI with typer, cost each worker
    0.15 s before its first letter. While the workers start, the script's path is
    hidden from multiprocessing; only when the main module is letterforge's own console
    script (named ``letterforge``, its ``main`` the CLI's), never a user's script."""
    import sys
    from pathlib import Path

    main = sys.modules.get("__main__")
    ours = (main is not None and getattr(main, "__spec__", None) is None
            and getattr(getattr(main, "main", None), "__module__", None)
            in ("letterforge.__main__", "letterforge.cli")
            and Path(str(vars(main).get("__file__", ""))).stem.lower() == "letterforge")
    if not ours:
        yield
        return
    path = vars(main).pop("__file__")
    try:
        yield
    finally:
        main.__file__ = path  # type: ignore[union-attr]


def _ready() -> bool:
    return True


class Pool:
    """``make(spec)(task)`` for every task, on ``jobs`` processes (one: here, without a
    pool, unless ``processes``). The workers start as soon as the pool is made, so they
    import WeasyPrint and build their renderer while the main process still checks the
    plan. ``make`` and ``spec`` must be picklable: each worker builds its renderer once."""

    def __init__(self, make: Callable[[Any], Callable[[Any], Any]], spec: Any,
                 jobs: int, *, processes: bool | None = None, method: str = "spawn",
                 settle_after: bool = True) -> None:
        self.make, self.spec, self.jobs = make, spec, jobs
        self.call = _worker_call if settle_after else _worker_call_once
        self.executor: Any = None
        if (jobs > 1) if processes is None else processes:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # Ctrl-C and SIGTERM wait while the workers are started: a worker cut
            # half-way through its start prints tracebacks (a forked one still has the
            # CLI's handlers); the workers (and the pool's thread) inherit the blocked
            # signals, so Ctrl-C always lands in the main process, and a worker takes
            # SIGTERM once it has its own handlers (_worker_init).
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            try:
                try:
                    # No max_tasks_per_child: on Python < 3.12.3 a recycled worker can
                    # deadlock the pool (CPython gh-115634); WeasyPrint's per-process
                    # caches are bounded, so memory stays flat without recycling.
                    self.executor = ProcessPoolExecutor(
                        jobs, mp_context=multiprocessing.get_context(method),
                        initializer=_worker_init, initargs=(os.getpid(), make, spec))
                    with _without_console_script():
                        for _ in range(jobs):  # start every worker now
                            self.executor.submit(_ready)
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)  # Ctrl-C lands here
            except BaseException:
                self.close(failed=True)
                raise

    def submit(self, task: Any) -> Any:
        """``make(spec)(task)`` on a worker; a future of its result (``result()`` raises
        the worker's error, or a RenderError if the worker died)."""
        assert self.executor is not None, "submit needs worker processes"
        return _Pending(self.executor.submit(self.call, task))

    def map(self, tasks: Sequence[Any]) -> Iterator[Any]:
        """The results in the order of the tasks."""
        if self.executor is None:
            render = self.make(self.spec)
            for task in tasks:  # in this process: its garbage is the caller's business
                yield render(task)
            return
        from concurrent.futures.process import BrokenProcessPool

        try:
            yield from self.executor.map(self.call, tasks)
        except BrokenProcessPool as exc:
            raise RenderError("a rendering process died (out of memory? try --jobs 1): "
                              f"{exc}; nothing was written") from exc

    def abandon(self) -> None:
        """Stop a pool whose workers hold nothing of the command's (the PDF helper, which
        renders into memory only): killed at once, not waited for while they import
        WeasyPrint (they take SIGTERM only once started)."""
        if self.executor is not None:
            for process in list(getattr(self.executor, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    process.kill()
        self.close(failed=True)

    def close(self, failed: bool = False) -> None:
        """Stop the pool; after an error or Ctrl-C, without waiting for the letters the
        workers are still rendering."""
        if self.executor is None:
            return
        executor, self.executor = self.executor, None
        if not failed:
            executor.shutdown(wait=True, cancel_futures=True)
            return
        # The pool's own threads may complain about the workers stopped under them; the
        # command has its message already (interrupted, or the error): keep stderr to it.
        hook = threading.excepthook
        threading.excepthook = lambda args: None
        try:
            processes = list(getattr(executor, "_processes", {}).values())
            for process in processes:
                with contextlib.suppress(Exception):
                    process.terminate()
            for process in processes:
                with contextlib.suppress(Exception):
                    process.join(timeout=10)
            # A worker stopped while it was sending a letter back leaves half a message in
            # the results pipe, and the pool's thread waited for the rest forever (this
            # process holds the pipe's writing end too): Ctrl-C hung. With the workers
            # gone, closing that end lets the thread see the end of the pipe instead.
            writer = getattr(getattr(executor, "_result_queue", None), "_writer", None)
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()
            executor.shutdown(wait=True, cancel_futures=True)
        finally:
            threading.excepthook = hook

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(failed=exc_type is not None)


class _Pending:
    """A task's future whose ``result()`` says plainly that a worker died."""

    def __init__(self, future: Any) -> None:
        self.future = future

    def result(self) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self.future.result()
        except BrokenProcessPool as exc:
            raise RenderError("a rendering process died (out of memory? try --jobs 1): "
                              f"{exc}; nothing was written") from exc


def start_pdf_helper(formats: Sequence[str], jobs: int | None) -> Pool | None:
    """A spare worker process that imports WeasyPrint (0.6 s) while this process
    prepares; then renders the PDF of a single letter (``--only``) while this process
    renders its other formats. The one :func:`start_early_pdf_helper` started, if any;
    else one started now. None where it cannot help: no PDF, ``--jobs 1``, one CPU, or
    WeasyPrint already imported here (a long-lived process: its warm caches render a PDF
    sooner than a new process); an early helper is stopped then."""
    global _EARLY
    early, _EARLY = _EARLY, None
    if "pdf" not in formats or jobs == 1:
        if early is not None:
            early.abandon()
        return None
    return early if early is not None else _pdf_helper()


#: The helper :func:`start_early_pdf_helper` started, until the command takes it.
_EARLY: Pool | None = None


def start_early_pdf_helper(args: Sequence[str]) -> None:
    """``letterforge render --only NAME``, read from the raw command line before the CLI
    (typer, 0.15-0.3 s) is imported: start the PDF helper now. The command takes it
    (:func:`start_pdf_helper`) once its options are parsed, or stops it when they say no
    helper (``-f docx``, ``--jobs 1``); :func:`stop_early_pdf_helper` stops one no
    command took (a usage error, ``--help``)."""
    global _EARLY
    if (_EARLY is not None or not args or args[0] != "render"
            or not any(a == "--only" or a.startswith("--only=") for a in args)
            or any(a in ("--help", "-h") for a in args) or _jobs_asked(args) == "1"):
        return
    _EARLY = _pdf_helper()


def _jobs_asked(args: Sequence[str]) -> str:
    """The last ``--jobs``/``-j`` of a command line (as typer reads it), else
    LETTERFORGE_JOBS; as written."""
    asked = os.environ.get("LETTERFORGE_JOBS", "")
    for i, arg in enumerate(args):
        if arg in ("--jobs", "-j") and i + 1 < len(args):
            asked = args[i + 1]
        elif arg.startswith("--jobs="):
            asked = arg[len("--jobs="):]
        elif arg.startswith("-j") and len(arg) > 2 and not arg.startswith("--"):
            asked = arg[2:]
    return asked.strip()


def stop_early_pdf_helper() -> None:
    global _EARLY
    early, _EARLY = _EARLY, None
    if early is not None:
        early.abandon()


def _pdf_helper() -> Pool | None:
    """Nothing heavy is imported here first: the worker is told the factory's module by
    name. Forked where that is safe (Linux, this process has no other thread and has not
    loaded WeasyPrint's C libraries): it starts at once, without a new Python and
    without importing what this process has imported already (0.3 s sooner than a
    spawned process, which also needs multiprocessing's resource tracker, a third
    process on two cores)."""
    import sys

    if cpu_count() < 2 or "weasyprint" in sys.modules:
        return None
    fork = sys.platform.startswith("linux") and threading.active_count() == 1
    # one letter: no garbage collection after it, its result goes back at once
    return Pool(_by_name, ("letterforge.writers.pdf.render", "helper"), 1, processes=True,
                method="fork" if fork else "spawn", settle_after=False)


def _by_name(spec: tuple[str, str]) -> Callable[[Any], Any]:
    import importlib

    module, factory = spec
    # The helper imports WeasyPrint on a chance: on a busy machine (two cores, a CI
    # job beside) it must not slow the command that may find nothing to render.
    with contextlib.suppress(OSError):
        os.nice(5)
    made: Callable[[Any], Any] = getattr(importlib.import_module(module), factory)()
    return made


def run(make: Callable[[Any], Callable[[Any], Any]], spec: Any, tasks: Sequence[Any],
        jobs: int) -> Iterator[Any]:
    """``make(spec)(task)`` for every task, in order, on ``jobs`` processes."""
    with Pool(make, spec, jobs if len(tasks) > 1 else 1) as pool:
        yield from pool.map(tasks)
