"""Actor runtime benchmarks against a plain anyio memory-stream floor (issue 5, "Speed").

Workloads:

- A1 one actor, 1,000,000 events with ``send_nowait``, then wait until idle.
- A2 10,000 actors, 100 events each, sent concurrently (``send_nowait``), then wait idle.
- A3 ``ask`` round trips on one actor.
- A4 spawn 100,000 idle actors (spawns/s; bytes per idle actor with tracemalloc, measured
  in a separate run so tracing does not slow the timed one).
- A5 enter and leave a state with an async-function invocation 10,000 times: 10,000
  ``enter``/``leave`` pairs with ``send_nowait``, then wait until idle. Every invocation's
  task is started and cancelled; one cancelled before it first ran does not call the function.
- A5s the same, strictly: one ``ask("enter")``, a checkpoint, ``ask("leave")`` per cycle, so
  every invocation really starts (its function runs up to its first await) and is cancelled
  (its cleanup runs).

Each workload also runs as a *floor*: the same traffic through plain anyio memory object
streams and tasks, doing the same per-event work by hand (a dict lookup for the transition)
with no statecharts, no mailboxes, no supervision. ``sf/floor`` is the ratio of statefleet's
rate to the floor's, measured in the same run, so it compares across machines.

Usage::

    python benchmarks/bench_actors.py                   # asyncio, full sizes
    python benchmarks/bench_actors.py --backend trio
    python benchmarks/bench_actors.py --quick           # a tenth of the sizes
    python benchmarks/bench_actors.py --profile A1      # one workload under cProfile

Timing: ``time.perf_counter`` (``--cpu-time``: ``time.process_time``, for a shared machine),
best of ``--repeat`` runs (default 3), each in a fresh system
(the compiled chart is shared), garbage collected before each run.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import platform
import pstats
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel

from statefleet.actors import ActorInvocation, ActorSystem
from statefleet.core import (
    Chart,
    ChartSpec,
    DataSpec,
    InvokeSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
)

#: the timer: wall time, or with ``--cpu-time`` the process's CPU time
clock = time.perf_counter

TARGETS = {
    "A1": 500_000,
    "A2": 300_000,
    "A3": 80_000,
    "A4": 100_000,
    "A5": 20_000,
    "A5s": 20_000,
}
UNITS = {
    "A1": "events/s",
    "A2": "events/s",
    "A3": "asks/s",
    "A4": "spawns/s",
    "A5": "cycles/s",
    "A5s": "cycles/s",
}


@dataclass
class Sizes:
    a1_events: int = 1_000_000
    a2_actors: int = 10_000
    a2_events: int = 100
    a3_asks: int = 50_000
    a4_spawns: int = 100_000
    a5_cycles: int = 10_000


def toggle_chart() -> Chart:
    """Two states, one event toggling between them (the work per event in A1, A2, A4)."""
    return compile_chart(
        ChartSpec(
            id="toggle",
            states=[
                StateSpec("off", transitions=[TransitionSpec(event=("t",), target=("on",))]),
                StateSpec("on", transitions=[TransitionSpec(event=("t",), target=("off",))]),
            ],
        )
    )


def counter_chart() -> Chart:
    """One state, a targetless transition incrementing a counter (A3)."""

    def inc(ctx: Any) -> None:
        ctx.context["n"] += 1

    return compile_chart(
        ChartSpec(
            id="counter",
            data=[DataSpec("n", 0)],
            states=[StateSpec("s", transitions=[TransitionSpec(event=("inc",), actions=(inc,))])],
        )
    )


async def _job(inv: ActorInvocation) -> None:
    try:
        await anyio.sleep_forever()
    finally:
        pass


def invoke_chart() -> Chart:
    """``enter`` goes to a state invoking an async function, ``leave`` leaves it (A5)."""
    return compile_chart(
        ChartSpec(
            id="invoker",
            states=[
                StateSpec("idle", transitions=[TransitionSpec(event=("enter",), target=("busy",))]),
                StateSpec(
                    "busy",
                    invokes=[InvokeSpec(id="job", src=_job)],
                    transitions=[TransitionSpec(event=("leave",), target=("idle",))],
                ),
            ],
        )
    )


# -- statefleet ------------------------------------------------------------------------------
async def sf_a1(n: Sizes, backend: str) -> float:
    chart = toggle_chart()
    async with ActorSystem(mailbox_size=n.a1_events) as system:
        ref = system.spawn(chart)
        send = ref.send_nowait
        t0 = clock()
        for _ in range(n.a1_events):
            send("t")
        await system.wait_idle()
        dt = clock() - t0
    return n.a1_events / dt


async def sf_a2(n: Sizes, backend: str) -> float:
    chart = toggle_chart()
    async with ActorSystem() as system:
        refs = [system.spawn(chart) for _ in range(n.a2_actors)]
        t0 = clock()
        for _ in range(n.a2_events):
            for ref in refs:
                ref.send_nowait("t")
        await system.wait_idle()
        dt = clock() - t0
    return n.a2_actors * n.a2_events / dt


async def sf_a3(n: Sizes, backend: str) -> float:
    chart = counter_chart()
    async with ActorSystem() as system:
        ref = system.spawn(chart)
        ask = ref.ask
        t0 = clock()
        for _ in range(n.a3_asks):
            await ask("inc")
        dt = clock() - t0
        assert ref.context["n"] == n.a3_asks
    return n.a3_asks / dt


async def sf_a4(n: Sizes, backend: str) -> float:
    chart = toggle_chart()
    async with ActorSystem() as system:
        spawn = system.spawn
        t0 = clock()
        for _ in range(n.a4_spawns):
            spawn(chart)
        dt = clock() - t0
    return n.a4_spawns / dt


async def sf_a4_memory(n: Sizes) -> float:
    chart = toggle_chart()
    async with ActorSystem() as system:
        spawn = system.spawn
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        refs = [spawn(chart) for _ in range(n.a4_spawns)]
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del refs
    return (after - before) / n.a4_spawns


async def sf_a5(n: Sizes, backend: str) -> float:
    chart = invoke_chart()
    async with ActorSystem(mailbox_size=2 * n.a5_cycles) as system:
        ref = system.spawn(chart)
        send = ref.send_nowait
        t0 = clock()
        for _ in range(n.a5_cycles):
            send("enter")
            send("leave")
        await system.wait_idle()
        dt = clock() - t0
    return n.a5_cycles / dt


async def sf_a5s(n: Sizes, backend: str) -> float:
    chart = invoke_chart()
    async with ActorSystem() as system:
        ref = system.spawn(chart)
        ask = ref.ask
        t0 = clock()
        for _ in range(n.a5_cycles):
            await ask("enter")
            await anyio.lowlevel.checkpoint()  # the invocation's task starts running
            await ask("leave")
        await system.wait_idle()
        dt = clock() - t0
    return n.a5_cycles / dt


# -- the floor: plain anyio memory streams and tasks ------------------------------------------
TOGGLE = {("off", "t"): "on", ("on", "t"): "off"}


async def floor_a1(n: Sizes, backend: str) -> float:
    send, receive = anyio.create_memory_object_stream[str](n.a1_events)
    state = ["off"]

    async def consumer() -> None:
        s = state[0]
        async with receive:
            async for ev in receive:
                s = TOGGLE[(s, ev)]
        state[0] = s

    async with anyio.create_task_group() as tg:
        tg.start_soon(consumer)
        t0 = clock()
        async with send:
            for _ in range(n.a1_events):
                send.send_nowait("t")
    dt = clock() - t0
    return n.a1_events / dt


async def floor_a2(n: Sizes, backend: str) -> float:
    total = n.a2_actors * n.a2_events
    send, receive = anyio.create_memory_object_stream[tuple[int, str]](total)
    states = ["off"] * n.a2_actors

    async def consumer() -> None:
        async with receive:
            async for i, ev in receive:
                states[i] = TOGGLE[(states[i], ev)]

    async with anyio.create_task_group() as tg:
        tg.start_soon(consumer)
        t0 = clock()
        async with send:
            for _ in range(n.a2_events):
                for i in range(n.a2_actors):
                    send.send_nowait((i, "t"))
    dt = clock() - t0
    return total / dt


async def floor_a3(n: Sizes, backend: str) -> float:
    req_send, req_receive = anyio.create_memory_object_stream[str](1)
    rep_send, rep_receive = anyio.create_memory_object_stream[int](1)
    ctx = {"n": 0}

    async def server() -> None:
        async with req_receive, rep_send:
            async for _ev in req_receive:
                ctx["n"] += 1
                await rep_send.send(ctx["n"])

    async with anyio.create_task_group() as tg:
        tg.start_soon(server)
        t0 = clock()
        async with req_send, rep_receive:
            for _ in range(n.a3_asks):
                await req_send.send("inc")
                await rep_receive.receive()
        dt = clock() - t0
    return n.a3_asks / dt


async def floor_a4(n: Sizes, backend: str) -> float:
    keep: list[Any] = []
    t0 = clock()
    for _ in range(n.a4_spawns):
        keep.append(anyio.create_memory_object_stream[str](1000))
    dt = clock() - t0
    for s, r in keep:
        s.close()
        r.close()
    return n.a4_spawns / dt


async def floor_a4_memory(n: Sizes) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keep = [(anyio.create_memory_object_stream[str](1000), "off") for _ in range(n.a4_spawns)]
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    for (s, r), _ in keep:
        s.close()
        r.close()
    return (after - before) / n.a4_spawns


async def floor_a5(n: Sizes, backend: str) -> float:
    send, receive = anyio.create_memory_object_stream[str](2 * n.a5_cycles)

    async def job(scope: anyio.CancelScope) -> None:
        with scope:
            try:
                await anyio.sleep_forever()
            finally:
                pass

    async def machine(tg: anyio.abc.TaskGroup) -> None:
        state = "idle"
        scope: anyio.CancelScope | None = None
        async with receive:
            async for ev in receive:
                if state == "idle" and ev == "enter":
                    state = "busy"
                    scope = anyio.CancelScope()
                    tg.start_soon(job, scope)
                elif state == "busy" and ev == "leave":
                    state = "idle"
                    assert scope is not None
                    scope.cancel()

    async with anyio.create_task_group() as tg:
        tg.start_soon(machine, tg)
        t0 = clock()
        async with send:
            for _ in range(n.a5_cycles):
                send.send_nowait("enter")
                send.send_nowait("leave")
    dt = clock() - t0
    return n.a5_cycles / dt


async def floor_a5s(n: Sizes, backend: str) -> float:
    req_send, req_receive = anyio.create_memory_object_stream[str](1)
    rep_send, rep_receive = anyio.create_memory_object_stream[str](1)

    async def job(scope: anyio.CancelScope) -> None:
        with scope:
            try:
                await anyio.sleep_forever()
            finally:
                pass

    async def machine(tg: anyio.abc.TaskGroup) -> None:
        state = "idle"
        scope: anyio.CancelScope | None = None
        async with req_receive, rep_send:
            async for ev in req_receive:
                if state == "idle" and ev == "enter":
                    state = "busy"
                    scope = anyio.CancelScope()
                    tg.start_soon(job, scope)
                elif state == "busy" and ev == "leave":
                    state = "idle"
                    assert scope is not None
                    scope.cancel()
                await rep_send.send(state)

    async with anyio.create_task_group() as tg:
        tg.start_soon(machine, tg)
        t0 = clock()
        async with req_send, rep_receive:
            for _ in range(n.a5_cycles):
                await req_send.send("enter")
                await rep_receive.receive()
                await anyio.lowlevel.checkpoint()
                await req_send.send("leave")
                await rep_receive.receive()
        dt = clock() - t0
    return n.a5_cycles / dt


WORKLOADS: dict[str, tuple[Callable[[Sizes, str], Awaitable[float]], ...]] = {
    "A1": (sf_a1, floor_a1),
    "A2": (sf_a2, floor_a2),
    "A3": (sf_a3, floor_a3),
    "A4": (sf_a4, floor_a4),
    "A5": (sf_a5, floor_a5),
    "A5s": (sf_a5s, floor_a5s),
}


def best_of(
    fn: Callable[[Sizes, str], Awaitable[float]], sizes: Sizes, backend: str, repeat: int
) -> float:
    best = 0.0
    for _ in range(repeat):
        gc.collect()
        best = max(best, anyio.run(fn, sizes, backend, backend=backend))
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    p.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--profile", choices=sorted(WORKLOADS), help="profile one workload")
    p.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), help="run these only")
    p.add_argument("--cpu-time", action="store_true", help="time in process CPU time")
    args = p.parse_args(argv)
    if args.cpu_time:
        global clock
        clock = time.process_time
    sizes = Sizes()
    if args.quick:
        sizes = Sizes(100_000, 1_000, 100, 5_000, 10_000, 1_000)
    if args.profile:
        fn = WORKLOADS[args.profile][0]
        prof = cProfile.Profile()
        prof.enable()
        rate = anyio.run(fn, sizes, args.backend, backend=args.backend)
        prof.disable()
        print(f"{args.profile}: {rate:,.0f} {UNITS[args.profile]} (under cProfile)")
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        return 0
    print(
        f"statefleet actors, {args.backend}, Python {platform.python_version()}"
        f" on {platform.machine()}, best of {args.repeat}"
        + (" (quick sizes)" if args.quick else "")
        + ("; CPU time" if args.cpu_time else "")
    )
    print(f"{'':4} {'statefleet':>14} {'floor':>14} {'sf/floor':>9} {'target':>10}  unit")
    ok = True
    for name in args.only or sorted(WORKLOADS):
        sf_fn, floor_fn = WORKLOADS[name]
        sf = best_of(sf_fn, sizes, args.backend, args.repeat)
        floor = best_of(floor_fn, sizes, args.backend, args.repeat)
        target = TARGETS[name]
        mark = "" if sf >= target else "  (below target)"
        ok = ok and sf >= target
        print(
            f"{name:4} {sf:>14,.0f} {floor:>14,.0f} {sf / floor:>9.2f} {target:>10,}"
            f"  {UNITS[name]}{mark}"
        )
        if name == "A4":
            mem = anyio.run(sf_a4_memory, sizes, backend=args.backend)
            fmem = anyio.run(floor_a4_memory, sizes, backend=args.backend)
            print(
                f"{'':4} {mem:>14,.0f} {fmem:>14,.0f} {mem / fmem:>9.2f} {2048:>10,}"
                "  bytes per idle actor (floor: a memory stream pair)"
            )
            ok = ok and mem <= 2048
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
