"""Invocations under the actor runtime: async functions, iterators, callback services,
activities and child charts; cancellation on exit; done/error events and their order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from statefleet import InvokeSpec, VirtualClock
from statefleet.actors import ActorInvocation, ActorSystem
from tests.actors._charts import S, T, chart, log_to

pytestmark = pytest.mark.anyio


def waiting(src: Any, *, id: str = "job", kind: str = "service", **inv: Any) -> Any:
    """A chart that invokes ``src`` in ``busy`` and records what comes back."""
    return chart(
        S("idle", on=[T("go", "busy")]),
        S(
            "busy",
            invokes=[InvokeSpec(id=id, src=src, kind=kind, **inv)],  # type: ignore[arg-type]
            on=[
                T(f"done.invoke.{id}", "ok", actions=(record_into("done"),)),
                T(f"error.invoke.{id}", "failed", actions=(record_into("error"),)),
                T("leave", "idle"),
                T("progress", actions=(record_into("progress"),)),
            ],
        ),
        S("ok"),
        S("failed"),
    )


def record_into(key: str) -> Any:
    def action(ctx: Any) -> None:
        ctx.context.setdefault("log", []).append((key, ctx.event.name, ctx.event.data))

    return action


async def test_an_async_function_result_is_done_invoke_data() -> None:
    async def job(inv: ActorInvocation) -> Any:
        await anyio.lowlevel.checkpoint()
        return {"answer": inv.data["x"] * 2}

    c = waiting(job, params=lambda ctx: {"x": 21})
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)
        await a.send("go")
        snap = await a.wait_for("ok")
        assert snap.context["log"] == [("done", "done.invoke.job", {"answer": 42})]


async def test_an_exception_is_error_invoke_carrying_it() -> None:
    async def job(inv: ActorInvocation) -> Any:
        await anyio.lowlevel.checkpoint()
        raise ValueError("no stock")

    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(waiting(job))
        await a.send("go")
        snap = await a.wait_for("failed")
        assert snap.context["log"] == [("error", "error.invoke.job", {"error": "no stock"})]


async def test_leaving_the_state_cancels_the_invocation_and_its_cleanup_runs() -> None:
    trace: list[str] = []
    cleaned = anyio.Event()
    started = anyio.Event()

    async def job(inv: ActorInvocation) -> None:
        trace.append("started")
        started.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            trace.append("saw cancellation")
            raise
        finally:
            trace.append("cleanup")
            cleaned.set()

    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(waiting(job))
        await a.send("go")
        await started.wait()
        snap = await a.ask("leave")
        assert snap.configuration == ("idle",)
        await cleaned.wait()
        assert trace == ["started", "saw cancellation", "cleanup"]
        assert "log" not in a.context  # no done.invoke / error.invoke after a cancellation


async def test_events_sent_after_cancellation_are_dropped() -> None:
    invs: list[ActorInvocation] = []

    async def service(inv: ActorInvocation) -> None:
        invs.append(inv)
        inv.send("progress", step=1)
        await anyio.sleep_forever()

    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(waiting(service))
        await a.send("go")
        await a.wait_for(lambda s: "log" in s.context)
        await a.ask("leave")
        await a.ask("go")  # a new invocation with the same id
        await a.wait_for(lambda s: len(s.context["log"]) == 2)
        invs[0].send("progress", step="late")  # the first one is cancelled: dropped
        invs[1].send("progress", step=2)
        snap = await a.wait_for(lambda s: len(s.context["log"]) == 3)
        assert [d for _, _, d in snap.context["log"]] == [{"step": 1}, {"step": 1}, {"step": 2}]


async def test_done_invoke_comes_after_every_event_the_invocation_sent() -> None:
    async def job(inv: ActorInvocation) -> str:
        for i in range(5):
            inv.send("progress", i=i)
            if i % 2:
                await anyio.lowlevel.checkpoint()
        return "finished"

    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(waiting(job))
        await a.send("go")
        snap = await a.wait_for("ok")
        log = snap.context["log"]
        assert [k for k, _, _ in log] == ["progress"] * 5 + ["done"]
        assert [d["i"] for k, _, d in log if k == "progress"] == [0, 1, 2, 3, 4]
        assert log[-1] == ("done", "done.invoke.job", "finished")


async def test_an_async_iterator_sends_its_items_then_done() -> None:
    async def ticks(inv: ActorInvocation) -> AsyncIterator[Any]:
        for i in range(3):
            await anyio.lowlevel.checkpoint()
            yield {"type": "progress", "i": i}
        yield "progress"

    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(waiting(ticks))
        await a.send("go")
        snap = await a.wait_for("ok")
        assert snap.context["log"] == [
            ("progress", "progress", {"i": 0}),
            ("progress", "progress", {"i": 1}),
            ("progress", "progress", {"i": 2}),
            ("progress", "progress", None),
            ("done", "done.invoke.job", None),
        ]


async def test_an_async_iterator_is_closed_when_cancelled() -> None:
    closed = anyio.Event()

    async def forever(inv: ActorInvocation) -> AsyncIterator[str]:
        try:
            while True:
                yield "progress"
                await inv.sleep(1.0)
        finally:
            closed.set()

    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(waiting(forever))
        await a.send("go")
        await a.wait_for(lambda s: len(s.context.get("log", ())) >= 3)
        await a.send("leave")
        await closed.wait()


async def test_a_callback_service_receives_what_the_parent_sends_it() -> None:
    async def echo(inv: ActorInvocation) -> None:
        async for ev in inv.events:
            if ev.name == "stop":
                return
            inv.send("progress", echo=ev.data["text"])

    def say(text: str) -> Any:
        return lambda ctx: ctx.send("say", {"text": text}, target="#_job")

    c = chart(
        S("idle", on=[T("go", "busy")]),
        S(
            "busy",
            invokes=[InvokeSpec(id="job", src=echo)],
            on=[
                T("ping", actions=(say("hello"), say("world"))),
                T("enough", actions=(lambda ctx: ctx.send("stop", target="#_job"),)),
                T("progress", actions=(record_into("got"),)),
                T("done.invoke.job", "ok"),
            ],
        ),
        S("ok"),
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)
        await a.send("go")
        await a.send("ping")
        snap = await a.wait_for(lambda s: len(s.context.get("log", ())) == 2)
        assert [d["echo"] for _, _, d in snap.context["log"]] == ["hello", "world"]
        await a.send("enough")
        await a.wait_for("ok")


async def test_autoforward_copies_external_events_to_the_invocation() -> None:
    got: list[str] = []

    async def listener(inv: ActorInvocation) -> None:
        async for ev in inv.events:
            got.append(ev.name)
            if ev.name == "last":
                inv.send("progress")

    c = chart(
        S(
            "busy",
            invokes=[InvokeSpec(id="job", src=listener, autoforward=True)],
            on=[T("progress", "ok")],
        ),
        S("ok"),
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)
        for name in ("a", "b", "last"):
            await a.send(name)
        await a.wait_for("ok")
    # every external event is forwarded (SCXML), the one the service sent back included
    assert got == ["a", "b", "last", "progress"]


async def test_an_activity_runs_while_its_state_is_active() -> None:
    ticks: list[float] = []
    cancelled = anyio.Event()

    async def blink(inv: ActorInvocation) -> None:
        try:
            while True:
                await inv.sleep(1.0)
                ticks.append(inv.system.now)
        finally:
            cancelled.set()

    c = waiting(blink, kind="activity")
    clock = VirtualClock()
    async with ActorSystem(clock=clock) as system:
        a = system.spawn(c)
        await a.send("go")
        await system.sleep(3.5)
        assert ticks == [1.0, 2.0, 3.0]
        await a.send("leave")
        await cancelled.wait()
        await system.sleep(5)
        assert ticks == [1.0, 2.0, 3.0]
        assert "log" not in a.context  # an activity that is cancelled sends nothing


async def test_a_child_chart_runs_as_a_child_actor_and_completes() -> None:
    child = chart(
        S(
            "working",
            entry=[lambda ctx: ctx.send("progress", {"n": ctx.context["n"]}, target="#_parent")],
            on=[T("finish", "end")],
        ),
        S("end", kind="final", donedata=lambda ctx: {"total": ctx.context["n"] * 10}),
        id="child",
    )
    c = waiting(child, params=lambda ctx: {"n": 4})
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c, id="parent")
        await a.ask("go")
        kid = system.get("parent/job")
        assert kid is not None and kid.parent is a and kid.invokeid == "job"
        assert a.snapshot().children["job"].configuration == ("working",)
        await kid.send("finish")
        snap = await a.wait_for("ok")
        assert snap.context["log"] == [
            ("progress", "progress", {"n": 4}),
            ("done", "done.invoke.job", {"total": 40}),
        ]
        assert kid.status == "done"
        assert system.get("parent/job") is None


async def test_a_child_charts_events_precede_its_done_invoke() -> None:
    def burst(ctx: Any) -> None:
        for i in range(10):
            ctx.send("progress", {"i": i}, target="#_parent")

    child = chart(
        S("a", entry=[burst], on=[T("", "b")]),
        S("b", kind="final", donedata=lambda ctx: "bye"),
        id="child",
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(waiting(child))
        await a.send("go")
        snap = await a.wait_for("ok")
        names = [k for k, _, _ in snap.context["log"]]
        assert names == ["progress"] * 10 + ["done"]


async def test_leaving_the_state_stops_the_child_chart_with_its_exit_actions() -> None:
    trace: list[str] = []
    child = chart(
        S(
            "outer",
            S("inner", exit=[log_to(trace, "exit inner")]),
            exit=[log_to(trace, "exit outer")],
        ),
        id="child",
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(waiting(child), id="p")
        await a.ask("go")
        kid = system.get("p/job")
        assert kid is not None
        await a.ask("leave")
        assert trace == ["exit inner", "exit outer"]
        assert kid.status == "cancelled"
        assert system.get("p/job") is None


async def test_stopping_the_parent_cancels_invocations_with_cleanup() -> None:
    trace: list[str] = []
    started = anyio.Event()

    async def job(inv: ActorInvocation) -> None:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            await anyio.lowlevel.cancel_shielded_checkpoint()
            trace.append("cleanup done")

    child = chart(S("c", exit=[log_to(trace, "child exit")]), id="child")
    c = chart(
        S(
            "busy",
            invokes=[InvokeSpec(id="job", src=job), InvokeSpec(id="kid", src=child)],
            exit=[log_to(trace, "parent exit")],
        ),
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)
        await started.wait()
        await a.stop()
        # children are stopped before the parent's exit actions run; the cancelled function
        # finishes its cleanup asynchronously, and stop() returns only after it did
        assert trace == ["child exit", "parent exit", "cleanup done"]


async def test_an_invoke_that_cannot_start_is_error_invoke() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(waiting(42))
        await a.send("go")
        snap = await a.wait_for("failed")
        assert "cannot invoke 42" in snap.context["log"][0][2]["error"]


async def test_a_sync_function_result_and_a_sync_iterator() -> None:
    def job(inv: ActorInvocation) -> int:
        return 7

    def items(inv: ActorInvocation) -> Any:
        yield "progress"
        yield ("progress", {"k": 1})

    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(waiting(job))
        await a.send("go")
        assert (await a.wait_for("ok")).context["log"] == [("done", "done.invoke.job", 7)]
        b = system.spawn(waiting(items))
        await b.send("go")
        snap = await b.wait_for("ok")
        assert [d for _, _, d in snap.context["log"]] == [None, {"k": 1}, None]
