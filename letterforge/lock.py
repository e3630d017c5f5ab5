"""The lock on a batch: held by a render while it replaces the batch and by a send while
it sends, so they never overlap."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import OutputError, display_path


class BatchLock:
    """An exclusive lock on a batch, held by a render while it replaces the batch and by
    a send while it sends: they never overlap, so a render cannot lose a ledger line that
    a send is writing. The lock file sits beside the batch folder, not in it: beside the
    *real* folder, every symbolic link on the way resolved, so two commands that reach one
    batch by two paths (``out/2013`` a link to ``/sync/2013``, and ``--out /sync``) take
    the same lock."""

    def __init__(self, target: Path) -> None:
        import fcntl

        shown = target
        target = real_path(target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(target.parent / f".{target.name}.lock", "a+")  # noqa: SIM115
        except OSError as exc:
            raise OutputError(f"{display_path(target.parent)}: cannot write the batch there "
                              f"({exc.strerror}): choose another --out folder") from None
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise OutputError(f"{display_path(shown)}: another letterforge command (render, "
                              "send, replies or proof) is working on this batch; wait for it "
                              "to finish") from None

    def release(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> BatchLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def real_path(path: Path) -> Path:
    """Where ``path`` really is: absolute, every symbolic link on the way resolved (the
    last part too, when it is a link that points somewhere)."""
    return Path(os.path.realpath(path.absolute()))
