"""One driver per job across processes: the app and the CLI share the job database, and two processes
following and downloading the same job would race on its file.

A lease is an OS file lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on ``<data>/locks/<job>.lock``;
the OS drops it when the process dies, so a crash never leaves a job locked.
"""

from __future__ import annotations

import os
from pathlib import Path

if os.name == "nt":  # pragma: no cover - exercised on Windows builds only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


class JobLease:
    """Held while this process drives a job; ``release`` (or process death) frees it."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    def release(self) -> None:
        """Let another process drive the job."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def try_lease(locks_dir: Path, job_id: str) -> JobLease | None:
    """Take the job's lease, or None when another live process holds it."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    path = locks_dir / f"{job_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if _try_lock(fd):
        return JobLease(fd, path)
    os.close(fd)
    return None
