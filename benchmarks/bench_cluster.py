"""Cluster benchmarks: durable actors on PostgreSQL against the raw asyncpg insert rate.

Workloads (issue 14, "Speed"), on a throwaway PostgreSQL server this script starts itself
(``fsync`` on, ``synchronous_commit`` on: every acknowledged write is on disk):

- C1 one node: 10,000 actors receiving events durably through ``ActorSystem(store=
  PostgresStore(...))``, committed macrosteps per second (the same workload as
  ``bench_persistence.py``'s P1, whose SQLite rate is measured in the same run for the
  issue's target: at least half of it). Run twice: a plain store (version checks only) and a
  cluster node holding every shard's lease (every commit also checks its fencing epoch).
- C4 C1's work split over 1, 2 and 3 processes (plain stores on one database, each with
  its own actors: what several nodes will do, without the node runtime); on 2 cores shared
  with PostgreSQL, expect no gain.
- C3 the store alone: ``commit_many`` of 1,000 updates at a time, without the runtime (where
  the time of C1 goes).
- C2 the LISTEN/NOTIFY wake-up: one store accepts an event, another one (the shard owner)
  is notified; latency p50/p99 over sequential round trips.

- C5 cross-node ``send`` and ``ask``: two node actor systems (``PostgresStore(node=...)``)
  split the shards; the sender's ``send`` to an entity the other node owns returns once the
  event is durable in its inbox, its ``ask`` once the owner's reply (its committed step)
  came back on the reply channel; p50/p99 (``main`` only, not in ``run``).

- C6 failover: a ``statefleet node`` process holding every shard is SIGKILLed; the time
  until a second node (in this process) holds every shard, with 2 s leases (target: within
  two lease times; ``main`` only).

- C7 writer connections: 8 callers commit batches of 250 updates through one store or two
  in this process (one writer connection each), interleaved three times: the most a second
  writer connection per store could buy (``main`` only).

**The floor** is the raw asyncpg insert rate measured in the same run on the same server:
``executemany`` of rows shaped like the actor rows (an id, a version and a msgpack snapshot
of the same size) in transactions of 1,000 rows. ``sf/floor`` is statefleet's committed
macrosteps per second over those rows per second.

Usage::

    python benchmarks/bench_cluster.py            # the full run
    python benchmarks/bench_cluster.py --quick    # a smaller run
    python benchmarks/bench_cluster.py --markdown # the table as Markdown
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_persistence import FULL, ORDER, QUICK, Result, Settings, _table, p1

from statefleet.actors import ActorSystem
from statefleet.core import EventData, encode_snapshot
from statefleet.persistence import PostgresStore, make_commit, shard_of
from statefleet.persistence._pgserver import TempPostgres

__all__ = ["c1", "c2", "c3", "c4", "c5", "c6", "main", "raw_insert_rate", "run", "table"]


async def raw_insert_rate(dsn: str, rows: int, table: str) -> float:
    """Rows per second of plain asyncpg inserts shaped like actor rows."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            f"CREATE TABLE {table} (id TEXT PRIMARY KEY, version BIGINT, snapshot BYTEA)"
        )
        blob = encode_snapshot(ORDER.initial(session_id="x").snapshot)
        data = [(f"order-{i}", 0, blob) for i in range(rows)]
        t0 = time.perf_counter()
        for k in range(0, rows, 1000):
            async with conn.transaction():
                await conn.executemany(
                    f"INSERT INTO {table} VALUES ($1, $2, $3)", data[k : k + 1000]
                )
        return rows / (time.perf_counter() - t0)
    finally:
        await conn.execute(f"DROP TABLE {table}")
        await conn.close()


async def c1(
    dsn: str,
    s: Settings,
    *,
    node: bool,
    schema: str,
    first: int = 0,
    ready: Callable[[], Awaitable[None]] | None = None,
) -> tuple[float, dict[str, int]]:
    """Committed macrosteps per second on one node (``p1``'s workload on PostgreSQL), on
    actors ``order-<first>`` onwards; ``ready`` is awaited once they are all active, before
    the timed part."""
    store = PostgresStore(dsn, schema=schema, node="n1" if node else None, lease_time=6.0)
    async with ActorSystem(store=store) as system:
        if store.cluster is not None:
            cluster = store.cluster
            with anyio.fail_after(30):  # the node runtime takes every shard (it is alone)
                while len(cluster.held) < cluster.shards:
                    await anyio.sleep(0.01)
        refs = [system.ref(ORDER, f"order-{i}") for i in range(first, first + s.p1_actors)]
        senders = min(s.p1_senders, s.p1_actors)

        async def create(k: int) -> None:
            for r in refs[k::senders]:
                await r.activate()

        async with anyio.create_task_group() as tg:
            for k in range(senders):
                tg.start_soon(create, k)
        await system.wait_idle()
        before = dict(store.stats)
        gc.collect()
        if ready is not None:
            await ready()

        async def send(k: int) -> None:
            for _ in range(s.p1_events):
                for r in refs[k::senders]:
                    await r.send("inc")

        t0 = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for k in range(senders):
                tg.start_soon(send, k)
        await system.wait_idle()
        elapsed = time.perf_counter() - t0
        stats = {k: store.stats[k] - before[k] for k in before}
        sample = (await refs[0].snapshot()).context["n"]
    if sample != s.p1_events:
        raise AssertionError(f"C1: order-0 applied {sample} events, not {s.p1_events}")
    return s.p1_actors * s.p1_events / elapsed, stats


async def c4(dsn: str, s: Settings, processes: int, schema: str) -> float:
    """C1's work (no fencing) split over ``processes`` processes on one database, each
    with its own actors: committed macrosteps per second of them all, from the moment they
    are all ready to the last one's end."""
    share = s.p1_actors // processes
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                dsn,
                schema,
                str(k * share),
                str(share),
                str(s.p1_events),
                str(max(1, s.p1_senders // processes)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(processes)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            line = await anyio.to_thread.run_sync(p.stdout.readline)
            if line.strip() != "ready":
                raise AssertionError(f"C4: a worker said {line!r}")
        t0 = time.perf_counter()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            assert p.stdout is not None
            line = await anyio.to_thread.run_sync(p.stdout.readline)
            if not line.startswith("done"):
                raise AssertionError(f"C4: a worker said {line!r}")
        elapsed = time.perf_counter() - t0
    finally:
        for p in procs:
            p.kill()
            p.wait()
            for pipe in (p.stdin, p.stdout):
                if pipe is not None:
                    pipe.close()
    return share * processes * s.p1_events / elapsed


async def _worker(argv: Sequence[str]) -> None:
    """One process of C4: ``DSN SCHEMA FIRST ACTORS EVENTS SENDERS``; prints ``ready``,
    waits for a line on stdin, runs, prints ``done``."""
    dsn, schema, first, actors, events, senders = argv
    s = Settings(p1_actors=int(actors), p1_events=int(events), p1_senders=int(senders))

    async def ready() -> None:
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)

    await c1(dsn, s, node=False, schema=schema, first=int(first), ready=ready)
    print("done", flush=True)


async def c3(dsn: str, s: Settings, schema: str) -> float:
    """The store alone: commits per second through ``commit_many`` in batches of 1,000
    (no actor runtime), each an update of a stored actor."""
    batch = 1000
    n = min(s.p1_actors, 10 * batch)
    snap = ORDER.initial(session_id="x").snapshot
    async with PostgresStore(dsn, schema=schema) as store:
        for k in range(0, n, batch):
            await store.commit_many(
                [make_commit(f"o{i}", snap, previous=None) for i in range(k, min(n, k + batch))]
            )
        nxt = ORDER.transition(snap, "inc").snapshot
        rounds = [
            [make_commit(f"o{i}", nxt, previous=snap) for i in range(k, min(n, k + batch))]
            for k in range(0, n, batch)
        ]
        t0 = time.perf_counter()
        for commits in rounds:
            results = await store.commit_many(commits)
        elapsed = time.perf_counter() - t0
    if not all(type(r).__name__ == "CommitResult" for r in results):
        raise AssertionError("C3: a commit failed")
    return n / elapsed


async def c7(dsn: str, schema: str, writers: int) -> float:
    """What a second writer connection per store could buy, at most: 8 callers committing
    batches of 250 updates on actors of their own through ``writers`` stores in this process
    (one writer connection each); commits per second."""
    import contextlib

    callers, batch, rounds = 8, 250, 12
    snaps = [ORDER.initial(session_id="x").snapshot]
    for _ in range(rounds):
        snaps.append(ORDER.transition(snaps[-1], "inc").snapshot)
    ids = [[f"c{c}-{i}" for i in range(batch)] for c in range(callers)]
    async with contextlib.AsyncExitStack() as stack:
        stores = [
            await stack.enter_async_context(PostgresStore(dsn, schema=schema))
            for _ in range(writers)
        ]
        for c in range(callers):
            await stores[0].commit_many([make_commit(i, snaps[0], previous=None) for i in ids[c]])

        async def caller(c: int) -> None:
            st = stores[c % writers]
            for r in range(rounds):
                out = await st.commit_many(
                    [make_commit(i, snaps[r + 1], previous=snaps[r]) for i in ids[c]]
                )
                if not all(type(x).__name__ == "CommitResult" for x in out):
                    raise AssertionError("C7: a commit failed")

        t0 = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for c in range(callers):
                tg.start_soon(caller, c)
        return callers * batch * rounds / (time.perf_counter() - t0)


async def c2(dsn: str, rounds: int, schema: str) -> tuple[float, float]:
    """LISTEN/NOTIFY wake-up latency (p50, p99 in milliseconds): accept on one store, the
    owner's callback on another."""
    shard = shard_of("order-0", 256)
    async with (
        PostgresStore(dsn, schema=schema, shards=256) as sender,
        PostgresStore(dsn, schema=schema) as owner,
    ):
        woke: asyncio.Future[None] | None = None

        def on_inbox(_shard: int, _ids: tuple[str, ...] | None) -> None:
            if woke is not None and not woke.done():
                woke.set_result(None)

        await owner.listen_inbox([shard], on_inbox)
        lat: list[float] = []
        for _ in range(rounds):
            woke = asyncio.get_running_loop().create_future()
            t0 = time.perf_counter()
            await sender.accept("order-0", EventData("inc"))
            await asyncio.wait_for(woke, 10)
            lat.append((time.perf_counter() - t0) * 1000)
    q = statistics.quantiles(lat, n=100)
    return q[49], q[98]


async def run(
    s: Settings,
    rounds: int,
    directory: Path,
    dsn: str | None = None,
    prefix: str = "bench",
    processes: Sequence[int] = (1, 2, 3),
) -> list[Result]:
    """Every workload, with its floor, on the server at ``dsn`` (default: a throwaway one
    started for the run, ``fsync`` on); the schemas are named after ``prefix``."""
    if dsn is None:
        with TempPostgres(fsync=True) as pg:
            return await run(s, rounds, directory, pg.dsn, prefix, processes)
    results: list[Result] = []
    floor = await raw_insert_rate(dsn, s.floor_rows, f"{prefix}_floor")
    sqlite_rate, _ = await p1(directory, s, "full")
    results.append(Result("SQLite P1 (full), same machine", "steps/s", sqlite_rate, None, None))
    for node in (False, True):
        schema = f"{prefix}_{'node' if node else 'plain'}"
        rate, stats = await c1(dsn, s, node=node, schema=schema)
        name = "C1 one node, fenced" if node else "C1 one store, no fencing"
        r = Result(name, "steps/s", rate, floor, sqlite_rate / 2)
        per = stats["items"] / max(1, stats["batches"])
        r.notes.append(
            f"{stats['commits']} commits in {stats['batches']} transactions"
            f" ({per:.0f} items each); target: half of SQLite's P1"
        )
        results.append(r)
    for n in processes:
        rate = await c4(dsn, s, n, f"{prefix}_c4_{n}")
        name = f"C4 {n} process{'es' if n > 1 else ''}, one database"
        results.append(Result(name, "steps/s", rate, floor, None))
    rate = await c3(dsn, s, f"{prefix}_c3")
    results.append(Result("C3 the store alone, batches of 1,000", "commits/s", rate, floor, None))
    p50, p99 = await c2(dsn, rounds, f"{prefix}_c2")
    results.append(Result("C2 NOTIFY wake-up p50", "ms", p50, None, None))
    results.append(Result("C2 NOTIFY wake-up p99", "ms", p99, None, None))
    return results


async def c5(dsn: str, rounds: int, schema: str) -> list[Result]:
    """Cross-node send and ask latency (ms, p50 and p99): node ``a`` sends to entities
    node ``b`` owns."""
    from statefleet.core import ChartSpec, StateSpec, TransitionSpec, compile_chart

    chart = compile_chart(
        ChartSpec(
            id="ping",
            version="1",
            states=[StateSpec(id="on", transitions=[TransitionSpec(event=("ping",))])],
        )
    )
    a_store = PostgresStore(dsn, schema=schema, node="a", shards=64, lease_time=2.0)
    b_store = PostgresStore(dsn, schema=schema, node="b", shards=64, lease_time=2.0)
    async with (
        ActorSystem(store=a_store, charts=[chart]) as a,
        ActorSystem(store=b_store, charts=[chart]) as b,
    ):
        ca, cb = a_store.cluster, b_store.cluster
        assert ca is not None and cb is not None
        with anyio.fail_after(60):
            while not (ca.held and cb.held and len(ca.held) + len(cb.held) == 64):
                await anyio.sleep(0.05)
        ids = [i for i in (f"p{n}" for n in range(10 * rounds)) if shard_of(i, 64) in cb.held]
        ids = ids[:rounds]
        for i in ids:  # created on b first
            await b.ref(chart, i).ask("ping")
        out: list[Result] = []
        for what in ("send", "ask"):
            lat: list[float] = []
            for i in ids:
                t0 = time.perf_counter()
                await getattr(a.ref(chart, i), what)("ping")
                lat.append((time.perf_counter() - t0) * 1000)
            q = statistics.quantiles(lat, n=100)
            out.append(Result(f"C5 cross-node {what} p50", "ms", q[49], None, None))
            out.append(Result(f"C5 cross-node {what} p99", "ms", q[98], None, None))
    return out


async def c6(dsn: str, schema: str, lease: float = 2.0) -> Result:
    """Failover time (s) after SIGKILL of a node process holding every shard."""
    import os
    import signal

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)}
    cmd = [sys.executable, "-m", "statefleet.cli", "node", "--store", dsn, "--schema", schema]
    cmd += ["--charts", "bench_persistence:ORDER", "--node", "x", "--lease-time", str(lease)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with PostgresStore(dsn, schema=schema) as plain:
            with anyio.fail_after(60):
                while True:
                    leases = await plain.leases()
                    if len(leases) == 256 and all(le.owner == "x" for le in leases):
                        break
                    await anyio.sleep(0.05)
            store = PostgresStore(dsn, schema=schema, node="y", lease_time=lease)
            async with ActorSystem(store=store, charts=[ORDER]):
                cy = store.cluster
                assert cy is not None
                with anyio.fail_after(60):  # x releases y's share, then y holds it
                    while len(cy.held) < 100:
                        await anyio.sleep(0.01)
                proc.send_signal(signal.SIGKILL)
                t0 = time.perf_counter()
                with anyio.fail_after(60):
                    while len(cy.held) < 256:
                        await anyio.sleep(0.01)
                took = time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    r = Result(f"C6 failover after SIGKILL ({lease:g} s leases)", "s", took, None, None)
    r.notes.append(f"target: within {2 * lease:g} s (two lease times)")
    return r


def table(results: Sequence[Result], markdown: bool) -> str:
    """The table of ``bench_persistence`` with this run's floor named."""
    return _table(results, markdown).replace("raw SQLite rows/s", "raw asyncpg rows/s")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        asyncio.run(_worker(args.worker))
        return 0
    s = QUICK if args.quick else FULL
    rounds = 200 if args.quick else 1000
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    with tempfile.TemporaryDirectory(prefix="sf-bench-") as d, TempPostgres(fsync=True) as pg:
        results = asyncio.run(run(s, rounds, Path(d), pg.dsn))
        results += asyncio.run(c5(pg.dsn, min(rounds, 300), "bench_c5"))
        results.append(asyncio.run(c6(pg.dsn, "bench_c6")))
        for k in range(3):  # interleaved: one writer connection, then two
            for n in (1, 2):
                rate = asyncio.run(c7(pg.dsn, f"bench_c7_{k}_{n}", n))
                name = f"C7 {n} writer connection{'s' if n > 1 else ''} (run {k + 1})"
                results.append(Result(name, "commits/s", rate, None, None))
    print(table(results, args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
