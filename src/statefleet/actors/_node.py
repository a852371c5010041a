"""A cluster node: which shards this :class:`~statefleet.actors.ActorSystem` runs.

An actor system on a store that is a cluster node (``PostgresStore(dsn, node="web-1")``,
whose ``store.cluster`` is set) runs a :class:`Node` instead of recovering every actor of
the store. Every ``lease_time / 3`` the node:

1. renews the leases it holds (and heartbeats); shards it lost are dropped at once;
2. reads the members whose heartbeat is younger than ``lease_time`` and assigns every shard
   to one of them by rendezvous hashing (highest BLAKE2b of ``shard:node``): each node
   computes the same assignment from the same table, and a join or leave moves only the
   shards of that node;
3. releases the shards assigned to another node (after passivating their actors), and
   acquires the shards assigned to it that are free or expired (``Cluster.acquire``; a
   shard still leased by another node waits until it is released or expires);
4. recovers the shards it gained: the store's recovery reads are scoped to the shards held
   (``Cluster.scope``), so the runtime's recovery activates their actors with inbox events,
   due timers and running invocations, and nothing of another node's;
5. polls its shards' inboxes (the fallback to LISTEN/NOTIFY, which wakes it at once).

Fencing, not this loop, keeps one owner per actor: every commit checks the lease in its own
transaction (:mod:`statefleet.persistence._cluster`). Events for an entity of a shard this
node does not hold go to the entity's durable inbox; its owner is woken by the notification
(or its poll) and applies them. A clean stop releases every shard at once.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from statefleet.core import ActorError, Chart, EventData, Snapshot, StatefleetError

if TYPE_CHECKING:
    from statefleet.actors._durable import Durable

__all__ = ["Node", "assign", "rendezvous"]

log = logging.getLogger("statefleet.actors")

#: the header (beside the trace context of an inbox event) naming the chart of the entity an
#: event sent from another node is for
CHART_HEADER = "statefleet-chart"


def rendezvous(shard: int, nodes: list[str]) -> str:
    """The node (of ``nodes``, not empty) that should own ``shard``: the highest BLAKE2b
    hash of ``"shard:node"`` (rendezvous hashing, the same in every process)."""

    def score(node: str) -> bytes:
        key = f"{shard}:{node}".encode("utf-8", "surrogatepass")
        return hashlib.blake2b(key, digest_size=8).digest()

    return max(nodes, key=lambda n: (score(n), n))


def assign(shards: int, nodes: list[str], node: str) -> set[int]:
    """The shards (of ``0..shards-1``) that ``node`` owns when ``nodes`` are live."""
    live = sorted(set(nodes) | {node})
    return {s for s in range(shards) if rendezvous(s, live) == node}


class Node:
    """The node side of a durable actor system on a cluster store (see the module doc)."""

    def __init__(self, durable: Durable, cluster: Any) -> None:
        self.durable = durable
        self.cluster = cluster
        self.store: Any = durable.store
        #: the shards whose actors this node runs now
        self.serving: set[int] = set()
        self.period = cluster.lease_time / 3
        self._kick = anyio.Event()
        #: ids notified and not woken yet (the notification callback runs outside any task)
        self._notified_ids: set[str] = set()
        self._notify = anyio.Event()

    def __repr__(self) -> str:
        return f"<Node {self.cluster.node!r} serving {len(self.serving)} shards>"

    def owns(self, actor_id: str) -> bool:
        """Does this node run ``actor_id`` (it holds the lease of its shard)?"""
        return int(self.cluster.shard_of(actor_id)) in self.serving

    # -- the loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Join, then keep the leases and the assignment up to date until cancelled."""
        await self.cluster.join(f"statefleet node {self.cluster.node}")
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._waker)
            await self._rounds()

    async def _waker(self) -> None:
        """Wake the actors notified (in a task: the notification callback may not start
        tasks itself)."""
        while True:
            await self._notify.wait()
            self._notify = anyio.Event()
            ids, self._notified_ids = self._notified_ids, set()
            for aid in sorted(ids):
                self.wake(aid)

    async def _rounds(self) -> None:
        while True:
            try:
                await self.step()
            except StatefleetError:
                log.warning(
                    "statefleet node %s: cluster step failed", self.cluster.node, exc_info=True
                )
            with anyio.move_on_after(self.period):
                await self._kick.wait()
            self._kick = anyio.Event()

    async def step(self) -> None:
        """One round: renew, rebalance, recover what was gained, poll the inboxes."""
        c = self.cluster
        lost = await c.renew()
        if lost:
            log.warning("statefleet node %s: lost shards %s", c.node, sorted(lost))
            await self._drop(lost)
        members = await c.members()
        live = [m.node for m in members if m.heartbeat_age < c.lease_time]
        mine = assign(c.shards, live, c.node)
        give = set(c.held) - mine
        if give:
            await self._drop(give)
            await c.release(give)
        want = mine - set(c.held)
        if want:
            taken = await c.acquire(want)
            if taken:
                await self._gain(set(taken))
        await self.poll()

    async def _gain(self, shards: set[int]) -> None:
        # actors of these shards still in memory from an earlier ownership are stale (the
        # shard's other owners committed since): drop them, the recovery loads them again
        for a in list(self.durable.system.cells.values()):
            stale = a.parent is None and self.cluster.shard_of(a.id) in shards
            if stale and not self.durable.passivate(a):
                log.warning("statefleet node %s: stale actor %r is busy", self.cluster.node, a.id)
        self.serving |= shards
        self.cluster.scope = frozenset(self.serving)
        await self.store.listen_inbox(shards, self._notified)
        await self.durable.recover()

    async def _drop(self, shards: set[int]) -> None:
        self.serving -= shards
        self.cluster.scope = frozenset(self.serving)
        await self.store.unlisten_inbox(shards)
        cells = self.durable.system.cells
        for _ in range(20):
            left = [
                a
                for a in list(cells.values())
                if a.parent is None and self.cluster.shard_of(a.id) in shards
            ]
            left = [a for a in left if not self.durable.passivate(a)]
            if not left:
                return
            await anyio.sleep(self.period / 20)
        # still busy: their commits are refused from now on (fencing); they stay in memory
        log.warning(
            "statefleet node %s: %d busy actor(s) of shards handed over",
            self.cluster.node,
            len(left),
        )

    def _notified(self, shard: int, ids: tuple[str, ...] | None) -> None:
        if shard not in self.serving:
            return
        if ids is None:
            self._kick.set()  # look at the shard's inbox (the poll)
            return
        self._notified_ids.update(ids)
        self._notify.set()

    def wake(self, actor_id: str) -> None:
        """An inbox event for ``actor_id`` came from elsewhere: activate the actor (one in
        memory is passivated first and activated again, which reads its new inbox rows;
        a busy one is looked at again by the next poll)."""
        if not self.owns(actor_id):
            return
        a = self.durable.system.cells.get(actor_id.split("/", 1)[0])
        if a is not None and not self.durable.passivate(a):
            return  # busy: the next poll looks again
        self.durable.wake(actor_id.split("/", 1)[0])

    async def poll(self) -> None:
        """The fallback to notifications (and to a busy actor's missed wake-up): wake the
        actors of this node's shards with inbox events (one in memory and idle has events
        it has not read)."""
        if not self.serving:
            return
        for aid in await self.store.pending_actors(shards=self.serving):
            self.wake(aid)

    async def close(self) -> None:
        """A clean stop: hand every shard over at once and leave the members."""
        self.serving.clear()
        self.cluster.scope = frozenset()
        with anyio.CancelScope(shield=True):
            try:
                await self.cluster.leave()
            except StatefleetError:
                log.warning("statefleet node %s: leaving failed", self.cluster.node, exc_info=True)

    # -- entities owned elsewhere -----------------------------------------------------------------
    @staticmethod
    def tagged(chart: Chart, ev: EventData) -> EventData:
        """``ev`` naming ``chart`` (a header beside its trace context): whichever node
        applies it, after whatever crash, creates the entity on that chart if it does not
        exist yet."""
        if ev.trace is not None and ev.trace.get(CHART_HEADER) == chart.id:
            return ev
        return msgspec.structs.replace(ev, trace={**(ev.trace or {}), CHART_HEADER: chart.id})

    async def send_remote(self, actor_id: str, ev: EventData) -> int:
        """Put ``ev`` in the durable inbox of ``actor_id`` (owned by another node, or by
        none yet); its owner is notified when it commits. Returns the inbox seq."""
        seq: int = await self.store.accept(actor_id, ev)
        return seq

    async def chart_for(self, actor_id: str) -> Chart | None:
        """The chart an entity that does not exist yet is created on: the one named by the
        first event of its inbox sent from a node (``None``: no such event)."""
        for e in await self.store.inbox(actor_id):
            name = (e.event.trace or {}).get(CHART_HEADER)
            if name is not None:
                chart: Chart | None = self.durable.charts.newest.get(name)
                return chart
        return None

    async def ask_remote(self, actor_id: str, ev: EventData) -> Snapshot:
        """Send ``ev`` to ``actor_id`` owned elsewhere and return the entity's stored
        snapshot once the owner has consumed it (committed its macrostep)."""
        seq = await self.send_remote(actor_id, ev)
        delay = 0.002
        while True:
            pending = await self.store.inbox(actor_id)
            if all(e.seq != seq for e in pending):
                break
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.1)
        loaded = await self.store.load(actor_id)
        if loaded.record is None:
            raise ActorError(f"entity {actor_id!r} was not created by {ev.name!r}")
        snap: Snapshot = loaded.record.snapshot
        return snap
