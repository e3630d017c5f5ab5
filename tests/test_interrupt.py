"""Ctrl-C part-way through a render: exit 130, one line, the previous batch intact."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ctrl_c_keeps_the_previous_batch(sample: Path) -> None:
    cmd = [sys.executable, "-m", "letterforge.cli", "render", "--year", "2013"]
    first = subprocess.run([*cmd, "--only", "Cuba", "--only", "Mexico"], cwd=sample,
                           capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    before = _snapshot(sample / "out")

    # A bigger batch, so the interrupt lands while letters are being rendered.
    csv = sample / "candidates.csv"
    rows = [f"2013,Candidate {i:03d},Candidate {i:03d},c{i}@example.org,x" for i in range(60)]
    csv.write_text(csv.read_text() + "\n".join(rows) + "\n")
    proc = subprocess.Popen(cmd, cwd=sample, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(3)
    assert proc.poll() is None, "the render finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["interrupted: nothing was changed"]
    assert "Traceback" not in err
    assert _snapshot(sample / "out") == before
    assert sorted(p.name for p in (sample / "out").iterdir()) == [".2013.lock", "2013"]
