"""The actor runtime's side of a store: ``commit_step`` and the durable-actor hooks.

The actor system (``statefleet.actors``) calls these with core types only; every store gets
them from :class:`RuntimeStore`, built on the :class:`Store` methods. It keeps nothing in
memory: the runtime carries each event's inbox seq with it in its mailbox (an envelope), from
``accept_event``, from the commit that delivered it (``commit_steps`` returns the seqs of a
step's sends) or from ``load_actor``; the commit of the macrostep that consumes it names that
seq, so the inbox row goes in the same transaction as the new snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import msgspec

from statefleet.core import (
    Chart,
    EventData,
    PersistenceError,
    SendEffect,
    Snapshot,
    SnapshotError,
)
from statefleet.persistence._errors import ChartMismatchError
from statefleet.persistence._journal import JournalEntry, JournalPolicy, journal_entry
from statefleet.persistence._types import (
    Commit,
    CommitResult,
    Delivery,
    LoadedActor,
    Timer,
    make_commit,
)

__all__ = ["INVOKING", "Runtime", "RuntimeStore"]

#: the key of the durable marker an actor with running invocations has among its timers:
#: due at time 0 (always overdue), so recovery (``due_actors``) finds every such actor with
#: the timers index every store already has, and starts it again, invocations and all
INVOKING = "statefleet.invoking"


def _invoking_marker(actor_id: str) -> Timer:
    return Timer(INVOKING, INVOKING, 0.0, EventData(INVOKING), None, (), actor_id)


#: ``migrate(actor_id, snapshot)``: a migrated snapshot, None (no migration), or why it failed
Migrate = Callable[[str, Snapshot], "Snapshot | str | None"]

#: per actor id: the inbox events registered and not consumed yet, in inbox order
Inbox = dict[str, list[tuple[int, EventData]]]


class Runtime(Protocol):
    """What a store asks of the actor runtime it is attached to."""

    def resolve(
        self, actor_id: str, target: str | None, event: EventData
    ) -> tuple[str, EventData] | None:
        """The actor id ``target`` names from ``actor_id`` and the event as it will be
        delivered there, or ``None`` when the send does not go to an actor (it is not
        made durable)."""

    def child_id(self, actor_id: str, invokeid: str) -> str:
        """The id of the child actor running invocation ``invokeid`` of ``actor_id``."""

    def is_invoked(self, actor_id: str) -> bool:
        """Is ``actor_id`` a chart invoked by another actor (whose snapshot owns it)?"""


class RuntimeStore:
    """Mixin: the runtime hooks, on top of ``commit``, ``accept``, ``load`` and friends."""

    _runtime: Runtime | None = None
    #: how much per-actor journal the store keeps (a store sets its own; none by default)
    journal: JournalPolicy = JournalPolicy(0)

    # provided by the store
    async def commit(self, commit: Commit) -> CommitResult:  # pragma: no cover - protocol
        raise NotImplementedError

    async def accept(self, actor_id: str, event: EventData) -> int:  # pragma: no cover
        raise NotImplementedError

    async def load(self, actor_id: str) -> LoadedActor:  # pragma: no cover - protocol
        raise NotImplementedError

    async def commit_many(
        self, commits: Sequence[Commit]
    ) -> list[CommitResult | PersistenceError]:  # pragma: no cover - protocol
        raise NotImplementedError

    async def reject_inbox(self, actor_id: str, reason: str) -> int:  # pragma: no cover
        raise NotImplementedError

    def delete_soon(self, actor_id: str) -> None:  # pragma: no cover - protocol
        raise NotImplementedError

    # -- hooks ---------------------------------------------------------------------------------
    def attach(self, runtime: Runtime | None) -> None:
        """Attach the actor runtime (``None`` detaches it)."""
        self._runtime = runtime

    def _regs(self) -> dict[str, Any]:
        """An empty map: event registrations are gone (the runtime carries inbox seqs in its
        envelopes); kept so a store's ``self._regs().pop(actor_id, None)`` still works."""
        return {}

    async def accept_event(self, actor_id: str, event: EventData) -> int:
        """Durably accept ``event`` into ``actor_id``'s inbox and return its seq; the
        runtime queues it with that seq, and the commit of the macrostep that consumes it
        names the seq (the row goes in the same transaction as the new snapshot)."""
        return await self.accept(actor_id, event)

    async def commit_step(
        self,
        actor_id: str,
        snapshot: Snapshot,
        *,
        previous: Snapshot | None,
        event: EventData | None,
        effects: tuple[Any, ...],
    ) -> None:
        """Commit one macrostep that consumed no inbox row (the plain ``ActorStore`` hook;
        the actor runtime uses :meth:`commit_steps`)."""
        (out,) = await self.commit_steps([(actor_id, snapshot, previous, None, effects)])
        if isinstance(out, BaseException):
            raise out

    async def commit_steps(
        self,
        steps: Sequence[tuple[Any, ...]],
    ) -> list[BaseException | tuple[int | None, ...]]:
        """Commit the macrosteps of many actors in one batch: ``(actor id, snapshot,
        previous, consumed inbox seq or None, effects)`` each, optionally followed by the
        event the step took and its ``MacrostepRecord`` (for the journal); the snapshot
        checked against ``previous``, the consumed row deleted, timer changes, and the events
        sent to other actors into their inboxes, each step in one transaction. Each outcome:
        the error, or the inbox seqs of the step's durable sends by effect index (None
        elsewhere)."""
        commits, where = self._plan(steps)
        return self._outcomes(steps, where, await self.commit_many(commits))

    def commit_steps_soon(
        self,
        steps: Sequence[tuple[Any, ...]],
        done: Callable[[list[BaseException | tuple[int | None, ...]]], None],
    ) -> bool:
        """:meth:`commit_steps` with no waiter, on a store that commits by callback (its
        ``commit_many_soon``): ``done(outcomes)`` is called on the event loop once the batch
        is written or has failed, and True is returned. False, with nothing done, on a store
        that cannot (the caller awaits :meth:`commit_steps` instead)."""
        soon = self.commit_many_soon
        if soon is None:
            return False
        commits, where = self._plan(steps)
        soon(commits, lambda results: done(self._outcomes(steps, where, results)))
        return True

    #: ``commit_many_soon(commits, done)``: :meth:`commit_many` with no waiter, ``done(results)``
    #: called on the event loop once they are written; a store that has it defines it
    commit_many_soon: (
        Callable[[Sequence[Commit], Callable[[list[CommitResult | PersistenceError]], None]], None]
        | None
    ) = None

    def _plan(
        self, steps: Sequence[tuple[Any, ...]]
    ) -> tuple[list[Commit], list[list[int] | None]]:
        """The commit of each step, and the effect index of each of its durable sends (None:
        the step sends nothing)."""
        commits: list[Commit] = []
        where: list[list[int] | None] = []
        journaling = self.journal.enabled
        runtime = self._runtime
        for step in steps:
            actor_id, snapshot, previous, seq, effects = step[:5]
            ds: list[Delivery] | None = None
            idx: list[int] | None = None
            if effects and runtime is not None:
                ds, idx = self._deliveries(runtime, actor_id, effects)
            journal = None
            if journaling:
                journal = journal_entry(
                    actor_id,
                    snapshot,
                    previous=previous,
                    event=step[5] if len(step) > 5 else None,
                    record=step[6] if len(step) > 6 else None,
                )
            commits.append(self._commit_for(actor_id, snapshot, previous, seq, ds, journal))
            where.append(idx)
        return commits, where

    @staticmethod
    def _outcomes(
        steps: Sequence[tuple[Any, ...]],
        where: list[list[int] | None],
        results: Sequence[CommitResult | PersistenceError],
    ) -> list[BaseException | tuple[int | None, ...]]:
        """Each step's outcome from its commit's result: the error, or the inbox seqs of its
        durable sends by effect index (``()`` when it sends nothing durably)."""
        out: list[BaseException | tuple[int | None, ...]] = []
        for step, idx, r in zip(steps, where, results, strict=True):
            if isinstance(r, BaseException):
                out.append(r)
            elif not idx:
                out.append(())  # no durable send: no seqs (the common case)
            else:
                seqs: list[int | None] = [None] * len(step[4])
                for i, dseq in zip(idx, r.deliveries, strict=True):
                    seqs[i] = dseq
                out.append(tuple(seqs))
        return out

    @staticmethod
    def _deliveries(
        runtime: Runtime, actor_id: str, effects: tuple[Any, ...]
    ) -> tuple[list[Delivery], list[int]]:
        """The durable deliveries of a step's sends, and the effect index of each."""
        deliveries: list[Delivery] = []
        idx: list[int] = []
        for i, e in enumerate(effects):
            if type(e) is SendEffect:
                r = runtime.resolve(actor_id, e.target, e.event)
                if r is not None:
                    deliveries.append(Delivery(r[0], r[1]))
                    idx.append(i)
        return deliveries, idx

    def _commit_for(
        self,
        actor_id: str,
        snapshot: Snapshot,
        previous: Snapshot | None,
        seq: int | None,
        deliveries: list[Delivery] | None,
        journal: JournalEntry | None,
    ) -> Commit:
        runtime = self._runtime
        replace = previous is None and runtime is not None and runtime.is_invoked(actor_id)
        commit = make_commit(
            actor_id,
            snapshot,
            previous=previous,
            consumed=() if seq is None else (seq,),
            deliveries=deliveries or (),
            replace=replace,
            journal=journal,
        )
        invoking = bool(snapshot.invocations)
        was_invoking = previous is not None and bool(previous.invocations)
        if invoking and not was_invoking:
            commit = msgspec.structs.replace(
                commit, timers=(*commit.timers, _invoking_marker(actor_id))
            )
        elif was_invoking and not invoking:
            commit = msgspec.structs.replace(
                commit, cancelled_timers=(*commit.cancelled_timers, INVOKING)
            )
        return commit

    async def load_actor(
        self,
        actor_id: str,
        charts: Mapping[str, Chart],
        *,
        versions: Mapping[str, Mapping[str, Chart]] | None = None,
        migrate: Migrate | None = None,
    ) -> tuple[Snapshot | None, Inbox]:
        """An actor to activate: its last committed snapshot (``None`` if never stored),
        with its invoked children's snapshots, and the pending inbox of each of them as
        ``(seq, event)`` (the commits consuming them name the seqs).

        ``charts``: the newest registered chart of each id; ``versions``: every registered
        version of each id (a stored actor runs on the version that stored it while it is
        registered); ``migrate(actor_id, snapshot)``: the snapshot moved forward to a newer
        registered version, ``None`` when there is no migration, or the reason it failed
        (the actor then stays on its version).

        A stored actor whose chart id is not registered, whose version is not registered
        (and not migrated) or whose snapshot does not fit its chart raises
        :class:`ChartMismatchError`; an undecodable row raises ``CorruptRecordError`` (it is
        quarantined).
        """
        loaded = await self.load(actor_id)
        inboxes: Inbox = {}
        record = loaded.record
        snap: Snapshot | None = None
        if record is not None:
            snap = record.snapshot
            failed: str | None = None
            if migrate is not None:
                moved = migrate(actor_id, snap)
                if isinstance(moved, Snapshot):
                    snap = moved
                elif isinstance(moved, str):
                    failed = moved
            chart = charts.get(snap.chart_id)
            same = (versions or {}).get(snap.chart_id, {}).get(snap.chart_version)
            if same is not None:
                chart = same
            if chart is None:
                raise ChartMismatchError(
                    actor_id,
                    f"its chart {snap.chart_id!r} (version {snap.chart_version!r}) is not"
                    " registered with the actor system",
                )
            if chart.version != snap.chart_version:
                raise ChartMismatchError(
                    actor_id,
                    f"it was stored by version {snap.chart_version!r} of chart"
                    f" {snap.chart_id!r}; the registered chart is version {chart.version!r}"
                    + (
                        f" and its migration failed: {failed}"
                        if failed
                        else " (register the old version too, or a migration to the new one)"
                    ),
                )
            try:
                chart.validate(snap)
            except SnapshotError as exc:
                raise ChartMismatchError(
                    actor_id,
                    f"its stored snapshot does not fit chart {chart.id!r} version"
                    f" {chart.version!r}, which must have changed without a new version:"
                    f" {exc}",
                ) from exc
            snap = await self._with_children(actor_id, snap, inboxes)
        inboxes[actor_id] = [(e.seq, e.event) for e in loaded.inbox]
        return snap, inboxes

    async def _with_children(self, actor_id: str, snap: Snapshot, inboxes: Inbox) -> Snapshot:
        runtime = self._runtime
        if not snap.invocations or runtime is None:
            return snap
        children: dict[str, Snapshot] = {}
        for rec in snap.invocations:
            cid = runtime.child_id(actor_id, rec.invokeid)
            try:
                child = await self.load(cid)
            except PersistenceError:
                continue  # the child starts afresh; its row stays quarantined
            if child.record is None:
                continue
            inboxes[cid] = [(e.seq, e.event) for e in child.inbox]
            children[rec.invokeid] = await self._with_children(cid, child.record.snapshot, inboxes)
        if not children:
            return snap
        return msgspec.structs.replace(snap, children=children)

    def forget(self, actor_id: str, *, delete: bool = False) -> None:
        """The runtime dropped ``actor_id`` from memory (passivated, stopped); ``delete``
        also deletes it from the store (an invocation ended)."""
        if delete:
            self.delete_soon(actor_id)
