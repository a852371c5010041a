"""Seed 004's machines (built with ``statefleet.hsm``) running as actors.

Under the actor runtime, behaviours receive a fresh ``hsm.Context`` and the actor's datamodel
as ``instance`` (``self.value += 1`` updates ``context["value"]``); ``async def`` behaviours are
awaited by the actor after their macrostep, activities run as invocations cancelled on exit,
and ``after``/``every`` timers run on the system clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import pytest

from statefleet import VirtualClock, hsm
from statefleet.actors import ActorSystem

pytestmark = pytest.mark.anyio


class Counter(hsm.Instance):
    def __init__(self) -> None:
        super().__init__()
        self.value = 0

    @staticmethod
    async def increment(ctx: Any, self: Any, event: Any) -> None:
        self.value += 1

    model = hsm.define(
        "Counter",
        hsm.initial(hsm.target("counting")),
        hsm.state(
            "counting",
            hsm.transition(hsm.on("inc"), hsm.target("."), hsm.effect(increment)),
        ),
    )


async def test_the_counter_as_actors() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        counters = [system.spawn(Counter.model, context={"value": 0}) for _ in range(10)]
        for i, c in enumerate(counters):
            for _ in range(i + 1):
                c.send_nowait("inc")
        await system.wait_idle()
        assert [c.context["value"] for c in counters] == list(range(1, 11))
        snap = await counters[0].ask("inc")
        assert snap.context["value"] == 2
        assert snap.configuration == ("/Counter", "/Counter/counting")


class TimedLight(hsm.Instance):
    @staticmethod
    async def change_to_green(ctx: Any, self: Any, event: Any) -> None:
        self.cycles += 1

    @staticmethod
    async def green_time(ctx: Any, self: Any, event: Any) -> timedelta:
        return timedelta(seconds=2)

    @staticmethod
    def tick(ctx: Any, self: Any, event: Any) -> None:
        self.seconds += 1

    model = hsm.define(
        "TrafficLight",
        hsm.initial(hsm.target("red")),
        hsm.state("red", hsm.transition(hsm.after(3), hsm.target("../green"))),
        hsm.state(
            "green",
            hsm.entry(change_to_green),
            hsm.transition(hsm.after(green_time), hsm.target("../yellow")),
        ),
        hsm.state(
            "yellow",
            hsm.transition(hsm.after(timedelta(seconds=1)), hsm.target("../red")),
        ),
        hsm.transition(hsm.every(1), hsm.effect(tick)),
    )


async def test_the_traffic_light_cycles_on_its_own_timers() -> None:
    clock = VirtualClock()
    async with ActorSystem(clock=clock) as system:
        lights = [
            system.spawn(TimedLight.model, id=f"light-{i}", context={"cycles": 0, "seconds": 0})
            for i in range(3)
        ]
        seen: list[tuple[float, str]] = []

        async def watch() -> None:
            async with lights[0].subscribe(buffer=100) as sub:
                async for snap in sub:
                    leaf = snap.configuration[-1].rsplit("/", 1)[-1]
                    if not seen or seen[-1][1] != leaf:
                        seen.append((clock.now(), leaf))

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            await system.sleep(13)
            tg.cancel_scope.cancel()
        assert seen == [
            (0.0, "red"),
            (3.0, "green"),
            (5.0, "yellow"),
            (6.0, "red"),
            (9.0, "green"),
            (11.0, "yellow"),
            (12.0, "red"),
        ]
        for light in lights:
            assert light.context == {"cycles": 2, "seconds": 13}


class Download(hsm.Instance):
    @staticmethod
    async def fetch(ctx: Any, self: Any, event: Any) -> None:
        self.log.append("fetching")
        try:
            await anyio.sleep_forever()
        finally:
            self.log.append("fetch stopped")

    @staticmethod
    async def verify(ctx: Any, self: Any, event: Any) -> None:
        raise OSError("checksum mismatch")

    model = hsm.define(
        "Download",
        hsm.initial(hsm.target("idle")),
        hsm.state("idle", hsm.transition(hsm.on("start"), hsm.target("../downloading"))),
        hsm.state(
            "downloading",
            hsm.activity(fetch),
            hsm.transition(hsm.on("cancel"), hsm.target("../idle")),
            hsm.transition(hsm.on("received"), hsm.target("../verifying")),
        ),
        hsm.state(
            "verifying",
            hsm.entry(verify),
            hsm.transition(hsm.on("hsm_error"), hsm.target("../failed")),
        ),
        hsm.state("failed"),
    )


async def test_activities_are_cancelled_on_exit_and_errors_become_events() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        d = system.spawn(Download.model, context={"log": []})
        await d.ask("start")
        await anyio.wait_all_tasks_blocked()  # the activity runs (it changes no state)
        assert d.context["log"] == ["fetching"]
        await d.ask("cancel")
        await anyio.wait_all_tasks_blocked()
        assert d.context["log"] == ["fetching", "fetch stopped"]
        await d.ask("start")
        await anyio.wait_all_tasks_blocked()
        await d.ask("received")
        snap = await d.wait_for("/Download/failed")
        assert snap.context["log"] == ["fetching", "fetch stopped"] * 2
