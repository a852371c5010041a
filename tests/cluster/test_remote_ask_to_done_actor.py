"""An ``ask`` from another node to an entity that has already ended is refused with
``ActorStoppedError`` as soon as its owner finds it (the event goes to the dead letters), as
a local ``ask`` is, instead of waiting out the node's ``ask_timeout``."""

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


async def test_an_ask_from_another_node_to_an_ended_entity_is_refused(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    def store(node: str) -> PostgresStore:
        return PostgresStore(
            pg_server.dsn, schema=pg_schema, node=node, shards=4, lease_time=1.0, ask_timeout=60
        )

    a_store, b_store = store("a"), store("b")
    async with ActorSystem(store=a_store, charts=[ONCE]) as a:
        assert a_store.cluster is not None
        with anyio.fail_after(20):
            while len(a_store.cluster.held) < 4:
                await anyio.sleep(0.02)
        await a.ref(ONCE, "x1").send("GO")
        await a.ref(ONCE, "x1").wait_for(lambda s: s.status == "done", timeout=10)
        async with ActorSystem(store=b_store, charts=[ONCE]) as b:
            with anyio.fail_after(20), pytest.raises(ActorStoppedError, match="done"):
                await b.ref(ONCE, "x1").ask("GO")  # well before its ask_timeout
            (dead,) = await a_store.dead_letters("x1")
            assert "which has ended" in dead.reason
            assert not await a_store.inbox("x1")
