"""Work for an actor whose shard moved to another node while the work was under way is left
to the new owner: nothing is dead-lettered and nothing takes the node down.

Found by ``make demo-cluster``: a node notified of an inbox event activates the actor; when
the shard has just been taken by another node, the store refuses the node's write
(``FencedError``, here the dead-lettering of the inbox of an actor not stored yet) and the
exception escaped the delivery task, crashing the whole node. Had the write not been fenced,
the events of an entity merely handed over would have gone to the dead letters as "no such
actor"."""

from __future__ import annotations

import anyio
import pytest

from statefleet.actors import ActorSystem
from statefleet.core import EventData, VirtualClock
from statefleet.persistence import PostgresStore, shard_of
from statefleet.persistence._pgserver import TempPostgres

from ._ledger import LEDGER, SHARDS

pytestmark = pytest.mark.anyio


async def test_a_delivery_for_a_shard_taken_meanwhile_is_left_to_the_new_owner(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    leases = VirtualClock(1000.0)  # lease time only: the nodes' rounds run on real time

    def store(node: str) -> PostgresStore:
        # a long lease: node a's next round (lease_time / 3) is far away; the test moves
        # the lease clock past it instead
        return PostgresStore(
            pg_server.dsn,
            schema=pg_schema,
            node=node,
            shards=SHARDS,
            lease_time=60.0,
            clock=leases.now,
        )

    ghost = "ghost-1"  # never stored: an event for it, with no chart, is a dead letter...
    shard = shard_of(ghost, SHARDS)
    a_store = store("a")
    async with ActorSystem(store=a_store, charts=[LEDGER]) as a:
        ca = a_store.cluster
        assert ca is not None
        with anyio.fail_after(20):
            while len(ca.held) < SHARDS:
                await anyio.sleep(0.02)
        # a paused past its lease: b takes the ghost's shard before a's next round
        leases.set(1061.0)
        async with store("b") as b_store:
            cb = b_store.cluster
            assert cb is not None
            assert shard in await cb.acquire([shard])
            assert shard in ca.held  # a has not noticed yet
            # ... unless its shard's owner is another node: that one decides
            await b_store.accept(ghost, EventData("add", data={"k": "x"}))
            # a is notified (it still listens to the shard), activates the ghost, finds
            # nothing stored, and its dead-lettering is fenced: a learns it lost the shard
            # (the round it starts renews, finds every lease expired, drops them all and
            # takes its share back: wait until it serves that share, not only until the
            # ghost's shard is gone, which is also true while it holds nothing)
            with anyio.fail_after(20):
                while shard in ca.held or not ca.scope or shard in ca.scope:
                    await anyio.sleep(0.02)
            assert [e.event.name for e in await b_store.inbox(ghost)] == ["add"]
            assert await b_store.dead_letters() == []
        # a is still up and serves its other shards
        other = next(f"e{i}" for i in range(1000) if shard_of(f"e{i}", SHARDS) in ca.scope)
        snap = await a.ref(LEDGER, other).ask("add", k="y")
        assert snap.context["keys"] == ["y"]
