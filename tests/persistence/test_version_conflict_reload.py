"""A durable actor whose stored snapshot moved on (someone else committed it: a second
actor system on the same database, or a program through ``store.commit``) is loaded again
from the store, which is the truth, instead of crash-looping on its stale state (issue 12);
memory (asyncio, trio), SQLite and PostgreSQL.

Its next commit is refused with ``VersionConflictError``; the event is then applied on the
stored snapshot (its ``ask`` or ``send`` answered as usual), which does not count as a crash
toward the restart limit."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from statefleet.actors import ActorSystem, Supervision
from statefleet.core import (
    ActorEscalated,
    ActorRestarted,
    ActorStoppedError,
    Chart,
    ChartSpec,
    DataSpec,
    InvokeSpec,
    Snapshot,
    StateSpec,
    TransitionSpec,
    VirtualClock,
    compile_chart,
)
from statefleet.persistence import Store, make_commit

pytestmark = pytest.mark.anyio


def account(version: str, step: int) -> Chart:
    """``inc`` adds ``step`` to ``n``; ``close`` ends it."""

    def inc(ctx: Any) -> None:
        ctx.context["n"] += step

    return compile_chart(
        ChartSpec(
            id="account",
            version=version,
            data=[DataSpec("n", 0)],
            states=[
                StateSpec(
                    id="open",
                    transitions=[
                        TransitionSpec(event=("inc",), actions=(inc,), type="internal"),
                        TransitionSpec(event=("close",), target=("closed",)),
                    ],
                ),
                StateSpec(id="closed", kind="final"),
            ],
        )
    )


V1 = account("1", 1)

V2 = account("2", 100)


def _inc(ctx: Any) -> None:
    ctx.context["n"] += 1


async def write_behind_its_back(store: Store, actor_id: str, **changes: Any) -> Snapshot:
    """Commit a newer snapshot of ``actor_id`` through the store, as another writer would."""
    loaded = await store.load(actor_id)
    assert loaded.record is not None
    old = loaded.record.snapshot
    new = msgspec.structs.replace(old, version=old.version + 1, **changes)
    await store.commit(make_commit(actor_id, new, previous=old))
    return new


def recorder() -> tuple[list[Any], Any]:
    seen: list[Any] = []

    def listener(record: Any) -> None:
        if isinstance(record, ActorRestarted | ActorEscalated):
            seen.append(record)

    return seen, listener


async def test_an_actor_committed_elsewhere_is_loaded_again_and_applies_the_event_there(
    make_store: Any,
) -> None:
    store: Store = make_store()
    seen, listener = recorder()
    # one crash would be the limit: loading again is not a crash
    sup = Supervision(max_restarts=1, period=1e9)
    async with ActorSystem(
        clock=VirtualClock(), store=store, charts=[V1], supervision=sup, listeners=[listener]
    ) as system:
        ref = system.ref(V1, "acct")
        assert (await ref.ask("inc")).context["n"] == 1
        for n in (10, 20, 30):
            await write_behind_its_back(store, "acct", context={"n": n})
            snap = await ref.ask("inc")  # applied on the stored snapshot, not on its own
            assert snap.context["n"] == n + 1
        await write_behind_its_back(store, "acct", context={"n": 40})
        await ref.send("inc")  # a durable send is applied there as well
        assert (await ref.ask("inc")).context["n"] == 42
        live = await ref.activate()
        assert live.status == "active"
        loaded = await store.load("acct")
        assert loaded.record is not None and loaded.record.snapshot.context == {"n": 42}
        assert loaded.record.snapshot.version == live.snapshot().version
        assert (await store.dead_letters("acct")) == []
    assert not [r for r in seen if isinstance(r, ActorEscalated)]
    assert all(r.attempt == 0 for r in seen)  # loaded again: no crash counted


async def test_an_actor_ended_elsewhere_refuses_the_event_as_an_ended_actor_does(
    make_store: Any,
) -> None:
    store: Store = make_store()
    async with ActorSystem(clock=VirtualClock(), store=store, charts=[V1]) as system:
        ref = system.ref(V1, "acct")
        assert (await ref.ask("inc")).context["n"] == 1
        await write_behind_its_back(
            store, "acct", configuration=("closed",), status="done", context={"n": 5}
        )
        with pytest.raises(ActorStoppedError):
            await ref.ask("inc")
        assert (await ref.read()).status == "done"
        with pytest.raises(ActorStoppedError):  # as any later send
            await ref.send("inc")
        loaded = await store.load("acct")
        assert loaded.record is not None and loaded.record.snapshot.context == {"n": 5}


async def test_an_actor_moved_to_another_version_elsewhere_runs_on_that_version(
    make_store: Any,
) -> None:
    store: Store = make_store()
    async with ActorSystem(clock=VirtualClock(), store=store, charts=[V2, V1]) as system:
        ref = system.ref(V1, "acct")
        first = await ref.ask("inc")
        assert (first.chart_version, first.context["n"]) == ("1", 1)
        # e.g. ``statefleet migrate`` moved it to version 2 while it ran
        await write_behind_its_back(store, "acct", chart_version="2")
        snap = await ref.ask("inc")
        assert (snap.chart_version, snap.context["n"]) == ("2", 101)


# two writers on one database: a shared MemoryStore and PostgreSQL (SQLite has one writer)
@pytest.mark.parametrize(
    "kind",
    [("memory", "asyncio"), ("memory", "trio"), ("postgres", "asyncio")],
    ids=["memory-asyncio", "memory-trio", "postgres-asyncio"],
)
async def test_two_systems_on_one_database_take_turns_on_one_actor(
    make_store: Any, kind: tuple[str, str]
) -> None:
    one_store, two_store = make_store(), make_store()  # plain stores, not cluster nodes
    async with (
        ActorSystem(clock=VirtualClock(), store=one_store, charts=[V1]) as one,
        ActorSystem(clock=VirtualClock(), store=two_store, charts=[V1]) as two,
    ):
        refs = [one.ref(V1, "acct"), two.ref(V1, "acct")]
        for n in range(1, 7):  # each sees the other's steps: none is lost, none crashes
            assert (await refs[n % 2].ask("inc")).context["n"] == n
        for r in refs:
            assert (await r.activate()).status == "active"
        loaded = await one_store.load("acct")
        assert loaded.record is not None and loaded.record.snapshot.context == {"n": 6}


def _tick(ctx: Any) -> None:
    ctx.context["t"] += 1


METER = compile_chart(
    ChartSpec(
        id="meter",
        data=[DataSpec("t", 0)],
        states=[
            StateSpec(
                id="on",
                transitions=[TransitionSpec(event=("tick",), actions=(_tick,), type="internal")],
            )
        ],
    )
)
METERED = compile_chart(
    ChartSpec(
        id="metered",
        data=[DataSpec("n", 0)],
        states=[
            StateSpec(
                id="open",
                invokes=[InvokeSpec(id="meter", src=METER)],
                transitions=[
                    TransitionSpec(event=("inc",), actions=(_inc,), type="internal"),
                ],
            )
        ],
    )
)


async def test_an_invoked_child_keeps_its_stored_state_when_its_parent_is_loaded_again(
    make_store: Any,
) -> None:
    store: Store = make_store()
    async with ActorSystem(clock=VirtualClock(), store=store, charts=[METERED]) as system:
        ref = system.ref(METERED, "acct")
        await ref.ask("inc")
        child = system.get("acct/meter")
        assert child is not None
        assert (await child.ask("tick")).context["t"] == 1
        await write_behind_its_back(store, "acct", context={"n": 10})
        snap = await ref.ask("inc")
        assert snap.context["n"] == 11
        assert snap.children["meter"].context["t"] == 1  # not started again from scratch
        child = system.get("acct/meter")
        assert child is not None and (await child.ask("tick")).context["t"] == 2


async def test_an_actor_loaded_again_is_migrated_as_on_activation(make_store: Any) -> None:
    store: Store = make_store()
    async with ActorSystem(clock=VirtualClock(), store=store, charts=[V2, V1]) as system:
        ref = system.ref(V1, "acct")
        assert (await ref.ask("inc")).chart_version == "1"
        # a deploy registers a migration while the actor runs on version 1
        system.register_migration("account", "1", "2", {})
        await write_behind_its_back(store, "acct", context={"n": 10})  # still version 1
        snap = await ref.ask("inc")
        assert (snap.chart_version, snap.context["n"]) == ("2", 110)
