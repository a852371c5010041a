"""Two node actor systems in one process on one PostgreSQL schema: shards are split between
them, an entity is run by its shard's owner only, sends and asks from either node reach it,
and a clean stop hands the shards over."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from statefleet.actors import ActorSystem
from statefleet.persistence import PostgresStore, shard_of
from statefleet.persistence._pgserver import TempPostgres

from ._ledger import LEDGER, SHARDS

pytestmark = pytest.mark.anyio


async def until(cond: Callable[[], Any], what: str, timeout: float = 20.0) -> None:
    """Wait (polling the condition, not a fixed time) until ``cond()`` is true."""
    with anyio.fail_after(timeout):
        while not await cond():
            await anyio.sleep(0.02)


def store(server: TempPostgres, schema: str, node: str | None) -> PostgresStore:
    return PostgresStore(server.dsn, schema=schema, node=node, shards=SHARDS, lease_time=1.5)


async def test_two_nodes_split_the_shards_and_serve_each_others_entities(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    a_store, b_store = store(pg_server, pg_schema, "a"), store(pg_server, pg_schema, "b")
    async with (
        ActorSystem(store=a_store, charts=[LEDGER]) as a,
        ActorSystem(store=b_store, charts=[LEDGER]) as b,
    ):
        assert a_store.cluster is not None and b_store.cluster is not None
        ca, cb = a_store.cluster, b_store.cluster

        async def split() -> bool:
            held_a, held_b = set(ca.held), set(cb.held)
            return bool(held_a) and bool(held_b) and held_a | held_b == set(range(SHARDS))

        await until(split, "both nodes hold shards")
        assert not set(ca.held) & set(cb.held)
        ids = [f"e{i}" for i in range(12)]
        for n, i in enumerate(ids):
            await (a if n % 2 else b).ref(LEDGER, i).send("add", k=f"k{n}")
        # asks from both nodes, whoever owns the entity
        for n, i in enumerate(ids):
            snap = await (b if n % 2 else a).ref(LEDGER, i).ask("add", k=f"q{n}")
            assert snap.context["keys"] == [f"k{n}", f"q{n}"], i
        # each entity is in memory on its owner only
        for i in ids:
            owner = a if shard_of(i, SHARDS) in ca.held else b
            other = b if owner is a else a
            assert owner.get(i) is not None and other.get(i) is None
    async with store(pg_server, pg_schema, None) as plain:
        assert await plain.pending_actors() == []
        assert {m.node for m in await plain.members()} == set()  # both left cleanly
        assert all(lease.owner is None for lease in await plain.leases())


async def test_a_clean_stop_hands_the_shards_over_at_once(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    a_store, b_store = store(pg_server, pg_schema, "a"), store(pg_server, pg_schema, "b")
    async with ActorSystem(store=b_store, charts=[LEDGER]) as b:
        async with ActorSystem(store=a_store, charts=[LEDGER]) as a:
            assert a_store.cluster is not None and b_store.cluster is not None
            ca, cb = a_store.cluster, b_store.cluster

            async def split() -> bool:
                return bool(ca.held) and len(ca.held) + len(cb.held) == SHARDS

            await until(split, "both nodes hold shards")
            mine = [i for i in (f"e{n}" for n in range(40)) if shard_of(i, SHARDS) in ca.held]
            await a.ref(LEDGER, mine[0]).send("arm")
            await b.ref(LEDGER, mine[1]).send("add", k="x")

        async def all_b() -> bool:
            return len(cb.held) == SHARDS

        await until(all_b, "b takes every shard")  # released, not waited out
        snap = await b.ref(LEDGER, mine[1]).ask("add", k="y")
        assert snap.context["keys"] == ["x", "y"]

        async def fired() -> bool:
            return (await b.ref(LEDGER, mine[0]).read()).context["fired"] == 1

        await until(fired, "the timer armed on a fires on b")


def test_the_owner_is_woken_by_the_notification_not_the_poll(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    # under plain asyncio.run (as 'statefleet node' runs), not a test runner's loop
    asyncio.run(_woken_by_notification(pg_server, pg_schema))


async def _woken_by_notification(pg_server: TempPostgres, pg_schema: str) -> None:
    # leases of 60 s: a node polls its inboxes every 20 s, far longer than this test waits
    slow = {"shards": SHARDS, "lease_time": 60.0}
    b_store = PostgresStore(pg_server.dsn, schema=pg_schema, node="b", **slow)  # type: ignore[arg-type]
    a_store = PostgresStore(pg_server.dsn, schema=pg_schema, node="a", **slow)  # type: ignore[arg-type]
    async with ActorSystem(store=b_store, charts=[LEDGER]) as b:
        assert b_store.cluster is not None
        cb = b_store.cluster

        async def all_b() -> bool:
            return len(cb.held) == SHARDS

        await until(all_b, "b holds every shard")
        async with ActorSystem(store=a_store, charts=[LEDGER]) as a:
            assert a_store.cluster is not None
            assert not a_store.cluster.held  # b's leases are not expired: a waits
            with anyio.fail_after(10):
                await a.ref(LEDGER, "n1").send("add", k="one")  # created on b
                snap = await a.ref(LEDGER, "n1").ask("add", k="two")
                assert snap.context["keys"] == ["one", "two"]
                snap = await a.ref(LEDGER, "n1").ask("add", k="three")  # b has it in memory
            assert snap.context["keys"] == ["one", "two", "three"]
            assert b.get("n1") is not None and a.get("n1") is None
