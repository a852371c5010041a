"""The one-writer lock: an exclusive, non-blocking lock on ``<database>.lock``.

The operating system releases it when the holder exits, however it exits (SIGKILL
included), so a crashed writer never leaves a stale lock behind. The file holds the
holder's pid and host, to name it in the error another opener gets.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import IO

from statefleet.persistence._errors import StoreLockedError

__all__ = ["WriterLock"]


class WriterLock:
    """Hold the writer lock of the database at ``path`` (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.db_path = path
        self.path = f"{path}.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`StoreLockedError` naming the holder."""
        f = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while open
        try:
            _lock(f)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise StoreLockedError(self.db_path, holder) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {socket.gethostname()}")
        f.flush()
        self._file = f

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        f, self._file = self._file, None
        if f is not None:
            try:
                f.seek(0)
                f.truncate()
                f.flush()
                _unlock(f)
            finally:
                f.close()


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(f: IO[str]) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(f: IO[str]) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(f: IO[str]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(f: IO[str]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
