"""Delayed sends and ``after``/``every`` timers on the system clock."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from statefleet import ActorError, RealClock, TransitionSpec, VirtualClock
from statefleet.actors import ActorSystem
from statefleet.core import AfterSpec
from tests.actors._charts import S, T, chart, inc, record

pytestmark = pytest.mark.anyio


def later(name: str, delay: float, **kw: Any) -> Any:
    return lambda ctx: ctx.send(name, delay=delay, **kw)


async def test_a_delayed_send_fires_at_its_due_time_on_the_virtual_clock() -> None:
    seen: list[float] = []
    c = chart(
        S(
            "a",
            entry=[later("wake", 5.0)],
            on=[T("wake", "b", actions=(lambda ctx: seen.append(ctx.now),))],
        ),
        S("b"),
    )
    clock = VirtualClock()
    async with ActorSystem(clock=clock) as system:
        a = system.spawn(c)
        await a.wait_for("b")
        assert seen == [5.0]
        assert clock.now() == 5.0


async def test_timers_of_many_actors_fire_in_due_order() -> None:
    seen: list[tuple[str, float]] = []

    def note(ctx: Any) -> None:
        seen.append((ctx.owner.id, ctx.now))

    c = chart(
        S(
            "a",
            entry=[lambda ctx: ctx.send("t", delay=ctx.context["d"])],
            on=[T("t", actions=(note,))],
        )
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        for name, d in (("x", 3.0), ("y", 1.0), ("z", 2.0)):
            system.spawn(c, id=name, context={"d": d})
        await system.sleep(10)
    assert seen == [("y", 1.0), ("z", 2.0), ("x", 3.0)]


async def test_an_after_timer_is_cancelled_when_its_state_exits() -> None:
    c = chart(
        S(
            "waiting",
            on=[T("answer", "answered")],
            after=[AfterSpec(30.0, TransitionSpec(target=("timed_out",)))],
        ),
        S("answered", on=[T("again", "waiting")]),
        S("timed_out"),
    )
    clock = VirtualClock()
    async with ActorSystem(clock=clock) as system:
        a = system.spawn(c)
        await system.sleep(10)
        await a.ask("answer")
        await system.sleep(100)
        assert a.configuration == {"answered"}
        assert clock.now() == 110.0
        await a.ask("again")  # re-entry: a fresh 30 s from now
        with pytest.raises(TimeoutError):
            await a.wait_for("timed_out", timeout=29)
        await a.wait_for("timed_out")
        assert clock.now() == 140.0


async def test_an_every_timer_repeats_while_its_state_is_active() -> None:
    c = chart(
        S(
            "running",
            after=[AfterSpec(1.0, TransitionSpec(actions=(inc("ticks"),)), repeat=True)],
            on=[T("stop", "stopped")],
        ),
        S("stopped"),
        data={"ticks": 0},
    )
    clock = VirtualClock()
    async with ActorSystem(clock=clock) as system:
        a = system.spawn(c)
        await a.wait_for(lambda s: s.context["ticks"] == 5)
        assert clock.now() == 5.0
        await a.ask("stop")
        await system.sleep(10)
        assert a.context["ticks"] == 5


async def test_a_delayed_send_can_be_cancelled_and_can_target_another_actor() -> None:
    got: list[Any] = []
    receiver = chart(S("r", on=[T("hello", actions=(record(got),))]), id="receiver")
    sender = chart(
        S(
            "s",
            entry=[
                later("hello", 2.0, target="inbox", sendid="keep"),
                later("hello", 3.0, target="inbox", sendid="drop"),
            ],
            on=[T("cancel", actions=(lambda ctx: ctx.cancel("drop"),))],
        ),
        id="sender",
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        system.spawn(receiver, id="inbox")
        s = system.spawn(sender)
        await s.ask("cancel")
        await system.sleep(10)
        assert got == [("hello", None)]
        assert s.snapshot().pending == ()


async def test_timers_of_a_stopped_actor_never_fire() -> None:
    fired: list[str] = []
    c = chart(
        S("a", entry=[later("t", 1.0)], on=[T("t", actions=(lambda ctx: fired.append("t"),))])
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)
        await a.stop()
        await system.sleep(5)
    assert fired == []


async def test_an_async_action_can_sleep_on_the_virtual_clock() -> None:
    trace: list[Any] = []

    async def slow(ctx: Any) -> None:
        await ctx.owner.system.sleep(60)
        trace.append(("slept", ctx.owner.system.now))

    c = chart(
        S(
            "a",
            on=[
                T("go", actions=(slow,)),
                T("next", actions=(lambda ctx: trace.append(("next", ctx.now)),)),
            ],
        )
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)
        a.send_nowait("go")
        a.send_nowait("next")
        await system.wait_idle()
    assert trace == [("slept", 60.0), ("next", 60.0)]


async def test_manual_advance_without_autojump() -> None:
    c = chart(
        S("a", after=[AfterSpec(5.0, TransitionSpec(target=("b",)))]),
        S("b", after=[AfterSpec(5.0, TransitionSpec(target=("c",)))]),
        S("c"),
    )
    clock = VirtualClock()
    async with ActorSystem(clock=clock, autojump=False) as system:
        a = system.spawn(c)
        await system.advance(4.9)
        assert a.configuration == {"a"}
        await system.advance(0.2)
        assert a.configuration == {"b"}
        assert clock.now() == pytest.approx(5.1)
        await system.advance(0.0)
        with pytest.raises(ActorError, match="negative"):
            await system.advance(-1)
        await system.advance(4.8)
        assert a.configuration == {"b"}
        await system.advance(0.2)
        assert a.configuration == {"c"}
    async with ActorSystem(clock=VirtualClock()) as system:
        with pytest.raises(ActorError, match="autojump"):
            await system.advance(1)
    async with ActorSystem() as system:
        with pytest.raises(ActorError, match="VirtualClock"):
            await system.advance(1)


async def test_real_clock_timers_fire() -> None:
    c = chart(S("a", after=[AfterSpec(0.01, TransitionSpec(target=("b",)))]), S("b"))
    async with ActorSystem(clock=RealClock()) as system:
        a = system.spawn(c)
        with anyio.fail_after(5):
            await a.wait_for("b")
