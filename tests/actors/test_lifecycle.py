"""Leaving ``async with ActorSystem()`` stops everything cleanly."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from statefleet import ActorError, InvokeSpec, VirtualClock
from statefleet.actors import ActorInvocation, ActorSystem
from tests.actors._charts import S, T, chart, inc, log_to

pytestmark = pytest.mark.anyio


async def test_leaving_the_block_stops_children_before_parents_with_exit_actions() -> None:
    trace: list[str] = []
    cleaned: list[str] = []

    async def job(inv: ActorInvocation) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cleaned.append(inv.id)

    grandchild = chart(S("g", exit=[log_to(trace, "exit grandchild")]), id="grandchild")
    child = chart(
        S("c", invokes=[InvokeSpec(id="g", src=grandchild)], exit=[log_to(trace, "exit child")]),
        id="child",
    )
    parent = chart(
        S(
            "p",
            invokes=[InvokeSpec(id="c", src=child), InvokeSpec(id="job", src=job)],
            exit=[log_to(trace, "exit parent")],
        ),
        id="parent",
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        p = system.spawn(parent, id="p")
        spawned = p.spawn(chart(S("s", exit=[log_to(trace, "exit spawned")]), id="s"), id="s")
        await anyio.wait_all_tasks_blocked()
        refs = system.actors
        assert {r.id for r in refs} == {"p", "p/c", "p/c/g", "s"}
    assert trace == ["exit spawned", "exit grandchild", "exit child", "exit parent"]
    assert cleaned == ["job"]
    assert all(r.status == "stopped" for r in (p, spawned))
    assert all(r.status == "cancelled" for r in refs if r.invokeid is not None)


async def test_an_exception_in_the_block_propagates_as_is_after_a_clean_stop() -> None:
    trace: list[str] = []
    with pytest.raises(KeyError, match="oops"):
        async with ActorSystem(clock=VirtualClock()) as system:
            system.spawn(chart(S("a", exit=[log_to(trace, "exit a")])))
            raise KeyError("oops")
    assert trace == ["exit a"]


async def test_a_system_runs_once() -> None:
    system = ActorSystem(clock=VirtualClock())
    async with system:
        await system.stop()
        with pytest.raises(ActorError, match="not running"):
            system.spawn(chart(S("a")))
    with pytest.raises(ActorError, match="only once"):
        async with system:
            pass


async def test_stopping_a_system_with_thousands_of_busy_actors() -> None:
    exits: list[int] = []
    started = 0
    cleaned = 0

    async def worker(inv: ActorInvocation) -> None:
        nonlocal started, cleaned
        started += 1
        try:
            await anyio.sleep_forever()
        finally:
            cleaned += 1

    async def slow(ctx: Any) -> None:
        await anyio.sleep_forever()

    busy = chart(
        S(
            "working",
            invokes=[InvokeSpec(id="w", src=worker)],
            on=[T("tick", actions=(inc("n"),)), T("hang", actions=(slow,))],
            exit=[lambda ctx: exits.append(1)],
        ),
        id="busy",
        data={"n": 0},
    )
    n_actors = 2000
    async with ActorSystem(clock=VirtualClock()) as system:
        refs = [system.spawn(busy) for _ in range(n_actors)]
        for i, r in enumerate(refs):
            for _ in range(50):
                r.send_nowait("tick")
            if i % 10 == 0:
                r.send_nowait("hang")  # stuck in an async action
                r.send_nowait("tick")
        await anyio.wait_all_tasks_blocked()  # let some of it run, not all
    assert len(exits) == n_actors
    assert all(r.status == "stopped" for r in refs)
    assert started == cleaned  # every invocation that ran was cancelled and cleaned up
    assert system.actors == ()


async def test_spawn_from_a_snapshot_resumes_timers_invocations_and_children() -> None:
    started: list[Any] = []

    async def worker(inv: ActorInvocation) -> None:
        started.append(inv.data)
        await anyio.sleep_forever()

    child = chart(
        S("c1", on=[T("next", "c2")]),
        S("c2", on=[T("next", "c3")]),
        S("c3"),
        id="child",
    )
    parent = chart(
        S(
            "p",
            entry=[lambda ctx: ctx.send("wake", delay=10.0)],
            invokes=[
                InvokeSpec(id="kid", src=child),
                InvokeSpec(id="w", src=worker, params=lambda ctx: {"n": ctx.context["n"]}),
            ],
            on=[T("wake", "awake"), T("inc", actions=(inc("n"),))],
        ),
        S("awake"),
        id="parent",
        data={"n": 0},
    )
    clock = VirtualClock()
    async with ActorSystem(clock=clock) as system:
        a = system.spawn(parent, id="a")
        await a.ask("inc")
        kid = system.get("a/kid")
        assert kid is not None
        await kid.ask("next")
        await system.sleep(4)
        snap = a.snapshot()
        await a.stop()
    assert snap.children["kid"].configuration == ("c2",)
    assert [d.due for d in snap.pending] == [10.0]

    async with ActorSystem(clock=clock) as system:
        b = system.spawn(parent, id="b", snapshot=snap)
        assert b.context["n"] == 1
        kid = system.get("b/kid")
        assert kid is not None and kid.configuration == {"c2"}  # restored, not restarted
        await b.wait_for("awake")
        assert clock.now() == 10.0  # the timer fired at its original due time
    assert started == [{"n": 0}, {"n": 1}]  # the function invocation was started again
