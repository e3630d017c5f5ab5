"""Ctrl-C stops a render at any moment: exit 130, one line, the previous batch exactly as
it was, no temporary folder left, no worker left running.

The moments are found from outside, as a user's Ctrl-C would land: before the pool
starts (while the data is read), while the workers start (the render has children but
nothing is written yet), mid-batch (letters are being written to the temporary batch
folder) and while the batch is committed (the swap itself is tested in-process, where
the signal can be sent between the two renames).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

# every case is a render in a fresh process, stopped from outside: in CI (-m slow)
pytestmark = pytest.mark.slow

EXTRA = 20  # candidates added so the batch takes a few seconds


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    from conftest import ROOT, invoke_in

    folder = tmp_path_factory.mktemp("interrupt")
    for name in ("candidates.csv", "signatories.csv"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "templates", folder / "templates")
    # the previous batch, rendered in this process (a subprocess cost 2 s more)
    first = invoke_in(
        folder, "render", "--year", "2013", "--only", "Cuba", "--only", "Mexico", "-j", "1")
    assert first.exit_code == 0, first.output
    csv = folder / "candidates.csv"
    rows = [f"2013,Candidate {i:03d},Candidate {i:03d},c{i}@example.org,x" for i in range(EXTRA)]
    csv.write_text(csv.read_text() + "\n".join(rows) + "\n")
    return folder


def _new_letters(folder: Path) -> int:
    return sum(len(list(p.glob("pdf/*.pdf"))) for p in (folder / "out").glob(".2013.new-*"))


def _loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


MOMENTS: dict[str, Callable[[Path, int], bool]] = {
    # reading and checking the data (the render command has imported Jinja): no child yet
    "before the pool starts": lambda folder, pid: _loaded(pid, "markupsafe/_speedups"),
    # the spawn pool is starting: children exist, nothing is written yet
    "while workers start": lambda folder, pid: bool(_children(pid)),
    # letters are being written to the temporary batch folder
    "mid-batch": lambda folder, pid: _new_letters(folder) >= 3,
}


def _interrupt(campaign: Path, cmd: list[str], moment: str,
               ready: Callable[[Path, int], bool], env: dict[str, str] | None = None
               ) -> list[int]:
    """Run ``cmd`` in ``campaign``, Ctrl-C it once ``ready``: exit 130, one line, the batch
    as it was, no temporary folder left; the children it had then, all gone."""
    before = _snapshot(campaign / "out")
    # A shell started in the background (CI, `pytest &`) gives its children SIGINT ignored,
    # as POSIX says; a person's Ctrl-C reaches a process that has the default handling.
    proc = subprocess.Popen(cmd, cwd=campaign, stdout=subprocess.PIPE, env=env,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while not ready(campaign, proc.pid):
        assert proc.poll() is None, f"the render ended before {moment}"
        assert time.monotonic() < deadline, f"never reached {moment}"
        time.sleep(0.002)
    children = _children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines() == ["interrupted: nothing was changed"], (out, err)
    assert _snapshot(campaign / "out") == before
    assert sorted(p.name for p in (campaign / "out").iterdir()) == [".2013.lock", "2013"]
    deadline = time.monotonic() + 0.5  # gone within half a second
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [c for c in children if _alive(c)] == []
    return children


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_ctrl_c_at_any_moment_keeps_the_previous_batch(campaign: Path, moment: str) -> None:
    cmd = [sys.executable, "-m", "letterforge.cli", "render", "--year", "2013", "-j", "2"]
    _interrupt(campaign, cmd, moment, MOMENTS[moment])


def test_workers_die_with_a_killed_render(campaign: Path) -> None:
    cmd = [sys.executable, "-m", "letterforge.cli", "render", "--year", "2013", "-j", "2",
           "--out", "out-killed"]
    proc = subprocess.Popen(cmd, cwd=campaign, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 2:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    children = _children(proc.pid)
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [c for c in children if _alive(c)] == []


SWAP_SCENARIO = r"""
import os, signal, sys
from pathlib import Path

import letterforge.batch as batch
from letterforge.errors import Interrupted
from letterforge.manifest import LetterEntry, Manifest

root = Path(sys.argv[1])


def commit(files):
    target = root / "2013"
    previous = Manifest.read(target)
    with batch.BatchWriter(target) as writer:
        entries = tuple(writer.write(rel, data) for rel, data in files.items())
        writer.commit(Manifest("0", 2013, ("pdf",), {}, [
            LetterEntry("X", "X", "x", "c:2", "k", entries)]), previous)


def listing():
    return sorted(p.name for p in root.iterdir())


commit({"pdf/x.pdf": b"previous"})
real_rename, calls = os.rename, {"n": 0}


def rename(src, dst):
    real_rename(src, dst)
    calls["n"] += 1
    if calls["n"] == 1:  # between the two renames of the swap
        os.kill(os.getpid(), signal.SIGINT)


batch.os.rename = rename
try:
    commit({"pdf/x.pdf": b"new"})
    print("no interrupt")
except Interrupted as exc:
    print("interrupted:", exc)
print((root / "2013" / "pdf" / "x.pdf").read_bytes().decode(), listing())

calls["n"] = -100  # a Ctrl-C just before the swap: the previous batch stays
real_write = batch.write_synced


def write_then_interrupt(path, data):
    real_write(path, data)
    if path.name == "manifest.json":
        os.kill(os.getpid(), signal.SIGINT)


batch.write_synced = write_then_interrupt
try:
    commit({"pdf/x.pdf": b"newer"})
    print("no interrupt")
except KeyboardInterrupt:
    print("KeyboardInterrupt")
print((root / "2013" / "pdf" / "x.pdf").read_bytes().decode(), listing())
"""


def test_an_interrupt_during_the_swap_is_delivered_after_it(tmp_path: Path) -> None:
    """SIGINT between the two renames of the commit: the swap is completed, nothing is
    left over, and the command reports the interrupt (130). SIGINT just before the swap:
    the previous batch stays. (In a fresh process: the signal must reach its main thread.)
    """
    result = subprocess.run([sys.executable, "-c", SWAP_SCENARIO, str(tmp_path)],
                            capture_output=True, text=True, timeout=60,
                            preexec_fn=_default_sigint)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("interrupted:") and "new batch is complete" in lines[0]
    assert lines[1] == "new ['.2013.lock', '2013']"
    assert lines[2] == "KeyboardInterrupt"
    assert lines[3] == "new ['.2013.lock', '2013']"


STOP_WHILE_SENDING = """\
import functools, sys, time
from letterforge import parallel
if __name__ == "__main__":
    pool = parallel.Pool(functools.partial, bytes, 2, processes=True)
    for _ in range(2):  # results far larger than the pipe: each sent for a while
        pool.submit(100_000_000)
    time.sleep(float(sys.argv[1]))
    pool.close(failed=True)
    print("closed")
"""


def test_stopping_the_pool_while_a_worker_sends_a_letter_back_does_not_hang(
        tmp_path: Path) -> None:
    """Ctrl-C stops the workers, maybe half-way through sending a letter back: the pool's
    thread waited forever for the rest of that message, and so did the command (seen in
    CI). Stopped at several moments of a long send, the pool closes at once."""
    script = tmp_path / "stop_while_sending.py"
    script.write_text(STOP_WHILE_SENDING, encoding="utf-8")
    for delay in ("0.3", "0.5", "0.8", "1.1"):
        done = subprocess.run([sys.executable, str(script), delay], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["closed"]


def _helper_loaded(pid: int, library: str) -> bool:
    return any(_loaded(child, library) for child in _children(pid))


ONLY_MOMENTS: dict[str, Callable[[Path, int], bool]] = {
    # the PDF helper is forked before the CLI is imported
    "the helper is forked": lambda folder, pid: bool(_children(pid)),
    # it imports WeasyPrint while this process reads the data
    "the helper loads WeasyPrint": lambda folder, pid: _helper_loaded(pid, "libpango"),
    # this process renders the DOCX (python-docx's lxml) while the helper renders the PDF
    "both render": lambda folder, pid: (_loaded(pid, "lxml/etree")
                                        and _helper_loaded(pid, "libpango")),
}


@pytest.mark.parametrize("moment", list(ONLY_MOMENTS))
def test_ctrl_c_during_one_letters_render_with_its_pdf_helper(campaign: Path,
                                                               moment: str) -> None:
    """``letterforge render --only`` (the console script's entry, two CPUs): Ctrl-C while
    its PDF helper starts, imports WeasyPrint or renders: exit 130, one line, the batch
    as it was, the helper gone."""
    cmd = [sys.executable, "-m", "letterforge", "render", "--year", "2013", "--only", "Cuba",
           "--force", "-j", "2"]
    env = {k: v for k, v in os.environ.items() if k != "LETTERFORGE_JOBS"}
    assert _interrupt(campaign, cmd, moment, ONLY_MOMENTS[moment], env)  # the helper too
