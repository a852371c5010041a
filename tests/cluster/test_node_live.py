"""A node's live actors and other nodes: events written by another node reach a busy actor
in memory at once (no passivation), a shard handed over stops its busy actors at once, and a
cross-node ask gets the applying node's reply through its reply channel (typed timeout)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from statefleet.actors import ActorCrashedError, ActorSystem, AskTimeoutError
from statefleet.actors._node import rendezvous
from statefleet.core import (
    ActorError,
    ChartSpec,
    DataSpec,
    InvokeSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
)
from statefleet.persistence import PostgresStore, shard_of
from statefleet.persistence._pgserver import TempPostgres

pytestmark = pytest.mark.anyio

SHARDS = 8

#: runs of the long service, by entity: how many started, how many were cancelled
STARTED: Counter[str] = Counter()
CANCELLED: Counter[str] = Counter()


async def _watch(inv: Any) -> None:
    """A service that runs until it is cancelled (a long poll, a subscription)."""
    STARTED[inv.parent] += 1
    try:
        await anyio.sleep_forever()
    except anyio.get_cancelled_exc_class():
        CANCELLED[inv.parent] += 1
        raise


def _add(ctx: Any) -> None:
    ctx.context["keys"] = [*ctx.context["keys"], ctx.event.data["k"]]


#: entities whose slow async action started (it then waits until cancelled)
SLOW: list[str] = []


async def _slow(ctx: Any) -> None:
    SLOW.append(ctx.session_id)
    await anyio.sleep_forever()


WORKER = compile_chart(
    ChartSpec(
        id="worker",
        version="1",
        data=[DataSpec("keys", []), DataSpec("blob", "")],
        states=[
            StateSpec(
                id="watching",
                invokes=[InvokeSpec(id="watch", src=_watch)],
                transitions=[
                    TransitionSpec(event=("add",), actions=(_add,), type="internal"),
                    TransitionSpec(event=("slow",), actions=(_add, _slow), type="internal"),
                    TransitionSpec(
                        event=("poison",),  # a state no snapshot can hold: its step crashes
                        actions=(lambda c: c.context.update(blob=object()),),
                        type="internal",
                    ),
                    TransitionSpec(
                        event=("grow",),
                        actions=(lambda c: c.context.update(blob=c.event.data["blob"]),),
                        type="internal",
                    ),
                ],
            ),
        ],
    )
)


async def until(cond: Callable[[], Any], timeout: float = 20.0) -> None:
    """Wait (polling the condition, not a fixed time) until ``cond()`` is true."""
    with anyio.fail_after(timeout):
        while not cond():
            await anyio.sleep(0.01)


def store(server: TempPostgres, schema: str, node: str, lease: float, **kw: Any) -> PostgresStore:
    return PostgresStore(
        server.dsn, schema=schema, node=node, shards=SHARDS, lease_time=lease, **kw
    )


async def test_a_busy_actor_gets_events_from_another_node_live_and_exactly_once(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    # leases of 60 s: a holds every shard for the whole test (b cannot take any, and the
    # nodes poll their inboxes only every 20 s: events arrive by notification)
    a_store, b_store = store(pg_server, pg_schema, "a", 60), store(pg_server, pg_schema, "b", 60)
    async with ActorSystem(store=a_store, charts=[WORKER]) as a:
        assert a_store.cluster is not None
        ca = a_store.cluster
        await until(lambda: len(ca.held) == SHARDS)
        await a.ref(WORKER, "w1").send("add", k="a0")
        await until(lambda: STARTED["w1"] == 1)
        live = a.get("w1")
        assert live is not None
        async with ActorSystem(store=b_store, charts=[WORKER]) as b:
            assert b_store.cluster is not None and not b_store.cluster.held
            # b's events (acknowledged once in the inbox) and a's own, interleaved
            async with anyio.create_task_group() as tg:

                async def from_b() -> None:
                    for n in range(1, 21):
                        await b.ref(WORKER, "w1").send("add", k=f"b{n}")

                async def from_a() -> None:
                    for n in range(1, 21):
                        await a.ref(WORKER, "w1").send("add", k=f"a{n}")

                tg.start_soon(from_b)
                tg.start_soon(from_a)
            await until(lambda: len(live.context["keys"]) >= 41, timeout=10)
            keys = live.context["keys"]
            assert sorted(keys) == sorted(
                {*(f"a{n}" for n in range(21)), *(f"b{n}" for n in range(1, 21))}
            )
            assert [k for k in keys if k[0] == "b"] == [f"b{n}" for n in range(1, 21)]  # in order
            # the same actor all along: never passivated, its invocation still running
            assert a.get("w1") is live
            assert (STARTED["w1"], CANCELLED["w1"]) == (1, 0)
            # an ask from b gets the owner's reply: the snapshot after its own step
            with anyio.fail_after(10):
                snap = await b.ref(WORKER, "w1").ask("add", k="q")
            assert snap.context["keys"] == [*keys, "q"]
            with anyio.fail_after(10):
                reply = await b.ref(WORKER, "w1").try_ask("nothing")  # no transition takes it
            assert not reply.handled and reply.snapshot.context["keys"] == [*keys, "q"]
            assert b.get("w1") is None and a.get("w1") is live
            # waiting on it from b is refused (it runs on its owner only), nothing runs on b
            with pytest.raises(ActorError, match="does not hold"):
                await b.ref(WORKER, "w1").wait_for("watching")
            assert b.get("w1") is None
            assert (STARTED["w1"], CANCELLED["w1"]) == (1, 0)
    async with PostgresStore(pg_server.dsn, schema=pg_schema, shards=SHARDS) as plain:
        assert await plain.pending_actors() == []
        loaded = await plain.load("w1")
        assert loaded.record is not None
        assert len(loaded.record.snapshot.context["keys"]) == 42  # each applied once


def goes_to_b(prefix: str) -> str:
    """An entity whose shard node ``b`` takes over from ``a`` once it joins."""
    ids = (f"{prefix}{n}" for n in range(100))
    return next(i for i in ids if rendezvous(shard_of(i, SHARDS), ["a", "b"]) == "b")


async def holds_all_then_adds(a: ActorSystem, a_store: PostgresStore, eid: str) -> None:
    """Wait until ``a`` (alone) holds every shard, then create ``eid`` there."""
    assert a_store.cluster is not None
    ca = a_store.cluster
    await until(lambda: len(ca.held) == SHARDS)
    await a.ref(WORKER, eid).send("add", k="1")


async def test_a_shard_handed_over_stops_its_busy_actors_at_once(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    a_store, b_store = store(pg_server, pg_schema, "a", 1.5), store(pg_server, pg_schema, "b", 1.5)
    eid = goes_to_b("h")
    async with ActorSystem(store=a_store, charts=[WORKER]) as a:
        await holds_all_then_adds(a, a_store, eid)
        await until(lambda: STARTED[eid] == 1)  # busy: its invocation runs
        async with ActorSystem(store=b_store, charts=[WORKER]) as b:
            assert b_store.cluster is not None
            cb = b_store.cluster
            shard = shard_of(eid, SHARDS)
            await until(lambda: shard in cb.held)
            # a dropped it at once, cancelling its invocation; b recovered it and runs it
            assert a.get(eid) is None
            assert CANCELLED[eid] == 1
            await until(lambda: b.get(eid) is not None and STARTED[eid] == 2)
            with anyio.fail_after(10):
                snap = await a.ref(WORKER, eid).ask("add", k="2")  # from a, applied on b
            assert snap.context["keys"] == ["1", "2"]
            assert a.get(eid) is None and CANCELLED[eid] == 1


async def test_an_ask_whose_actor_is_handed_over_after_its_commit_is_answered(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    a_store = store(pg_server, pg_schema, "a", 1.5)
    b_store = store(pg_server, pg_schema, "b", 1.5, ask_timeout=8)
    eid = goes_to_b("s")
    async with ActorSystem(store=a_store, charts=[WORKER]) as a:
        await holds_all_then_adds(a, a_store, eid)
        async with ActorSystem(store=b_store, charts=[WORKER]) as b:
            # b asks before it holds the shard: a applies the step, commits it, and awaits its
            # async action, until the shard goes to b and a drops the actor
            with anyio.fail_after(20):
                snap = await b.ref(WORKER, eid).ask("slow", k="2")
            assert [eid] == SLOW
            assert snap.context["keys"] == ["1", "2"]  # the step's committed snapshot
            assert a.get(eid) is None


async def test_a_large_reply_crosses_nodes_and_a_missing_owner_times_out_typed(
    pg_server: TempPostgres, pg_schema: str
) -> None:
    a_store = store(pg_server, pg_schema, "a", 60)
    b_store = store(pg_server, pg_schema, "b", 60, ask_timeout=0.5)
    async with ActorSystem(store=a_store, charts=[WORKER]):
        assert a_store.cluster is not None
        ca = a_store.cluster
        await until(lambda: len(ca.held) == SHARDS)
        async with ActorSystem(store=b_store, charts=[WORKER]) as b:
            blob = "x" * 30_000  # the reply is several notifications' worth
            with anyio.fail_after(10):
                snap = await b.ref(WORKER, "big").ask("grow", blob=blob)
            assert snap.context["blob"] == blob
            # the owner's actor crashes on the event: the asker gets the crash, typed
            with anyio.fail_after(10), pytest.raises(ActorCrashedError, match="poison"):
                await b.ref(WORKER, "big").ask("poison")
    # a shard held by a node that runs no actors: the ask times out, the event stays
    async with (
        store(pg_server, pg_schema, "ghost", 60) as ghost,
        ActorSystem(
            store=store(pg_server, pg_schema, "c", 60, ask_timeout=0.3), charts=[WORKER]
        ) as c,
    ):
        assert ghost.cluster is not None
        await ghost.cluster.acquire(range(SHARDS))
        with pytest.raises(AskTimeoutError, match="no reply from its owner"):
            await c.ref(WORKER, "lonely").ask("add", k="late")
        assert [e.event.name for e in await ghost.inbox("lonely")] == ["add"]
