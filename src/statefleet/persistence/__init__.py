"""statefleet.persistence: durable homes for actors (see ``docs/persistence.md``).

- :class:`SQLiteStore` (the embedded default: sqlite3, WAL, one writer thread, group commit) and
  :class:`MemoryStore` implement one :class:`Store` protocol.
- A :class:`Commit` is one macrostep's durable outcome (snapshot with a version check,
  consumed inbox events, timer changes, deliveries to other actors, outbox events), written
  in one transaction; :func:`make_commit` derives it from two snapshots.
- :class:`PostgresStore` (asyncpg, ``pip install statefleet[postgres]``) is the same contract
  in a PostgreSQL database shared by many processes, with the cluster primitives of
  ``docs/cluster.md``: :func:`shard_of`, shard :class:`Lease` rows with fencing epochs
  (:class:`FencedError`), :class:`Member` rows with heartbeats.
- Every failure is a :class:`~statefleet.core.PersistenceError`.
"""

from statefleet.persistence._cluster import Cluster, Lease, Member, shard_of
from statefleet.persistence._errors import (
    ChartMismatchError,
    CorruptRecordError,
    SchemaVersionError,
    StoreClosedError,
    StoreLockedError,
    UnstorableCommitError,
    VersionConflictError,
)
from statefleet.persistence._journal import JournalEntry, JournalPolicy
from statefleet.persistence._memory import MemoryStore
from statefleet.persistence._pg_errors import ConnectionLostError, FencedError
from statefleet.persistence._postgres import PostgresStore
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
    "Cluster",
    "Commit",
    "CommitResult",
    "ConnectionLostError",
    "CorruptRecordError",
    "DeadLetter",
    "Delivery",
    "FencedError",
    "JournalEntry",
    "JournalPolicy",
    "Lease",
    "LoadedActor",
    "Member",
    "MemoryStore",
    "OutboxEntry",
    "PostgresStore",
    "SQLiteStore",
    "SchemaVersionError",
    "Store",
    "StoreClosedError",
    "StoreLockedError",
    "StoredEvent",
    "Timer",
    "UnstorableCommitError",
    "VersionConflictError",
    "decode_event",
    "encode_event",
    "make_commit",
    "shard_of",
    "snapshot_timers",
    "timer_changes",
]
