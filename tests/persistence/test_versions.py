"""Chart versions and migrations (issue 12, item 4): several versions of a chart are
registered side by side, stored actors stay on the version that stored them (drain) while
new entities start on the newest, and a registered migration (a function or a state map)
moves stored actors forward on load, checked against the new chart; a failing migration
leaves the actor on its version with a record, or fails its activation with a typed error
when its version is gone. Memory (asyncio, trio), SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from statefleet.actors import ActorSystem
from statefleet.core import (
    ActorError,
    ActorEscalated,
    ChartSpec,
    DataSpec,
    Snapshot,
    SnapshotError,
    StateSpec,
    TransitionSpec,
    compile_chart,
)
from statefleet.persistence import ChartMismatchError

pytestmark = pytest.mark.anyio


def _v1() -> Any:
    return compile_chart(
        ChartSpec(
            id="order",
            version="1",
            data=[DataSpec("amount", 0)],
            states=[
                StateSpec(
                    id="pending", transitions=[TransitionSpec(event=("pay",), target=("paid",))]
                ),
                StateSpec(id="paid", kind="final"),
            ],
        )
    )


def _v2() -> Any:
    """Version 2 renamed ``pending`` and added a review step before payment."""
    return compile_chart(
        ChartSpec(
            id="order",
            version="2",
            data=[DataSpec("amount", 0), DataSpec("currency", "EUR")],
            states=[
                StateSpec(
                    id="awaiting_payment",
                    transitions=[TransitionSpec(event=("pay",), target=("review",))],
                ),
                StateSpec(
                    id="review", transitions=[TransitionSpec(event=("ok",), target=("paid",))]
                ),
                StateSpec(id="paid", kind="final"),
            ],
        )
    )


V1, V2 = _v1(), _v2()


async def _store_v1_orders(make_store: Any, *ids: str) -> None:
    async with ActorSystem(store=make_store(), charts=[V1]) as system:
        for oid in ids:
            await system.ref(V1, oid).ask("pay" if oid.endswith("paid") else "nothing")


async def test_versions_side_by_side_drain_the_old_one(make_store: Any) -> None:
    await _store_v1_orders(make_store, "old")
    async with ActorSystem(store=make_store(), charts=[V1, V2]) as system:
        old = system.ref(V2, "old")  # stored by version 1: it stays on it
        snap = await old.ask("pay")
        assert (snap.chart_version, snap.configuration) == ("1", ("paid",))
        new = system.ref(V2, "new")  # a new entity starts on the newest version
        snap = await new.ask("pay")
        assert (snap.chart_version, snap.configuration) == ("2", ("review",))


async def test_a_state_map_migrates_stored_actors_on_load(make_store: Any) -> None:
    await _store_v1_orders(make_store, "a", "b")
    async with ActorSystem(store=make_store(), charts=[V2]) as system:
        system.register_migration("order", "1", "2", {"pending": "awaiting_payment"})
        snap = await system.ref(V2, "a").read()  # read: not migrated, not activated
        assert snap.chart_version == "1"
        live = await system.activate("a")
        assert live.snapshot().chart_version == "2"
        assert live.snapshot().configuration == ("awaiting_payment",)
        assert (await live.ask("pay")).configuration == ("review",)
    async with make_store() as store:  # committed on version 2 by its next step
        loaded = await store.load("a")
        assert loaded.record is not None and loaded.record.snapshot.chart_version == "2"
        untouched = await store.load("b")
        assert untouched.record is not None and untouched.record.snapshot.chart_version == "1"


async def test_a_migration_function_can_change_the_context(make_store: Any) -> None:
    await _store_v1_orders(make_store, "a")

    def to_v2(snap: Snapshot) -> Snapshot:
        return msgspec.structs.replace(
            snap,
            configuration=("awaiting_payment",),
            context={**snap.context, "currency": "USD"},
        )

    async with ActorSystem(store=make_store(), charts=[V2]) as system:
        system.register_migration("order", "1", "2", to_v2)
        live = await system.activate("a")
        assert live.snapshot().context == {"amount": 0, "currency": "USD"}


async def test_a_failing_migration_leaves_the_actor_on_its_version(make_store: Any) -> None:
    await _store_v1_orders(make_store, "a")
    records: list[Any] = []
    async with ActorSystem(
        store=make_store(), charts=[V1, V2], listeners=[records.append]
    ) as system:
        # "pending" renamed to a state v2 does not have: not a legal configuration
        system.register_migration("order", "1", "2", {"pending": "nowhere"})
        live = await system.activate("a")
        assert live.snapshot().chart_version == "1"  # still on version 1, which runs it
        (rec,) = [r for r in records if isinstance(r, ActorEscalated)]
        assert rec.actor == "a" and "from version '1' to '2' failed" in rec.error
    async with ActorSystem(store=make_store(), charts=[V2]) as system:
        system.register_migration("order", "1", "2", {"pending": "nowhere"})
        with pytest.raises(ChartMismatchError, match="its migration failed") as info:
            await system.activate("a")  # version 1 is gone: a typed error
        assert isinstance(info.value, SnapshotError)
    async with make_store() as store:
        loaded = await store.load("a")
        assert loaded.record is not None and loaded.record.snapshot.chart_version == "1"


async def test_bad_migrations_are_refused(make_store: Any) -> None:
    async with ActorSystem(store=make_store(), charts=[V2]) as system:
        with pytest.raises(ActorError, match="must change its version"):
            system.register_migration("order", "2", "2", {})
        with pytest.raises(ActorError, match="state map"):
            system.register_migration("order", "1", "2", 42)  # type: ignore[arg-type]
    async with ActorSystem() as system:
        with pytest.raises(ActorError, match="durable store"):
            system.register_migration("order", "1", "2", {})
