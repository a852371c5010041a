"""SQLiteStore: the embedded durable store (sqlite3, WAL, one writer thread, group commit).

Theory of operation
-------------------
One process writes a database: a file lock (``<path>.lock``, see ``_lock``) refuses a second
writer with :class:`StoreLockedError`, so the writer can assign inbox and outbox seqs itself
and plan a batch without asking the database.

Writes (accepts, commits, outbox acks) are queued; one writer task takes everything queued
(up to ``max_batch`` items, optionally lingering ``max_delay`` seconds to gather more) and
writes it in one ``BEGIN IMMEDIATE`` transaction, planned in Python first:

- version checks read the stored versions of the batch's actors (one ``IN`` query) and
  chain through the batch, so a stale commit fails alone and a later commit of the same
  actor in the batch checks against the earlier one;
- only the last snapshot of each actor is written; an event accepted and consumed within
  the same batch is never written at all; timers reduce to their final state per key;
- each kind of row is then written with one ``executemany``.

While a batch is being written, new requests queue up for the next one, so throughput grows
with load instead of collapsing to one fsync per event. A request is acknowledged only when
its transaction has committed; if the transaction fails (disk full, I/O error) every request
in it gets a :class:`PersistenceError` and nothing of it is written.

Reads go through a second connection (WAL readers never block the writer); concurrent loads
are batched the same way. Each connection is a plain ``sqlite3`` connection served by a thread
of its own (``_sqlite_thread``): a whole transaction, planning included, is one function run
in the writer's thread, one hop each way (not one per statement). With
``durability="normal"`` a small batch (commits, accepts, acks: at most ``_INLINE_ITEMS``
items) is written on the event loop instead, on a third connection that never waits for a
lock and never checkpoints: a NORMAL commit does not fsync, and the hop cost more than the
transaction (see ``_start_write``); checkpoints, big batches and everything of ``"full"``
stay in the thread. asyncio only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, Literal, Self

import anyio
import anyio.lowlevel

from statefleet.core import (
    EventData,
    PersistenceError,
    SnapshotError,
    encode_snapshot,
)
from statefleet.core._snapshot import SNAPSHOT_FORMAT
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
from statefleet.persistence._lock import WriterLock
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
from statefleet.persistence._schema import MIGRATIONS, SCHEMA_VERSION, STATES_MIGRATION
from statefleet.persistence._sqlite_thread import SQLiteThread
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
from statefleet.persistence._writes import WriteOp, WriteQueue

__all__ = ["SQLiteStore"]

log = logging.getLogger("statefleet.persistence")

_CHUNK = 500  # ids per IN (...) query
# durability="normal": a batch of at most this many items is written on the event loop
# itself (see ``_start_write``), a bigger one in the writer's thread
_INLINE_ITEMS = 32
# items written on the loop between two checkpoints of the WAL (in the writer's thread)
_CHECKPOINT_ITEMS = 400  # ~1,300 WAL pages at ~3 per commit (SQLite's own default: 1,000)
_KNOWN = 200_000  # actor versions remembered for version checks

_UPSERT_ACTOR = (
    "INSERT INTO actors (id, chart_id, chart_version, version, status, format, snapshot,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET chart_id = excluded.chart_id,"
    " chart_version = excluded.chart_version, version = excluded.version,"
    " status = excluded.status, format = excluded.format, snapshot = excluded.snapshot,"
    " updated_at = excluded.updated_at"
)
# an actor row known to exist, whose status and chart id stay as stored: only the columns
# that change. The upsert sets every column, so SQLite rewrote the row's entries in the
# status and chart indexes too: two more pages into the WAL per commit (issue 16)
_UPDATE_ACTOR = (
    "UPDATE actors SET chart_version = ?, version = ?, format = ?, snapshot = ?,"
    " updated_at = ? WHERE id = ?"
)
_DELETE_STATES = "DELETE FROM actor_states WHERE actor_id = ?"
_INSERT_STATE = "INSERT OR IGNORE INTO actor_states (state_id, actor_id) VALUES (?, ?)"
_INSERT_INBOX = "INSERT INTO inbox (seq, actor_id, event, accepted_at) VALUES (?, ?, ?, ?)"
_DELETE_INBOX = "DELETE FROM inbox WHERE seq = ?"
_UPSERT_TIMER = (
    "INSERT OR REPLACE INTO timers (actor_id, key, due, sendid, target, path, event)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_DELETE_TIMER = "DELETE FROM timers WHERE actor_id = ? AND key = ?"
_INSERT_OUTBOX = (
    "INSERT INTO outbox (seq, actor_id, target, event, created_at) VALUES (?, ?, ?, ?, ?)"
)
_DELETE_OUTBOX = "DELETE FROM outbox WHERE seq = ?"
_INSERT_JOURNAL = "INSERT INTO journal (actor_id, version, at, entry) VALUES (?, ?, ?, ?)"
# keep the newest ``limit`` rows of an actor, none written before a time
_TRIM_JOURNAL = (
    "DELETE FROM journal WHERE actor_id = ? AND (at < ? OR id <= (SELECT id FROM journal"
    " WHERE actor_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?))"
)
_PATH_SEP = "\x1f"


class _Prepared:
    """A commit encoded and given its seqs by the caller, before it is queued."""

    __slots__ = ("blob", "commit", "deliveries", "journal", "outbox", "timers")

    def __init__(
        self,
        commit: Commit,
        blob: bytes,
        timers: list[tuple[str, str, float, str, str | None, str, bytes]],
        deliveries: list[tuple[int, str, bytes]],
        outbox: list[tuple[int, str, bytes]],
        journal: bytes | None = None,
    ) -> None:
        self.commit = commit
        self.blob = blob
        self.timers = timers
        self.deliveries = deliveries
        self.outbox = outbox
        self.journal = journal


_BULK = frozenset({"accept", "commit", "ack"})
_NONE: list[Any] = []  # shared, never mutated


class SQLiteStore(JournalReader, RuntimeStore):
    """The :class:`Store` contract in a SQLite file (the embedded default).

    ``durability="full"`` syncs the WAL on every commit (survives power loss);
    ``"normal"`` syncs at checkpoints (survives any process crash, may lose the last
    transactions on power loss). ``busy_timeout`` is how long a connection waits on a lock
    held by a reader or checkpointer. ``max_batch`` bounds the items written in one
    transaction; ``max_delay`` (seconds, default 0) makes the writer wait that long for more
    requests before writing a small batch (by default it writes at once, and requests that
    arrive meanwhile form the next batch). ``journal`` is how much per-actor history it
    keeps (a :class:`JournalPolicy`, or the number of entries per actor; ``0`` keeps none),
    written in each commit's transaction.

    Use it as ``async with SQLiteStore(path) as store:``. Only one store (in any process)
    may have a file open: a second one gets :class:`StoreLockedError`. Runs on asyncio only;
    opening it under trio raises :class:`PersistenceError`.
    """

    durable = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Literal["full", "normal"] = "full",
        busy_timeout: float = 5.0,
        max_batch: int = 2000,
        max_delay: float = 0.0,
        journal: JournalPolicy | int = DEFAULT_JOURNAL,
    ) -> None:
        self.journal = journal_policy(journal)
        if durability not in ("full", "normal"):
            raise ValueError(f"durability is 'full' or 'normal', not {durability!r}")
        if not (busy_timeout >= 0 and math.isfinite(busy_timeout)):
            raise ValueError(f"busy_timeout must be a finite number >= 0, not {busy_timeout!r}")
        if not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch must be a positive int, not {max_batch!r}")
        if not (max_delay >= 0 and math.isfinite(max_delay)):
            raise ValueError(f"max_delay must be a finite number >= 0, not {max_delay!r}")
        path = os.fspath(path)
        if not path or path == ":memory:" or path.startswith("file:"):
            raise ValueError(f"SQLiteStore needs a file path, not {path!r} (use MemoryStore)")
        self.path = path
        self.durability = durability
        self.busy_timeout = busy_timeout
        self.max_batch = max_batch
        self.max_delay = max_delay
        self._lock = WriterLock(path)
        self._db: SQLiteThread | None = None
        self._reader: SQLiteThread | None = None
        # durability="normal": the connection small batches are written on, in the event
        # loop's thread (see ``_start_write``); ``None`` with "full"
        self._inline: sqlite3.Connection | None = None
        self._unchecked = 0  # items written on it since the last checkpoint
        self._tg: anyio.abc.TaskGroup | None = None
        self._open = False
        self._writes = WriteQueue(path, bulk=_BULK, max_batch=max_batch, max_delay=max_delay)
        self._loads = LoadBatcher(path, self._load_rows)
        self._seq = 0
        self._outbox_seq = 0
        # (version, status, chart id) of recently committed actors: this process is the one
        # writer, so they are what the database holds (version checks without a query)
        self._known: dict[str, tuple[int, str, str]] = {}
        self._committing: dict[str, tuple[int, str, str]] = {}
        # (version, configuration) whose states ``actor_states`` holds, for recently
        # committed actors: a commit that leaves the configuration as it is skips the index
        self._indexed: dict[str, tuple[int, tuple[str, ...]]] = {}
        self._indexing: dict[str, tuple[int, tuple[str, ...]]] = {}
        #: counters: transactions written, items in them, failed transactions
        self.stats = {"batches": 0, "items": 0, "commits": 0, "accepts": 0, "failures": 0}

    def __repr__(self) -> str:
        return f"<SQLiteStore {self.path!r} durability={self.durability}>"

    @property
    def is_open(self) -> bool:
        """Between entering and leaving ``async with store:``."""
        return self._open

    # -- opening and closing -----------------------------------------------------------------
    async def __aenter__(self) -> Self:
        """Take the writer lock, open (create or migrate) the database, start the writer."""
        if self._open:
            raise PersistenceError(f"{self.path}: this store is already open")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise PersistenceError(
                "SQLiteStore runs on asyncio only; use the asyncio backend, or MemoryStore"
            ) from None
        self._lock.acquire()
        try:
            self._db = await self._connect(self.path)
            await self._db.call(self._migrate)
            self._seq = await self._db.call(_high_water, "inbox")
            self._outbox_seq = await self._db.call(_high_water, "outbox")
            self._reader = await self._connect(self.path)
            await self._reader.call(_run, "PRAGMA query_only = ON")
            if self.durability == "normal":
                self._inline = self._connect_inline()
        except BaseException:
            await self._close_connections()
            self._lock.release()
            raise
        self._open = True
        self._writes.open()
        self._loads.open()
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._writes.pump, self._start_write)
        self._tg.start_soon(self._loads.run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Write everything queued, then close the database and release the lock."""
        if not self._open:
            return
        self._open = False
        self._writes.close()
        self._loads.close()
        tg, self._tg = self._tg, None
        try:
            if tg is not None:
                # the writer and the loader end by themselves once closing (after writing
                # what is queued): the block's own exception is not theirs to carry, so it
                # is not handed to the task group (which would wrap it in an ExceptionGroup)
                await tg.__aexit__(None, None, None)
        except BaseException:
            if exc is None:
                raise
            # the block's exception goes on as itself; the store's own failure is logged
            log.exception("%s: closing the store failed while leaving on an error", self.path)
        finally:
            with anyio.CancelScope(shield=True):
                await self._close_connections()
            self._lock.release()

    async def _close_connections(self) -> None:
        # the loop's connection first: closing the last connection of a file checkpoints
        # it (an fsync), which belongs in a thread
        inline, self._inline = self._inline, None
        if inline is not None:
            with contextlib.suppress(sqlite3.Error):
                inline.close()
        for name in ("_reader", "_db"):
            conn = getattr(self, name)
            setattr(self, name, None)
            if conn is not None:
                with contextlib.suppress(sqlite3.Error, ValueError):
                    await conn.close()

    async def _connect(self, path: str) -> SQLiteThread:
        if os.path.isdir(path):
            raise PersistenceError(f"{path}: cannot open the database: it is a directory")
        db = SQLiteThread(path, timeout=self.busy_timeout)
        try:
            await db.open()
        except sqlite3.Error as exc:
            raise PersistenceError(f"{path}: cannot open the database: {exc}") from exc
        try:
            await db.call(self._setup)
        except sqlite3.DatabaseError as exc:
            await db.close()
            raise PersistenceError(f"{path}: not a usable SQLite database: {exc}") from exc
        except BaseException:
            await db.close()
            raise
        return db

    def _connect_inline(self) -> sqlite3.Connection:
        """The connection small batches are written on in the event loop's thread: it never
        waits for a lock (a busy database sends the batch to the writer's thread) and never
        checkpoints (the writer's thread does)."""
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=0, cached_statements=64)
        except sqlite3.Error as exc:
            raise PersistenceError(f"{self.path}: cannot open the database: {exc}") from exc
        try:
            self._setup(db, busy_timeout=0)
            db.execute("PRAGMA wal_autocheckpoint = 0")
        except BaseException:
            db.close()
            raise
        return db

    def _setup(self, db: sqlite3.Connection, busy_timeout: float | None = None) -> None:
        """The pragmas of a connection (run in its thread)."""
        timeout = self.busy_timeout if busy_timeout is None else busy_timeout
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        row = db.execute("PRAGMA journal_mode = WAL").fetchone()
        if row is None or str(row[0]).lower() != "wal":
            raise PersistenceError(f"{self.path}: cannot switch the database to WAL mode")
        sync = "FULL" if self.durability == "full" else "NORMAL"
        db.execute(f"PRAGMA synchronous = {sync}")

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Create or migrate the schema (run in the writer's thread)."""
        try:
            version = self._schema_version(db)
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(self.path, version, SCHEMA_VERSION)
            for target, statements in MIGRATIONS:
                if target <= version:
                    continue
                db.execute("BEGIN IMMEDIATE")
                try:
                    if target == 1:
                        db.execute(
                            "CREATE TABLE statefleet_meta (key TEXT PRIMARY KEY, value TEXT)"
                        )
                    for stmt in statements:
                        db.execute(stmt)
                    if target == STATES_MIGRATION:
                        self._backfill_states(db)
                    db.execute(
                        "INSERT OR REPLACE INTO statefleet_meta (key, value)"
                        " VALUES ('schema_version', ?)",
                        (str(target),),
                    )
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise PersistenceError(f"{self.path}: cannot prepare the schema: {exc}") from exc

    def _backfill_states(self, db: sqlite3.Connection) -> None:
        """Fill ``actor_states`` from the stored snapshots (the migration that adds it)."""
        cur = db.execute("SELECT id, snapshot FROM actors")
        while batch := cur.fetchmany(_CHUNK):
            rows = [r for aid, blob in batch for r in state_rows(aid, blob)]
            db.executemany(_INSERT_STATE, rows)

    def _schema_version(self, db: sqlite3.Connection) -> int:
        cur = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {r[0] for r in cur.fetchall()}
        if "statefleet_meta" not in tables:
            others = tables - {"sqlite_sequence"}
            if others:
                raise PersistenceError(
                    f"{self.path}: the database has tables ({', '.join(sorted(others))}) but"
                    " no statefleet schema; refusing to write into it"
                )
            return 0
        cur = db.execute("SELECT value FROM statefleet_meta WHERE key = 'schema_version'")
        row = cur.fetchone()
        value = None if row is None else row[0]
        try:
            return int(value) if value is not None else 0
        except (TypeError, ValueError):
            raise PersistenceError(
                f"{self.path}: unreadable schema version {value!r} in statefleet_meta"
            ) from None

    def _check_open(self) -> None:
        if not self._open:
            raise StoreClosedError(f"{self.path}: the store is not open: use `async with store:`")

    # -- the write queue ---------------------------------------------------------------------
    async def _submit(self, op: WriteOp) -> Any:
        self._check_open()
        return await self._writes.submit(op)

    def _start_write(self, ops: list[WriteOp], done: Callable[[Any, Any], None]) -> None:
        """Write a batch (``WriteQueue.pump``): in the writer's thread, where the whole
        transaction, planning included, runs with one hop in and one back (``done``); or,
        with ``durability="normal"``, a small batch of commits, accepts and acks right here
        on the event loop.

        Why on the loop: a NORMAL commit in WAL mode does not fsync; a small transaction is
        tens of microseconds of CPU, and handing it to a thread and back cost about as much
        again (the queue put, the thread's wake-up, the GIL passed between two busy threads,
        the loop's self-pipe wake-up): 10-30 us less CPU per commit, measured on the store
        alone with one client committing one step at a time (issue 16). What can block stays
        in the thread: every fsync (FULL commits; WAL checkpoints: this connection never
        checkpoints, ``_checkpoint_and_write`` runs one in the thread every
        ``_CHECKPOINT_ITEMS`` items), big batches (over ``_INLINE_ITEMS`` items), one-off
        writes, and a database locked by someone else (this connection does not wait: the
        batch goes to the thread)."""
        db = self._db
        assert db is not None
        inline = self._inline
        if inline is not None and ops[0].kind in _BULK:
            if self._unchecked >= _CHECKPOINT_ITEMS:
                self._unchecked = 0
                db.submit(self._checkpoint_and_write, (ops,), done)
                return
            size = _size(ops)
            if size <= _INLINE_ITEMS and _begin(inline):
                self._write(inline, ops, size, begun=True)
                self._unchecked += size
                # written: ``done`` now, not from a ``call_soon`` (one loop iteration less
                # per durable send; the queue starts its next batch from a loop of its own,
                # not from inside this call: see ``WriteQueue._kick``)
                done(None, None)
                return
        db.submit(self._write, (ops,), done)

    def _checkpoint_and_write(self, db: sqlite3.Connection, ops: list[WriteOp]) -> None:
        """A PASSIVE checkpoint, then the batch (in the writer's thread: the checkpoint
        fsyncs). Nothing is written between the two (this batch is the one being written),
        so the checkpoint copies the whole WAL and the batch starts it again from its top.
        A checkpoint run beside the loop's writes never caught up with the frames written
        meanwhile, and the WAL grew without end."""
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # the next one retries; nothing is lost meanwhile
            log.warning("%s: a WAL checkpoint failed: %s", self.path, exc)
        self._write(db, ops)

    def _write(
        self, db: sqlite3.Connection, ops: list[WriteOp], size: int = 0, begun: bool = False
    ) -> None:
        """Write ``ops`` (``size`` items; 0: not counted yet) in one transaction (in the
        writer's thread, or on the loop; see ``_start_write``: ``begun``, its transaction
        is open); each op's ``result`` or ``error`` is set."""
        try:
            if not begun:
                db.execute("BEGIN IMMEDIATE")
            kind = ops[0].kind
            if not size:
                size = _size(ops)
            if kind in _BULK:
                self._write_bulk(db, ops, size)
            elif kind == "quarantine":
                self._write_quarantine(db, ops[0])
            elif kind == "dead_event":
                self._write_dead_event(db, ops[0])
            elif kind == "reject":
                self._write_reject(db, ops[0])
            else:
                self._write_delete(db, ops[0])
            db.execute("COMMIT")
        except Exception as exc:
            self._abandon(db)
            self.stats["failures"] += 1
            for op in ops:
                op.fail(exc, exc, self.path)
            return
        except BaseException:
            # interrupted (a KeyboardInterrupt on the loop's thread): nothing half-written
            # stays open to hold the write lock
            self._abandon(db)
            raise
        self.stats["batches"] += 1
        self.stats["items"] += size
        known = self._known
        if kind in _BULK:
            # the stored versions after this transaction: the next batches need not ask
            for aid, v in self._committing.items():
                known.pop(aid, None)
                known[aid] = v
            self._committing = {}
            indexed = self._indexed
            for aid, iv in self._indexing.items():
                indexed.pop(aid, None)
                indexed[aid] = iv
            self._indexing = {}
            if len(known) > _KNOWN:
                # keep the newest half (dropping the oldest one by one is quadratic: a dict
                # iterated from its start walks past every slot deleted before)
                self._known = dict(list(known.items())[-(_KNOWN // 2) :])
            if len(indexed) > _KNOWN:
                self._indexed = dict(list(indexed.items())[-(_KNOWN // 2) :])
        else:
            aid = ops[0].items if kind == "delete" else ops[0].items[0]
            known.pop(aid, None)
            self._indexed.pop(aid, None)

    def _abandon(self, db: sqlite3.Connection) -> None:
        """Roll back a failed transaction and forget what it would have stored."""
        self._committing = {}
        self._indexing = {}
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")

    def _write_bulk(self, db: sqlite3.Connection, ops: list[WriteOp], size: int) -> None:
        now = time.time()
        # (version, status, chart id) as stored, of every actor a commit in the batch
        # touches: remembered (``_known``), else read (one ``IN`` query per chunk)
        stored: dict[str, tuple[int, str, str]] = {}
        known = self._known
        unknown: dict[str, None] = {}
        for op in ops:
            if op.kind == "commit":
                for p in op.items:
                    aid = p.commit.actor_id
                    k = known.get(aid)
                    if k is None:
                        unknown[aid] = None
                    else:
                        stored[aid] = k
        for chunk in _chunks(list(unknown), _CHUNK) if unknown else ():
            marks = ",".join("?" * len(chunk))
            cur = db.execute(
                f"SELECT id, version, status, chart_id FROM actors WHERE id IN ({marks})",
                chunk,
            )
            for aid, ver, status, chart_id in cur.fetchall():
                stored[aid] = (ver, status, chart_id)
        # ``versions`` chains through the batch (from ``stored`` for an actor's first
        # commit in it); statuses and chart ids stay what is stored (a commit earlier in
        # the batch is in ``actor_rows``)
        versions: dict[str, int | None] = {}
        indexed = self._indexed
        inbox_new: dict[int, tuple[int, str, bytes, float]] = {}
        inbox_del: list[tuple[int]] = []
        actor_rows: dict[str, tuple[Any, ...]] = {}
        actor_states: dict[str, tuple[str, ...]] = {}  # whose index rows are written
        indexing: dict[str, tuple[int, tuple[str, ...]]] = {}
        timer_ops: dict[tuple[str, str], tuple[Any, ...] | None] = {}
        outbox_new: dict[int, tuple[int, str, str, bytes, float]] = {}
        outbox_del: list[tuple[int]] = []
        journal_new: list[tuple[str, int, float, bytes]] = []
        commits = accepts = 0
        for op in ops:
            if op.kind == "accept":
                for seq, actor_id, blob in op.items:
                    inbox_new[seq] = (seq, actor_id, blob, now)
                op.result = [seq for seq, _, _ in op.items]
                accepts += len(op.items)
            elif op.kind == "ack":
                for seq in op.items:
                    if outbox_new.pop(seq, None) is None:
                        outbox_del.append((seq,))
            else:
                results: list[CommitResult | PersistenceError] = []
                for p in op.items:
                    c = p.commit
                    aid = c.actor_id
                    st = stored.get(aid)
                    if aid in versions:
                        actual = versions[aid]
                    else:
                        actual = st[0] if st is not None else None
                    if c.replace:
                        pass
                    elif st is not None and st[1] == "quarantined" and aid not in actor_rows:
                        results.append(CorruptRecordError(aid, "the actor is quarantined"))
                        continue
                    elif actual != c.expected_version:
                        results.append(VersionConflictError(aid, c.expected_version, actual))
                        continue
                    snap = c.snapshot
                    versions[aid] = snap.version
                    before = indexing.get(aid) or indexed.get(aid)
                    indexing[aid] = (snap.version, snap.configuration)
                    if before != (actual, snap.configuration):
                        actor_states[aid] = snap.configuration
                    actor_rows[aid] = (
                        aid,
                        snap.chart_id,
                        snap.chart_version,
                        snap.version,
                        snap.status,
                        SNAPSHOT_FORMAT,
                        p.blob,
                        now,
                        now,
                    )
                    for seq in c.consumed:
                        if inbox_new.pop(seq, None) is None:
                            inbox_del.append((seq,))
                    for key in c.cancelled_timers:
                        timer_ops[(aid, key)] = None
                    for row in p.timers:
                        timer_ops[(aid, row[1])] = row
                    for seq, target, blob in p.deliveries:
                        inbox_new[seq] = (seq, target, blob, now)
                    for seq, target, blob in p.outbox:
                        outbox_new[seq] = (seq, aid, target, blob, now)
                    if p.journal is not None:
                        journal_new.append((aid, snap.version, now, p.journal))
                    results.append(
                        CommitResult(
                            aid,
                            snap.version,
                            tuple([s for s, _, _ in p.deliveries]) if p.deliveries else (),
                            tuple([s for s, _, _ in p.outbox]) if p.outbox else (),
                            size,
                        )
                    )
                    commits += 1
                op.result = results
        if inbox_new:
            db.executemany(_INSERT_INBOX, list(inbox_new.values()))
        if inbox_del:
            db.executemany(_DELETE_INBOX, inbox_del)
        if actor_rows:
            updates: list[tuple[Any, ...]] = []
            upserts: list[tuple[Any, ...]] = []
            for aid, row in actor_rows.items():
                st = stored.get(aid)
                if st is not None and st[1] == row[4] and st[2] == row[1]:
                    updates.append((row[2], row[3], row[5], row[6], row[8], aid))
                else:  # a new actor, or its status or chart changes (indexed columns)
                    upserts.append(row)
            if updates:
                db.executemany(_UPDATE_ACTOR, updates)
            if upserts:
                db.executemany(_UPSERT_ACTOR, upserts)
        if actor_states:
            db.executemany(_DELETE_STATES, [(aid,) for aid in actor_states])
            db.executemany(
                _INSERT_STATE,
                [(s, aid) for aid, conf in actor_states.items() for s in conf],
            )
        if timer_ops:
            dels = [k for k, v in timer_ops.items() if v is None]
            puts = [v for v in timer_ops.values() if v is not None]
            if dels:
                db.executemany(_DELETE_TIMER, dels)
            if puts:
                db.executemany(_UPSERT_TIMER, puts)
        if outbox_new:
            db.executemany(_INSERT_OUTBOX, list(outbox_new.values()))
        if outbox_del:
            db.executemany(_DELETE_OUTBOX, outbox_del)
        if journal_new:
            self._write_journal(db, journal_new, now)
        self.stats["commits"] += commits
        self.stats["accepts"] += accepts
        self._committing = {aid: (row[3], row[4], row[1]) for aid, row in actor_rows.items()}
        self._indexing = indexing

    def _write_journal(
        self, db: sqlite3.Connection, rows: list[tuple[str, int, float, bytes]], now: float
    ) -> None:
        """Append the batch's journal rows, then trim the actors due for it (see
        ``JournalPolicy.trims_at``) to the retention policy."""
        policy = self.journal
        db.executemany(_INSERT_JOURNAL, rows)
        oldest = now - policy.max_age if policy.max_age is not None else -math.inf
        trim = {aid: None for aid, version, _, _ in rows if policy.trims_at(version)}
        if trim:
            db.executemany(_TRIM_JOURNAL, [(a, oldest, a, policy.limit) for a in trim])

    def _write_quarantine(self, db: sqlite3.Connection, op: WriteOp) -> None:
        actor_id, reason, payload = op.items
        now = time.time()
        if payload is None:
            cur = db.execute("SELECT snapshot FROM actors WHERE id = ?", (actor_id,))
            row = cur.fetchone()
            payload = row[0] if row is not None else None
        cur = db.execute(
            "INSERT INTO dead_letters (actor_id, kind, reason, payload, created_at)"
            " VALUES (?, 'snapshot', ?, ?, ?)",
            (actor_id, reason, payload, now),
        )
        op.result = cur.lastrowid
        db.execute(
            "UPDATE actors SET status = 'quarantined', updated_at = ? WHERE id = ?",
            (now, actor_id),
        )

    def _write_dead_event(self, db: sqlite3.Connection, op: WriteOp) -> None:
        """Move inbox row ``seq`` of the actor to the dead letters, read and deleted in this
        transaction: a row already consumed or moved (by a write queued before this one, or
        another process) is not dead-lettered again (``result`` 0)."""
        actor_id, seq, reason = op.items
        row = db.execute(
            "SELECT event FROM inbox WHERE seq = ? AND actor_id = ?", (seq, actor_id)
        ).fetchone()
        if row is None:
            op.result = 0
            return
        cur = db.execute(
            "INSERT INTO dead_letters (actor_id, kind, reason, payload, created_at)"
            " VALUES (?, 'event', ?, ?, ?)",
            (actor_id, reason, raw(row[0]), time.time()),
        )
        op.result = cur.lastrowid
        db.execute(_DELETE_INBOX, (seq,))

    def _write_reject(self, db: sqlite3.Connection, op: WriteOp) -> None:
        actor_id, reason = op.items
        cur = db.execute(
            "INSERT INTO dead_letters (actor_id, kind, reason, payload, created_at)"
            " SELECT actor_id, 'event', ?, event, ? FROM inbox WHERE actor_id = ? ORDER BY seq",
            (reason, time.time(), actor_id),
        )
        op.result = cur.rowcount
        db.execute("DELETE FROM inbox WHERE actor_id = ?", (actor_id,))

    def _write_delete(self, db: sqlite3.Connection, op: WriteOp) -> None:
        actor_id = op.items
        for stmt in (
            "DELETE FROM actors WHERE id = ?",
            _DELETE_STATES,
            "DELETE FROM timers WHERE actor_id = ?",
            "DELETE FROM inbox WHERE actor_id = ?",
            "DELETE FROM journal WHERE actor_id = ?",
        ):
            db.execute(stmt, (actor_id,))

    # -- writes ------------------------------------------------------------------------------
    async def accept(self, actor_id: str, event: EventData) -> int:
        """Durably append ``event`` to ``actor_id``'s inbox; return its seq."""
        return (await self.accept_many([(actor_id, event)]))[0]

    async def accept_many(self, items: Sequence[tuple[str, EventData]]) -> list[int]:
        """Durably append events to inboxes in one transaction; return their seqs."""
        self._check_open()
        rows: list[tuple[int, str, bytes]] = []
        for actor_id, event in items:
            blob = encode_event(event)
            rows.append((0, _actor_id(actor_id), blob))
        if not rows:
            return []
        first = self._seq + 1
        self._seq += len(rows)
        rows = [(first + i, a, b) for i, (_, a, b) in enumerate(rows)]
        result: list[int] = await self._submit(WriteOp("accept", rows, len(rows)))
        return result

    async def commit(self, commit: Commit) -> CommitResult:
        """Durably commit one macrostep (see :class:`Commit`).

        The snapshot is encoded when this is called (later changes to its context do not
        leak in). Raises :class:`VersionConflictError` when the stored version is not
        ``commit.expected_version``, and :class:`PersistenceError` when the write fails.
        """
        r = (await self.commit_many([commit]))[0]
        if isinstance(r, PersistenceError):
            raise r
        return r

    async def commit_many(self, commits: Sequence[Commit]) -> list[CommitResult | PersistenceError]:
        """Commit several macrosteps in one batch; each outcome independently."""
        self._check_open()
        prepared = prepare_each(commits, self._prepare)
        ready = [p for p in prepared if isinstance(p, _Prepared)]
        if len(ready) == len(prepared):  # the common case: everything could be encoded
            if not ready:
                return []
            result: list[CommitResult | PersistenceError] = await self._submit(
                WriteOp("commit", ready, len(ready))
            )
            return result
        written = iter(await self._submit(WriteOp("commit", ready, len(ready))) if ready else ())
        return [next(written) if isinstance(p, _Prepared) else p for p in prepared]

    def commit_many_soon(
        self,
        commits: Sequence[Commit],
        done: Callable[[list[CommitResult | PersistenceError]], None],
    ) -> None:
        """:meth:`commit_many` with no waiter (the actor runtime's commit pipeline, see
        ``RuntimeStore.commit_steps_soon``): ``done(results)`` is called on the event loop
        once the batch is written or has failed, each outcome independently."""
        self._check_open()
        prepared = prepare_each(commits, self._prepare)
        ready = [p for p in prepared if isinstance(p, _Prepared)]
        if not ready:
            done([p for p in prepared if isinstance(p, PersistenceError)])
            return
        n = len(ready)
        every = n == len(prepared)  # the common case: every commit could be encoded

        def finished(op: WriteOp) -> None:
            # (op.error: a PersistenceError, as WriteOp.fail and the queue make them)
            results: list[Any] = op.result if op.error is None else [op.error] * n
            if every:
                done(results)
                return
            out: Iterator[Any] = iter(results)
            done([next(out) if isinstance(p, _Prepared) else p for p in prepared])

        self._writes.put_soon(WriteOp("commit", ready, n), finished)

    def leader(self) -> Callable[[], bool] | None:
        """For the actor runtime's commit pipeline (``CommitPipeline.lead``, issue 16): a
        function telling whether commits handed over now would be written at once, in the
        writer's thread (its writer idle), so that a durable send's batch may start at once
        instead of waiting a loop iteration for other clients' steps to share it. None with
        ``durability="normal"``: small batches are written on the loop, never in the
        thread at once."""
        return self._writes.idle if self._inline is None else None

    def _prepare(self, c: Commit) -> _Prepared:
        blob = encode_snapshot(c.snapshot)
        jblob = encode_entry(c.journal) if c.journal is not None and self.journal.enabled else None
        if not c.timers and not c.deliveries and not c.outbox:
            return _Prepared(c, blob, _NONE, _NONE, _NONE, jblob)  # the common case
        timers = [
            (
                c.actor_id,
                t.key,
                float(t.due),
                t.sendid,
                t.target,
                _PATH_SEP.join(t.path),
                encode_event(t.event),
            )
            for t in c.timers
        ]
        deliveries = [(_actor_id(d.target), encode_event(d.event)) for d in c.deliveries]
        outbox = [(d.target, encode_event(d.event)) for d in c.outbox]
        dl = []
        for target, b in deliveries:
            self._seq += 1
            dl.append((self._seq, target, b))
        ob = []
        for target, b in outbox:
            self._outbox_seq += 1
            ob.append((self._outbox_seq, target, b))
        return _Prepared(c, blob, timers, dl, ob, jblob)

    async def ack_outbox(self, seqs: Sequence[int]) -> None:
        """Forget delivered outbox events."""
        self._check_open()
        if seqs:
            await self._submit(WriteOp("ack", [int(s) for s in seqs], len(seqs)))

    async def quarantine(self, actor_id: str, reason: str) -> int:
        """Copy the actor's stored row to the dead letters and mark it ``"quarantined"``;
        return the dead letter id. Its inbox is kept."""
        self._check_open()
        result: int = await self._submit(WriteOp("quarantine", (actor_id, str(reason), None), 1))
        return result

    async def delete(self, actor_id: str) -> None:
        """Forget an actor: its row, inbox and timers."""
        self._check_open()
        await self._submit(WriteOp("delete", _actor_id(actor_id), 1))

    async def reject_inbox(self, actor_id: str, reason: str) -> int:
        """Move every inbox event of ``actor_id`` to the dead letters (an actor that does
        not exist); return how many."""
        self._check_open()
        result: int = await self._submit(WriteOp("reject", (_actor_id(actor_id), str(reason)), 1))
        self._regs().pop(actor_id, None)
        return result

    async def reject_event(self, actor_id: str, seq: int, reason: str) -> int:
        """Move inbox event ``seq`` of ``actor_id`` to the dead letters (a poison message the
        actor cannot process); return the dead letter's id (0: no such inbox event, e.g.
        already consumed or moved)."""
        self._check_open()
        if not is_seq(seq):
            return 0  # no inbox event has such a seq
        # the row is read, dead-lettered and deleted in the writer's one transaction
        result: int = await self._submit(
            WriteOp("dead_event", (_actor_id(actor_id), seq, str(reason)), 1)
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
        """Load many actors in one query per ``500`` ids; each outcome independently."""
        self._check_open()
        ids = list(dict.fromkeys(_actor_id(a) for a in actor_ids))
        return await self._load_rows(ids)

    async def _load_rows(self, ids: list[str]) -> dict[str, LoadedActor | PersistenceError]:
        db = self._reader
        if db is None:
            raise StoreClosedError(f"{self.path}: the store is closed")
        try:
            rows, inbox = await db.call(_read_actors, ids)
        except sqlite3.Error as exc:
            raise PersistenceError(f"{self.path}: read failed: {exc}") from exc
        out: dict[str, LoadedActor | PersistenceError] = {}
        for aid in ids:
            try:
                events = await self._decode_inbox(aid, inbox.get(aid, ()))
                row = rows.get(aid)
                record = None if row is None else await self._decode_actor(row)
            except PersistenceError as exc:
                out[aid] = exc
                continue
            out[aid] = LoadedActor(aid, record, events)
        return out

    async def _decode_actor(self, row: Any) -> ActorRecord:
        aid, blob = row[0], row[6]
        check_status(aid, row[4], row[5])
        try:
            return record_from_row(row)
        except SnapshotError as exc:
            # whatever is wrong with the row, only this actor is affected: its raw snapshot
            # goes to the dead letters and the actor is quarantined
            dl = await self._submit(WriteOp("quarantine", (aid, str(exc), raw(blob)), 1))
            raise CorruptRecordError(aid, str(exc), dl) from exc

    async def _decode_inbox(
        self, actor_id: str, rows: Iterable[tuple[int, bytes, float]]
    ) -> tuple[StoredEvent, ...]:
        out: list[StoredEvent] = []
        for seq, blob, ts in rows:
            try:
                if not isinstance(blob, bytes):
                    raise SnapshotError(f"corrupt event: stored as {type(blob).__name__}")
                ev = decode_event(blob)
            except SnapshotError as exc:
                # an undecodable event is moved to the dead letters; the actor carries on
                reason = f"inbox event {seq}: {exc}"
                await self._submit(WriteOp("dead_event", (actor_id, seq, reason), 1))
                continue
            out.append(StoredEvent(seq, actor_id, ev, ts))
        return tuple(out)

    async def inbox(self, actor_id: str) -> list[StoredEvent]:
        """The actor's unconsumed inbox events, in order."""
        self._check_open()
        rows = await self._fetch(
            "SELECT seq, event, accepted_at FROM inbox WHERE actor_id = ? ORDER BY seq",
            (actor_id,),
        )
        return list(await self._decode_inbox(actor_id, rows))

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self._check_open()
        db = self._reader
        assert db is not None
        try:
            return await db.call(_fetchall, sql, params)
        except sqlite3.Error as exc:
            raise PersistenceError(f"{self.path}: read failed: {exc}") from exc

    async def pending_actors(self) -> list[str]:
        """Ids of actors with unconsumed inbox events."""
        rows = await self._fetch("SELECT DISTINCT actor_id FROM inbox ORDER BY actor_id")
        return [r[0] for r in rows]

    async def due_timers(self, until: float, limit: int = 1000) -> list[Timer]:
        """Durable timers due at or before ``until``, earliest first."""
        rows = await self._fetch(
            "SELECT actor_id, key, due, sendid, target, path, event FROM timers"
            " WHERE due <= ? ORDER BY due, actor_id, key LIMIT ?",
            (float(until), int(limit)),
        )
        out: list[Timer] = []
        for aid, key, due, sendid, target, path, blob in rows:
            try:
                ev = decode_event(blob)
            except SnapshotError:
                ev = EventData(sendid)  # the snapshot holds the real event; this only wakes it
            out.append(Timer(key, sendid, due, ev, target, _split_path(path), aid))
        return out

    async def next_due(self, after: float | None = None) -> float | None:
        """The earliest due time of any durable timer (later than ``after``, if given)."""
        if after is None:
            rows = await self._fetch("SELECT min(due) FROM timers")
        else:
            rows = await self._fetch("SELECT min(due) FROM timers WHERE due > ?", (after,))
        return None if not rows or rows[0][0] is None else float(rows[0][0])

    async def due_actors(self, until: float, limit: int = 1000) -> list[str]:
        """Ids of the actors with a durable timer due at or before ``until``."""
        rows = await self._fetch(
            "SELECT actor_id, min(due) AS d FROM timers WHERE due <= ?"
            " GROUP BY actor_id ORDER BY d, actor_id LIMIT ?",
            (float(until), int(limit)),
        )
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
        """Stored actor ids greater than ``after``, in id order (by status, by chart id, by
        an active state: indexed)."""
        sql, params = actor_ids_query(status, chart, state, after, "?")
        rows = await self._fetch(f"{sql} LIMIT ?", (*params, int(limit)))
        return [r[0] for r in rows]

    async def count_actors(self, status: str | None = None) -> int:
        """How many actors are stored (with that status)."""
        if status is None:
            rows = await self._fetch("SELECT count(*) FROM actors")
        else:
            rows = await self._fetch("SELECT count(*) FROM actors WHERE status = ?", (status,))
        return int(rows[0][0])

    async def outbox(self, limit: int = 1000) -> list[OutboxEntry]:
        """Committed outbox events not acknowledged yet, oldest first."""
        rows = await self._fetch(
            "SELECT seq, actor_id, target, event, created_at FROM outbox ORDER BY seq LIMIT ?",
            (int(limit),),
        )
        return [OutboxEntry(s, a, t, decode_event(b), c) for s, a, t, b, c in rows]

    async def _journal_rows(
        self, actor_id: str, limit: int, before: int | None, oldest: float
    ) -> list[Any]:
        self._check_open()
        return await self._fetch(
            "SELECT version, at, entry FROM journal WHERE actor_id = ?"
            " AND (? IS NULL OR version < ?) AND at >= ? ORDER BY id DESC LIMIT ?",
            [actor_id, before, before, oldest, limit],
        )

    async def dead_letters(self, actor_id: str | None = None) -> list[DeadLetter]:
        """Dead letters, oldest first (of one actor, or all)."""
        sql = "SELECT id, actor_id, kind, reason, payload, created_at FROM dead_letters"
        if actor_id is None:
            rows = await self._fetch(sql + " ORDER BY id")
        else:
            rows = await self._fetch(sql + " WHERE actor_id = ? ORDER BY id", (actor_id,))
        return [DeadLetter(*r) for r in rows]


def _size(ops: list[WriteOp]) -> int:
    """The items of a batch."""
    return ops[0].size if len(ops) == 1 else sum(op.size for op in ops)


def _run(db: sqlite3.Connection, sql: str) -> None:
    db.execute(sql)


def _begin(db: sqlite3.Connection) -> bool:
    """Open a write transaction on ``db`` if that needs no wait (False: the database is
    locked, or the statement failed: the writer's thread takes the batch and reports)."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error:
        return False
    return True


def _fetchall(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    return db.execute(sql, params).fetchall()


def _high_water(db: sqlite3.Connection, table: str) -> int:
    """The highest seq ``table`` has used (its rows, and its AUTOINCREMENT counter)."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    hw = int(row[0]) if row is not None else 0
    row = db.execute(f"SELECT max(rowid) FROM {table}").fetchone()
    return max(hw, int(row[0]) if row and row[0] is not None else 0)


def _read_actors(
    db: sqlite3.Connection, ids: list[str]
) -> tuple[dict[str, Any], dict[str, list[tuple[int, bytes, float]]]]:
    """The ``actors`` rows and inbox rows of ``ids`` (in the reader's thread: one hop)."""
    rows: dict[str, Any] = {}
    inbox: dict[str, list[tuple[int, bytes, float]]] = {}
    for chunk in _chunks(ids, _CHUNK):
        marks = ",".join("?" * len(chunk))
        for r in db.execute(
            "SELECT id, chart_id, chart_version, version, status, format, snapshot,"
            f" created_at, updated_at FROM actors WHERE id IN ({marks})",
            chunk,
        ):
            rows[r[0]] = r
        for aid, seq, blob, ts in db.execute(
            "SELECT actor_id, seq, event, accepted_at FROM inbox"
            f" WHERE actor_id IN ({marks}) ORDER BY seq",
            chunk,
        ):
            inbox.setdefault(aid, []).append((seq, blob, ts))
    return rows, inbox


def _chunks(items: list[str], n: int) -> Iterable[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _split_path(path: str) -> tuple[str, ...]:
    return tuple(path.split(_PATH_SEP)) if path else ()


def _actor_id(actor_id: Any) -> str:
    if not isinstance(actor_id, str) or not actor_id:
        raise ValueError(f"an actor id is a non-empty string, not {actor_id!r}")
    return actor_id
