"""Issue 16's runtime rows: statefleet's actors, durable sends, tracing and import time
against their peers and floors, side by side in one run (run by ``make bench-peers``).

Rows (each contender's runs interleaved: one run of each per round, best of the rounds):

- **actors** (asyncio) against a hand-written baseline, one ``asyncio.Queue`` and one task
  per actor doing a counter increment per message, and pykka / thespian / xoscar where they
  fit: fire-and-forget to one actor until processed; ``ask`` round trips; ping-pong between
  two actors; fan-out of one event to each of 10,000 actors (spawning is not timed).
  statefleet's actor is a one-state chart whose targetless transition increments ``n``.
  xoscar's actors live in an actor pool in this process (``n_process=0``), reached through
  its in-memory channel.
- **idle actor bytes**: RSS delta over 10,000 idle actors, each measured in a fresh
  subprocess (statefleet, the baseline, thespian).
- **durable send**, one client, one event at a time, ``synchronous=FULL`` and ``NORMAL``
  (statefleet ``durability="full"``/``"normal"``), against raw sqlite3 (WAL, one
  ``UPDATE`` of the actor's row per transaction, same synchronous mode), eventsourcing
  on SQLite (its ``SQLITE_DBNAME`` store; one aggregate event per save) and DBOS on its
  SQLite system database (one workflow with one step per event, WAL, same synchronous).
- **1,000 concurrent clients** (``bench_persistence.p1`` with 1,000 actors, one client each)
  against raw sqlite3 batched 1,000 rows per transaction (``bench_persistence.raw_insert_rate``).
- **tracing**: the OpenTelemetry SDK sampling 1% (``ParentBased(TraceIdRatioBased(0.01))``),
  the cost per step over untraced, against the SDK's own cost for the same span calls in a
  bare loop.
- **import**: ``python -c "import statefleet"`` against ``import transitions``, and the same
  plus a two-state toggle defined and one event sent (class DSL; XState dict and core spec in
  the notes) against transitions' ``Machine`` and one trigger (subprocesses).

Every timed run is checked (counters, stored versions): a number is printed only for a run
that did the work. A contender that is not installed prints ``not installed``.

Usage::

    python benchmarks/bench_peers_runtime.py            # everything
    python benchmarks/bench_peers_runtime.py --quick    # tiny sizes (smoke)
    python benchmarks/bench_peers_runtime.py --markdown
    python benchmarks/bench_peers_runtime.py --only actors,durable
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import os
import queue
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_persistence as bp
from bench_actors import counter_chart

from statefleet.actors import ActorSystem
from statefleet.core import (
    Chart,
    ChartSpec,
    DataSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
    encode_snapshot,
)
from statefleet.persistence import SQLiteStore


@dataclass
class Sizes:
    """Sizes of one run."""

    fire: int = 200_000
    asks: int = 20_000
    pingpong: int = 50_000
    fanout: int = 10_000
    idle: int = 10_000
    durable: int = 500
    clients: int = 1_000
    client_events: int = 3
    floor_rows: int = 50_000
    traced: int = 100_000
    imports: int = 10
    repeats: int = 5


FULL = Sizes()
QUICK = Sizes(
    fire=200,
    asks=50,
    pingpong=100,
    fanout=50,
    # RSS moves by pages and the allocator keeps free ones: 50 actors (~40 KB) measured 0 B
    # now and then; 1,000 (~770 KB) is past that and still spawns in a blink
    idle=1_000,
    durable=20,
    clients=20,
    client_events=1,
    floor_rows=2_000,
    traced=200,
    imports=1,
    repeats=1,
)


@dataclass
class Row:
    """One line of the table: statefleet's value, the reference's, the ratio and target.

    ``higher`` says whether a bigger value is better (rates) or worse (costs, bytes, time).
    """

    path: str
    unit: str
    reference: str
    statefleet: float | None
    other: float | None
    target: str
    higher: bool = True
    note: str = ""
    extra: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """statefleet against the reference: >1 is statefleet ahead for rates, behind for costs."""
        if not self.statefleet or not self.other:
            return None
        return self.statefleet / self.other


Timed = Callable[[], float]  # one run: returns its value (rate or cost), raises if wrong


def interleave(contenders: dict[str, Timed | None], repeats: int, higher: bool) -> dict[str, Any]:
    """Run each contender once per round, ``repeats`` rounds; the best value of each.

    A contender that is None or raises ImportError is ``not installed``; one raising
    another exception (a wrong result, a crash) gives its message instead of a number.
    """
    best: dict[str, Any] = {}
    live = {k: v for k, v in contenders.items() if v is not None}
    for k, v in contenders.items():
        if v is None:
            best[k] = "not installed"
    for _ in range(repeats):
        for name, fn in list(live.items()):
            gc.collect()
            try:
                value = fn()
            except ImportError as exc:
                best[name] = f"not installed ({exc.name})"
                del live[name]
                continue
            except Exception as exc:  # a peer's failure is reported, not fatal
                first = (str(exc).splitlines() or [""])[0]  # one line: a table cell
                best[name] = f"failed: {type(exc).__name__}: {first}"[:120]
                del live[name]
                continue
            old = best.get(name)
            if old is None or (value > old if higher else value < old):
                best[name] = value
    return best


#: the timer of the actor and tracing rows: wall time, or with ``--cpu-time`` the process's CPU
#: time (``time.process_time``: every thread, so pykka's actor threads count too), for a
#: machine shared with other work, where wall time measures the neighbours
clock = time.perf_counter


def _num(v: Any) -> float | None:
    return v if isinstance(v, float | int) else None


# -- actors: the asyncio baseline ---------------------------------------------------------
class BaseActor:
    """The hand-written baseline: an ``asyncio.Queue`` and a task, ``n += 1`` per message.

    A message is ``(kind, payload)``: ``"inc"``; ``"ask"`` with a future answered with
    ``n``; ``"ball"`` passed to ``peer`` until ``limit`` hops (then ``done`` is set).
    """

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.n = 0
        self.peer: BaseActor | None = None
        self.limit = 0
        self.done = asyncio.Event()
        self.until = -1
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        get = self.queue.get
        while True:
            kind, payload = await get()
            self.n += 1
            if kind == "ask":
                payload.set_result(self.n)
            elif kind == "ball":
                if payload < self.limit:
                    assert self.peer is not None
                    self.peer.queue.put_nowait(("ball", payload + 1))
                else:
                    self.done.set()
            if self.n == self.until:
                self.done.set()


async def _stop(actors: Sequence[BaseActor]) -> None:
    for a in actors:
        a.task.cancel()
    await asyncio.gather(*(a.task for a in actors), return_exceptions=True)


async def base_fire(n: int) -> float:
    a = BaseActor()
    a.until = n
    put = a.queue.put_nowait
    t0 = clock()
    for _ in range(n):
        put(("inc", None))
    await a.done.wait()
    dt = clock() - t0
    assert a.n == n
    await _stop([a])
    return n / dt


async def base_ask(n: int) -> float:
    a = BaseActor()
    loop = asyncio.get_running_loop()
    put = a.queue.put_nowait
    t0 = clock()
    for _ in range(n):
        fut = loop.create_future()
        put(("ask", fut))
        await fut
    dt = clock() - t0
    assert a.n == n
    await _stop([a])
    return n / dt


async def base_pingpong(n: int) -> float:
    a, b = BaseActor(), BaseActor()
    a.peer, b.peer = b, a
    a.limit = b.limit = n
    t0 = clock()
    a.queue.put_nowait(("ball", 1))
    await asyncio.wait(
        [asyncio.ensure_future(a.done.wait()), asyncio.ensure_future(b.done.wait())],
        return_when=asyncio.FIRST_COMPLETED,
    )
    dt = clock() - t0
    assert a.n + b.n == n
    await _stop([a, b])
    return n / dt


async def base_fanout(n: int) -> float:
    actors = [BaseActor() for _ in range(n)]
    for a in actors:
        a.until = 1
    await asyncio.sleep(0)  # every task started and waiting, as spawned actors are
    t0 = clock()
    for a in actors:
        a.queue.put_nowait(("inc", None))
    for a in actors:
        await a.done.wait()
    dt = clock() - t0
    await _stop(actors)
    return n / dt


# -- actors: statefleet ---------------------------------------------------------------------
def _hop(ctx: Any) -> None:
    c = ctx.context
    c["n"] += 1
    if ctx.event.data["hop"] < c["limit"]:
        ctx.send("ball", {"hop": ctx.event.data["hop"] + 1}, target=c["peer"])


def pingpong_chart() -> Chart:
    """One state; ``ball`` increments ``n`` and passes the ball to ``peer`` until ``limit``."""
    return compile_chart(
        ChartSpec(
            id="player",
            data=[DataSpec("n", 0), DataSpec("peer", ""), DataSpec("limit", 0)],
            states=[StateSpec("s", transitions=[TransitionSpec(event=("ball",), actions=(_hop,))])],
        )
    )


COUNTER = counter_chart()
PLAYER = pingpong_chart()


async def sf_fire(n: int, listeners: Sequence[Any] = ()) -> float:
    async with ActorSystem(mailbox_size=n, listeners=list(listeners)) as system:
        ref = system.spawn(COUNTER)
        await system.wait_idle()
        send = ref.send_nowait
        t0 = clock()
        for _ in range(n):
            send("inc")
        await system.wait_idle()
        dt = clock() - t0
        assert ref.context["n"] == n
    return n / dt


async def sf_ask(n: int) -> float:
    async with ActorSystem() as system:
        ref = system.spawn(COUNTER)
        ask = ref.ask
        t0 = clock()
        for _ in range(n):
            await ask("inc")
        dt = clock() - t0
        assert ref.context["n"] == n
    return n / dt


async def sf_pingpong(n: int) -> float:
    async with ActorSystem() as system:
        a = system.spawn(PLAYER, id="ping", context={"peer": "pong", "limit": n})
        b = system.spawn(PLAYER, id="pong", context={"peer": "ping", "limit": n})
        await system.wait_idle()
        t0 = clock()
        a.send_nowait("ball", hop=1)
        await system.wait_idle()
        dt = clock() - t0
        assert a.context["n"] + b.context["n"] == n
    return n / dt


async def sf_fanout(n: int) -> float:
    async with ActorSystem() as system:
        refs = [system.spawn(COUNTER) for _ in range(n)]
        await system.wait_idle()
        t0 = clock()
        for r in refs:
            r.send_nowait("inc")
        await system.wait_idle()
        dt = clock() - t0
        assert all(r.context["n"] == 1 for r in refs)
    return n / dt


# -- actors: pykka (one OS thread per actor) and thespian (simpleSystemBase) -----------------
def pykka_rows(s: Sizes) -> dict[str, Timed | None]:
    """pykka ``ThreadingActor``: fire-and-forget (``tell`` then one ``ask``), ``ask``, ping-pong."""
    try:
        import pykka
    except ImportError:
        return {"fire": None, "ask": None, "pingpong": None}

    class Counter(pykka.ThreadingActor):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.n = 0
            self.peer: Any = None
            self.limit = 0
            self.done = threading.Event()

        def on_receive(self, message: Any) -> Any:
            if message == "get":
                return self.n
            self.n += 1
            if isinstance(message, int):  # the ball: its hop number
                if message < self.limit:
                    self.peer.tell(message + 1)
                else:
                    self.done.set()
            return self.n

    def fire() -> float:
        ref = Counter.start()
        try:
            tell = ref.tell
            t0 = clock()
            for _ in range(s.fire):
                tell("inc")
            got = ref.ask("get")  # FIFO: answered after every message before it
            dt = clock() - t0
            assert got == s.fire
        finally:
            ref.stop()
        return s.fire / dt

    def ask() -> float:
        ref = Counter.start()
        try:
            t0 = clock()
            for _ in range(s.asks):
                ref.ask("inc")
            dt = clock() - t0
            assert ref.ask("get") == s.asks
        finally:
            ref.stop()
        return s.asks / dt

    def pingpong() -> float:
        a, b = Counter.start(), Counter.start()
        try:
            pa, pb = a.proxy(), b.proxy()
            pa.peer, pb.peer = b, a
            pa.limit, pb.limit = s.pingpong, s.pingpong
            pa.limit.get(), pb.limit.get()
            done_a, done_b = pa.done.get(), pb.done.get()
            t0 = clock()
            a.tell(1)
            while not (done_a.wait(0.01) or done_b.is_set()):
                pass
            dt = clock() - t0
            assert a.ask("get") + b.ask("get") == s.pingpong
        finally:
            a.stop()
            b.stop()
        return s.pingpong / dt

    return {"fire": fire, "ask": ask, "pingpong": pingpong}


def thespian_rows(s: Sizes) -> dict[str, Timed | None]:
    """thespian ``simpleSystemBase`` (runs actors in the caller's thread on ``ask``)."""
    try:
        from thespian.actors import Actor
        from thespian.actors import ActorSystem as TSystem
    except ImportError:
        return {"fire": None, "ask": None, "pingpong": None}

    class Counter(Actor):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.n = 0
            self.peer: Any = None
            self.limit = 0
            self.asker: Any = None

        def receiveMessage(self, message: Any, sender: Any) -> None:
            if isinstance(message, tuple):  # ("setup", peer, limit)
                _, self.peer, self.limit = message
                self.send(sender, "ok")
            elif message == "get":
                self.send(sender, self.n)
            elif isinstance(message, int):  # the ball
                self.n += 1
                if self.asker is None and message == 1:
                    self.asker = sender
                if message < self.limit:
                    self.send(self.peer, message + 1)
                else:
                    self.send(self.peer, "end")
            elif message == "end":
                self.send(self.asker, self.n) if self.asker else None
            elif isinstance(message, str) and message != "ok":
                self.n += 1
                if message == "ask":
                    self.send(sender, self.n)

    def system() -> Any:
        return TSystem("simpleSystemBase", logDefs=False)

    def fire() -> float:
        asys = system()
        try:
            addr = asys.createActor(Counter)
            t0 = clock()
            for _ in range(s.fire):
                asys.tell(addr, "inc")
            got = asys.ask(addr, "get", 60)
            dt = clock() - t0
            assert got == s.fire, got
        finally:
            asys.shutdown()
        return s.fire / dt

    def ask() -> float:
        asys = system()
        try:
            addr = asys.createActor(Counter)
            t0 = clock()
            for _ in range(s.asks):
                asys.ask(addr, "ask", 60)
            dt = clock() - t0
            assert asys.ask(addr, "get", 60) == s.asks
        finally:
            asys.shutdown()
        return s.asks / dt

    def pingpong() -> float:
        asys = system()
        try:
            a, b = asys.createActor(Counter), asys.createActor(Counter)
            asys.ask(a, ("setup", b, s.pingpong), 60)
            asys.ask(b, ("setup", a, s.pingpong), 60)
            t0 = clock()
            asys.ask(a, 1, 60)  # answered when the last hop's "end" reaches a
            dt = clock() - t0
            total = asys.ask(a, "get", 60) + asys.ask(b, "get", 60)
            assert total == s.pingpong, total
        finally:
            asys.shutdown()
        return s.pingpong / dt

    return {"fire": fire, "ask": ask, "pingpong": pingpong}


# -- actors: xoscar (an actor pool in this process) --------------------------------------------
def xoscar_rows(s: Sizes) -> dict[str, Timed | None]:
    """xoscar ``Actor``s in an actor pool made with ``create_actor_pool(address,
    n_process=0)``: the main pool only, in this process and on this event loop (no sub-pool
    processes). Calls from this process reach it through xoscar's in-memory ``dummy://``
    channel (its router maps the pool's address to it), so no socket is used, but every call
    is still a message: a ref method call builds one, routes it, awaits the pool's reply.
    ``await ref.inc.tell()`` returns once the pool has the message; ``await ref.inc()`` once
    it ran. The pool also listens on a local TCP port, unused here."""
    try:
        import xoscar as xo
    except ImportError:
        return dict.fromkeys(("fire", "ask", "pingpong", "fanout"))

    class Countdown:
        """Set when ``left`` messages were processed (actors and caller share this process)."""

        def __init__(self, left: int) -> None:
            self.left = left
            self.done = asyncio.Event()

        def tick(self) -> None:
            self.left -= 1
            if self.left == 0:
                self.done.set()

    class Counter(xo.Actor):  # type: ignore[misc]
        def __init__(self, countdown: Countdown | None = None) -> None:
            super().__init__()
            self.n = 0
            self.countdown = countdown
            self.peer: Any = None
            self.limit = 0

        def inc(self) -> int:
            self.n += 1
            if self.countdown is not None:
                self.countdown.tick()
            return self.n

        def get(self) -> int:
            return self.n

        def setup(self, peer: Any, limit: int) -> None:
            self.peer, self.limit = peer, limit

        async def ball(self, hop: int) -> None:
            self.inc()
            if hop < self.limit:
                await self.peer.ball.tell(hop + 1)

    async def pool() -> Any:
        return await xo.create_actor_pool("127.0.0.1", n_process=0)

    def timed(body: Callable[[Any], Awaitable[float]]) -> Timed:
        async def run() -> float:
            async with await pool() as p:
                return await body(p)

        return lambda: asyncio.run(run())

    async def fire(p: Any) -> float:
        ref = await xo.create_actor(Counter, address=p.external_address, uid="counter")
        tell = ref.inc.tell
        t0 = clock()
        for _ in range(s.fire):
            await tell()
        got = await ref.get()  # a later message: answered after every tell before it
        dt = clock() - t0
        assert got == s.fire, got
        return s.fire / dt

    async def ask(p: Any) -> float:
        ref = await xo.create_actor(Counter, address=p.external_address, uid="counter")
        inc = ref.inc
        t0 = clock()
        for _ in range(s.asks):
            await inc()
        dt = clock() - t0
        assert await ref.get() == s.asks
        return s.asks / dt

    async def pingpong(p: Any) -> float:
        countdown = Countdown(s.pingpong)
        a, b = [
            await xo.create_actor(Counter, countdown, address=p.external_address, uid=uid)
            for uid in ("ping", "pong")
        ]
        await a.setup(b, s.pingpong)
        await b.setup(a, s.pingpong)
        t0 = clock()
        await a.ball.tell(1)
        await countdown.done.wait()
        dt = clock() - t0
        assert await a.get() + await b.get() == s.pingpong
        return s.pingpong / dt

    async def fanout(p: Any) -> float:
        countdown = Countdown(s.fanout)
        refs = [
            await xo.create_actor(Counter, countdown, address=p.external_address, uid=f"c{i}")
            for i in range(s.fanout)
        ]
        t0 = clock()
        for ref in refs:
            await ref.inc.tell()
        await countdown.done.wait()
        dt = clock() - t0
        assert countdown.left == 0
        return s.fanout / dt

    return {
        "fire": timed(fire),
        "ask": timed(ask),
        "pingpong": timed(pingpong),
        "fanout": timed(fanout),
    }


def _run_async(fn: Callable[[int], Awaitable[float]], n: int) -> Timed:
    return lambda: asyncio.run(fn(n))  # type: ignore[arg-type]


def actor_rows(s: Sizes) -> list[Row]:
    pk, th, xo = pykka_rows(s), thespian_rows(s), xoscar_rows(s)
    specs = [
        ("fire", "actor fire-and-forget, one actor, until processed", s.fire,
         sf_fire, base_fire, "msgs/s"),
        ("ask", "actor ask round trip", s.asks, sf_ask, base_ask, "asks/s"),
        ("pingpong", "ping-pong between two actors", s.pingpong,
         sf_pingpong, base_pingpong, "hops/s"),
        ("fanout", "fan-out: one event to each of 10,000 actors", s.fanout,
         sf_fanout, base_fanout, "msgs/s"),
    ]  # fmt: skip
    targets = {"fire": 1.0, "ask": 1.0, "pingpong": 1.0, "fanout": 1.5}
    rows = []
    for key, label, n, sf, base, unit in specs:
        contenders: dict[str, Timed | None] = {
            "statefleet": _run_async(sf, n),
            "asyncio": _run_async(base, n),
        }
        if key in pk:
            contenders["pykka"] = pk[key]
            contenders["thespian"] = th[key]
        contenders["xoscar"] = xo[key]
        best = interleave(contenders, s.repeats, higher=True)
        extra = [
            f"{k} {v:,.0f}" if isinstance(v, float) else f"{k}: {v}"
            for k, v in best.items()
            if k not in ("statefleet", "asyncio")
        ]
        if key == "fanout":
            extra.append("pykka/thespian: n/a (pykka: one OS thread per actor)")
        rows.append(
            Row(
                label,
                unit,
                "asyncio Queue+task",
                _num(best["statefleet"]),
                _num(best["asyncio"]),
                f">= {targets[key]:g}x",
                note="" if _num(best["statefleet"]) else str(best["statefleet"]),
                extra=extra,
            )
        )
    return rows


# -- idle actor bytes (a fresh subprocess each) -------------------------------------------------
def rss_bytes() -> int:
    """This process's resident set size, from /proc."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _idle_statefleet(n: int) -> float:
    async with ActorSystem() as system:
        system.spawn(COUNTER)  # warm: first-use allocations are not per-actor
        await system.wait_idle()
        gc.collect()
        before = rss_bytes()
        refs = [system.spawn(COUNTER) for _ in range(n)]
        await system.wait_idle()
        gc.collect()
        per = (rss_bytes() - before) / n
        del refs
    return per


async def _idle_asyncio(n: int) -> float:
    keep = [BaseActor()]
    await asyncio.sleep(0)
    gc.collect()
    before = rss_bytes()
    keep += [BaseActor() for _ in range(n)]
    await asyncio.sleep(0)
    gc.collect()
    per = (rss_bytes() - before) / n
    await _stop(keep)
    return per


def _idle_thespian(n: int) -> float:
    from thespian.actors import Actor
    from thespian.actors import ActorSystem as TSystem

    class Idle(Actor):  # type: ignore[misc]
        def receiveMessage(self, message: Any, sender: Any) -> None:
            pass

    asys = TSystem("simpleSystemBase", logDefs=False)
    try:
        asys.createActor(Idle)
        gc.collect()
        before = rss_bytes()
        for _ in range(n):
            asys.createActor(Idle)
        gc.collect()
        return (rss_bytes() - before) / n
    finally:
        asys.shutdown()


def idle_bytes(kind: str, n: int) -> float:
    """Bytes per idle actor of ``kind`` (run in a fresh subprocess by :func:`idle_row`)."""
    if kind == "statefleet":
        return asyncio.run(_idle_statefleet(n))
    if kind == "asyncio":
        return asyncio.run(_idle_asyncio(n))
    return _idle_thespian(n)


def _idle_subprocess(kind: str, n: int) -> Timed:
    def run() -> float:
        out = subprocess.run(
            [sys.executable, __file__, "--idle", kind, "--n", str(n)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            last = (out.stderr.strip().splitlines() or ["?"])[-1]
            if "ModuleNotFoundError" in last:
                raise ImportError(last, name=kind)
            raise RuntimeError(last)
        return float(out.stdout)

    return run


def idle_row(s: Sizes) -> list[Row]:
    best = interleave(
        {k: _idle_subprocess(k, s.idle) for k in ("statefleet", "thespian", "asyncio")},
        s.repeats,
        higher=False,
    )
    return [
        Row(
            f"idle actor bytes (RSS delta over {s.idle:,})",
            "B/actor",
            "thespian",
            _num(best["statefleet"]),
            _num(best["thespian"]),
            "<= 512 B",
            higher=False,
            note="" if _num(best["thespian"]) else f"thespian: {best['thespian']}",
            extra=[f"asyncio Queue+task {best['asyncio']:,.0f} B"] if _num(best["asyncio"]) else [],
        )
    ]


# -- durable sends -----------------------------------------------------------------------------
def _tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="sf-bench-"))


def durable_clock(durability: str) -> Callable[[], float]:
    """The timer of a durable row: with ``--cpu-time`` the NORMAL rows are timed in process
    CPU time (every thread: the store's writer thread counts), as they are CPU-bound; the
    FULL rows always in wall time (they wait on the disk's fsync, which CPU time omits)."""
    return clock if durability == "normal" else time.perf_counter


async def _sf_durable(path: Path, n: int, durability: str) -> float:
    store = SQLiteStore(path, durability=durability)  # type: ignore[arg-type]
    timer = durable_clock(durability)
    async with ActorSystem(store=store) as system:
        ref = system.ref(bp.ORDER, "order-0")
        await ref.activate()
        send = ref.send
        t0 = timer()
        for _ in range(n):
            await send("inc")  # returns once the event is durable
        await system.wait_idle()  # and every one applied
        dt = timer() - t0
        got = (await ref.snapshot()).context["n"]
    assert got == n, got
    return n / dt


def sf_durable(n: int, durability: str) -> Timed:
    def run() -> float:
        d = _tmp()
        try:
            return asyncio.run(_sf_durable(d / "sf.db", n, durability))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    return run


def raw_durable(n: int, durability: str, *, handoff: bool = False) -> Timed:
    """Raw sqlite3, WAL: one transaction per event updating the actor's row and version.

    ``handoff``: the floor of an asyncio store (``durable_floor``): each transaction runs on a
    thread of its own, awaited from an event loop (a queue put in, one
    ``call_soon_threadsafe`` back), as any asyncio program that does not block its loop on
    the disk must."""

    def run() -> float:
        d = _tmp()
        conn = sqlite3.connect(d / "raw.db", isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {durability.upper()}")
            conn.execute(
                "CREATE TABLE actors (id TEXT PRIMARY KEY, version INTEGER, snapshot BLOB)"
                " WITHOUT ROWID"
            )
            blob = encode_snapshot(bp.ORDER.initial(session_id="x").snapshot)
            conn.execute("INSERT INTO actors VALUES ('order-0', 0, ?)", (blob,))
            execute = conn.execute

            def txn(v: int) -> None:
                execute("BEGIN IMMEDIATE")
                execute(
                    "UPDATE actors SET version = ?, snapshot = ? WHERE id = 'order-0'", (v, blob)
                )
                execute("COMMIT")

            timer = durable_clock(durability)
            if handoff:
                dt = asyncio.run(_handed_off(txn, n, timer))
            else:
                t0 = timer()
                for v in range(1, n + 1):
                    txn(v)
                dt = timer() - t0
            assert conn.execute("SELECT version FROM actors").fetchone()[0] == n
            return n / dt
        finally:
            conn.close()
            shutil.rmtree(d, ignore_errors=True)

    return run


async def _handed_off(txn: Callable[[int], None], n: int, timer: Callable[[], float]) -> float:
    """``txn(1..n)`` on a thread of its own, each awaited from the event loop."""
    loop = asyncio.get_running_loop()
    jobs: queue.SimpleQueue[tuple[int, asyncio.Future[None]] | None] = queue.SimpleQueue()

    def worker() -> None:
        while (job := jobs.get()) is not None:
            txn(job[0])
            loop.call_soon_threadsafe(job[1].set_result, None)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        t0 = timer()
        for v in range(1, n + 1):
            fut = loop.create_future()
            jobs.put((v, fut))
            await fut
        return timer() - t0
    finally:
        jobs.put(None)
        thread.join()


def eventsourcing_durable(n: int, durability: str) -> Timed | None:
    """eventsourcing 9 on SQLite: one aggregate, one event saved per call.

    eventsourcing's SQLite datastore sets no ``synchronous`` pragma of its own: SQLite's
    default applies (FULL), so only the FULL row is like for like."""
    try:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate, event
    except ImportError:
        return None
    if durability != "full":
        return None

    class Order(Aggregate):  # type: ignore[misc]
        def __init__(self) -> None:
            self.n = 0

        @event("Inc")  # type: ignore[misc]
        def inc(self) -> None:
            self.n += 1

    def run() -> float:
        d = _tmp()
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(d / "es.db")}
        try:
            app = Application(env=env)
            order = Order()
            app.save(order)
            t0 = time.perf_counter()
            for _ in range(n):
                order.inc()
                app.save(order)
            dt = time.perf_counter() - t0
            assert app.repository.get(order.id).n == n
            app.close()
            return n / dt
        finally:
            shutil.rmtree(d, ignore_errors=True)

    return run


@functools.cache
def _dbos_counter() -> tuple[Any, Callable[[], int], dict[str, int]]:
    """DBOS, one counter workflow (registered once per process, as DBOS's decorators are
    global): ``inc()`` runs one step incrementing ``state["n"]`` and returns the new value."""
    from dbos import DBOS

    state = {"n": 0}

    @DBOS.step()  # type: ignore[misc]
    def bump() -> int:
        state["n"] += 1
        return state["n"]

    @DBOS.workflow()  # type: ignore[misc]
    def inc() -> int:
        return cast(int, bump())

    return DBOS, inc, state


def _dbos_sqlite() -> Any:
    """The DB-API module DBOS can run on here: the stdlib's ``sqlite3``, unless DBOS's SQLite
    schema needs a newer SQLite than it links. DBOS 3.4 on Python >= 3.12 creates columns
    defaulting to ``unixepoch('subsec')`` (SQLite >= 3.42); on an older SQLite they default
    to NULL and ``DBOS.launch`` fails. Then ``pysqlite3-binary`` (a newer SQLite, installed by
    ``make bench-peers``) is used, and the row's note names its version."""
    if sys.version_info < (3, 12) or sqlite3.sqlite_version_info >= (3, 42):
        return sqlite3
    try:
        import pysqlite3.dbapi2 as module
    except ImportError as exc:
        raise ImportError(
            f"DBOS on Python >= 3.12 needs SQLite >= 3.42 (this Python links"
            f" {sqlite3.sqlite_version}; pysqlite3-binary provides one)",
            name="pysqlite3-binary",
        ) from exc
    return module


def dbos_durable(n: int, durability: str, commits: list[float]) -> Timed | None:
    """DBOS on its SQLite system database: one workflow per event, called synchronously (it
    returns once DBOS recorded the workflow, its step's output and its result). The closest
    DBOS has to one durable event: a workflow is its unit of durable work (there is no
    actor state to update; ``DBOS.send`` to a waiting workflow would add its ``recv``).

    The system database gets DBOS's own connection settings (``IMMEDIATE`` transactions,
    ``busy_timeout``, foreign keys) through a ``system_database_engine``, plus WAL and the
    row's ``synchronous``: DBOS sets neither (SQLite's rollback journal, FULL). Each run
    appends the transactions committed per event to ``commits``."""
    try:
        import sqlalchemy as sa
        from dbos import DBOS  # noqa: F401
    except ImportError:
        return None

    def run() -> float:
        dbos, inc, state = _dbos_counter()
        d = _tmp()
        url = f"sqlite:///{d / 'dbos.sqlite'}"
        engine = sa.create_engine(url, module=_dbos_sqlite())
        committed = [0]

        @sa.event.listens_for(engine, "connect")  # type: ignore[misc]
        def settings(conn: Any, _record: Any) -> None:
            conn.isolation_level = "IMMEDIATE"
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={durability.upper()}")

        @sa.event.listens_for(engine, "commit")  # type: ignore[misc]
        def count(_conn: Any) -> None:
            committed[0] += 1

        config = {
            "name": "bench",
            "system_database_url": url,
            "system_database_engine": engine,
            "log_level": "WARNING",
        }
        try:
            dbos(config=config)
            dbos.launch()
            state["n"] = 0
            timer = durable_clock(durability)
            before = committed[0]
            t0 = timer()
            for _ in range(n):
                inc()
            dt = timer() - t0
            commits.append((committed[0] - before) / n)
            assert state["n"] == n, state
            done = dbos.list_workflows(status="SUCCESS", load_input=False, load_output=False)
            assert len(done) == n, len(done)
            with engine.connect() as conn:
                mode = conn.execute(sa.text("PRAGMA synchronous")).scalar()
            assert mode == {"full": 2, "normal": 1}[durability], mode
            return n / dt
        finally:
            dbos.destroy()
            engine.dispose()
            shutil.rmtree(d, ignore_errors=True)

    return run


def _floor_note(best: dict[str, Any]) -> list[str]:
    """The note of a durable row on its floor (raw sqlite3 on a thread, awaited from asyncio)."""
    floor, sf = _num(best["floor"]), _num(best["statefleet"])
    if not (floor and sf):
        return [f"floor: {best['floor']}"] if not floor else []
    return [
        f"floor (raw sqlite3 on a thread, asyncio handoff) {floor:,.0f}/s:"
        f" statefleet {sf / floor:.2f}x of it"
    ]


def durable_rows(s: Sizes) -> list[Row]:
    rows = []
    targets = {"full": ">= 0.8x", "normal": ">= 0.3x"}
    for durability in ("full", "normal"):
        es = eventsourcing_durable(s.durable, durability)
        contenders: dict[str, Timed | None] = {
            "statefleet": sf_durable(s.durable, durability),
            "raw": raw_durable(s.durable, durability),
            "floor": raw_durable(s.durable, durability, handoff=True),
        }
        if es is not None:
            contenders["eventsourcing"] = es
        commits: list[float] = []
        contenders["DBOS"] = dbos_durable(s.durable, durability, commits)
        best = interleave(contenders, s.repeats, higher=True)
        extra = _floor_note(best)
        if "eventsourcing" in best:
            v = best["eventsourcing"]
            extra.append(f"eventsourcing {v:,.0f}/s" if _num(v) else f"eventsourcing: {v}")
        else:
            extra.append("eventsourcing: sets no synchronous pragma, FULL only")
        v = best["DBOS"]
        if _num(v):
            module = _dbos_sqlite()
            lib = "" if module is sqlite3 else f"; SQLite {module.sqlite_version}, pysqlite3"
            extra.append(
                f"DBOS {v:,.0f}/s (one workflow with one step per event, WAL, same synchronous;"
                f" {min(commits):.0f} transactions per event{lib})"
            )
        else:
            extra.append(f"DBOS: {v}")
        rows.append(
            Row(
                f"durable send, one client, synchronous={durability.upper()}",
                "sends/s",
                "raw sqlite3, 1 txn/event",
                _num(best["statefleet"]),
                _num(best["raw"]),
                targets[durability],
                note="" if _num(best["statefleet"]) else str(best["statefleet"]),
                extra=extra,
            )
        )
    return rows


def concurrent_rows(s: Sizes) -> list[Row]:
    settings = bp.Settings(p1_actors=s.clients, p1_events=s.client_events, p1_senders=s.clients)

    def in_tmp(durability: str, body: Callable[[Path], float]) -> Timed:
        def run() -> float:
            d = _tmp()
            bp.clock = durable_clock(durability)
            try:
                return body(d)
            finally:
                shutil.rmtree(d, ignore_errors=True)

        return run

    def contenders(durability: str) -> dict[str, Timed | None]:
        return {
            "statefleet": in_tmp(
                durability, lambda d: asyncio.run(bp.p1(d, settings, durability))[0]
            ),
            "raw": in_tmp(durability, lambda d: bp.raw_insert_rate(d, s.floor_rows, durability)),
            # the floor of an asyncio store: the clients' rows group-committed on a thread
            "floor": in_tmp(
                durability,
                lambda d: bp.raw_handoff_rate(d, s.clients, s.client_events, durability),
            ),
        }

    rows = []
    for durability in ("full", "normal"):
        best = interleave(contenders(durability), s.repeats, higher=True)
        rows.append(
            Row(
                f"durable sends from {s.clients:,} concurrent clients, {durability.upper()}",
                "sends/s",
                "raw sqlite3, 1,000 rows/txn",
                _num(best["statefleet"]),
                _num(best["raw"]),
                ">= 0.25x",
                note="" if _num(best["statefleet"]) else str(best["statefleet"]),
                extra=_floor_note(best),
            )
        )
    return rows


# -- tracing -----------------------------------------------------------------------------------
def _provider() -> tuple[Any, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    tp = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.01)))
    tp.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    return tp, MeterProvider()


async def _sf_steps(n: int, traced: bool) -> float:
    from statefleet.telemetry import OpenTelemetry

    listeners: list[Any] = []
    if traced:
        tp, mp = _provider()
        listeners = [OpenTelemetry(tracer_provider=tp, meter_provider=mp)]
    return 1 / await sf_fire(n, listeners)


def bare_sdk_step(n: int) -> float:
    """The SDK's own cost of the span calls statefleet makes per step, in a bare loop: start
    the macrostep span, read its context (for the trace headers), ask whether it records,
    end it, and record the step duration in a histogram."""
    tp, mp = _provider()
    tracer = tp.get_tracer("bench")
    hist = mp.get_meter("bench").create_histogram("statefleet.macrostep.duration")
    labels = {"statefleet.chart.id": "counter"}
    t0 = clock()
    for _ in range(n):
        span = tracer.start_span("statefleet.macrostep", context=None, links=[])
        span.get_span_context()
        span.is_recording()
        span.end()
        hist.record(1e-6, labels)
    return (clock() - t0) / n


def tracing_rows(s: Sizes) -> list[Row]:
    try:
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        return [Row("tracing, SDK sampling 1%", "us/step", "SDK bare loop", None, None,
                    "<= 1.3x", note="opentelemetry-sdk not installed")]  # fmt: skip
    best = interleave(
        {
            "untraced": lambda: asyncio.run(_sf_steps(s.traced, False)),
            "traced": lambda: asyncio.run(_sf_steps(s.traced, True)),
            "bare": lambda: bare_sdk_step(s.traced),
        },
        s.repeats,
        higher=False,
    )
    over = best["traced"] - best["untraced"]
    return [
        Row(
            "tracing, SDK ParentBased(TraceIdRatioBased(0.01)): cost per step over untraced",
            "us/step",
            "same span calls, bare loop",
            over * 1e6,
            best["bare"] * 1e6,
            "<= 1.3x",
            higher=False,
            extra=[f"untraced {best['untraced'] * 1e6:.2f} us/step"],
        )
    ]


# -- import time -------------------------------------------------------------------------------
#: bytecode caches written and used, as in an installed package (PYTHONDONTWRITEBYTECODE
#: would make every run compile the sources: that measures the compiler, not the import)
_IMPORT_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

#: the first thing a program does with each library, in a fresh interpreter: import it, define a
#: two-state toggle as its README shows, run one event. statefleet's class DSL is its quick
#: start; the XState dict and the core's own spec are in the row's notes.
FIRST_USE = {
    "statefleet": (
        "from statefleet import State, StateChart\n"
        "class T(StateChart):\n"
        "    a = State(initial=True)\n"
        "    b = State()\n"
        "    go = a.to(b) | b.to(a)\n"
        "t = T()\n"
        "t.go()\n"
        "assert t.b.is_active"
    ),
    "statefleet XState dict": (
        "from statefleet import from_dict\n"
        "c = from_dict({'id': 't', 'initial': 'a', 'states': {'a': {'on': {'go': 'b'}},"
        " 'b': {'on': {'go': 'a'}}}})\n"
        "assert c.transition(c.initial().snapshot, 'go').snapshot.configuration == ('t.b',)"
    ),
    "statefleet core spec": (
        "from statefleet import ChartSpec, Session, StateSpec, TransitionSpec, compile_chart\n"
        "go = lambda to: [TransitionSpec(event=('go',), target=(to,))]\n"
        "s = Session(compile_chart(ChartSpec(id='t', states=[StateSpec(id='a',"
        " transitions=go('b')), StateSpec(id='b', transitions=go('a'))])))\n"
        "s.send('go')\n"
        "assert s.configuration == {'b'}"
    ),
    "transitions": (
        "from transitions import Machine\n"
        "class M: pass\n"
        "m = M()\n"
        "Machine(m, states=['a', 'b'], transitions=[['go', 'a', 'b'], ['go', 'b', 'a']],"
        " initial='a')\n"
        "m.go()\n"
        "assert m.state == 'b'"
    ),
}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def import_time(code: str) -> Timed:
    """One fresh interpreter running ``code``: ms of wall time, or with ``--cpu-time`` the
    child's CPU time (user + system), which the neighbours' load leaves out."""

    def run() -> float:
        cpu = clock is time.process_time
        t0 = _children_cpu() if cpu else time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, check=False, env=_IMPORT_ENV
        )
        dt = (_children_cpu() if cpu else time.perf_counter()) - t0
        if out.returncode:
            err = out.stderr.decode(errors="replace").strip().splitlines()
            if err and err[-1].startswith(("ModuleNotFoundError", "ImportError")):
                raise ImportError(err[-1], name=err[-1].split("'")[1] if "'" in err[-1] else None)
            raise RuntimeError(err[-1] if err else f"exit status {out.returncode}")
        return dt * 1e3

    return run


def import_rows(s: Sizes) -> list[Row]:
    """``import statefleet`` against ``import transitions``; then the same plus a toggle chart
    defined and one event sent (the cost a program pays before its first event)."""
    codes = {
        "statefleet": "import statefleet",
        "transitions": "import transitions",
        "python": "pass",
        "msgspec": "import msgspec",
        **{f"use {k}": v for k, v in FIRST_USE.items()},
    }
    for code in codes.values():  # warm-up: write the bytecode caches
        subprocess.run([sys.executable, "-c", code], env=_IMPORT_ENV, check=False)
    best = interleave(
        {k: import_time(v) for k, v in codes.items()}, max(s.imports, s.repeats), higher=False
    )

    def ms(key: str) -> str:
        v, name = _num(best[key]), key.removeprefix("use ")
        return f"{name} {v:.0f} ms" if v is not None else f"{name}: {best[key]}"

    def row(path: str, reference: str, sf: str, peer: str, extra: list[str]) -> Row:
        other = _num(best[peer])
        note = "" if other else f"transitions: {best[peer]}"
        target = "<= 1x (no slower)"
        return Row(path, "ms", reference, _num(best[sf]), other, target, False, note, extra)

    bare = [f"bare interpreter {best['python']:.0f} ms"] if _num(best["python"]) else []
    return [
        row(
            'python -c "import statefleet"', "import transitions", "statefleet", "transitions", bare
        ),
        row(
            "import + define a toggle (class DSL) + one event",
            "transitions: import + Machine + one trigger",
            "use statefleet",
            "use transitions",
            [
                ms("use statefleet XState dict"),
                ms("use statefleet core spec"),
                f"{ms('msgspec')} (import msgspec alone: the core's types are msgspec Structs)",
            ],
        ),
    ]


# -- the table ---------------------------------------------------------------------------------
GROUPS: dict[str, Callable[[Sizes], list[Row]]] = {
    "actors": actor_rows,
    "idle": idle_row,
    "durable": durable_rows,
    "concurrent": concurrent_rows,
    "tracing": tracing_rows,
    "import": import_rows,
}


def _verdict(row: Row) -> str:
    r = row.ratio
    if r is None:
        return row.target
    limit = float(row.target.split()[1].rstrip("xB"))
    if row.unit == "B/actor":
        ok = bool(row.statefleet is not None and row.statefleet <= limit)
    elif row.higher:
        ok = r >= limit
    else:
        ok = r <= limit
    return f"{row.target} {'ok' if ok else 'MISS'}"


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit in ("us/step", "ms"):
        return f"{v:,.2f}" if v < 10 else f"{v:,.0f}"
    return f"{v:,.0f}"


def format_rows(rows: Sequence[Row], *, markdown: bool = False) -> str:
    """The table: path, unit, statefleet, reference, ratio, target, notes."""
    head = ["path", "unit", "statefleet", "reference", "ref value", "ratio", "target", "notes"]
    body = []
    for r in rows:
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        notes = "; ".join([n for n in [r.note, *r.extra] if n])
        body.append(
            [
                r.path,
                r.unit,
                _fmt(r.statefleet, r.unit),
                r.reference,
                _fmt(r.other, r.unit),
                ratio,
                _verdict(r),
                notes,
            ]
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|---|---|---:|---|---:|---:|---|---|"]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines)
    return "\n".join("  ".join(b) for b in [head, *body])


def environment() -> str:
    """Python version, platform and the load average (the machine may be shared)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"Python {sys.version.split()[0]}, {sys.platform}, load average {load}"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--only", default="", help=f"comma-separated: {', '.join(GROUPS)}")
    p.add_argument(
        "--cpu-time",
        action="store_true",
        help="time the actor, tracing and durable NORMAL rows in process CPU time, the import"
        " rows in the child's CPU time (a shared machine)",
    )
    p.add_argument("--idle", help=argparse.SUPPRESS)  # the idle-bytes subprocess
    p.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.idle:
        print(idle_bytes(args.idle, args.n))
        return 0
    s = QUICK if args.quick else FULL
    if args.cpu_time:
        global clock
        clock = time.process_time
    only = [g for g in args.only.split(",") if g] or list(GROUPS)
    t0 = time.perf_counter()
    timing = "; CPU time (actors, tracing, durable NORMAL, import)" if args.cpu_time else ""
    print(f"{environment()}; best of {s.repeats}, interleaved{timing}")
    rows: list[Row] = []
    for g in only:
        rows += GROUPS[g](s)
    print(f"{environment()} (after)")
    print()
    print(format_rows(rows, markdown=args.markdown))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
