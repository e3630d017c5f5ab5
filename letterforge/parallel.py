"""The worker pool: letters rendered on several processes, and its signal policy.

* A spawn pool (WeasyPrint is not fork-safe); each worker builds its renderer once
  from the plan's picklable :class:`~letterforge.pipeline.Job` and is replaced after
  :data:`RECYCLE_AFTER` letters, so memory stays flat however large the batch.
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

RECYCLE_AFTER = 100  # letters per worker process before a fresh one takes over


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


def _worker_init(parent: int, make: Callable[[Any], Callable[[Any], Any]], spec: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _die_with_parent(parent)
    global _RENDER
    _RENDER = make(spec)


def _worker_call(task: Any) -> Any:
    assert _RENDER is not None
    return _RENDER(task)


def run(make: Callable[[Any], Callable[[Any], Any]], spec: Any, tasks: Sequence[Any],
        jobs: int) -> Iterator[Any]:
    """``make(spec)(task)`` for every task, results in the order of the tasks, on
    ``jobs`` processes (one: here, without a pool). ``make`` and ``spec`` must be
    picklable: each worker builds its renderer once."""
    if jobs <= 1 or len(tasks) <= 1:
        render = make(spec)
        for task in tasks:
            yield render(task)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init, initargs=(os.getpid(), make, spec),
                               max_tasks_per_child=RECYCLE_AFTER)
    try:
        yield from pool.map(_worker_call, tasks)
    except BrokenProcessPool as exc:
        raise RenderError("a rendering process died (out of memory? try --jobs 1): "
                          f"{exc}; nothing was written") from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
