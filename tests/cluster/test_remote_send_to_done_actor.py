"""An event sent from another node to an entity that has already ended (a final state) is
acknowledged (it is durably in the inbox) but can never be taken: the owner must turn it
into a dead letter, as a local send to that entity is refused (``ActorStoppedError``).

Found by ``make demo-cluster`` (a client that sends an order's ``PLACE`` again after a
crash, not knowing the first was taken): the row used to stay in the inbox for good, neither
applied nor dead-lettered, and every node start reported the entity as pending again."""

from __future__ import annotations

import anyio
import pytest

from statefleet import from_dict
from statefleet.actors import ActorSystem
from statefleet.core import ActorStoppedError
from statefleet.persistence import PostgresStore
from statefleet.persistence._pgserver import TempPostgres

pytestmark = pytest.mark.anyio

ONCE = from_dict(
    {
        "id": "once",
        "initial": "open",
        "states": {"open": {"on": {"GO": "over"}}, "over": {"type": "final"}},
    }
)


async def test_an_event_for_an_ended_entity_sent_from_another_node_is_dead_lettered(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    def store(node: str) -> PostgresStore:
        return PostgresStore(pg_server.dsn, schema=pg_schema, node=node, shards=4, lease_time=1.0)

    a_store, b_store = store("a"), store("b")
    async with ActorSystem(store=a_store, charts=[ONCE]) as a:
        assert a_store.cluster is not None
        ca = a_store.cluster
        with anyio.fail_after(20):
            while len(ca.held) < 4:
                await anyio.sleep(0.02)
        await a.ref(ONCE, "x1").send("GO")
        await a.ref(ONCE, "x1").wait_for(lambda s: s.status == "done", timeout=10)
        with pytest.raises(ActorStoppedError):  # on its owner, a send is refused
            await a.ref(ONCE, "x1").send("GO")
        async with ActorSystem(store=b_store, charts=[ONCE]) as b:
            await b.ref(ONCE, "x1").send("GO")  # acknowledged: durably in the inbox

            async def settled() -> bool:
                return not await a_store.pending_actors(shards=range(4)) and bool(
                    await a_store.dead_letters("x1")
                )

            with anyio.fail_after(6):  # a few rounds of the owner's inbox poll
                while not await settled():
                    await anyio.sleep(0.05)
