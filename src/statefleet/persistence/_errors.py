"""Persistence errors: every one is a :class:`~statefleet.core.PersistenceError`."""

from __future__ import annotations

from statefleet.core import PersistenceError, SnapshotError

__all__ = [
    "ChartMismatchError",
    "CorruptRecordError",
    "SchemaVersionError",
    "StoreClosedError",
    "StoreLockedError",
    "UnstorableCommitError",
    "VersionConflictError",
]


class SchemaVersionError(PersistenceError):
    """The database was written by a newer statefleet (a higher schema version).

    It is refused rather than read or migrated backwards: nothing in it is touched.
    """

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"{path}: database schema version {found} is newer than this statefleet supports"
            f" ({supported}); upgrade statefleet to open it"
        )


class StoreLockedError(PersistenceError):
    """Another process (or another store in this one) has the database open for writing."""

    def __init__(self, path: str, holder: str) -> None:
        self.path = path
        self.holder = holder
        super().__init__(
            f"{path} is already open for writing by {holder}; a database has one writer"
            " (close the other store or use another file)"
        )


class StoreClosedError(PersistenceError):
    """The store is not open (use ``async with store:``) or was closed."""


class VersionConflictError(PersistenceError):
    """Optimistic concurrency: the stored snapshot version is not the one the commit expected.

    ``expected`` is ``None`` when the commit meant to create the actor; ``actual`` is ``None``
    when no actor is stored under that id. Nothing of the commit was written.
    """

    def __init__(self, actor_id: str, expected: int | None, actual: int | None) -> None:
        self.actor_id = actor_id
        self.expected = expected
        self.actual = actual
        if expected is None:
            what = f"actor {actor_id!r} already exists (stored version {actual})"
        elif actual is None:
            what = f"actor {actor_id!r} is not stored (expected version {expected})"
        else:
            what = f"actor {actor_id!r} is at version {actual}, the commit expected {expected}"
        super().__init__(f"version conflict: {what}")


class CorruptRecordError(PersistenceError, SnapshotError):
    """A stored snapshot cannot be decoded: the actor is quarantined.

    The raw row is copied to the dead letters (``dead_letter`` is its id) and the actor's
    status becomes ``"quarantined"``; every later load of the actor raises this error again.
    Other actors are not affected.
    """

    def __init__(self, actor_id: str, reason: str, dead_letter: int | None = None) -> None:
        self.actor_id = actor_id
        self.reason = reason
        self.dead_letter = dead_letter
        super().__init__(f"actor {actor_id!r} is quarantined: {reason}")


class ChartMismatchError(PersistenceError, SnapshotError):
    """A stored actor's chart is not registered, or its stored version is not the one
    registered (and no migration was given). The stored row is left untouched."""

    def __init__(self, actor_id: str, message: str) -> None:
        self.actor_id = actor_id
        super().__init__(f"actor {actor_id!r}: {message}")


class UnstorableCommitError(PersistenceError, SnapshotError):
    """A commit whose snapshot or events cannot be encoded (a context nested too deep,
    values msgpack cannot hold): nothing of that commit is written and the stored actor is
    left as it was. The other commits of a batch are not affected.

    It fails the same way however often it is retried: the runtime treats the event that
    produced it as a poison message.
    """

    def __init__(self, actor_id: str, reason: str) -> None:
        self.actor_id = actor_id
        self.reason = reason
        super().__init__(f"actor {actor_id!r}: the commit cannot be stored: {reason}")
