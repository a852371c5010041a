"""Inspection records published by the actor system, and trace-context propagation."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from statefleet import InvokeSpec, VirtualClock
from statefleet.actors import ActorInvocation, ActorSystem
from statefleet.core import (
    ActionFailed,
    ActorSpawned,
    ActorStopped,
    EventReceived,
    InvocationCancelled,
    InvocationDone,
    InvocationStarted,
    MacrostepRecord,
)
from tests.actors._charts import Recorder, S, T, chart, record

pytestmark = pytest.mark.anyio


def fail(ctx: Any) -> None:
    raise ValueError("nope")


def light() -> Any:
    return chart(
        S("red", on=[T("next", "green")]),
        S("green", on=[T("next", "red"), T("fail", actions=(fail,)), T("error.execution")]),
        id="light",
    )


async def test_lifecycle_macrostep_and_error_records() -> None:
    rec = Recorder()
    async with ActorSystem(clock=VirtualClock(), listeners=[rec]) as system:
        a = system.spawn(light(), id="l")
        await a.ask("next")
        await a.ask("fail")
        await a.stop()
    kinds = [type(r).__name__ for r in rec.records]
    assert kinds[0] == "ActorSpawned" and kinds[-1] == "ActorStopped"
    steps = rec.of(MacrostepRecord)
    assert [s.event.name if s.event else None for s in steps] == [None, "next", "fail"]
    assert steps[1].configuration_before == ("red",)
    assert steps[1].configuration_after == ("green",)
    assert steps[1].microsteps[0].exited == ("red",)
    assert steps[1].microsteps[0].entered == ("green",)
    assert steps[1].version == 1
    (failed,) = rec.of(ActionFailed)
    assert str(failed.error) == "nope" and failed.event == "fail"
    assert [r.event for r in rec.of(EventReceived)] == ["next", "fail"]
    (spawned,) = rec.of(ActorSpawned)
    assert (spawned.actor, spawned.chart_id, spawned.parent) == ("l", "light", None)
    assert [r.reason for r in rec.of(ActorStopped)] == ["stopped"]


async def test_a_listener_can_ask_for_some_record_types_only() -> None:
    class Lifecycle(Recorder):
        record_types = (ActorSpawned, ActorStopped)

    rec = Lifecycle()
    async with ActorSystem(clock=VirtualClock(), listeners=[rec]) as system:
        a = system.spawn(light())
        await a.ask("next")
    assert [type(r) for r in rec.records] == [ActorSpawned, ActorStopped]


async def test_invocation_records() -> None:
    rec = Recorder()

    async def quick(inv: ActorInvocation) -> int:
        return 1

    async def forever(inv: ActorInvocation) -> None:
        await anyio.sleep_forever()

    c = chart(
        S(
            "a",
            invokes=[InvokeSpec(id="q", src=quick), InvokeSpec(id="f", src=forever)],
            on=[T("done.invoke.q"), T("leave", "b")],
        ),
        S("b"),
    )
    async with ActorSystem(clock=VirtualClock(), listeners=[rec]) as system:
        a = system.spawn(c, id="a")
        await a.wait_for(lambda s: s.invocations and len(s.invocations) == 1)
        await a.ask("leave")
    assert [(r.invokeid, r.state) for r in rec.of(InvocationStarted)] == [("q", "a"), ("f", "a")]
    assert [r.invokeid for r in rec.of(InvocationDone)] == ["q"]
    assert [r.invokeid for r in rec.of(InvocationCancelled)] == ["f"]


async def test_a_failing_listener_never_breaks_an_actor() -> None:
    def broken(record: Any) -> None:
        raise RuntimeError("listener bug")

    async with ActorSystem(clock=VirtualClock(), listeners=[broken]) as system:
        a = system.spawn(light())
        snap = await a.ask("next")
        assert snap.configuration == ("green",)


async def test_listeners_can_be_added_and_removed() -> None:
    rec = Recorder()
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(light())
        system.add_listener(rec)
        await a.ask("next")
        system.remove_listener(rec)
        await a.ask("next")
    assert [r.event.name for r in rec.of(MacrostepRecord)] == ["next"]


async def test_trace_headers_travel_with_the_events_an_actor_sends() -> None:
    got: list[Any] = []

    class Tracer:
        record_types = (MacrostepRecord,)

        def on_record(self, record: Any) -> None:
            pass

        def trace_headers(self, actor: str) -> dict[str, str] | None:
            return {"traceparent": f"from-{actor}"}

    sender = chart(
        S("s", on=[T("go", actions=(lambda ctx: ctx.send("hello", target="rx"),))]), id="tx"
    )
    receiver = chart(
        S("r", on=[T("hello", actions=(record(got), lambda ctx: got.append(ctx.event.trace)))]),
        id="rx",
    )
    async with ActorSystem(clock=VirtualClock(), listeners=[Tracer()]) as system:
        system.spawn(receiver, id="rx")
        tx = system.spawn(sender, id="tx")
        await tx.ask("go")
        await system.wait_idle()
    assert got == [("hello", None), {"traceparent": "from-tx"}]


async def test_a_listener_added_later_hears_of_events_sent_without_waiting() -> None:
    rec = Recorder()
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(light())
        a.send_nowait("next")
        system.add_listener(rec)
        a.send_nowait("next")
        a.send_nowait("fail")
        system.remove_listener(rec)
        a.send_nowait("next")
        await system.wait_idle()
    assert [r.event for r in rec.of(EventReceived)] == ["next", "fail"]
