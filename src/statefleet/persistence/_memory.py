"""MemoryStore: the store contract in a process's memory (tests, ephemeral fleets)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import anyio.lowlevel

from statefleet.core import (
    EventData,
    PersistenceError,
    SnapshotError,
    decode_snapshot,
    encode_snapshot,
)
from statefleet.persistence._errors import (
    CorruptRecordError,
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
from statefleet.persistence._rows import is_seq
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

__all__ = ["MemoryStore"]


@dataclass(slots=True)
class _Row:
    chart_id: str
    chart_version: str
    version: int
    status: str
    snapshot: bytes
    created_at: float
    updated_at: float


class MemoryStore(JournalReader, RuntimeStore):
    """The :class:`Store` contract kept in memory: nothing survives the process.

    Snapshots and events are encoded exactly as :class:`SQLiteStore` encodes them, so what
    cannot be stored fails the same way, and loads return fresh copies. Closing and
    re-entering the same instance keeps its data (a restart within one process).
    ``journal`` is how much per-actor history it keeps (a :class:`JournalPolicy`, or just
    the number of entries per actor; ``0`` keeps none).
    """

    durable = False

    def __init__(self, *, journal: JournalPolicy | int = DEFAULT_JOURNAL) -> None:
        self.journal = journal_policy(journal)
        self._journal: dict[str, deque[tuple[int, float, bytes]]] = {}
        self._open = False
        self._actors: dict[str, _Row] = {}
        #: the state index: each state id's actors, and each actor's active states
        self._by_state: dict[str, set[str]] = {}
        self._states: dict[str, tuple[str, ...]] = {}
        self._inbox: dict[int, tuple[str, bytes, float]] = {}
        self._inbox_by_actor: dict[str, dict[int, None]] = {}
        self._timers: dict[str, dict[str, Timer]] = {}
        self._outbox: dict[int, OutboxEntry] = {}
        self._dead: list[DeadLetter] = []
        self._seq = 0
        self._outbox_seq = 0

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self._actors)} actors>"

    @property
    def is_open(self) -> bool:
        """Between entering and leaving ``async with store:``."""
        return self._open

    async def __aenter__(self) -> Self:
        """Open the store (its data is kept from an earlier session of this instance)."""
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        self._open = False

    async def _enter(self) -> None:
        if not self._open:
            raise StoreClosedError("the store is not open: use `async with store:`")
        await anyio.lowlevel.checkpoint()

    # -- writes ------------------------------------------------------------------------------
    async def accept(self, actor_id: str, event: EventData) -> int:
        """Append ``event`` to the actor's inbox; return its seq."""
        return (await self.accept_many([(actor_id, event)]))[0]

    async def accept_many(self, items: Sequence[tuple[str, EventData]]) -> list[int]:
        """Append events to inboxes, all or none; return their seqs."""
        blobs = [(_actor_id(a), encode_event(e)) for a, e in items]
        await self._enter()
        now = time.time()
        out: list[int] = []
        for actor_id, blob in blobs:
            out.append(self._push(actor_id, blob, now))
        return out

    def _push(self, actor_id: str, blob: bytes, now: float) -> int:
        self._seq += 1
        self._inbox[self._seq] = (actor_id, blob, now)
        self._inbox_by_actor.setdefault(actor_id, {})[self._seq] = None
        return self._seq

    async def commit(self, commit: Commit) -> CommitResult:
        """Commit one macrostep (raises ``VersionConflictError`` on a stale version)."""
        out = await self.commit_many([commit])
        r = out[0]
        if isinstance(r, PersistenceError):
            raise r
        return r

    async def commit_many(self, commits: Sequence[Commit]) -> list[CommitResult | PersistenceError]:
        """Commit macrosteps, each independently of the others."""
        # encode everything first: what cannot be stored fails before anything is written
        prepared = prepare_each(commits, _prepare)
        await self._enter()
        now = time.time()
        results: list[CommitResult | PersistenceError] = []
        for p in prepared:
            if isinstance(p, PersistenceError):
                results.append(p)  # it could not be encoded: nothing of it is written
                continue
            c, blob, dblobs = p
            row = self._actors.get(c.actor_id)
            actual = None if row is None else row.version
            if c.replace:
                pass
            elif row is not None and row.status == "quarantined":
                results.append(CorruptRecordError(c.actor_id, "the actor is quarantined"))
                continue
            elif actual != c.expected_version:
                results.append(VersionConflictError(c.actor_id, c.expected_version, actual))
                continue
            snap = c.snapshot
            self._actors[c.actor_id] = _Row(
                snap.chart_id,
                snap.chart_version,
                snap.version,
                snap.status,
                blob,
                now if row is None else row.created_at,
                now,
            )
            self._index_states(c.actor_id, snap.configuration)
            for seq in c.consumed:
                self._drop_inbox(seq)
            if c.journal is not None and self.journal.enabled:
                self._journal.setdefault(c.actor_id, deque(maxlen=self.journal.limit)).append(
                    (snap.version, now, encode_entry(c.journal))
                )
            timers = self._timers.setdefault(c.actor_id, {})
            for key in c.cancelled_timers:
                timers.pop(key, None)
            for t in c.timers:
                timers[t.key] = Timer(t.key, t.sendid, t.due, t.event, t.target, t.path, c.actor_id)
            if not timers:
                del self._timers[c.actor_id]
            dseqs = tuple(
                self._push(d.target, b, now) for d, b in zip(c.deliveries, dblobs, strict=True)
            )
            oseqs: list[int] = []
            for d in c.outbox:
                self._outbox_seq += 1
                self._outbox[self._outbox_seq] = OutboxEntry(
                    self._outbox_seq, c.actor_id, d.target, d.event, now
                )
                oseqs.append(self._outbox_seq)
            results.append(
                CommitResult(c.actor_id, snap.version, dseqs, tuple(oseqs), len(commits))
            )
        return results

    def _drop_inbox(self, seq: int) -> None:
        row = self._inbox.pop(seq, None)
        if row is not None:
            per = self._inbox_by_actor[row[0]]
            del per[seq]
            if not per:
                del self._inbox_by_actor[row[0]]

    async def ack_outbox(self, seqs: Sequence[int]) -> None:
        """Forget delivered outbox events."""
        await self._enter()
        for s in seqs:
            self._outbox.pop(s, None)

    async def quarantine(self, actor_id: str, reason: str) -> int:
        """Move the actor's row to the dead letters and mark it quarantined."""
        await self._enter()
        row = self._actors.get(actor_id)
        return self._quarantine(actor_id, reason, row.snapshot if row else None)

    def _quarantine(self, actor_id: str, reason: str, payload: bytes | None) -> int:
        dl = DeadLetter(len(self._dead) + 1, actor_id, "snapshot", reason, payload, time.time())
        self._dead.append(dl)
        row = self._actors.get(actor_id)
        if row is not None:
            row.status = "quarantined"
        return dl.id

    async def reject_inbox(self, actor_id: str, reason: str) -> int:
        """Move every inbox event of ``actor_id`` to the dead letters; return how many."""
        await self._enter()
        seqs = list(self._inbox_by_actor.get(actor_id, ()))
        for seq in seqs:
            _, blob, _ = self._inbox[seq]
            self._dead.append(
                DeadLetter(len(self._dead) + 1, actor_id, "event", reason, blob, time.time())
            )
            self._drop_inbox(seq)
        self._regs().pop(actor_id, None)
        return len(seqs)

    async def reject_event(self, actor_id: str, seq: int, reason: str) -> int:
        """Move inbox event ``seq`` of ``actor_id`` to the dead letters (a poison message the
        actor cannot process); return the dead letter's id (0: no such inbox event)."""
        await self._enter()
        row = self._inbox.get(seq) if is_seq(seq) else None
        if row is None or row[0] != actor_id:
            return 0
        dl = DeadLetter(len(self._dead) + 1, actor_id, "event", reason, row[1], time.time())
        self._dead.append(dl)
        self._drop_inbox(seq)
        return dl.id

    def delete_soon(self, actor_id: str) -> None:
        """:meth:`delete` at once (there is nothing to wait for in memory)."""
        if not self._open:
            raise StoreClosedError("the store is not open: use `async with store:`")
        self._delete(actor_id)

    async def delete(self, actor_id: str) -> None:
        """Forget an actor: its row, inbox and timers."""
        await self._enter()
        self._delete(actor_id)

    def _index_states(self, actor_id: str, configuration: tuple[str, ...]) -> None:
        for state in self._states.pop(actor_id, ()):
            self._by_state[state].discard(actor_id)
        self._states[actor_id] = configuration
        for state in configuration:
            self._by_state.setdefault(state, set()).add(actor_id)

    def _delete(self, actor_id: str) -> None:
        self._actors.pop(actor_id, None)
        self._index_states(actor_id, ())
        self._journal.pop(actor_id, None)
        self._timers.pop(actor_id, None)
        for seq in list(self._inbox_by_actor.get(actor_id, ())):
            self._drop_inbox(seq)

    # -- reads -------------------------------------------------------------------------------
    async def _journal_rows(
        self, actor_id: str, limit: int, before: int | None, oldest: float
    ) -> list[tuple[int, float, bytes]]:
        await self._enter()
        out: list[tuple[int, float, bytes]] = []
        for version, at, blob in reversed(self._journal.get(actor_id, ())):
            if len(out) >= limit:
                break
            if at >= oldest and (before is None or version < before):
                out.append((version, at, blob))
        return out

    async def load(self, actor_id: str) -> LoadedActor:
        """The actor's record and pending inbox (raises ``CorruptRecordError``)."""
        r = (await self.load_many([actor_id]))[actor_id]
        if isinstance(r, PersistenceError):
            raise r
        return r

    async def load_many(
        self, actor_ids: Sequence[str]
    ) -> dict[str, LoadedActor | PersistenceError]:
        """Load many actors; each outcome independently."""
        await self._enter()
        out: dict[str, LoadedActor | PersistenceError] = {}
        for actor_id in actor_ids:
            out[actor_id] = self._load(actor_id)
        return out

    def _load(self, actor_id: str) -> LoadedActor | PersistenceError:
        row = self._actors.get(actor_id)
        record = None
        if row is not None:
            if row.status == "quarantined":
                return CorruptRecordError(actor_id, "quarantined earlier (see dead letters)")
            try:
                snap = decode_snapshot(row.snapshot)
            except SnapshotError as exc:
                dl = self._quarantine(actor_id, str(exc), row.snapshot)
                return CorruptRecordError(actor_id, str(exc), dl)
            record = ActorRecord(
                actor_id,
                row.chart_id,
                row.chart_version,
                row.version,
                row.status,
                snap,
                row.created_at,
                row.updated_at,
            )
        return LoadedActor(actor_id, record, tuple(self._inbox_events(actor_id)))

    def _inbox_events(self, actor_id: str) -> list[StoredEvent]:
        out: list[StoredEvent] = []
        for seq in list(self._inbox_by_actor.get(actor_id, ())):
            _, blob, ts = self._inbox[seq]
            try:
                ev = decode_event(blob)
            except SnapshotError as exc:
                self._dead.append(
                    DeadLetter(len(self._dead) + 1, actor_id, "event", str(exc), blob, ts)
                )
                self._drop_inbox(seq)
                continue
            out.append(StoredEvent(seq, actor_id, ev, ts))
        return out

    async def inbox(self, actor_id: str) -> list[StoredEvent]:
        """The actor's unconsumed inbox events, in order."""
        await self._enter()
        return self._inbox_events(actor_id)

    async def pending_actors(self) -> list[str]:
        """Ids of actors with unconsumed inbox events."""
        await self._enter()
        return sorted(self._inbox_by_actor)

    async def due_timers(self, until: float, limit: int = 1000) -> list[Timer]:
        """Timers due at or before ``until``, earliest first."""
        await self._enter()
        due = [t for ts in self._timers.values() for t in ts.values() if t.due <= until]
        due.sort(key=lambda t: (t.due, t.actor_id, t.key))
        return due[:limit]

    async def next_due(self, after: float | None = None) -> float | None:
        """The earliest due time of any timer (later than ``after``, if given)."""
        await self._enter()
        return min(
            (
                t.due
                for ts in self._timers.values()
                for t in ts.values()
                if after is None or t.due > after
            ),
            default=None,
        )

    async def due_actors(self, until: float, limit: int = 1000) -> list[str]:
        """Ids of the actors with a timer due at or before ``until``."""
        await self._enter()
        firsts = [(min(t.due for t in ts.values()), aid) for aid, ts in self._timers.items() if ts]
        return [aid for due, aid in sorted(firsts) if due <= until][:limit]

    async def actor_ids(
        self,
        *,
        status: str | None = None,
        after: str = "",
        limit: int = 1000,
        chart: str | None = None,
        state: str | None = None,
    ) -> list[str]:
        """Stored actor ids after ``after``, in id order (by status, by chart id, by an
        active state of the stored snapshot)."""
        await self._enter()
        among = self._actors if state is None else self._by_state.get(state, ())
        rows = ((k, self._actors[k]) for k in among)
        ids = sorted(
            k
            for k, r in rows
            if k > after
            and (status is None or r.status == status)
            and (chart is None or r.chart_id == chart)
        )
        return ids[:limit]

    async def count_actors(self, status: str | None = None) -> int:
        """How many actors are stored (with that status)."""
        await self._enter()
        if status is None:
            return len(self._actors)
        return sum(1 for r in self._actors.values() if r.status == status)

    async def outbox(self, limit: int = 1000) -> list[OutboxEntry]:
        """Unacknowledged outbox events, oldest first."""
        await self._enter()
        return [self._outbox[s] for s in sorted(self._outbox)[:limit]]

    async def dead_letters(self, actor_id: str | None = None) -> list[DeadLetter]:
        """Dead letters, oldest first."""
        await self._enter()
        return [d for d in self._dead if actor_id is None or d.actor_id == actor_id]


def _prepare(c: Commit) -> tuple[Commit, bytes, list[bytes]]:
    blob = encode_snapshot(c.snapshot)
    for t in c.timers:
        encode_event(t.event)
    for d in c.outbox:
        encode_event(d.event)
    return c, blob, [encode_event(d.event) for d in c.deliveries if _actor_id(d.target)]


def _actor_id(actor_id: str) -> str:
    if not isinstance(actor_id, str) or not actor_id:
        raise ValueError(f"an actor id is a non-empty string, not {actor_id!r}")
    return actor_id
