"""Events durably in the inbox of a stored actor that has ended (a final state) can never be
applied: its activation, on recovery or for a delivery, moves them to the dead letters with
the reason, once, as a send to it is refused (``ActorStoppedError``); memory (asyncio,
trio), SQLite and PostgreSQL. (Found by ``make demo-cluster``: such a row stayed in the
inbox for good, and every start reported the actor as pending again.)"""

from __future__ import annotations

from typing import Any

import pytest

from statefleet.actors import ActorSystem
from statefleet.core import (
    ActorEscalated,
    ActorStoppedError,
    ChartSpec,
    EventData,
    StateSpec,
    TransitionSpec,
    VirtualClock,
    compile_chart,
)
from statefleet.persistence import Store

pytestmark = pytest.mark.anyio

ONCE = compile_chart(
    ChartSpec(
        id="once",
        states=[
            StateSpec(id="open", transitions=[TransitionSpec(event=("GO",), target=("over",))]),
            StateSpec(id="over", kind="final"),
        ],
    )
)


async def test_the_inbox_of_an_ended_actor_goes_to_the_dead_letters_once(
    make_store: Any,
) -> None:
    async with ActorSystem(clock=VirtualClock(), store=make_store(), charts=[ONCE]) as system:
        ref = system.ref(ONCE, "x1")
        await ref.send("GO")
        assert (await ref.read()).status == "done"
        with pytest.raises(ActorStoppedError):
            await ref.send("GO")
    async with make_store() as s:  # e.g. sent again by a client that was not sure
        await s.accept("x1", EventData("GO"))
        await s.accept("x1", EventData("GO", {"again": True}))
    escalated: list[ActorEscalated] = []

    def listener(record: Any) -> None:
        if isinstance(record, ActorEscalated):
            escalated.append(record)

    store: Store = make_store()
    async with ActorSystem(
        clock=VirtualClock(), store=store, charts=[ONCE], listeners=[listener]
    ) as system:
        await system.wait_idle()
        dead = await store.dead_letters("x1")
        assert [d.kind for d in dead] == ["event", "event"]
        assert all("'GO' to actor 'x1', which has ended" in d.reason for d in dead)
        assert (await store.inbox("x1")) == []
        assert "x1" not in await store.pending_actors()
        loaded = await store.load("x1")
        assert loaded.record is not None and loaded.record.snapshot.status == "done"
    assert len(escalated) == 2
    async with ActorSystem(clock=VirtualClock(), store=make_store(), charts=[ONCE]) as system:
        await system.wait_idle()  # nothing pending any more: nothing moved twice
    async with make_store() as s:
        assert len(await s.dead_letters("x1")) == 2
