"""Async actions are awaited after their macrostep, in order, before the next event."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from statefleet import VirtualClock
from statefleet.actors import ActorSystem
from tests.actors._charts import S, T, chart, log_to, record

pytestmark = pytest.mark.anyio


def async_log(trace: list[str], text: str) -> Any:
    async def action(ctx: Any) -> None:
        trace.append(f"{text} start")
        await anyio.lowlevel.checkpoint()
        trace.append(f"{text} end")

    return action


async def test_async_actions_run_in_order_after_the_macrostep_before_the_next_event() -> None:
    trace: list[str] = []
    c = chart(
        S(
            "a",
            exit=[async_log(trace, "exit a")],
            on=[T("go", "b", actions=(async_log(trace, "effect"), log_to(trace, "sync effect")))],
        ),
        S(
            "b",
            entry=[async_log(trace, "enter b"), log_to(trace, "sync enter b")],
            on=[T("next", actions=(log_to(trace, "next"),))],
        ),
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)
        a.send_nowait("go")
        a.send_nowait("next")
        await system.wait_idle()
    assert trace == [
        "sync effect",
        "sync enter b",
        "exit a start",
        "exit a end",
        "effect start",
        "effect end",
        "enter b start",
        "enter b end",
        "next",
    ]


async def test_an_async_action_failure_is_error_execution_processed_next() -> None:
    seen: list[Any] = []

    async def boom(ctx: Any) -> None:
        await anyio.lowlevel.checkpoint()
        raise RuntimeError("disk full")

    c = chart(
        S(
            "a",
            on=[
                T("go", actions=(boom,)),
                T("error.execution", actions=(record(seen),)),
                T("other", actions=(record(seen),)),
            ],
        )
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)
        a.send_nowait("go")
        a.send_nowait("other")
        await system.wait_idle()
    assert seen == [("error.execution", {"error": "disk full"}), ("other", None)]


async def test_ask_resolves_after_the_async_actions_of_that_event() -> None:
    async def slow_inc(ctx: Any) -> None:
        await anyio.lowlevel.checkpoint()
        ctx.context["n"] += 1

    c = chart(S("a", on=[T("inc", actions=(slow_inc,))]), data={"n": 0})
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)
        snap = await a.ask("inc")
        assert snap.context["n"] == 1


async def test_async_entry_actions_of_the_initial_state_are_awaited() -> None:
    trace: list[str] = []
    c = chart(S("a", entry=[async_log(trace, "init")], on=[T("e", actions=(log_to(trace, "e"),))]))
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)
        await a.ask("e")
    assert trace == ["init start", "init end", "e"]


async def test_an_actor_awaiting_does_not_block_other_actors() -> None:
    gate = anyio.Event()
    trace: list[str] = []

    async def wait_gate(ctx: Any) -> None:
        await gate.wait()
        trace.append("slow done")

    slow = chart(S("a", on=[T("go", actions=(wait_gate,))]), id="slow")
    fast = chart(S("a", on=[T("go", actions=(log_to(trace, "fast"),))]), id="fast")
    async with ActorSystem(clock=VirtualClock()) as system:
        s = system.spawn(slow)
        f = system.spawn(fast)
        s.send_nowait("go")
        await f.ask("go")
        assert trace == ["fast"]
        gate.set()
        await system.wait_idle()
    assert trace == ["fast", "slow done"]


async def test_async_actions_of_an_actor_stopped_before_they_ran_never_run() -> None:
    trace: list[str] = []
    c = chart(S("a", entry=[async_log(trace, "entry")]))
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)  # its async entry action waits for a task that has not run yet
        await a.stop()
        await system.wait_idle()
    assert trace == []
