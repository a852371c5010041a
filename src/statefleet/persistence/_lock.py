"""The one-writer lock: an exclusive, non-blocking lock on ``<database>.lock``.

The operating system releases it when the holder exits, however it exits (SIGKILL
included), so a crashed writer never leaves a stale lock behind (only an unlocked file,
which the next opener takes over). A clean close removes the file. The file holds the
holder's pid and host, to name it in the error another opener gets.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sys
from typing import IO

from statefleet.core import PersistenceError
from statefleet.persistence._errors import StoreLockedError

__all__ = ["WriterLock"]


class WriterLock:
    """Hold the writer lock of the database at ``path`` (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.db_path = path
        self.path = f"{path}.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`StoreLockedError` naming the holder.

        A lock file that cannot be made or written (a read-only file system, permission
        denied, a missing folder, a directory in the way) raises
        :class:`~statefleet.core.PersistenceError` naming it.
        """
        for _ in range(_ATTEMPTS):
            f = self._open_and_lock()
            # The last holder removes the file on release (while still holding the lock):
            # if that happened between our open and our lock, we hold a lock on a file no
            # one else can see, and a third process could lock a new one. Only a lock on
            # the file the path names counts.
            try:
                same = os.path.samestat(os.fstat(f.fileno()), os.stat(self.path))
            except FileNotFoundError:
                same = False
            except OSError as exc:
                _close(f)
                raise self._error("cannot check the lock file", exc) from exc
            if same:
                break
            _close(f)
        else:
            raise PersistenceError(f"{self.db_path}: the lock file {self.path} keeps vanishing")
        try:
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()} on {socket.gethostname()}")
            f.flush()
        except OSError as exc:
            _close(f)
            raise self._error("cannot write the lock file", exc) from exc
        self._file = f

    def _open_and_lock(self) -> IO[str]:
        try:
            f = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while open
        except OSError as exc:
            raise self._error("cannot create the lock file", exc) from exc
        try:
            _lock(f)
        except OSError as exc:
            if exc.errno not in _HELD:
                _close(f)
                raise self._error("cannot lock", exc) from exc
            try:
                f.seek(0)
                holder = f.read().strip() or "another process"
            except (OSError, ValueError):
                holder = "another process"
            _close(f)
            raise StoreLockedError(self.db_path, holder) from None
        return f

    def _error(self, what: str, exc: OSError) -> PersistenceError:
        reason = exc.strerror or str(exc)
        return PersistenceError(f"{self.db_path}: {what} {self.path}: {reason}")

    def release(self) -> None:
        """Give the lock back (idempotent; never raises: the operating system releases the
        lock with the file in any case)."""
        f, self._file = self._file, None
        if f is not None:
            try:
                # no lock file stays behind a clean close: it is removed while still locked
                # (see acquire); where that is not possible it is emptied
                if not _remove(self.path):
                    f.seek(0)
                    f.truncate()
                    f.flush()
                _unlock(f)
            except OSError:
                pass  # a file system gone read-only: closing the file releases the lock
            finally:
                _close(f)


def _remove(path: str) -> bool:
    if sys.platform == "win32":  # pragma: no cover - an open file cannot be removed there
        return False
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def _close(f: IO[str]) -> None:
    with contextlib.suppress(OSError):
        f.close()


_ATTEMPTS = 100  # opens of a lock file removed under us before giving up

#: what taking a lock another holder has fails with (EACCES on some systems and Windows)
_HELD = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES})

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
