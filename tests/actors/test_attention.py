"""What a step leaves for the runtime is seen when the step took the fast path.

An actor's run of queued events skips the after-step handling of an event whose step left
nothing to look at (issue 16): the engine says so in one field. Each test here queues a
run of the same event, so all but the first take the fast path (the engine's specialised
step for a targetless transition), and checks one outcome that must still be acted on.
"""

from __future__ import annotations

from typing import Any

import pytest

from statefleet import VirtualClock
from statefleet.actors import ActorSystem, Supervision
from statefleet.core import ActionFailed
from tests.actors._charts import S, T, chart, inc

pytestmark = pytest.mark.anyio


class Failures:
    """A listener of ActionFailed records only (no macrostep records: the fast path
    stays on)."""

    record_types = (ActionFailed,)

    def __init__(self) -> None:
        self.records: list[ActionFailed] = []

    def on_record(self, record: Any) -> None:
        self.records.append(record)


def fail_on_second(ctx: Any) -> None:
    ctx.context["n"] = ctx.context.get("n", 0) + 1
    if ctx.context["n"] == 2:
        raise ValueError("second bump")


async def test_an_action_failing_on_the_fast_path_is_reported() -> None:
    failures = Failures()
    c = chart(
        S("run", on=[T("bump", actions=(fail_on_second,)), T("error.execution")]),
        data={"n": 0},
    )
    async with ActorSystem(clock=VirtualClock(), listeners=[failures]) as system:
        ref = system.spawn(c)
        for _ in range(4):
            ref.send_nowait("bump")
        await system.wait_idle()
        assert ref.snapshot().context["n"] == 4
    assert [(str(r.error), r.event) for r in failures.records] == [("second bump", "bump")]


def below_two(ctx: Any) -> bool:
    return bool(ctx.context["n"] < 2)


async def test_an_error_event_nothing_takes_on_the_fast_path_meets_the_error_policy() -> None:
    # the third error.custom finds no guard holding: unhandled, and the policy stops the actor
    c = chart(S("run", on=[T("error.custom", cond=below_two, actions=(inc("n"),))]), data={"n": 0})
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(c, supervision=Supervision(on_error="stop"))
        for _ in range(5):
            ref.send_nowait("error.custom")
        await system.wait_idle()
        assert ref.status == "failed"
        assert ref.snapshot().context["n"] == 2


def finish_on_third(ctx: Any) -> None:
    ctx.context["n"] += 1
    if ctx.context["n"] == 3:
        ctx.raise_("finish")


async def test_a_final_state_reached_from_the_fast_path_ends_the_actor() -> None:
    c = chart(
        S("run", on=[T("bump", actions=(finish_on_third,)), T("finish", "end")]),
        S("end", kind="final"),
        data={"n": 0},
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(c)
        for _ in range(5):
            ref.send_nowait("bump")
        await system.wait_idle()
        assert ref.status == "done"
        assert ref.snapshot().context["n"] == 3


async def test_a_subscriber_sees_every_step_of_a_fast_run() -> None:
    c = chart(S("run", on=[T("bump", actions=(inc("n"),))]), data={"n": 0})
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(c)
        await ref.ask("bump")  # the actor has taken a step (and been asked) before
        sub = ref.subscribe(buffer=16)
        for _ in range(4):
            ref.send_nowait("bump")
        await system.wait_idle()
        sub.close()
        seen = [s.context["n"] async for s in sub]
    assert seen == [1, 2, 3, 4, 5]


async def test_what_an_action_sends_on_the_fast_path_is_delivered() -> None:
    counter = chart(S("c", on=[T("bumped", actions=(inc("n"),))]), data={"n": 0}, id="counter")
    forward = chart(
        S("f", on=[T("bump", actions=(lambda ctx: ctx.send("bumped", target="counter-1"),))]),
        id="forward",
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        got = system.spawn(counter, id="counter-1")
        ref = system.spawn(forward)
        for _ in range(4):
            ref.send_nowait("bump")
        await system.wait_idle()
        assert got.snapshot().context["n"] == 4
