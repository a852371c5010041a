"""PostgresStore: the Store contract on PostgreSQL (asyncpg), shared by many processes.

Theory of operation
-------------------
Unlike a SQLite file, a PostgreSQL database has many writers at once (several processes,
several machines), so nothing is decided from memory: seqs come from database sequences,
and every version check reads the stored row inside the writing transaction.

Writes (accepts, commits, outbox acks) are queued; one writer task per store takes
everything queued (up to ``max_batch`` items) and writes it in one transaction:

1. the rows of every actor the batch commits are read and locked (``FOR UPDATE``, in id
   order, so two stores writing overlapping batches cannot deadlock); on a cluster node the
   lease rows of their shards are checked and locked too (``Cluster.fence``);
2. the batch is planned in Python as in ``SQLiteStore``: version checks chain through the
   batch, a stale, quarantined or fenced commit fails alone;
3. creates are inserted first (``ON CONFLICT DO NOTHING``): if another store created one
   of them meanwhile, the transaction is rolled back and the batch planned again (it then
   reads that row and the commit gets its ``VersionConflictError``);
4. each kind of row is written with one statement over arrays (``unnest``), whatever the
   batch size; inbox inserts notify the shard's channel (``LISTEN``/``NOTIFY``), delivered
   by PostgreSQL when the transaction commits.

A request is acknowledged only once its transaction committed. When the connection is lost
the writer reconnects with exponential backoff (up to ``reconnect_timeout``): a batch that
failed before ``COMMIT`` was sent is written again on the new connection (nothing of it was
applied); one cut off *during* ``COMMIT`` is settled by asking the database about its
transaction id (``txid_status``): committed, it is acknowledged; aborted, it is written
again. So a database restart costs a delay, not an error. Only a database that cannot be
reached in time fails callers, with :class:`ConnectionLostError` (``uncertain=True`` when it
was committing; a retried commit is checked by its version, so never applied twice).

Reads use a small pool of other connections, retried the same way. asyncpg runs on asyncio
only, and so does this store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import anyio.lowlevel
import msgspec

from statefleet.core import (
    EventData,
    PersistenceError,
    SnapshotError,
    encode_snapshot,
)
from statefleet.core._snapshot import SNAPSHOT_FORMAT
from statefleet.persistence._cluster import (
    Cluster,
    Lease,
    Member,
    read_leases,
    read_members,
    shard_of,
)
from statefleet.persistence._errors import (
    CorruptRecordError,
    SchemaVersionError,
    StoreClosedError,
    VersionConflictError,
)
from statefleet.persistence._journal import (
    DEFAULT_JOURNAL,
    JournalPolicy,
    JournalReader,
    encode_entry,
    journal_policy,
)
from statefleet.persistence._pg_errors import ConnectionLostError, FencedError
from statefleet.persistence._pg_replies import ReplyAssembler, split_reply
from statefleet.persistence._pg_schema import (
    PG_MIGRATIONS,
    PG_SCHEMA_VERSION,
    PG_STATES_MIGRATION,
)
from statefleet.persistence._rows import (
    LoadBatcher,
    actor_ids_query,
    check_status,
    is_seq,
    raw,
    record_from_row,
    state_rows,
)
from statefleet.persistence._runtime import RuntimeStore
from statefleet.persistence._types import (
    ActorRecord,
    Commit,
    CommitResult,
    DeadLetter,
    LoadedActor,
    OutboxEntry,
    StoredEvent,
    Timer,
    decode_event,
    encode_event,
    prepare_each,
)
from statefleet.persistence._writes import WriteOp, WriteQueue, copy_error

try:  # the `postgres` extra
    import asyncpg
except ImportError:  # pragma: no cover - exercised only without the extra
    asyncpg = None

__all__ = ["PostgresStore"]

log = logging.getLogger("statefleet.persistence")

T = TypeVar("T")

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")
_MIGRATION_LOCK = 0x5F1E_7000  # advisory lock key: one migrating store at a time
_DEFAULT_SHARDS = 256
_MAX_REPLANS = 20  # a batch planned again this often fails (a livelock, not a race)
_NOTIFY_MAX = 7000  # bytes of actor ids in a notification (PostgreSQL allows 8000)
_PATH_SEP = "\x1f"
_BACKFILL = 500  # rows read at a time by a migration's backfill

_ACTOR_COLUMNS = "id, chart_id, chart_version, version, status, format, snapshot"
_INSERT_ACTORS = (
    "INSERT INTO actors (id, shard, chart_id, chart_version, version, status, format,"
    " snapshot, created_at, updated_at)"
    " SELECT u.*, $9::float8, $9::float8 FROM unnest($1::text[], $2::int[], $3::text[],"
    " $4::text[], $5::bigint[], $6::text[], $7::int[], $8::bytea[]) AS u"
)
_UPDATE_ACTORS = (
    "UPDATE actors a SET chart_id = u.c, chart_version = u.cv, version = u.v, status = u.s,"
    " format = $7::int, snapshot = u.b, updated_at = $8::float8"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bytea[])"
    " AS u(id, c, cv, v, s, b) WHERE a.id = u.id"
)
_DELETE_STATES = "DELETE FROM actor_states WHERE actor_id = ANY($1::text[])"
_INSERT_STATES = (
    "INSERT INTO actor_states (state_id, actor_id) SELECT * FROM unnest($1::text[], $2::text[])"
    " ON CONFLICT DO NOTHING"
)
_INSERT_INBOX = (
    "INSERT INTO inbox (seq, actor_id, shard, event, accepted_at)"
    " SELECT u.*, $5::float8 FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bytea[]) AS u"
)
_UPSERT_TIMERS = (
    "INSERT INTO timers (actor_id, key, shard, due, sendid, target, path, event)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::float8[], $5::text[],"
    " $6::text[], $7::text[], $8::bytea[]) ON CONFLICT (actor_id, key) DO UPDATE SET"
    " due = excluded.due, sendid = excluded.sendid, target = excluded.target,"
    " path = excluded.path, event = excluded.event"
)
_DELETE_TIMERS = (
    "DELETE FROM timers t USING unnest($1::text[], $2::text[]) AS d(a, k)"
    " WHERE t.actor_id = d.a AND t.key = d.k"
)
_INSERT_OUTBOX = (
    "INSERT INTO outbox (seq, actor_id, target, event, created_at)"
    " SELECT u.*, $5::float8 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[]) AS u"
)
_INSERT_JOURNAL = (
    "INSERT INTO journal (actor_id, version, at, entry)"
    " SELECT u.a, u.v, $4::float8, u.e FROM unnest($1::text[], $2::bigint[], $3::bytea[])"
    " AS u(a, v, e)"
)
# keep the newest ``limit`` rows of each actor named, none written before a time
_TRIM_JOURNAL = (
    "DELETE FROM journal j USING (SELECT a, (SELECT id FROM journal WHERE actor_id = a"
    " ORDER BY id DESC LIMIT 1 OFFSET $2) AS cut FROM unnest($1::text[]) AS a) t"
    " WHERE j.actor_id = t.a AND (j.at < $3 OR j.id <= t.cut)"
)
_NOTIFY = "SELECT pg_notify(n.c, n.p) FROM unnest($1::text[], $2::text[]) AS n(c, p)"
#: an inbox row moved to the dead letters: deleted and dead-lettered in one statement (a
#: row another transaction deleted first is not found, so never dead-lettered twice)
_MOVE_EVENT = (
    "WITH gone AS (DELETE FROM inbox WHERE seq = $1 AND actor_id = $2 RETURNING event)"
    " INSERT INTO dead_letters (actor_id, kind, reason, payload, created_at)"
    " SELECT $2, 'event', $3, event, $4 FROM gone RETURNING id"
)
#: an actor's whole inbox moved to the dead letters, in order, the same way
_MOVE_INBOX = (
    "WITH gone AS (DELETE FROM inbox WHERE actor_id = $1 RETURNING seq, event)"
    " INSERT INTO dead_letters (actor_id, kind, reason, payload, created_at)"
    " SELECT $1, 'event', $2, event, $3 FROM gone ORDER BY seq"
)
_INSERT_DEAD = (
    "INSERT INTO dead_letters (actor_id, kind, reason, payload, created_at)"
    " VALUES ($1, $2, $3, $4, $5) RETURNING id"
)


def _lost_errors() -> tuple[type[BaseException], ...]:
    if asyncpg is None:  # pragma: no cover
        return (OSError,)
    e = asyncpg.exceptions
    return (
        OSError,
        TimeoutError,
        e.PostgresConnectionError,
        e.InterfaceError,
        e.AdminShutdownError,
        e.CannotConnectNowError,
        e.CrashShutdownError,
        # asyncpg's protocol state after the server cut the connection mid-operation
        e.InternalClientError,
    )


_LOST = _lost_errors()


class _Notice(msgspec.Struct):
    """An inbox notification of a node's write: the node and the actor ids."""

    n: str
    a: list[str]


class _Retry(Exception):
    """Plan the batch again: a create raced with another store's."""


class _Prepared(msgspec.Struct):
    """A commit encoded before it is queued (its seqs are given by the writer)."""

    commit: Commit
    blob: bytes
    timers: list[tuple[str, float, str, str | None, str, bytes]]
    deliveries: list[tuple[str, bytes]]
    outbox: list[tuple[str, bytes]]
    journal: bytes | None = None


_NONE: list[Any] = []  # shared by prepared commits without timers or sends, never mutated
_BULK = frozenset({"accept", "commit", "ack"})  # op kinds that share a transaction
#: one-off writes a node must own the shard for
_FENCED = frozenset({"quarantine", "reject", "reject_event", "delete"})


class PostgresStore(JournalReader, RuntimeStore):
    """The :class:`Store` contract in a PostgreSQL database, shared by many processes.

    ``dsn`` is a libpq connection string or URL (``postgresql://user@host/db``).
    Everything lives in the PostgreSQL schema ``schema`` (created if missing; several
    fleets can share a database under different schemas). ``shards`` is the cluster's
    shard count, fixed when the schema is created (``None``: the stored one, or 256).

    ``node`` makes this store a cluster node (see ``docs/cluster.md``): its
    :attr:`cluster` takes and renews shard leases, and every commit is refused with
    :class:`FencedError` unless the node holds the lease of the actor's shard at the
    epoch it acquired (checked in the commit's transaction). Without ``node`` there is no
    fencing: version checks alone keep concurrent writers apart. ``lease_time`` is the
    lease duration (seconds, the database's clock unless ``clock`` gives a virtual one);
    ``ask_timeout`` how long a node's cross-node ``ask`` waits for the owner's reply.

    ``max_batch`` bounds the items in one transaction, ``max_delay`` makes the writer wait
    that long for more before writing a small batch. ``reconnect_timeout`` is how long a
    lost connection is retried (exponential backoff) before callers get
    :class:`ConnectionLostError`. Runs on asyncio (asyncpg is asyncio-only).
    """

    durable = True

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "statefleet",
        node: str | None = None,
        shards: int | None = None,
        lease_time: float = 10.0,
        clock: Callable[[], float] | None = None,
        max_batch: int = 2000,
        max_delay: float = 0.0,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
        reconnect_timeout: float = 30.0,
        journal: JournalPolicy | int = DEFAULT_JOURNAL,
        ask_timeout: float | None = None,
    ) -> None:
        self.journal = journal_policy(journal)
        if asyncpg is None:  # pragma: no cover
            raise PersistenceError(
                "PostgresStore needs asyncpg: pip install 'statefleet[postgres]'"
            )
        if not isinstance(dsn, str) or not dsn:
            raise ValueError(f"dsn is a PostgreSQL connection string, not {dsn!r}")
        if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(
                f"schema must be a lower-case identifier of at most 40 characters"
                f" ([a-z_][a-z0-9_]*), not {schema!r}"
            )
        if node is not None:
            _check_text("node", node)
        if shards is not None and (not isinstance(shards, int) or not 1 <= shards <= 1 << 20):
            raise ValueError(f"shards must be an int in 1..{1 << 20}, not {shards!r}")
        if ask_timeout is not None and not (
            isinstance(ask_timeout, int | float) and ask_timeout > 0 and math.isfinite(ask_timeout)
        ):
            raise ValueError(f"ask_timeout must be a finite number > 0, not {ask_timeout!r}")
        self.ask_timeout = ask_timeout
        for name, value in (
            ("lease_time", lease_time),
            ("connect_timeout", connect_timeout),
            ("reconnect_timeout", reconnect_timeout),
        ):
            if not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number > 0, not {value!r}")
        if not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch must be a positive int, not {max_batch!r}")
        if not (max_delay >= 0 and math.isfinite(max_delay)):
            raise ValueError(f"max_delay must be a finite number >= 0, not {max_delay!r}")
        if not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError(f"pool_size must be a positive int, not {pool_size!r}")
        self.dsn = dsn
        self.schema = schema
        self.node = node
        self.shards = shards
        self.lease_time = float(lease_time)
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.pool_size = pool_size
        self.connect_timeout = float(connect_timeout)
        self.reconnect_timeout = float(reconnect_timeout)
        self._clock = clock
        #: where the store is, for messages (the password is never shown)
        self.where = f"{_redact(dsn)} schema {schema}"
        #: the cluster view of a node store (``None`` without ``node``)
        self.cluster: Cluster | None = None
        self._db: Any = None  # the writer's connection
        self._pool: Any = None  # readers
        self._listener: Any = None  # LISTEN connection, made on first use
        self._callbacks: dict[int, Callable[[int, tuple[str, ...] | None], None]] = {}
        self._listened: set[str] = set()  # channels LISTENed to on the current connection
        self._listener_lost: anyio.Event | None = None
        # held while the listening connection is made or listens to more: two callers at
        # once (a node's first shards and its first cross-node ask) would each make one,
        # and the one not kept would leak, open and listening
        self._listening = asyncio.Lock()
        self._others_only: set[int] = set()  # shards whose own-write notices are skipped
        self._reply_channel: str | None = None  # this node's reply channel, once listened
        self._replies = ReplyAssembler()
        self._loads = LoadBatcher(self.where, self._load_rows)
        self._tg: anyio.abc.TaskGroup | None = None
        self._open = False
        self._writes = WriteQueue(self.where, bulk=_BULK, max_batch=max_batch, max_delay=max_delay)
        #: counters: transactions, items, commits, accepts, failed transactions, batches
        #: planned again, reconnections
        self.stats = {
            "batches": 0,
            "items": 0,
            "commits": 0,
            "accepts": 0,
            "failures": 0,
            "retries": 0,
            "reconnects": 0,
        }

    def __repr__(self) -> str:
        node = f" node={self.node!r}" if self.node else ""
        return f"<PostgresStore {self.where}{node}>"

    @property
    def is_open(self) -> bool:
        """Between entering and leaving ``async with store:``."""
        return self._open

    # -- opening and closing -----------------------------------------------------------------
    async def __aenter__(self) -> Self:
        """Connect, create or migrate the schema, start the writer."""
        if self._open:
            raise PersistenceError(f"{self.where}: this store is already open")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise PersistenceError(
                "PostgresStore runs on asyncio only (asyncpg is asyncio-only);"
                " use the asyncio backend, or MemoryStore"
            ) from None
        try:
            self._db = await self._connect()
            await self._migrate(self._db)
            self._pool = await asyncpg.create_pool(
                self.dsn,
                min_size=1,
                max_size=self.pool_size,
                timeout=self.connect_timeout,
                server_settings=self._settings(),
            )
        except BaseException as exc:
            await self._close_connections()
            if isinstance(exc, (*_LOST, asyncpg.PostgresError)):
                raise PersistenceError(f"{self.where}: cannot open the store: {exc}") from exc
            raise
        if self.node is not None:
            assert self.shards is not None
            self.cluster = Cluster(
                self.node,
                shards=self.shards,
                lease_time=self.lease_time,
                run=self._read,
                clock=self._clock,
                ask_timeout=self.ask_timeout,
            )
        self._open = True
        self._writes.open()
        self._loads.open()
        self._listener_lost = anyio.Event()
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._writes.run, self._flush)
        self._tg.start_soon(self._loads.run)
        self._tg.start_soon(self._listen_keeper)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Write everything queued, then close the connections (leases are kept: call
        ``store.cluster.leave()`` first to hand them over)."""
        if not self._open:
            return
        self._open = False
        self._writes.close()
        self._loads.close()
        if self._listener_lost is not None:
            self._listener_lost.set()
        tg, self._tg = self._tg, None
        try:
            if tg is not None:
                # the writer, the loader and the listen keeper end by themselves once closing
                # (after writing what is queued): the block's own exception is not theirs to
                # carry (the task group would wrap it in an ExceptionGroup)
                await tg.__aexit__(None, None, None)
        except BaseException:
            if exc is None:
                raise
            log.exception("%s: closing the store failed while leaving on an error", self.where)
        finally:
            with anyio.CancelScope(shield=True):
                await self._close_connections()

    def _settings(self) -> dict[str, str]:
        settings = {"search_path": self.schema, "application_name": "statefleet"}
        if self.node is not None:
            # a node paused in the middle of a transaction (GC, SIGSTOP, a partition) holds
            # row locks, the lease rows' among them: the server ends such a transaction
            # after a lease time, so the node taking its shards over is not blocked by it
            ms = max(1, round(self.lease_time * 1000))
            settings["idle_in_transaction_session_timeout"] = str(ms)
        return settings

    async def _connect(self) -> Any:
        try:
            return await asyncpg.connect(
                self.dsn, timeout=self.connect_timeout, server_settings=self._settings()
            )
        except asyncpg.InvalidCatalogNameError as exc:
            raise PersistenceError(f"{self.where}: no such database: {exc}") from exc
        except asyncpg.InvalidAuthorizationSpecificationError as exc:
            raise PersistenceError(f"{self.where}: login refused: {exc}") from exc
        except (*_LOST, asyncpg.PostgresError) as exc:
            raise PersistenceError(f"{self.where}: cannot connect to PostgreSQL: {exc}") from exc

    async def _close_connections(self) -> None:
        for name in ("_listener", "_db"):
            conn = getattr(self, name)
            setattr(self, name, None)
            if conn is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), timeout=5)
        self._callbacks = {}
        self._listened = set()
        self._others_only = set()
        self._reply_channel = None
        pool, self._pool = self._pool, None
        if pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), timeout=5)

    async def _migrate(self, db: Any) -> None:
        try:
            async with db.transaction():
                await db.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                # created only when missing: a role without CREATE on the database can use
                # a schema made for it (the name is checked to be a plain identifier)
                if not await db.fetchval(
                    "SELECT count(*) FROM pg_namespace WHERE nspname = $1", self.schema
                ):
                    await db.execute(f"CREATE SCHEMA {self.schema}")
                version = await self._schema_version(db)
                if version > PG_SCHEMA_VERSION:
                    raise SchemaVersionError(self.where, version, PG_SCHEMA_VERSION)
                for target, statements in PG_MIGRATIONS:
                    if target <= version:
                        continue
                    for stmt in statements:
                        await db.execute(stmt)
                    if target == PG_STATES_MIGRATION:
                        await _backfill_states(db)
                    await db.execute(
                        "INSERT INTO statefleet_meta (key, value) VALUES ('schema_version', $1)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        str(target),
                    )
                stored = await db.fetchval("SELECT value FROM statefleet_meta WHERE key = 'shards'")
                if stored is None:
                    self.shards = self.shards or _DEFAULT_SHARDS
                    await db.execute(
                        "INSERT INTO statefleet_meta (key, value) VALUES ('shards', $1)",
                        str(self.shards),
                    )
                elif self.shards is not None and str(self.shards) != stored:
                    raise PersistenceError(
                        f"{self.where}: the fleet has {stored} shards; this store was told"
                        f" {self.shards} (the shard count is fixed when the schema is made)"
                    )
                else:
                    self.shards = int(stored)
        except asyncpg.PostgresError as exc:
            raise PersistenceError(f"{self.where}: cannot prepare the schema: {exc}") from exc

    async def _schema_version(self, db: Any) -> int:
        tables = {
            r[0]
            for r in await db.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                self.schema,
            )
        }
        if "statefleet_meta" not in tables:
            if tables:
                raise PersistenceError(
                    f"{self.where}: the schema has tables ({', '.join(sorted(tables))}) but"
                    " no statefleet schema; refusing to write into it"
                )
            return 0
        value = await db.fetchval("SELECT value FROM statefleet_meta WHERE key = 'schema_version'")
        try:
            return int(value) if value is not None else 0
        except (TypeError, ValueError):
            raise PersistenceError(
                f"{self.where}: unreadable schema version {value!r} in statefleet_meta"
            ) from None

    def _check_open(self) -> None:
        if not self._open:
            raise StoreClosedError(f"{self.where}: the store is not open: use `async with store:`")

    def shard_of(self, actor_id: str) -> int:
        """The shard of ``actor_id`` (the store must be open: the count is stored)."""
        assert self.shards is not None, "the store is not open"
        return shard_of(actor_id, self.shards)

    # -- connections, reconnection -----------------------------------------------------------
    async def _backoff(
        self, deadline: float, attempt: int, exc: BaseException, *, reading: bool = False
    ) -> None:
        """Wait before trying again, or raise ``ConnectionLostError`` past the deadline."""
        if time.monotonic() >= deadline:
            reason = str(exc) or type(exc).__name__
            raise ConnectionLostError(self.where, reason, reading=reading) from exc
        delay = min(0.05 * 2**attempt, 2.0, max(0.0, deadline - time.monotonic()))
        log.warning("statefleet store %s: connection lost (%s); retrying", self.where, exc)
        await anyio.sleep(delay)

    async def _read(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``fn`` with a pooled connection, retrying on a lost connection."""
        self._check_open()
        deadline = time.monotonic() + self.reconnect_timeout
        attempt = 0
        while True:
            pool = self._pool
            if pool is None:
                raise StoreClosedError(f"{self.where}: the store is closed")
            try:
                async with pool.acquire(timeout=self.connect_timeout) as conn:
                    return await fn(conn)
            except _LOST as exc:
                await self._backoff(deadline, attempt, exc, reading=True)
                attempt += 1
            except asyncpg.PostgresError as exc:
                raise PersistenceError(f"{self.where}: read failed: {exc}") from exc

    async def _writer_connection(self, deadline: float) -> Any:
        attempt = 0
        while self._db is None or self._db.is_closed():
            try:
                self._db = await asyncpg.connect(
                    self.dsn, timeout=self.connect_timeout, server_settings=self._settings()
                )
                self.stats["reconnects"] += 1
            except (*_LOST, asyncpg.CannotConnectNowError) as exc:
                await self._backoff(deadline, attempt, exc)
                attempt += 1
        return self._db

    # -- the writer ------------------------------------------------------------------------
    async def _submit(self, op: WriteOp) -> Any:
        self._check_open()
        return await self._writes.submit(op)

    async def _flush(self, ops: list[WriteOp]) -> None:
        """Write ``ops`` in one transaction: planned again after a create race, written
        again on a new connection when the old one was lost before ``COMMIT`` (or during it,
        when the database says the transaction did not commit)."""
        deadline = time.monotonic() + self.reconnect_timeout
        attempt = replans = 0
        while True:
            committing = False
            if replans > _MAX_REPLANS:
                self._fail(
                    ops,
                    PersistenceError(
                        f"{self.where}: gave up writing a batch planned {replans} times"
                        " (other writers kept changing the same actors)"
                    ),
                    None,
                )
                return
            xid = None
            try:
                db = await self._writer_connection(deadline)
                tr = db.transaction()
                await tr.start()
                try:
                    # the transaction's id: if the connection is lost during COMMIT, the
                    # database still knows whether it committed (txid_status)
                    xid = await db.fetchval("SELECT txid_current()")
                    await self._write(db, ops)
                except BaseException:
                    if not db.is_closed():
                        with contextlib.suppress(Exception):  # the error raised matters
                            await tr.rollback()
                    raise
                committing = True
                await tr.commit()
            except (_Retry, asyncpg.TransactionRollbackError):  # a race, a deadlock: again
                self.stats["retries"] += 1
                replans += 1
                continue
            except _LOST as exc:
                db, self._db = self._db, None
                if db is not None:
                    db.terminate()
                if committing:
                    outcome = await self._commit_outcome(xid, deadline)
                    if outcome == "committed":
                        break
                    if outcome != "aborted":
                        lost = ConnectionLostError(self.where, str(exc), uncertain=True)
                        self._fail(ops, lost, exc)
                        return
                    # not applied: written again below, as a batch lost before COMMIT
                try:
                    await self._backoff(deadline, attempt, exc)
                except ConnectionLostError as lost:
                    self._fail(ops, lost, exc)
                    return
                attempt += 1
                continue
            except ConnectionLostError as exc:
                self._fail(ops, exc, exc.__cause__)
                return
            except Exception as exc:
                self._fail(ops, exc, exc)
                return
            break
        self.stats["batches"] += 1
        self.stats["items"] += sum(op.size for op in ops)

    async def _commit_outcome(self, xid: int | None, deadline: float) -> str | None:
        """Whether transaction ``xid``, whose ``COMMIT`` was cut off with the connection,
        committed: ``"committed"``, ``"aborted"`` or ``None`` (unknown: no connection again
        before the deadline, or the database no longer knows)."""
        attempt = 0
        while xid is not None:
            try:
                db = await self._writer_connection(deadline)
                status = await db.fetchval("SELECT txid_status($1)", xid)
            except ConnectionLostError:
                return None
            except _LOST as exc:
                db, self._db = self._db, None
                if db is not None:
                    db.terminate()
                status = "in progress"
                reason: BaseException = exc
            else:
                if status != "in progress":
                    return status if status in ("committed", "aborted") else None
                reason = PersistenceError("the transaction is still committing")
            try:
                await self._backoff(deadline, attempt, reason)
            except ConnectionLostError:
                return None
            attempt += 1
        return None

    def _fail(self, ops: list[WriteOp], exc: BaseException, cause: BaseException | None) -> None:
        self.stats["failures"] += 1
        for op in ops:
            op.fail(exc, cause, self.where)

    async def _write(self, db: Any, ops: list[WriteOp]) -> None:
        kind = ops[0].kind
        if kind in _BULK:
            await self._write_bulk(db, ops)
            return
        if kind in _FENCED and self.cluster is not None:
            # a node changes an actor's row or inbox only while it holds the shard
            actor_id = ops[0].items if kind == "delete" else ops[0].items[0]
            refused = await self.cluster.fence(db, [actor_id])
            if refused:
                raise refused[actor_id]
        if kind == "quarantine":
            await self._write_quarantine(db, ops[0])
        elif kind in ("dead_event", "reject_event"):
            await self._write_dead_event(db, ops[0])
        elif kind == "reject":
            await self._write_reject(db, ops[0])
        else:
            await self._write_delete(db, ops[0])

    async def _write_bulk(self, db: Any, ops: list[WriteOp]) -> None:
        now = time.time()
        size = sum(op.size for op in ops)
        ids = sorted({p.commit.actor_id for op in ops if op.kind == "commit" for p in op.items})
        versions: dict[str, int | None] = {}
        statuses: dict[str, str] = {}
        fenced: dict[str, FencedError] = {}
        if ids:
            for aid, ver, status in await db.fetch(
                "SELECT id, version, status FROM actors WHERE id = ANY($1::text[])"
                " ORDER BY id FOR UPDATE",
                ids,
            ):
                versions[aid] = ver
                statuses[aid] = status
            if self.cluster is not None:
                fenced = await self.cluster.fence(db, ids)
        stored = set(versions)
        n_in = sum(
            len(op.items) if op.kind == "accept" else sum(len(p.deliveries) for p in op.items)
            for op in ops
            if op.kind != "ack"
        )
        n_out = sum(len(p.outbox) for op in ops if op.kind == "commit" for p in op.items)
        inbox_seqs: list[int] = []
        outbox_seqs: list[int] = []
        if n_in or n_out:
            row = await db.fetchrow(
                "SELECT ARRAY(SELECT nextval('inbox_seq') FROM generate_series(1, $1)),"
                " ARRAY(SELECT nextval('outbox_seq') FROM generate_series(1, $2))",
                n_in,
                n_out,
            )
            inbox_seqs = sorted(row[0])
            outbox_seqs = sorted(row[1])
        in_next = iter(inbox_seqs)
        out_next = iter(outbox_seqs)
        shards = self.shards or _DEFAULT_SHARDS
        inbox_new: dict[int, tuple[int, str, int, bytes]] = {}
        inbox_del: list[int] = []
        creates: dict[str, tuple[Any, ...]] = {}
        updates: dict[str, tuple[Any, ...]] = {}
        states: dict[str, tuple[str, ...]] = {}
        timer_ops: dict[tuple[str, str], tuple[Any, ...] | None] = {}
        outbox_new: list[tuple[int, str, str, bytes]] = []
        outbox_del: list[int] = []
        journal_new: list[tuple[str, int, bytes]] = []
        commits = accepts = 0
        for op in ops:
            if op.kind == "accept":
                seqs = []
                for actor_id, blob in op.items:
                    seq = next(in_next)
                    inbox_new[seq] = (seq, actor_id, shard_of(actor_id, shards), blob)
                    seqs.append(seq)
                op.result = seqs
                accepts += len(seqs)
            elif op.kind == "ack":
                outbox_del.extend(op.items)
            else:
                results: list[CommitResult | PersistenceError] = []
                for p in op.items:
                    c = p.commit
                    aid = c.actor_id
                    actual = versions.get(aid)
                    dseqs = [next(in_next) for _ in p.deliveries]
                    oseqs = [next(out_next) for _ in p.outbox]
                    if aid in fenced:
                        results.append(copy_error(fenced[aid]))
                        continue
                    if c.replace:
                        pass
                    elif statuses.get(aid) == "quarantined":
                        results.append(CorruptRecordError(aid, "the actor is quarantined"))
                        continue
                    elif actual != c.expected_version:
                        results.append(VersionConflictError(aid, c.expected_version, actual))
                        continue
                    snap = c.snapshot
                    versions[aid] = snap.version
                    statuses[aid] = snap.status
                    if aid in stored:
                        updates[aid] = (
                            aid,
                            snap.chart_id,
                            snap.chart_version,
                            snap.version,
                            snap.status,
                            p.blob,
                        )
                    else:
                        creates[aid] = (
                            aid,
                            shard_of(aid, shards),
                            snap.chart_id,
                            snap.chart_version,
                            snap.version,
                            snap.status,
                            SNAPSHOT_FORMAT,
                            p.blob,
                        )
                    states[aid] = snap.configuration
                    for seq in c.consumed:
                        if inbox_new.pop(seq, None) is None:
                            inbox_del.append(seq)
                    for key in c.cancelled_timers:
                        timer_ops[(aid, key)] = None
                    for t in p.timers:
                        timer_ops[(aid, t[0])] = (aid, t[0], shard_of(aid, shards), *t[1:])
                    for seq, (target, blob) in zip(dseqs, p.deliveries, strict=True):
                        inbox_new[seq] = (seq, target, shard_of(target, shards), blob)
                    for seq, (target, blob) in zip(oseqs, p.outbox, strict=True):
                        outbox_new.append((seq, aid, target, blob))
                    if p.journal is not None:
                        journal_new.append((aid, snap.version, p.journal))
                    results.append(
                        CommitResult(aid, snap.version, tuple(dseqs), tuple(oseqs), size)
                    )
                    commits += 1
                op.result = results
        if creates:
            cols = _columns(list(creates.values()), 8)
            made = await db.fetch(
                _INSERT_ACTORS + " ON CONFLICT (id) DO NOTHING RETURNING id", *cols, now
            )
            if len(made) != len(creates):
                raise _Retry  # another store created one of them since we looked
        if updates:
            rows = list(updates.values())
            await db.execute(_UPDATE_ACTORS, *_columns(rows, 6), SNAPSHOT_FORMAT, now)
        if states:
            await db.execute(_DELETE_STATES, list(states))
            rows = [(s, aid) for aid, conf in states.items() for s in conf]
            await db.execute(_INSERT_STATES, *_columns(rows, 2))
        if inbox_del:
            await db.execute("DELETE FROM inbox WHERE seq = ANY($1::bigint[])", inbox_del)
        if inbox_new:
            rows = list(inbox_new.values())
            await db.execute(_INSERT_INBOX, *_columns(rows, 4), now)
            await self._notify(db, rows)
        if timer_ops:
            dels = [k for k, v in timer_ops.items() if v is None]
            puts = [v for v in timer_ops.values() if v is not None]
            if dels:
                await db.execute(_DELETE_TIMERS, *_columns(dels, 2))
            if puts:
                await db.execute(_UPSERT_TIMERS, *_columns(puts, 8))
        if outbox_new:
            await db.execute(_INSERT_OUTBOX, *_columns(outbox_new, 4), now)
        if outbox_del:
            await db.execute("DELETE FROM outbox WHERE seq = ANY($1::bigint[])", outbox_del)
        if journal_new:
            await self._write_journal(db, journal_new, now)
        self.stats["commits"] += commits
        self.stats["accepts"] += accepts

    async def _write_journal(self, db: Any, rows: list[tuple[str, int, bytes]], now: float) -> None:
        """Append the batch's journal rows, then trim the actors due for it (see
        ``JournalPolicy.trims_at``) to the retention policy."""
        policy = self.journal
        await db.execute(_INSERT_JOURNAL, *_columns(rows, 3), now)
        trim = list(dict.fromkeys(aid for aid, version, _ in rows if policy.trims_at(version)))
        if trim:
            oldest = now - policy.max_age if policy.max_age is not None else -math.inf
            await db.execute(_TRIM_JOURNAL, trim, policy.limit, oldest)

    async def _notify(self, db: Any, rows: list[tuple[int, str, int, bytes]]) -> None:
        """One notification per shard that got inbox rows: the actor ids (JSON), or ``""``
        when they do not fit (the listener then looks at the shard's inbox)."""
        by_shard: dict[int, dict[str, None]] = {}
        for _, aid, shard, _ in rows:
            by_shard.setdefault(shard, {})[aid] = None
        channels: list[str] = []
        payloads: list[str] = []
        for shard, aids in by_shard.items():
            ids = list(aids)
            if len(msgspec.json.encode(ids)) > _NOTIFY_MAX:
                ids = []  # too many to send: the listener looks at the shard's inbox
            # a node's notifications name it, so it can skip its own (it delivered those)
            body: Any = ids if self.node is None else {"n": self.node, "a": ids}
            channels.append(self.channel(shard))
            payloads.append(msgspec.json.encode(body).decode() if ids else "")
        await db.execute(_NOTIFY, channels, payloads)

    async def _write_quarantine(self, db: Any, op: WriteOp) -> None:
        actor_id, reason, payload = op.items
        now = time.time()
        if payload is None:
            payload = await db.fetchval("SELECT snapshot FROM actors WHERE id = $1", actor_id)
        op.result = await db.fetchval(_INSERT_DEAD, actor_id, "snapshot", reason, payload, now)
        await db.execute(
            "UPDATE actors SET status = 'quarantined', updated_at = $1 WHERE id = $2",
            now,
            actor_id,
        )

    async def _write_dead_event(self, db: Any, op: WriteOp) -> None:
        """Move inbox row ``seq`` of the actor to the dead letters in one statement: the
        delete locks the row, so of two concurrent moves (or a move and the commit consuming
        the row) only the first finds it; the other writes nothing (``result`` 0)."""
        actor_id, seq, reason = op.items
        dl = await db.fetchval(_MOVE_EVENT, seq, actor_id, reason, time.time())
        op.result = 0 if dl is None else dl

    async def _write_reject(self, db: Any, op: WriteOp) -> None:
        actor_id, reason = op.items
        status = await db.execute(_MOVE_INBOX, actor_id, reason, time.time())
        op.result = int(status.split()[-1])

    async def _write_delete(self, db: Any, op: WriteOp) -> None:
        actor_id = op.items
        for stmt in (
            "DELETE FROM actors WHERE id = $1",
            "DELETE FROM actor_states WHERE actor_id = $1",
            "DELETE FROM timers WHERE actor_id = $1",
            "DELETE FROM inbox WHERE actor_id = $1",
            "DELETE FROM journal WHERE actor_id = $1",
        ):
            await db.execute(stmt, actor_id)

    # -- writes ------------------------------------------------------------------------------
    async def accept(self, actor_id: str, event: EventData) -> int:
        """Durably append ``event`` to ``actor_id``'s inbox; return its seq."""
        return (await self.accept_many([(actor_id, event)]))[0]

    async def accept_many(self, items: Sequence[tuple[str, EventData]]) -> list[int]:
        """Durably append events to inboxes in one transaction; return their seqs (in
        order). The owners of the inboxes' shards are notified when it commits."""
        self._check_open()
        rows = [(_actor_id(actor_id), encode_event(event)) for actor_id, event in items]
        if not rows:
            return []
        result: list[int] = await self._submit(WriteOp("accept", rows, len(rows)))
        return result

    async def commit(self, commit: Commit) -> CommitResult:
        """Durably commit one macrostep (see :class:`Commit`).

        Raises :class:`VersionConflictError` when the stored version is not
        ``commit.expected_version``, :class:`FencedError` on a node that does not hold the
        actor's shard, and :class:`PersistenceError` when the write fails.
        """
        r = (await self.commit_many([commit]))[0]
        if isinstance(r, PersistenceError):
            raise r
        return r

    async def commit_many(self, commits: Sequence[Commit]) -> list[CommitResult | PersistenceError]:
        """Commit several macrosteps in one transaction; each outcome independently (a
        commit that cannot be encoded fails alone with ``UnstorableCommitError``)."""
        self._check_open()
        prepared = prepare_each(commits, self._prepare)
        ready = [p for p in prepared if isinstance(p, _Prepared)]
        written = iter(await self._submit(WriteOp("commit", ready, len(ready))) if ready else ())
        return [next(written) if isinstance(p, _Prepared) else p for p in prepared]

    def _prepare(self, c: Commit) -> _Prepared:
        _actor_id(c.actor_id)
        blob = encode_snapshot(c.snapshot)
        jblob = encode_entry(c.journal) if c.journal is not None and self.journal.enabled else None
        if not c.timers and not c.deliveries and not c.outbox:
            return _Prepared(c, blob, _NONE, _NONE, _NONE, jblob)  # the common case
        timers = [
            (
                _text("timer key", t.key),
                float(t.due),
                _text("timer sendid", t.sendid),
                None if t.target is None else _text("timer target", t.target),
                _text("timer path", _PATH_SEP.join(t.path)),
                encode_event(t.event),
            )
            for t in c.timers
        ]
        deliveries = [(_actor_id(d.target), encode_event(d.event)) for d in c.deliveries]
        outbox = [(_text("outbox target", d.target), encode_event(d.event)) for d in c.outbox]
        return _Prepared(c, blob, timers, deliveries, outbox, jblob)

    async def ack_outbox(self, seqs: Sequence[int]) -> None:
        """Forget delivered outbox events."""
        self._check_open()
        if seqs:
            await self._submit(WriteOp("ack", [int(s) for s in seqs], len(seqs)))

    async def quarantine(self, actor_id: str, reason: str) -> int:
        """Copy the actor's stored row to the dead letters and mark it ``"quarantined"``;
        return the dead letter id. Its inbox is kept."""
        self._check_open()
        result: int = await self._submit(
            WriteOp("quarantine", (_actor_id(actor_id), _text("reason", str(reason)), None), 1)
        )
        return result

    async def delete(self, actor_id: str) -> None:
        """Forget an actor: its row, inbox and timers."""
        self._check_open()
        await self._submit(WriteOp("delete", _actor_id(actor_id), 1))

    async def reject_inbox(self, actor_id: str, reason: str) -> int:
        """Move every inbox event of ``actor_id`` to the dead letters (an actor that does
        not exist); return how many."""
        self._check_open()
        result: int = await self._submit(
            WriteOp("reject", (_actor_id(actor_id), _text("reason", str(reason))), 1)
        )
        self._regs().pop(actor_id, None)
        return result

    async def reject_event(self, actor_id: str, seq: int, reason: str) -> int:
        """Move inbox event ``seq`` of ``actor_id`` to the dead letters (a poison message the
        actor cannot process); return the dead letter's id (0: no such inbox event, e.g.
        already consumed or moved)."""
        self._check_open()
        if not is_seq(seq):
            return 0  # no inbox event has such a seq
        # fenced on a node, unlike the dead-lettering of an undecodable event; the row is
        # read, dead-lettered and deleted in the write's one transaction
        result: int = await self._submit(
            WriteOp("reject_event", (_actor_id(actor_id), seq, _text("reason", str(reason))), 1)
        )
        return result

    def delete_soon(self, actor_id: str) -> None:
        """Queue :meth:`delete` without waiting: it is written before any write queued after
        it (a failure is logged)."""
        self._check_open()
        self._writes.submit_soon(WriteOp("delete", _actor_id(actor_id), 1))

    # -- reads -------------------------------------------------------------------------------
    async def load(self, actor_id: str) -> LoadedActor:
        """The actor's record (``None`` if never stored) and pending inbox.

        Concurrent loads share one query. A snapshot row that cannot be decoded quarantines
        the actor and raises :class:`CorruptRecordError` (for that actor only)."""
        self._check_open()
        return await self._loads.load(_actor_id(actor_id))

    async def load_many(
        self, actor_ids: Sequence[str]
    ) -> dict[str, LoadedActor | PersistenceError]:
        """Load many actors in two queries; each outcome independently."""
        self._check_open()
        return await self._load_rows(list(dict.fromkeys(_actor_id(a) for a in actor_ids)))

    async def _load_rows(self, ids: list[str]) -> dict[str, LoadedActor | PersistenceError]:
        async def go(conn: Any) -> tuple[list[Any], list[Any]]:
            async with conn.transaction(readonly=True, isolation="repeatable_read"):
                rows = await conn.fetch(
                    f"SELECT {_ACTOR_COLUMNS}, created_at, updated_at FROM actors"
                    " WHERE id = ANY($1::text[])",
                    ids,
                )
                inbox = await conn.fetch(
                    "SELECT actor_id, seq, event, accepted_at FROM inbox"
                    " WHERE actor_id = ANY($1::text[]) ORDER BY seq",
                    ids,
                )
            return rows, inbox

        rows, inbox_rows = await self._read(go)
        by_id = {r[0]: r for r in rows}
        inbox: dict[str, list[tuple[int, bytes, float]]] = {}
        for aid, seq, blob, ts in inbox_rows:
            inbox.setdefault(aid, []).append((seq, blob, ts))
        out: dict[str, LoadedActor | PersistenceError] = {}
        for aid in ids:
            try:
                events = await self._decode_inbox(aid, inbox.get(aid, ()))
                row = by_id.get(aid)
                record = None if row is None else await self._decode_actor(tuple(row))
            except PersistenceError as exc:
                out[aid] = exc
                continue
            out[aid] = LoadedActor(aid, record, events)
        return out

    async def _decode_actor(self, row: tuple[Any, ...]) -> ActorRecord:
        aid, blob = row[0], row[6]
        check_status(aid, row[4], row[5])
        try:
            return record_from_row(row)
        except SnapshotError as exc:
            try:
                dl = await self._submit(WriteOp("quarantine", (aid, str(exc), raw(blob)), 1))
            except FencedError:
                dl = None  # not this node's actor: its owner quarantines it when it loads it
            raise CorruptRecordError(aid, str(exc), dl) from exc

    async def _decode_inbox(
        self, actor_id: str, rows: Iterable[tuple[int, bytes, float]]
    ) -> tuple[StoredEvent, ...]:
        out: list[StoredEvent] = []
        for seq, blob, ts in rows:
            try:
                ev = decode_event(bytes(blob))
            except SnapshotError as exc:
                # an undecodable event is moved to the dead letters; the actor carries on
                reason = f"inbox event {seq}: {exc}"
                await self._submit(WriteOp("dead_event", (actor_id, seq, reason), 1))
                continue
            out.append(StoredEvent(seq, actor_id, ev, ts))
        return tuple(out)

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        async def go(conn: Any) -> list[Any]:
            return list(await conn.fetch(sql, *args))

        return await self._read(go)

    async def inbox(self, actor_id: str) -> list[StoredEvent]:
        """The actor's unconsumed inbox events, in order."""
        rows = await self._fetch(
            "SELECT seq, event, accepted_at FROM inbox WHERE actor_id = $1 ORDER BY seq",
            _actor_id(actor_id),
        )
        return list(await self._decode_inbox(actor_id, [tuple(r) for r in rows]))

    async def inboxes(self, actor_ids: Iterable[str]) -> dict[str, list[StoredEvent]]:
        """The unconsumed inbox events of many actors (one query), each list in order;
        actors without any are left out."""
        ids = sorted({_actor_id(a) for a in actor_ids})
        if not ids:
            return {}
        rows = await self._fetch(
            "SELECT actor_id, seq, event, accepted_at FROM inbox"
            " WHERE actor_id = ANY($1::text[]) ORDER BY seq",
            ids,
        )
        by_id: dict[str, list[tuple[int, bytes, float]]] = {}
        for aid, seq, blob, ts in rows:
            by_id.setdefault(aid, []).append((seq, blob, ts))
        return {aid: list(await self._decode_inbox(aid, got)) for aid, got in by_id.items()}

    async def pending_actors(self, *, shards: Iterable[int] | None = None) -> list[str]:
        """Ids of actors with unconsumed inbox events (of ``shards`` only, if given)."""
        shards = self._scoped(shards)
        if shards is None:
            rows = await self._fetch("SELECT DISTINCT actor_id FROM inbox ORDER BY actor_id")
        else:
            rows = await self._fetch(
                "SELECT DISTINCT actor_id FROM inbox WHERE shard = ANY($1::int[])"
                " ORDER BY actor_id",
                sorted(set(shards)),
            )
        return [r[0] for r in rows]

    def _scoped(self, shards: Iterable[int] | None) -> Iterable[int] | None:
        """``shards``, or the shards a node runtime serves (``Cluster.scope``) when none."""
        if shards is None and self.cluster is not None:
            return self.cluster.scope
        return shards

    async def due_timers(
        self, until: float, limit: int = 1000, *, shards: Iterable[int] | None = None
    ) -> list[Timer]:
        """Durable timers due at or before ``until``, earliest first (of ``shards`` only,
        if given)."""
        sql = "SELECT actor_id, key, due, sendid, target, path, event FROM timers WHERE due <= $1"
        args: list[Any] = [float(until), int(limit)]
        if shards is not None:
            sql += " AND shard = ANY($3::int[])"
            args.append(sorted(set(shards)))
        rows = await self._fetch(sql + " ORDER BY due, actor_id, key LIMIT $2", *args)
        out: list[Timer] = []
        for aid, key, due, sendid, target, path, blob in rows:
            try:
                ev = decode_event(bytes(blob))
            except SnapshotError:
                ev = EventData(sendid)  # the snapshot holds the real event; this only wakes it
            out.append(Timer(key, sendid, due, ev, target, _split_path(path), aid))
        return out

    async def next_due(
        self, after: float | None = None, *, shards: Iterable[int] | None = None
    ) -> float | None:
        """The earliest due time of any durable timer (later than ``after``, if given; of
        ``shards`` only, if given)."""
        where, args = _timer_filter(after, self._scoped(shards))
        rows = await self._fetch(f"SELECT min(due) FROM timers{where}", *args)
        return None if not rows or rows[0][0] is None else float(rows[0][0])

    async def due_actors(
        self, until: float, limit: int = 1000, *, shards: Iterable[int] | None = None
    ) -> list[str]:
        """Ids of the actors with a durable timer due at or before ``until`` (of
        ``shards`` only, if given)."""
        shards = self._scoped(shards)
        sql = "SELECT actor_id, min(due) AS d FROM timers WHERE due <= $1"
        args: list[Any] = [float(until), int(limit)]
        if shards is not None:
            sql += " AND shard = ANY($3::int[])"
            args.append(sorted(set(shards)))
        rows = await self._fetch(sql + " GROUP BY actor_id ORDER BY d, actor_id LIMIT $2", *args)
        return [r[0] for r in rows]

    async def actor_ids(
        self,
        *,
        status: str | None = None,
        after: str = "",
        limit: int = 1000,
        chart: str | None = None,
        state: str | None = None,
    ) -> list[str]:
        """Stored actor ids greater than ``after``, in id order (byte order; by status, by
        chart id, by an active state: indexed)."""
        sql, params = actor_ids_query(
            None if status is None else _text("status", status),
            None if chart is None else _text("chart", chart),
            None if state is None else _text("state", state),
            _text("after", after),
            "$",
        )
        rows = await self._fetch(f"{sql} LIMIT ${len(params) + 1}", *params, int(limit))
        return [r[0] for r in rows]

    async def count_actors(self, status: str | None = None) -> int:
        """How many actors are stored (with that status)."""
        if status is None:
            rows = await self._fetch("SELECT count(*) FROM actors")
        else:
            rows = await self._fetch(
                "SELECT count(*) FROM actors WHERE status = $1", _text("status", status)
            )
        return int(rows[0][0])

    async def outbox(self, limit: int = 1000) -> list[OutboxEntry]:
        """Committed outbox events not acknowledged yet, oldest first."""
        rows = await self._fetch(
            "SELECT seq, actor_id, target, event, created_at FROM outbox ORDER BY seq LIMIT $1",
            int(limit),
        )
        return [OutboxEntry(s, a, t, decode_event(bytes(b)), c) for s, a, t, b, c in rows]

    async def _journal_rows(
        self, actor_id: str, limit: int, before: int | None, oldest: float
    ) -> list[Any]:
        self._check_open()
        return await self._fetch(
            "SELECT version, at, entry FROM journal WHERE actor_id = $1"
            " AND ($2::bigint IS NULL OR version < $2) AND at >= $3"
            " ORDER BY id DESC LIMIT $4",
            _actor_id(actor_id),
            before,
            oldest,
            limit,
        )

    async def dead_letters(self, actor_id: str | None = None) -> list[DeadLetter]:
        """Dead letters, oldest first (of one actor, or all)."""
        sql = "SELECT id, actor_id, kind, reason, payload, created_at FROM dead_letters"
        if actor_id is None:
            rows = await self._fetch(sql + " ORDER BY id")
        else:
            rows = await self._fetch(sql + " WHERE actor_id = $1 ORDER BY id", actor_id)
        return [
            DeadLetter(i, a, k, r, None if p is None else bytes(p), c) for i, a, k, r, p, c in rows
        ]

    # -- the cluster, seen from any store --------------------------------------------------
    async def leases(self) -> list[Lease]:
        """Every shard's lease (owner, epoch, expiry, age), by shard: what
        ``statefleet inspect`` shows, readable from any store, node or not."""
        self._check_open()
        return await read_leases(self._read, None if self._clock is None else self._clock())

    async def members(self) -> list[Member]:
        """Every registered node and its heartbeat age, by name."""
        self._check_open()
        return await read_members(self._read, None if self._clock is None else self._clock())

    # -- LISTEN/NOTIFY -----------------------------------------------------------------------
    def channel(self, shard: int) -> str:
        """The notification channel of a shard's inbox (one per schema and shard)."""
        return f"sf_{self.schema}_inbox_{int(shard)}"

    async def listen_inbox(
        self,
        shards: Iterable[int],
        callback: Callable[[int, tuple[str, ...] | None], None],
        *,
        others_only: bool = False,
    ) -> None:
        """Call ``callback(shard, actor_ids)`` whenever a transaction that wrote inbox rows
        of one of ``shards`` commits (from any process). ``actor_ids`` is ``None`` when they
        did not fit in the notification, and after the listening connection was lost and
        made again (notifications sent meanwhile are not sent again): look at the shard's
        inbox then. Notifications are a wake-up, not a queue: keep polling slowly as a
        fallback. ``others_only``: skip the notifications of this node's own writes (a
        node's runtime delivers what it wrote itself)."""
        self._check_open()
        wanted = sorted(set(shards))
        assert self.shards is not None
        for s in wanted:
            if not isinstance(s, int) or not 0 <= s < self.shards:
                raise ValueError(f"shard {s!r} is not in 0..{self.shards - 1}")
        for s in wanted:
            self._callbacks[s] = callback
            if others_only:
                self._others_only.add(s)
            else:
                self._others_only.discard(s)
        try:
            async with self._listening:
                if self._listener is None or self._listener.is_closed():
                    await self._start_listener()
                else:
                    for s in wanted:
                        await self._listen(self._listener, s)
        except (*_LOST, asyncpg.PostgresError) as exc:
            raise PersistenceError(f"{self.where}: cannot listen: {exc}") from exc

    async def unlisten_inbox(self, shards: Iterable[int]) -> None:
        """Stop the notifications of ``shards`` (a shard handed over)."""
        self._check_open()
        for shard in sorted(set(shards)):
            self._callbacks.pop(shard, None)
            self._others_only.discard(shard)
            channel = self.channel(shard)
            conn = self._listener
            if channel in self._listened and conn is not None and not conn.is_closed():
                self._listened.discard(channel)
                with contextlib.suppress(*_LOST, asyncpg.PostgresError):
                    await conn.remove_listener(channel, self._on_notify)

    # -- replies to a node (cross-node ask) ---------------------------------------------------
    def reply_channel(self, node: str) -> str:
        """The notification channel of replies to ``node`` (one per schema and node)."""
        tag = hashlib.blake2b(node.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
        return f"sf_{self.schema}_reply_{tag}"

    async def listen_replies(self, callback: Callable[[str, bytes | None], None]) -> None:
        """Call ``callback(key, payload)`` for every reply :meth:`send_reply` sends to this
        node (a node store), and ``callback("", None)`` after the listening connection was
        lost and made again (replies sent meanwhile are lost: their askers time out or
        look again)."""
        self._check_open()
        if self.node is None:
            raise PersistenceError(f"{self.where}: replies go to a node: pass node=")
        self._replies.callback = callback
        if self._reply_channel is not None:
            return
        self._reply_channel = self.reply_channel(self.node)
        try:
            async with self._listening:
                if self._listener is None or self._listener.is_closed():
                    await self._start_listener()
                else:
                    await self._listener.add_listener(self._reply_channel, self._on_notify)
        except (*_LOST, asyncpg.PostgresError) as exc:
            self._reply_channel = None
            raise PersistenceError(f"{self.where}: cannot listen: {exc}") from exc

    async def send_reply(self, node: str, key: str, payload: bytes) -> None:
        """Send ``payload`` (any size: split into notifications PostgreSQL can carry) to
        ``node``'s :meth:`listen_replies` callback, under ``key``. Not durable: a node not
        listening then never gets it."""
        _check_text("node", node)
        chunks = split_reply(key, payload)
        channel = self.reply_channel(node)

        async def go(conn: Any) -> None:
            await conn.execute(_NOTIFY, [channel] * len(chunks), chunks)

        await self._read(go)

    async def _listen(self, conn: Any, shard: int) -> None:
        channel = self.channel(shard)
        if channel not in self._listened:
            await conn.add_listener(channel, self._on_notify)
            self._listened.add(channel)

    async def _start_listener(self) -> None:
        """A new listening connection, listening to every shard with a callback."""
        conn = await self._connect()
        self._listened = set()
        try:
            for shard in list(self._callbacks):
                await self._listen(conn, shard)
            if self._reply_channel is not None:
                await conn.add_listener(self._reply_channel, self._on_notify)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._on_listener_lost)
        self._listener = conn

    def _on_notify(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        if channel == self._reply_channel:
            self._replies.received(payload)
            return
        shard = int(channel.rsplit("_", 1)[1])
        callback = self._callbacks.get(shard)
        if callback is None:
            return
        ids: tuple[str, ...] | None = None
        if payload:
            with contextlib.suppress(msgspec.DecodeError, TypeError, ValueError):
                body = msgspec.json.decode(payload, type=list[str] | _Notice)
                if isinstance(body, _Notice):
                    if body.n == self.node and shard in self._others_only:
                        return  # this node's own write
                    body = body.a
                ids = tuple(body)
        callback(shard, ids)

    def _on_listener_lost(self, _conn: Any) -> None:
        if self._listener_lost is not None:
            self._listener_lost.set()

    async def _listen_keeper(self) -> None:
        """Make the listening connection again when it is lost (backoff, until the store
        closes), then wake every listener: it may have missed notifications."""
        while True:
            assert self._listener_lost is not None
            await self._listener_lost.wait()
            if not self._open:
                return
            self._listener_lost = anyio.Event()
            attempt = 0
            while self._open:
                try:
                    async with self._listening:
                        # (unless a caller made it again meanwhile)
                        if self._listener is None or self._listener.is_closed():
                            await self._start_listener()
                    break
                except (PersistenceError, *_LOST, asyncpg.PostgresError) as exc:
                    log.warning("statefleet store %s: cannot listen again (%s)", self.where, exc)
                    await anyio.sleep(min(0.05 * 2**attempt, 2.0))
                    attempt += 1
            for shard, callback in list(self._callbacks.items()):
                callback(shard, None)
            self._replies.lost()


def _timer_filter(after: float | None, shards: Iterable[int] | None) -> tuple[str, list[Any]]:
    conds: list[str] = []
    args: list[Any] = []
    if after is not None:
        args.append(float(after))
        conds.append(f"due > ${len(args)}")
    if shards is not None:
        args.append(sorted(set(shards)))
        conds.append(f"shard = ANY(${len(args)}::int[])")
    return (" WHERE " + " AND ".join(conds) if conds else ""), args


async def _backfill_states(db: Any) -> None:
    """Fill ``actor_states`` from the stored snapshots (the migration that adds it)."""
    async for aid, blob in db.cursor("SELECT id, snapshot FROM actors", prefetch=_BACKFILL):
        rows = state_rows(aid, blob)
        if rows:
            await db.execute(_INSERT_STATES, *_columns(rows, 2))


def _columns(rows: Sequence[Sequence[Any]], n: int) -> list[list[Any]]:
    """Rows as ``n`` column arrays (for ``unnest``)."""
    return [[r[i] for r in rows] for i in range(n)]


def _split_path(path: str) -> tuple[str, ...]:
    return tuple(path.split(_PATH_SEP)) if path else ()


def _text(what: str, value: Any) -> str:
    """A string PostgreSQL can store as text (no NUL, no lone surrogate)."""
    if not isinstance(value, str):
        raise ValueError(f"{what} is a string, not {value!r}")
    _check_text(what, value, allow_empty=True)
    return value


def _check_text(what: str, value: str, *, allow_empty: bool = False) -> None:
    if not isinstance(value, str) or (not value and not allow_empty):
        raise ValueError(f"{what} is a non-empty string, not {value!r}")
    if "\x00" in value:
        raise ValueError(f"{what} {value!r} contains a NUL character (PostgreSQL text cannot)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {value!r} is not valid Unicode text") from None


def _actor_id(actor_id: Any) -> str:
    if not isinstance(actor_id, str) or not actor_id:
        raise ValueError(f"an actor id is a non-empty string, not {actor_id!r}")
    _check_text("actor id", actor_id)
    return actor_id


def _redact(dsn: str) -> str:
    """``dsn`` without its password (for messages and logs)."""
    try:
        parts = urllib.parse.urlsplit(dsn)
    except ValueError:
        return "<dsn>"
    if not parts.scheme:
        return re.sub(r"password\s*=\s*\S+", "password=***", dsn)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(":" + parts.password + "@", ":***@", 1)
    query = re.sub(r"(password=)[^&]*", r"\1***", parts.query)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))
