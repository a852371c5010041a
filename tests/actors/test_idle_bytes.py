"""An idle actor stays small (issue 16: "idle actor bytes").

An actor that was spawned and took its initial step but was never sent an event holds its
cell (six slots), its ref, its engine (ten slots, sharing the runtime's side object of
rarely written fields), its datamodel and its id; no clock reading, no task, no mailbox.
Measured with tracemalloc over many spawns (bytes the program asked for, so the same on
every run); 746 bytes per counter actor before the engine and the cell were slimmed.
Writing a rare field (a timer) still works for the actor that does it.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest

from statefleet import VirtualClock
from statefleet.actors import ActorSystem
from tests.actors._charts import S, T, chart

pytestmark = pytest.mark.anyio

N = 2_000


def inc(ctx: Any) -> None:
    ctx.context["n"] += 1


def later(ctx: Any) -> None:
    ctx.send("inc", delay=5.0)


COUNTER = chart(S("s", on=[T("inc", actions=(inc,)), T("later", actions=(later,))]), data={"n": 0})


async def test_an_idle_counter_actor_costs_under_600_bytes() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        system.spawn(COUNTER)  # first-use allocations are not per actor
        await system.wait_idle()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            refs = [system.spawn(COUNTER) for _ in range(N)]
            await system.wait_idle()
            gc.collect()
            per = (tracemalloc.get_traced_memory()[0] - before) / N
        finally:
            tracemalloc.stop()
        # cell 80, engine 112, datamodel 184, id ~60, ref 48, registry and list ~30
        assert per < 600, f"{per:.0f} bytes per idle actor"
        # the actors work: a timer (a rarely written field) for one, a count for another
        await refs[0].send("later")
        await refs[1].send("inc")
        await system.sleep(10)  # virtual time: the timer fires
        await system.wait_idle()
        assert refs[0].snapshot().context == {"n": 1}
        assert refs[1].snapshot().context == {"n": 1}
        assert refs[2].snapshot().context == {"n": 0}
