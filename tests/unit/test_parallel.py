"""The worker pool (letterforge/parallel.py): how many processes a render uses, the pool
in this process (one job, or processes=False) and with one worker on a trivial function
(results in order, an error carried back as data, a worker that dies said plainly), and
when the PDF helper of one letter's render is started or stopped. No WeasyPrint; the
fresh-process tests of the helper are in e2e/test_startup.py."""

from __future__ import annotations

import functools
import operator
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from letterforge import parallel
from letterforge.errors import InputError, Problem, RenderError
from letterforge.load import read_table

# ----- how many processes ------------------------------------------------------------


@pytest.mark.parametrize(("asked", "letters", "jobs"), [
    (None, 10, 4), (2, 10, 2), (8, 10, 4), (None, 3, 3), (6, 1, 1), (3, 0, 1), (0, 10, 4),
])
def test_never_more_processes_than_cpus_or_letters(monkeypatch: pytest.MonkeyPatch,
                                                   asked: int | None, letters: int,
                                                   jobs: int) -> None:
    monkeypatch.setattr(parallel, "cpu_count", lambda: 4)
    assert parallel.effective_jobs(asked, letters) == jobs


def test_the_cpus_are_those_this_process_may_run_on() -> None:
    assert parallel.cpu_count() == len(os.sched_getaffinity(0)) >= 1


# ----- the pool in this process ----------------------------------------------------------


def _doubler(made: list[Any]) -> Any:
    """``make``: records the spec it was given, renders a task as (spec, task * 2). A
    closure, which no worker process could be given: it proves the work stayed here."""

    def make(spec: Any) -> Any:
        made.append(spec)
        return lambda task: (spec, task * 2)

    return make


@pytest.mark.parametrize(("jobs", "processes"), [(1, None), (4, False)])
def test_one_job_or_no_processes_renders_here_in_order(jobs: int,
                                                       processes: bool | None) -> None:
    made: list[Any] = []
    with parallel.Pool(_doubler(made), "spec", jobs, processes=processes) as pool:
        assert pool.executor is None
        assert list(pool.map([1, 2, 3])) == [("spec", 2), ("spec", 4), ("spec", 6)]
        with pytest.raises(AssertionError, match="submit needs worker processes"):
            pool.submit(1)
    assert made == ["spec"]  # the renderer is made once per map, not once per task


def test_run_renders_a_single_task_here_whatever_the_jobs() -> None:
    made: list[Any] = []
    assert list(parallel.run(_doubler(made), "spec", ["a"], jobs=4)) == [("spec", "aa")]
    assert made == ["spec"]


def test_an_error_here_stops_the_map_after_the_results_before_it() -> None:
    def make(spec: Any) -> Any:
        def render(task: int) -> int:
            if task == 2:
                raise RenderError(Problem("c.csv", 3, "name", "cannot be rendered"))
            return task

        return render

    results = parallel.Pool(make, None, 1).map([1, 2, 3])
    assert next(results) == 1
    with pytest.raises(RenderError, match="c.csv:3: name: cannot be rendered"):
        next(results)


def test_errors_cross_a_process_boundary_as_their_problems() -> None:
    """What a worker raises reaches the main process pickled: the class and every
    problem (file, line, column, message, warning) as data, not a formatted string."""
    problems = [Problem("c.csv", 3, "email", "not an address"),
                Problem("templates/letter.md", None, None, "a warning", warning=True)]
    again = pickle.loads(pickle.dumps(RenderError(problems)))
    assert type(again) is RenderError
    assert again.problems == problems and again.problems[1].warning
    assert str(again) == str(RenderError(problems))


# ----- one worker process ------------------------------------------------------------------


def test_one_worker_gives_results_errors_as_data_and_says_when_it_died(
        tmp_path: Path) -> None:
    """A spawned worker calling what it is given (``len``, ``read_table``, ``os._exit``):
    its results come back in order, a LetterforgeError it raises comes back as itself
    with its problems, and a worker that dies is a RenderError, not the pool's
    traceback."""
    missing = tmp_path / "missing.csv"
    pool = parallel.Pool(functools.partial, operator.call, 1, processes=True)
    try:
        assert pool.executor is not None
        assert pool.submit(functools.partial(len, "abc")).result() == 3
        assert list(pool.map([functools.partial(len, t) for t in ("", "bb", [1])])) == [0, 2, 1]
        with pytest.raises(TypeError, match="has no len"):
            pool.submit(functools.partial(len, 5)).result()
        with pytest.raises(InputError) as caught:
            pool.submit(functools.partial(read_table, missing)).result()
        (problem,) = caught.value.problems
        assert problem.path == str(missing) and "file not found" in problem.message
        with pytest.raises(RenderError, match="a rendering process died"):
            pool.submit(functools.partial(os._exit, 3)).result()
    finally:
        pool.close(failed=True)
    assert pool.executor is None


# ----- the PDF helper of one letter's render ---------------------------------------------


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

    def abandon(self) -> None:
        self.closed = True


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


@pytest.mark.parametrize(("args", "env", "jobs"), [
    (["render", "--jobs", "3"], "", "3"), (["render", "-j", "2", "--jobs=5"], "", "5"),
    (["render", "-j7"], "1", "7"), (["render"], "4", "4"), (["render"], "", ""),
    (["render", "--jobs"], "2", "2"),  # no value after it: the variable's
])
def test_the_jobs_asked_are_the_last_option_else_the_variable(
        monkeypatch: pytest.MonkeyPatch, args: list[str], env: str, jobs: str) -> None:
    monkeypatch.setenv("LETTERFORGE_JOBS", env)
    assert parallel._jobs_asked(args) == jobs


def test_no_helper_on_one_cpu_or_with_weasyprint_loaded(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    import sys

    monkeypatch.setattr(parallel, "Pool", lambda *a, **k: pytest.fail("started a helper"))
    monkeypatch.setattr(parallel, "cpu_count", lambda: 1)
    assert parallel._pdf_helper() is None
    monkeypatch.setattr(parallel, "cpu_count", lambda: 4)
    monkeypatch.setitem(sys.modules, "weasyprint", object())
    assert parallel._pdf_helper() is None
