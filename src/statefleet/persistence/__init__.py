"""statefleet.persistence: durable homes for actors (see ``docs/persistence.md``).

- :class:`SQLiteStore` (the embedded default: aiosqlite, WAL, one writer, group commit) and
  :class:`MemoryStore` implement one :class:`Store` protocol.
- A :class:`Commit` is one macrostep's durable outcome (snapshot with a version check,
  consumed inbox events, timer changes, deliveries to other actors, outbox events), written
  in one transaction; :func:`make_commit` derives it from two snapshots.
- Every failure is a :class:`~statefleet.core.PersistenceError`.
"""

from statefleet.persistence._errors import (
    ChartMismatchError,
    CorruptRecordError,
    SchemaVersionError,
    StoreClosedError,
    StoreLockedError,
    VersionConflictError,
)
from statefleet.persistence._memory import MemoryStore
from statefleet.persistence._protocol import Store
from statefleet.persistence._schema import SCHEMA_VERSION
from statefleet.persistence._sqlite import SQLiteStore
from statefleet.persistence._types import (
    EVENT_FORMAT,
    ActorRecord,
    Commit,
    CommitResult,
    DeadLetter,
    Delivery,
    LoadedActor,
    OutboxEntry,
    StoredEvent,
    Timer,
    decode_event,
    encode_event,
    make_commit,
    snapshot_timers,
    timer_changes,
)

__all__ = [
    "EVENT_FORMAT",
    "SCHEMA_VERSION",
    "ActorRecord",
    "ChartMismatchError",
    "Commit",
    "CommitResult",
    "CorruptRecordError",
    "DeadLetter",
    "Delivery",
    "LoadedActor",
    "MemoryStore",
    "OutboxEntry",
    "SQLiteStore",
    "SchemaVersionError",
    "Store",
    "StoreClosedError",
    "StoreLockedError",
    "StoredEvent",
    "Timer",
    "VersionConflictError",
    "decode_event",
    "encode_event",
    "make_commit",
    "snapshot_timers",
    "timer_changes",
]
