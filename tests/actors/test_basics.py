"""Spawning, ids, sending, ordering, backpressure, ask, wait_for, subscribe, stop."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from statefleet import (
    ActorError,
    ActorStoppedError,
    EventData,
    InvalidEventError,
    MailboxFullError,
    SnapshotError,
    VirtualClock,
)
from statefleet.actors import ActorRef, ActorSystem, Supervision
from tests.actors._charts import S, T, chart, inc, record

pytestmark = pytest.mark.anyio


def counter() -> Any:
    return chart(
        S(
            "idle",
            on=[T("inc", actions=(inc("n"),)), T("go", "busy")],
        ),
        S("busy", on=[T("back", "idle"), T("finish", "end")]),
        S("end", kind="final"),
        id="counter",
        data={"n": 0},
    )


async def test_spawn_get_and_unique_ids() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(counter(), id="a", system_id="the-counter")
        b = system.spawn(counter())
        assert isinstance(a, ActorRef)
        assert system.get("a") is a
        assert system.get("the-counter") is a
        assert system.get(b.id) is b
        assert b.id.startswith("counter-")
        assert system.get("nobody") is None
        assert a.configuration == {"idle"}
        assert a.status == "active"
        with pytest.raises(ActorError, match="'a' already exists"):
            system.spawn(counter(), id="a")
        with pytest.raises(ActorError, match="'the-counter' is already registered"):
            system.spawn(counter(), system_id="the-counter")
        with pytest.raises(ActorError, match="compiled Chart"):
            system.spawn("not a chart", id="x")  # type: ignore[arg-type]
        with pytest.raises(ActorError, match="context must be a mapping"):
            system.spawn(counter(), context=[1, 2])  # type: ignore[arg-type]
        with pytest.raises(ActorError, match="mailbox_size"):
            system.spawn(counter(), mailbox_size=0)
        with pytest.raises(SnapshotError):
            system.spawn(
                counter(),
                snapshot=a.snapshot().__class__(chart_id="x", chart_version="1", configuration=()),
            )
        # a stopped actor's id can be used again
        await a.stop()
        assert system.get("a") is None and system.get("the-counter") is None
        again = system.spawn(counter(), id="a")
        assert system.get("a") is again


async def test_spawn_outside_a_running_system_is_refused() -> None:
    system = ActorSystem()
    with pytest.raises(ActorError, match="not running"):
        system.spawn(counter())
    async with system:
        pass
    with pytest.raises(ActorError, match="not running"):
        system.spawn(counter())


async def test_context_is_the_initial_datamodel() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(counter(), context={"n": 40, "extra": "x"})
        snap = await a.ask("inc")
        assert snap.context == {"n": 41, "extra": "x"}


async def test_events_are_processed_in_order_per_sender_under_concurrent_senders() -> None:
    seen: list[Any] = []
    c = chart(S("s", on=[T("m", actions=(record(seen),))]))
    async with ActorSystem(clock=VirtualClock(), mailbox_size=8) as system:
        a = system.spawn(c)

        async def sender(k: int) -> None:
            for i in range(200):
                await a.send("m", sender=k, i=i)
                if i % 7 == 0:
                    await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            for k in range(5):
                tg.start_soon(sender, k)
        await system.wait_idle()
    assert len(seen) == 1000
    for k in range(5):
        mine = [d["i"] for name, d in seen if d["sender"] == k]
        assert mine == list(range(200))


async def test_send_nowait_raises_when_the_mailbox_is_full_and_send_waits() -> None:
    c = chart(S("s", on=[T("m", actions=(inc("n"),))]), data={"n": 0})
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c, mailbox_size=3)
        for _ in range(3):
            a.send_nowait("m")
        assert a.mailbox_size == 3
        with pytest.raises(MailboxFullError, match="full"):
            a.send_nowait("m")
        # send waits for room instead of failing
        await a.send("m")
        await system.wait_idle()
        assert a.context["n"] == 4
        assert a.mailbox_size == 0


async def test_bad_events_get_clear_errors() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(counter())
        with pytest.raises(InvalidEventError, match="non-empty name"):
            a.send_nowait("")
        with pytest.raises(InvalidEventError, match="not int"):
            await a.send(42)  # type: ignore[arg-type]
        with pytest.raises(InvalidEventError, match="not both"):
            a.send_nowait(EventData("inc"), x=1)
        snap = await a.ask(EventData("inc"))
        assert snap.context["n"] == 1


async def test_ask_returns_the_snapshot_after_that_events_macrostep() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(counter())
        for _ in range(5):
            a.send_nowait("inc")
        snap = await a.ask("inc")
        assert snap.context["n"] == 6
        assert snap.configuration == ("idle",)
        # the snapshot is a copy: later steps do not change it
        await a.ask("inc")
        assert snap.context["n"] == 6
        snap = await a.ask("go")
        assert snap.configuration == ("busy",)


async def test_sending_to_a_stopped_actor_raises() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(counter())
        await a.stop()
        await a.stop()  # idempotent
        assert a.status == "stopped"
        with pytest.raises(ActorStoppedError):
            a.send_nowait("inc")
        with pytest.raises(ActorStoppedError):
            await a.send("inc")
        with pytest.raises(ActorStoppedError):
            await a.ask("inc")
        # the last state stays readable
        assert a.snapshot().configuration == ("idle",)


async def test_pending_asks_fail_when_the_actor_stops() -> None:
    gate = anyio.Event()

    async def slow(ctx: Any) -> None:
        await gate.wait()

    c = chart(S("s", on=[T("slow", actions=(slow,)), T("m")]))
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(c)
        a.send_nowait("slow")
        result: list[Any] = []

        async def asker() -> None:
            try:
                await a.ask("m")
            except ActorStoppedError as exc:
                result.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(asker)
            await anyio.wait_all_tasks_blocked()
            await a.stop()
        assert len(result) == 1


async def test_wait_for_a_state_or_a_predicate() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(counter())
        assert (await a.wait_for("idle")).configuration == ("idle",)

        async def later() -> None:
            for _ in range(3):
                await a.send("inc")
            await a.send("go")

        async with anyio.create_task_group() as tg:
            tg.start_soon(later)
            snap = await a.wait_for(lambda s: s.context["n"] >= 3)
            assert snap.context["n"] == 3
            snap = await a.wait_for("busy")
            assert snap.configuration == ("busy",)
        with pytest.raises(ActorError, match="no state 'nowhere'"):
            await a.wait_for("nowhere")


async def test_wait_for_times_out_on_the_system_clock() -> None:
    clock = VirtualClock()
    async with ActorSystem(clock=clock) as system:
        a = system.spawn(counter())
        with pytest.raises(TimeoutError, match="'busy'"):
            await a.wait_for("busy", timeout=30)
        assert clock.now() == 30.0  # virtual time jumped; nothing slept


async def test_wait_for_fails_when_the_actor_stops_first() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(counter())
        errors: list[Any] = []

        async def waiter() -> None:
            try:
                await a.wait_for("busy")
            except ActorStoppedError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            await a.send("go")
            await a.send("finish")
        assert errors == []  # it passed through busy before finishing
        b = system.spawn(counter())
        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            await b.stop()
            a2 = b
        assert a2.status == "stopped"


async def test_a_final_state_stops_the_actor_as_done() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(counter(), id="c")
        await a.send("go")
        snap = await a.ask("finish")
        assert snap.status == "done"
        assert a.status == "done" and a.done
        assert system.get("c") is None
        with pytest.raises(ActorStoppedError):
            a.send_nowait("inc")


async def test_subscribe_yields_snapshots_and_ends_when_the_actor_stops() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(counter())
        seen: list[tuple[tuple[str, ...], int]] = []

        async def reader() -> None:
            async with a.subscribe() as sub:
                async for snap in sub:
                    seen.append((snap.configuration, snap.context["n"]))

        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            await anyio.wait_all_tasks_blocked()
            await a.ask("inc")
            await anyio.wait_all_tasks_blocked()
            await a.ask("go")
            await anyio.wait_all_tasks_blocked()
            await a.stop()
        assert seen[0] == (("idle",), 0)
        assert (("idle",), 1) in seen
        assert (("busy",), 1) in seen
        assert len(seen) == 4  # initial, two steps, the final snapshot at stop


async def test_a_slow_subscriber_never_blocks_the_actor() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(counter())
        sub = a.subscribe(buffer=2)
        for _ in range(50):
            a.send_nowait("inc")
        await system.wait_idle()
        assert a.context["n"] == 50
        assert sub.dropped == 49  # the initial snapshot and 50 steps through a buffer of 2
        got = [s.context["n"] async for s in _take(sub, 2)]
        assert got == [49, 50]
        sub.close()
        assert [s async for s in sub] == []


async def _take(sub: Any, n: int) -> Any:
    for _ in range(n):
        yield await sub.__anext__()


async def test_each_actor_keeps_the_settings_it_was_spawned_with() -> None:
    # top-level actors spawned with the system's defaults share them; an actor spawned with
    # its own mailbox size or supervision, or as a child, keeps its own
    own = Supervision(max_restarts=7)
    async with ActorSystem(clock=VirtualClock(), mailbox_size=2) as system:
        plain = system.spawn(counter())
        small = system.spawn(counter(), mailbox_size=1)
        strict = system.spawn(counter(), supervision=own, system_id="strict")
        child = plain.spawn(counter())
        for ref, room in ((plain, 2), (small, 1), (strict, 2), (child, 2)):
            for _ in range(room):
                ref.send_nowait("inc")
            with pytest.raises(MailboxFullError, match=f"full \\({room} events"):
                ref.send_nowait("inc")
        assert plain.supervision == Supervision() and strict.supervision is own
        assert (plain.parent, child.parent) == (None, plain)
        assert (plain.system_id, strict.system_id) == (None, "strict")
        assert system.get("strict") is strict
        await system.wait_idle()
        assert [r.context["n"] for r in (plain, small, strict, child)] == [2, 1, 2, 2]
