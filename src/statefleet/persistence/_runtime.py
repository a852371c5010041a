"""The actor runtime's side of a store: ``commit_step`` and the durable-actor hooks.

The actor system (``statefleet.actors``) calls these with core types only; both stores get
them from :class:`RuntimeStore`, built on the :class:`Store` methods. What it keeps in memory
is the link between event *objects* the runtime holds in its mailboxes and their inbox seqs:
an event durably accepted (``accept_event``), delivered by another actor's commit, or loaded
with an actor is registered under its target; the commit of the macrostep that consumes it
names its seq, so the inbox row goes in the same transaction as the new snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from statefleet.persistence._types import (
    Commit,
    CommitResult,
    Delivery,
    LoadedActor,
    make_commit,
)

__all__ = ["Runtime", "RuntimeStore"]

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
    _registered: Inbox

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
        """Attach the actor runtime (``None`` detaches it and forgets every registration)."""
        self._runtime = runtime
        self._registered = {}

    def _regs(self) -> Inbox:
        try:
            return self._registered
        except AttributeError:
            self._registered = {}
            return self._registered

    def _register(self, actor_id: str, seq: int, event: EventData, *, loaded: bool = False) -> None:
        """Register ``event`` under ``seq``; a loaded copy replaces an earlier registration
        of the same seq (the runtime queues the loaded object)."""
        entries = self._regs().setdefault(actor_id, [])
        if not entries or entries[-1][0] < seq:
            entries.append((seq, event))
            return
        for i, (s, _) in enumerate(entries):
            if s == seq:
                if loaded:
                    entries[i] = (seq, event)
                return
        entries.append((seq, event))
        entries.sort(key=lambda e: e[0])

    def _consume(self, actor_id: str, event: EventData) -> int | None:
        """The seq of the registered event ``event`` is (the same object, else the first
        equal one), unregistered; ``None`` for an event that never went through the inbox."""
        entries = self._regs().get(actor_id)
        if not entries:
            return None
        for i, (s, ev) in enumerate(entries):
            if ev is event:
                seq = s
                del entries[i]
                break
        else:
            for i, (s, ev) in enumerate(entries):
                if ev == event:
                    seq = s
                    del entries[i]
                    break
            else:
                return None
        if not entries:
            del self._regs()[actor_id]
        return seq

    def registered(self, actor_id: str) -> list[EventData]:
        """The registered, unconsumed inbox events of ``actor_id``, in inbox order."""
        return [ev for _, ev in self._regs().get(actor_id, ())]

    def seq_of(self, actor_id: str, event: EventData) -> int | None:
        """The inbox seq registered for this event object, if any (nothing changes)."""
        for seq, ev in self._regs().get(actor_id, ()):
            if ev is event:
                return seq
        return None

    async def accept_event(self, actor_id: str, event: EventData) -> int:
        """Durably accept ``event`` into ``actor_id``'s inbox (the runtime queues it once
        this returns); its consuming macrostep's commit deletes it."""
        seq = await self.accept(actor_id, event)
        self._register(actor_id, seq, event)
        return seq

    async def commit_step(
        self,
        actor_id: str,
        snapshot: Snapshot,
        *,
        previous: Snapshot | None,
        event: EventData | None,
        effects: tuple[Any, ...],
    ) -> None:
        """Commit one macrostep (the actor runtime's store hook): the snapshot checked
        against ``previous``, the consumed inbox event, timer changes, and the events sent to
        other actors into their inboxes, in one transaction."""
        seq = self._consume(actor_id, event) if event is not None else None
        deliveries = self._deliveries(actor_id, effects)
        commit = self._commit_for(actor_id, snapshot, previous, seq, deliveries)
        try:
            result = await self.commit(commit)
        except BaseException:
            if seq is not None and event is not None:
                self._register(actor_id, seq, event)  # still in the inbox
            raise
        for d, dseq in zip(deliveries, result.deliveries, strict=True):
            self._register(d.target, dseq, d.event)

    async def commit_steps(
        self,
        steps: list[tuple[str, Snapshot, Snapshot | None, EventData | None, tuple[Any, ...]]],
    ) -> list[BaseException | None]:
        """:meth:`commit_step` for many actors in one batch: ``(actor id, snapshot,
        previous, event, effects)`` each; returns each outcome (``None``: committed)."""
        commits: list[Commit] = []
        taken: list[int | None] = []
        deliveries: list[list[Delivery]] = []
        for actor_id, snapshot, previous, event, effects in steps:
            seq = self._consume(actor_id, event) if event is not None else None
            ds = self._deliveries(actor_id, effects)
            commits.append(self._commit_for(actor_id, snapshot, previous, seq, ds))
            taken.append(seq)
            deliveries.append(ds)
        try:
            results = await self.commit_many(commits)
        except BaseException:
            for (actor_id, _, _, event, _), seq in zip(steps, taken, strict=True):
                if seq is not None and event is not None:
                    self._register(actor_id, seq, event)
            raise
        out: list[BaseException | None] = []
        for (actor_id, _, _, event, _), seq, ds, r in zip(
            steps, taken, deliveries, results, strict=True
        ):
            if isinstance(r, BaseException):
                if seq is not None and event is not None:
                    self._register(actor_id, seq, event)
                out.append(r)
                continue
            for d, dseq in zip(ds, r.deliveries, strict=True):
                self._register(d.target, dseq, d.event)
            out.append(None)
        return out

    def _deliveries(self, actor_id: str, effects: tuple[Any, ...]) -> list[Delivery]:
        deliveries: list[Delivery] = []
        runtime = self._runtime
        if effects and runtime is not None:
            for e in effects:
                if type(e) is SendEffect:
                    r = runtime.resolve(actor_id, e.target, e.event)
                    if r is not None:
                        deliveries.append(Delivery(r[0], r[1]))
        return deliveries

    def _commit_for(
        self,
        actor_id: str,
        snapshot: Snapshot,
        previous: Snapshot | None,
        seq: int | None,
        deliveries: list[Delivery],
    ) -> Commit:
        runtime = self._runtime
        replace = previous is None and runtime is not None and runtime.is_invoked(actor_id)
        return make_commit(
            actor_id,
            snapshot,
            previous=previous,
            consumed=() if seq is None else (seq,),
            deliveries=deliveries,
            replace=replace,
        )

    async def load_actor(
        self, actor_id: str, charts: Mapping[str, Chart]
    ) -> tuple[Snapshot | None, Inbox]:
        """An actor to activate: its last committed snapshot (``None`` if never stored),
        with its invoked children's snapshots, and the pending inbox of each of them (the
        events are registered: the commits consuming them delete them).

        A stored actor whose chart id is not in ``charts``, whose chart version differs
        or whose snapshot does not fit the chart raises :class:`ChartMismatchError`; an
        undecodable row raises ``CorruptRecordError`` (it is quarantined).
        """
        loaded = await self.load(actor_id)
        inboxes: Inbox = {}
        record = loaded.record
        snap: Snapshot | None = None
        if record is not None:
            snap = record.snapshot
            chart = charts.get(snap.chart_id)
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
                    " (register the old version, or migrate the stored snapshots)",
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
        for aid, entries in inboxes.items():
            for seq, ev in entries:
                self._register(aid, seq, ev, loaded=True)
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
        """The runtime dropped ``actor_id`` from memory (passivated, stopped): forget its
        registrations; ``delete`` also deletes it from the store (an invocation ended)."""
        self._regs().pop(actor_id, None)
        if delete:
            self.delete_soon(actor_id)
