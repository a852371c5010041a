"""The store protocol: what the actor runtime needs from a durable store.

It is written so a networked database (PostgreSQL) can implement it as well as SQLite:
writes are batches of independent commits, each guarded by an optimistic version check, and
reads are by id or by batches of ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from statefleet.core import EventData, PersistenceError
from statefleet.persistence._journal import JournalEntry
from statefleet.persistence._types import (
    Commit,
    CommitResult,
    DeadLetter,
    LoadedActor,
    OutboxEntry,
    StoredEvent,
    Timer,
)

__all__ = ["Store"]


@runtime_checkable
class Store(Protocol):
    """A durable home for actors: snapshots, inboxes, timers, an outbox and dead letters.

    Contract (every implementation passes the same tests, ``tests/persistence``):

    - ``async with store:`` opens it (and closes it); calls outside raise
      ``StoreClosedError``.
    - :meth:`accept` returns once the event is durable in the actor's inbox. :meth:`commit`
      returns once the macrostep is durable: the snapshot (checked against
      ``expected_version``), the consumed inbox events deleted, timers, deliveries and outbox
      rows, all in one transaction. Concurrent calls are batched into shared transactions
      (group commit); every caller awaits its own outcome.
    - Anything that fails raises a :class:`~statefleet.core.PersistenceError` subclass to the
      callers it concerns; an acknowledged write is never lost by a later failure.
    - Loads return copies: mutating what a load returned never changes the store.
    """

    #: ``True`` when acknowledged writes survive a process crash
    durable: bool

    async def __aenter__(self) -> Self:
        """Open the store (create or migrate its schema, take the writer lock)."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Flush pending writes and close."""

    async def accept(self, actor_id: str, event: EventData) -> int:
        """Durably append ``event`` to ``actor_id``'s inbox; return its seq."""

    async def accept_many(self, items: Sequence[tuple[str, EventData]]) -> list[int]:
        """:meth:`accept` for many events in one batch (all or none); seqs in order."""

    async def commit(self, commit: Commit) -> CommitResult:
        """Durably commit one macrostep (raises ``VersionConflictError`` on a stale version)."""

    async def commit_many(self, commits: Sequence[Commit]) -> list[CommitResult | PersistenceError]:
        """Commit several macrosteps in one batch; each outcome independently (a version
        conflict fails only its own commit; a failing database fails them all)."""

    async def load(self, actor_id: str) -> LoadedActor:
        """The actor's stored record (``None`` if unknown) and pending inbox.

        A row that cannot be decoded quarantines the actor and raises
        ``CorruptRecordError``."""

    async def load_many(
        self, actor_ids: Sequence[str]
    ) -> dict[str, LoadedActor | PersistenceError]:
        """:meth:`load` for many actors in one round trip; each outcome independently."""

    async def inbox(self, actor_id: str) -> list[StoredEvent]:
        """The events accepted for ``actor_id`` and not consumed yet, in order."""

    async def pending_actors(self) -> list[str]:
        """Ids of the actors that have unconsumed inbox events (to activate at startup)."""

    async def due_timers(self, until: float, limit: int = 1000) -> list[Timer]:
        """Durable timers due at or before ``until``, earliest first."""

    async def next_due(self, after: float | None = None) -> float | None:
        """The earliest due time of any durable timer later than ``after`` (``None``: no
        timers)."""

    async def due_actors(self, until: float, limit: int = 1000) -> list[str]:
        """Ids of the actors with a durable timer due at or before ``until``."""

    async def actor_ids(
        self,
        *,
        status: str | None = None,
        after: str = "",
        limit: int = 1000,
        chart: str | None = None,
        state: str | None = None,
    ) -> list[str]:
        """Stored actor ids greater than ``after`` in id order (paging), by status, by
        chart id and by ``state`` active in the stored snapshot (any state of its
        configuration, compound ancestors included): all indexed."""

    async def count_actors(self, status: str | None = None) -> int:
        """How many actors are stored (with that status)."""

    async def outbox(self, limit: int = 1000) -> list[OutboxEntry]:
        """Committed outbox events not acknowledged yet, oldest first."""

    async def ack_outbox(self, seqs: Sequence[int]) -> None:
        """Mark outbox events delivered (they are deleted)."""

    async def quarantine(self, actor_id: str, reason: str) -> int:
        """Move the actor's stored row to the dead letters and mark it ``"quarantined"``;
        return the dead letter id. Its inbox is kept."""

    async def dead_letters(self, actor_id: str | None = None) -> list[DeadLetter]:
        """Dead letters, oldest first (of one actor, or all)."""

    async def history(
        self, actor_id: str, *, limit: int = 50, before: int | None = None
    ) -> list[JournalEntry]:
        """The actor's journal of committed macrosteps, oldest first: the last ``limit``
        entries (with a version below ``before``, when given), within the store's
        ``journal`` retention policy; ``[]`` for an actor with none."""

    async def delete(self, actor_id: str) -> None:
        """Forget an actor: its row, inbox and timers."""

    def delete_soon(self, actor_id: str) -> None:
        """Queue :meth:`delete` without waiting (ordered before any later write)."""

    async def reject_inbox(self, actor_id: str, reason: str) -> int:
        """Move the inbox of an actor that does not exist to the dead letters."""

    async def reject_event(self, actor_id: str, seq: int, reason: str) -> int:
        """Move one inbox event to the dead letters (a poison message: the actor's step on
        it can never be committed); return the dead letter id (0: no such inbox event)."""
