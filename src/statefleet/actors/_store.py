"""The hook a persistence layer plugs into: one commit per macrostep, before its effects run.

The runtime persists nothing itself. With ``ActorSystem(store=...)``, every macrostep of every
actor (its initial entry included) goes to ``store.commit_step`` *after* the engine computed it
and *before* any of its effects run: no message leaves, no timer is armed, no invocation
starts, no async action is awaited and no ``ask`` or ``wait_for`` resolves until the commit
returns. ``commit_step`` may suspend; a store group-commits by batching the calls that arrive
together from many actors (each caller awaits the shared flush). A ``commit_step`` that raises
is a crash of that actor: the supervisor restarts it from the last snapshot that *was*
committed.

The signature uses core types only, so ``statefleet.persistence`` (which must not import the
actors layer) implements it structurally.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from statefleet.core import EventData, Snapshot

__all__ = ["ActorStore"]


@runtime_checkable
class ActorStore(Protocol):
    """What the actor runtime needs from a store: make one macrostep durable."""

    async def commit_step(
        self,
        actor_id: str,
        snapshot: Snapshot,
        *,
        previous: Snapshot | None,
        event: EventData | None,
        effects: tuple[Any, ...],
    ) -> None:
        """Durably commit one macrostep of ``actor_id`` (one transaction), or raise.

        ``snapshot`` is the state after the step (``snapshot.version`` is one more than
        ``previous.version``), ``previous`` the last snapshot committed for this actor
        (``None`` for its first commit: the store creates it), ``event`` the event the step
        consumed (``None`` for the initial entry; the same object the sender queued),
        ``effects`` what the step asks for afterwards (``SendEffect``: the outbox,
        ``ScheduleEffect`` / ``CancelEffect``: timer changes, also visible as
        ``snapshot.pending``, ``InvokeEffect``, ``CancelInvokeEffect``, ``LogEffect``,
        ``AwaitEffect``). Called in order per actor; calls of different actors may overlap.
        """
        ...
