"""A poison message goes to the dead letters and the actor carries on (issue 11 via 12);
memory (asyncio, trio), SQLite and PostgreSQL.

An event whose macrostep can never be committed (it puts a value into the context that no
snapshot encoding can hold, so every commit fails with a SnapshotError) is tried a bounded
number of times, then moved to the dead letters with its reason; the events behind it are
processed, and the store keeps nothing of the poisoned step.
"""

from __future__ import annotations

from typing import Any

import pytest

from statefleet.actors import ActorSystem
from statefleet.actors._supervisor import POISON_ATTEMPTS
from statefleet.core import (
    ActorEscalated,
    ChartSpec,
    DataSpec,
    EventData,
    StateSpec,
    TransitionSpec,
    VirtualClock,
    compile_chart,
)
from statefleet.persistence import Store

pytestmark = pytest.mark.anyio


def _inc(ctx: Any) -> None:
    ctx.context["n"] += 1


def _poison(ctx: Any) -> None:
    ctx.context["handle"] = object()  # no snapshot codec can hold it


CHART = compile_chart(
    ChartSpec(
        id="account",
        data=[DataSpec("n", 0)],
        states=[
            StateSpec(
                id="open",
                transitions=[
                    TransitionSpec(event=("inc",), actions=(_inc,), type="internal"),
                    TransitionSpec(event=("poison",), actions=(_poison,), type="internal"),
                ],
            )
        ],
    )
)


async def test_a_poison_message_goes_to_the_dead_letters_and_the_actor_carries_on(
    make_store: Any,
) -> None:
    escalations: list[ActorEscalated] = []

    def listener(record: Any) -> None:
        if isinstance(record, ActorEscalated):
            escalations.append(record)

    async with ActorSystem(clock=VirtualClock(), store=make_store()) as system:
        assert (await system.ref(CHART, "acct").ask("inc")).context["n"] == 1
    async with make_store() as s:  # the poison and an event behind it wait in the inbox
        await s.accept("acct", EventData("poison"))
        await s.accept("acct", EventData("inc"))
    store: Store = make_store()
    async with ActorSystem(
        clock=VirtualClock(), store=store, charts=[CHART], listeners=[listener]
    ) as system:
        ref = system.ref(CHART, "acct")
        live = await ref.activate()
        snap = await live.wait_for(lambda s: s.context["n"] == 2, timeout=600)
        assert "handle" not in snap.context
        await system.wait_idle()
        assert live.status == "active"
        assert (await ref.ask("inc")).context["n"] == 3
        (dead,) = await store.dead_letters("acct")
        assert dead.kind == "event"
        assert "poison message 'poison'" in dead.reason
        assert f"{POISON_ATTEMPTS} attempts" in dead.reason
        assert (await store.inbox("acct")) == []
        loaded = await store.load("acct")
        assert loaded.record is not None and loaded.record.snapshot.context == {"n": 3}
    assert any("poison message" in e.error for e in escalations)
